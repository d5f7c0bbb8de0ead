// Structured JSON logs (pino). Secrets are redacted by key wherever they appear in a logged object, at
// any depth, so a container group or request body logged by mistake still leaks nothing: pino's own
// redaction takes fixed paths, and four levels let a group's environment variables (five deep) through.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

const SECRET_KEYS = new Set([
  'secureValue',
  'password',
  'clientSecret',
  'client_secret',
  'storageAccountKey',
  'token',
  'access_token',
  'authorization',
  'Authorization',
  'data',
  'stringData',
]);

export const REDACTED = '[REDACTED]';
/** What stands for the part of an object beyond the walk's bounds. */
export const TRUNCATED = '[Truncated]';
/** Deeper than any object the processes log on purpose (a container group is about eight levels). */
const MAX_DEPTH = 32;
/** Objects and arrays walked per log line; a huge or hostile object costs no more. */
const MAX_NODES = 10_000;

/** Logged as they are: JSON gives them their own form (an ISO date, a buffer's bytes). */
function isOpaque(value: object): boolean {
  return value instanceof Date || ArrayBuffer.isView(value) || value instanceof ArrayBuffer;
}

/**
 * A copy of `value` with the value of every secret key replaced by REDACTED, at any depth. Errors are
 * serialized as pino serializes them (message, stack and their own properties) and redacted too.
 * Bounded: past MAX_DEPTH levels or MAX_NODES objects the rest is TRUNCATED; cycles are cut.
 */
export function redactSecrets(value: unknown): unknown {
  let nodes = 0;
  const ancestors = new Set<object>();
  const walk = (node: unknown, depth: number): unknown => {
    if (typeof node !== 'object' || node === null || isOpaque(node)) return node;
    if (ancestors.has(node)) return '[Circular]';
    if (depth > MAX_DEPTH || nodes >= MAX_NODES) return TRUNCATED;
    nodes += 1;
    ancestors.add(node);
    const source: object = node instanceof Error ? pino.stdSerializers.err(node) : node;
    const copy = Array.isArray(source)
      ? source.slice(0, MAX_NODES).map((item: unknown) => walk(item, depth + 1))
      : Object.fromEntries(
          Object.entries(source).map(([key, item]) => [
            key,
            SECRET_KEYS.has(key) ? REDACTED : walk(item, depth + 1),
          ]),
        );
    ancestors.delete(node);
    return copy;
  };
  return walk(value, 0);
}

export interface LoggerOptions {
  /** The process name, logged as `component`. */
  component: string;
  level?: string;
  /** Where lines go; stdout when omitted. Tests pass a stream to read what was logged. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { component: options.component },
      // `err` goes through its serializer after `formatters.log`, so it is redacted there.
      serializers: { err: (error: unknown) => redactSecrets(pino.stdSerializers.err(error as Error)) },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => {
          const { err, ...rest } = object;
          return {
            ...(redactSecrets(rest) as Record<string, unknown>),
            ...(err === undefined ? {} : { err }),
          };
        },
      },
    },
    options.destination,
  );
}

/** A logger that drops everything, for unit tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
