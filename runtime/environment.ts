// The one reader of a process's environment variables. Each process lists the variables it reads with
// their meaning (its ENVIRONMENT table) and builds its configuration in `readConfig(env)` through this
// reader, which collects every problem in one format ("NAME must be <what>, got "<value>"") so an
// operator fixes a manifest in one round and reads the same sentence from every process.

/** The process's environment as read: `process.env` in main.ts, a plain object in tests. */
export type Environment = Readonly<Record<string, string | undefined>>;

/** A configuration, or every problem that kept it from being one. */
export type ConfigResult<Config> = { ok: true; config: Config } | { ok: false; problems: string[] };

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export class EnvironmentReader<Name extends string> {
  readonly #problems: string[] = [];
  readonly #env: Environment;
  readonly #variables: Readonly<Record<Name, string>>;

  /** `variables`: every variable the process reads, with its meaning (named in "is required" problems). */
  constructor(env: Environment, variables: Readonly<Record<Name, string>>) {
    this.#env = env;
    this.#variables = variables;
  }

  /** The trimmed value; unset and empty are the same. */
  optional(name: Name): string | undefined {
    const value = this.#env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  required(name: Name): string {
    const value = this.optional(name);
    if (value === undefined) this.problem(`${name} is required: ${this.#variables[name]}`);
    return value ?? '';
  }

  /** A whole number in [min, max] (max unbounded unless given). */
  integer(name: Name, fallback: number, bounds: { min?: number; max?: number } = {}): number {
    const { min = 1, max } = bounds;
    const text = this.optional(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (Number.isInteger(value) && value >= min && (max === undefined || value <= max)) return value;
    this.invalid(
      name,
      max === undefined ? `a whole number >= ${min}` : `a whole number from ${min} to ${max}`,
      text,
    );
    return fallback;
  }

  boolean(name: Name, fallback: boolean): boolean {
    const text = this.optional(name)?.toLowerCase();
    if (text === undefined) return fallback;
    if (text === 'true' || text === 'false') return text === 'true';
    this.invalid(name, 'true or false', text);
    return fallback;
  }

  /** One of `choices`; the fallback when unset. */
  oneOf<Choice extends string>(name: Name, choices: readonly Choice[], fallback: Choice): Choice {
    const text = this.optional(name);
    if (text === undefined) return fallback;
    if ((choices as readonly string[]).includes(text)) return text as Choice;
    this.invalid(name, `one of ${choices.join(', ')}`, text);
    return fallback;
  }

  /** A comma-separated list, empty entries dropped. */
  list(name: Name): string[] {
    return (this.optional(name) ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
  }

  /**
   * A value `parse` accepts (it returns undefined for anything else); `expected` completes the
   * sentence "NAME must be ...".
   */
  parsed<T>(name: Name, parse: (text: string) => T | undefined, expected: string): T | undefined {
    const text = this.optional(name);
    if (text === undefined) return undefined;
    const value = parse(text);
    if (value === undefined) this.invalid(name, expected, text);
    return value;
  }

  /** The one sentence for a value that is not what the variable takes. */
  invalid(name: Name, expected: string, got: string): void {
    this.problem(`${name} must be ${expected}, got "${got}"`);
  }

  /** A problem no single variable's check sees (two variables that go together, say). */
  problem(text: string): void {
    this.#problems.push(text);
  }

  /** The configuration, unless any problem was found. */
  result<Config>(config: Config): ConfigResult<Config> {
    return this.#problems.length > 0 ? { ok: false, problems: [...this.#problems] } : { ok: true, config };
  }
}
