// `npm run demo -- [--exit] [--fast]`: parsed from argv, every problem listed.

export interface DemoOptions {
  /** Run to completion and exit (0 only if every example reached Running) instead of staying up. */
  exitWhenDone: boolean;
  /** The emulator's fast timeline (~150 ms to Succeeded) instead of Azure's ~30 s. */
  fast: boolean;
}

export const USAGE = `usage: npm run demo -- [--exit] [--fast]
  --exit   run until every example is Running (or the wait ends), print the summary, stop everything;
           exit code 0 only if every example reached Running
  --fast   the ACI emulator provisions in ~150 ms instead of Azure's realistic ~30 s`;

export type ParsedArguments =
  { ok: true; options: DemoOptions } | { ok: false; help: boolean; problems: string[] };

export function parseArguments(argv: readonly string[]): ParsedArguments {
  const options: DemoOptions = { exitWhenDone: false, fast: false };
  const problems: string[] = [];
  for (const argument of argv) {
    if (argument === '--exit') options.exitWhenDone = true;
    else if (argument === '--fast') options.fast = true;
    else if (argument === '--help' || argument === '-h') return { ok: false, help: true, problems: [] };
    else problems.push(`unknown argument "${argument}"`);
  }
  return problems.length > 0 ? { ok: false, help: false, problems } : { ok: true, options };
}

/** Bounded waits: Azure-like timings need minutes, the fast timeline seconds. */
export function examplesDeadlineMs(options: DemoOptions): number {
  return options.fast ? 90_000 : 180_000;
}
