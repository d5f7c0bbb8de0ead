// A logger whose lines tests read back, parsed. For tests only.
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../logger.ts';

export function capturingLogger(level?: string): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      done();
    },
  });
  return {
    logger: createLogger({ component: 'test', destination, ...(level !== undefined && { level }) }),
    lines,
  };
}
