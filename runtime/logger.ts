// Structured JSON logs (pino). Secrets are redacted by key wherever they appear in a logged
// object, so a container group or request body logged by mistake still leaks nothing.
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

const SECRET_KEYS = [
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
];

/** Pino paths for each secret key at the top level and up to three levels deep. */
export const REDACT_PATHS = SECRET_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`]);

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
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}

/** A logger that drops everything, for unit tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
