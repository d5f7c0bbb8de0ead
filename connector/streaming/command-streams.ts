// What exec and attach need from a caller's connection, whichever wire protocol carried it (SPDY
// streams or WebSocket channels): the streams kubectl asked for, terminal sizes, and one way to end.
import type { Readable, Writable } from 'node:stream';
import type { CommandOutcome } from './status.ts';

export interface TerminalSize {
  width: number;
  height: number;
}

export interface CommandOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export interface CommandStreams {
  readonly options: CommandOptions;
  /** The caller's input; ends when the caller closes it. Present only when asked for. */
  readonly stdin: Readable | undefined;
  readonly stdout: Writable | undefined;
  readonly stderr: Writable | undefined;
  /** Called for every terminal size the caller sends (with `tty`). */
  onResize(listener: (size: TerminalSize) => void): void;
  /** Writes how the command ended, ends every stream and closes the connection. */
  finish(outcome: CommandOutcome): void;
  /** Settles when the caller's connection is gone (finished, closed by the caller, or broken). */
  readonly closed: Promise<void>;
}

/** kubelet's query parameters: `stdin`/`input`, `stdout`/`output`, `stderr`/`error`, `tty`. */
export function commandOptions(query: URLSearchParams): CommandOptions | { problem: string } {
  const flag = (...names: string[]): boolean =>
    names.some((name) => query.get(name) === '1' || query.get(name) === 'true');
  const tty = flag('tty');
  const options = {
    stdin: flag('stdin', 'input'),
    stdout: flag('stdout', 'output'),
    // A terminal has one output stream, as on a kubelet.
    stderr: !tty && flag('stderr', 'error'),
    tty,
  };
  if (!options.stdin && !options.stdout && !options.stderr) {
    return { problem: 'you must specify at least 1 of stdin, stdout, stderr' };
  }
  return options;
}

const MAX_RESIZE_BUFFER = 4096;

/**
 * Terminal sizes arrive as JSON objects (`{"Width":80,"Height":24}`) one after another on a byte stream
 * (SPDY) or one per message (WebSocket). Bounded: junk longer than a few KiB is dropped.
 */
export class ResizeDecoder {
  private buffer = '';

  push(chunk: Buffer | string): TerminalSize[] {
    this.buffer += chunk.toString();
    const sizes: TerminalSize[] = [];
    for (let end = this.buffer.indexOf('}'); end >= 0; end = this.buffer.indexOf('}')) {
      const text = this.buffer.slice(this.buffer.indexOf('{'), end + 1);
      this.buffer = this.buffer.slice(end + 1);
      const size = parseSize(text);
      if (size) sizes.push(size);
    }
    if (this.buffer.length > MAX_RESIZE_BUFFER) this.buffer = '';
    return sizes;
  }
}

function parseSize(text: string): TerminalSize | undefined {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null) return undefined;
    const { Width: width, Height: height } = value as Record<string, unknown>;
    const valid = (n: unknown): n is number =>
      typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 10_000;
    return valid(width) && valid(height) ? { width, height } : undefined;
  } catch {
    return undefined;
  }
}

/** Ends a writable stream (optionally with a last chunk) and settles once it has flushed or failed. */
export function endStream(stream: Writable | undefined, last?: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (stream === undefined || stream.writableEnded || stream.destroyed) {
      resolve();
      return;
    }
    stream.once('error', () => {
      resolve();
    });
    const done = (): void => {
      resolve();
    };
    if (last === undefined) stream.end(done);
    else stream.end(last, done);
  });
}

/**
 * Ends the caller's output streams, then writes the status, then closes the connection: output written
 * before the status must reach the caller first (kubectl stops reading at the status).
 */
export function finishInOrder(
  outputs: readonly (Writable | undefined)[],
  writeStatus: () => Promise<void>,
  close: () => void,
): void {
  Promise.all(outputs.map((output) => endStream(output)))
    .then(writeStatus)
    .finally(close)
    .catch(() => undefined);
}
