// `kubectl exec` with arguments and exit codes over ACI's exec API, which runs ONE command string in a
// terminal and never reports how it ended. With arguments we start `/bin/sh` instead and type one line
// into its terminal: the arguments single-quoted (so quotes, `$()`, backticks, `;` and newlines reach the
// command verbatim), between two markers that the terminal's echo of our own line cannot contain (the
// format string holds `\036`, the output the byte 0x1E), the second carrying `$?`. The parser below drops
// everything before the first marker (prompt, echo) and turns the second into the exit code. Pure.

/** Record separator: never typed by us, and rare in program output. */
const RS = 0x1e;
/** The canonical-mode line limit of a Linux terminal (N_TTY_BUF_SIZE) less some room. */
export const MAX_COMMAND_LINE_BYTES = 4000;

export interface ShellLineOptions {
  /** Keep the user's stdin connected; otherwise the command reads /dev/null, as without `-i`. */
  stdin: boolean;
  /** Restore the terminal's echo and CRLF mapping for the command, as a `-t` session wants. */
  tty: boolean;
  /** Random hex, fresh per session. */
  nonce: string;
}

export type ShellLine = { ok: true; line: string } | { ok: false; message: string };

/** POSIX single quoting: everything literal, an embedded quote closes, escapes and reopens. */
export function quoteArgument(argument: string): string {
  return `'${argument.replaceAll("'", `'\\''`)}'`;
}

/**
 * Control characters the terminal's line discipline would act on (^C, ^D, ^U, ^W, DEL...) cannot be
 * typed through it; tab and newline can.
 */
function controlCharacter(argument: string): number | undefined {
  for (let index = 0; index < argument.length; index++) {
    const code = argument.charCodeAt(index);
    if ((code < 0x20 && code !== 0x09 && code !== 0x0a) || code === 0x7f) return code;
  }
  return undefined;
}

export function shellLine(argv: readonly string[], options: ShellLineOptions): ShellLine {
  for (const [index, argument] of argv.entries()) {
    const code = controlCharacter(argument);
    if (code !== undefined) {
      return {
        ok: false,
        message: `argument ${index} contains the control character 0x${code.toString(16).padStart(2, '0')}, which ACI's terminal would interpret instead of passing on`,
      };
    }
  }
  const command = argv.map(quoteArgument).join(' ');
  const line = [
    'stty -echo -onlcr 2>/dev/null',
    `printf '\\036%sB\\036\\n' ${options.nonce}`,
    `${options.tty ? 'stty echo onlcr 2>/dev/null; ' : ''}${command}${options.stdin ? '' : ' </dev/null'}`,
    `printf '\\036%sE%d\\036\\n' ${options.nonce} $?`,
    'exit\n',
  ].join('; ');
  const bytes = Buffer.byteLength(line);
  if (bytes > MAX_COMMAND_LINE_BYTES) {
    return {
      ok: false,
      message: `the command is ${bytes} bytes once quoted; ACI's terminal takes lines of at most ${MAX_COMMAND_LINE_BYTES}`,
    };
  }
  return { ok: true, line };
}

export type ShellOutput =
  /** Bytes of the command's output. */
  | { kind: 'output'; data: Buffer }
  /** The shell reported the command's exit status. */
  | { kind: 'exit'; code: number };

/** Bytes kept before the first marker, to explain a session that never got that far (no shell). */
const PREAMBLE_KEPT = 2048;
/** Digits of an exit status and the closing separator, at most. */
const EXIT_TAIL = 8;

/**
 * Splits what ACI's terminal sends back into the command's output and its exit status. Linear: each
 * byte is looked at a bounded number of times; it holds back at most one marker's length.
 */
export class ShellOutputParser {
  private readonly begin: Buffer;
  private readonly end: Buffer;
  private state: 'preamble' | 'newline' | 'output' | 'done' = 'preamble';
  private pending: Buffer = Buffer.alloc(0);
  private preamble = '';

  constructor(nonce: string) {
    this.begin = Buffer.from(`\u001e${nonce}B\u001e`);
    this.end = Buffer.from(`\u001e${nonce}E`);
  }

  /** What the terminal said before the command started (a shell's error when it has none). */
  get beforeStart(): string {
    return this.preamble;
  }

  get started(): boolean {
    return this.state !== 'preamble';
  }

  get finished(): boolean {
    return this.state === 'done';
  }

  push(chunk: Buffer): ShellOutput[] {
    if (this.state === 'done') return [];
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const results: ShellOutput[] = [];
    if (this.state === 'preamble') this.skipPreamble();
    if (this.state === 'newline') this.skipNewline();
    if (this.state === 'output') this.readOutput(results);
    return results;
  }

  private skipPreamble(): void {
    const at = this.pending.indexOf(this.begin);
    if (at < 0) {
      const keep = this.begin.length - 1;
      this.remember(this.pending.subarray(0, Math.max(0, this.pending.length - keep)));
      this.pending = this.pending.subarray(Math.max(0, this.pending.length - keep));
      return;
    }
    this.remember(this.pending.subarray(0, at));
    this.pending = this.pending.subarray(at + this.begin.length);
    this.state = 'newline';
  }

  /** The first marker's own line end (`\n`, or `\r\n` through a terminal) is not output. */
  private skipNewline(): void {
    if (this.pending[0] === 0x0d) {
      if (this.pending.length === 1) return;
      this.pending = this.pending.subarray(1);
    }
    if (this.pending.length === 0) return;
    if (this.pending[0] === 0x0a) this.pending = this.pending.subarray(1);
    this.state = 'output';
  }

  private readOutput(results: ShellOutput[]): void {
    const at = this.pending.indexOf(this.end);
    if (at < 0) {
      const keep = Math.min(this.pending.length, this.end.length - 1);
      const safe = this.pending.length - keep;
      if (safe > 0) results.push({ kind: 'output', data: this.pending.subarray(0, safe) });
      this.pending = this.pending.subarray(safe);
      return;
    }
    if (at > 0) results.push({ kind: 'output', data: this.pending.subarray(0, at) });
    this.pending = this.pending.subarray(at);
    const tail = this.pending.subarray(this.end.length);
    const close = tail.indexOf(RS);
    if (close < 0) {
      // The status has not fully arrived: wait, unless what came cannot be a status.
      if (tail.length > EXIT_TAIL) this.giveUpOnMarker(results);
      return;
    }
    const digits = tail.subarray(0, close).toString('latin1');
    if (!/^\d{1,3}$/.test(digits)) {
      this.giveUpOnMarker(results);
      return;
    }
    this.state = 'done';
    this.pending = Buffer.alloc(0);
    results.push({ kind: 'exit', code: Number(digits) });
  }

  /** The terminal closed: whatever was held back as a possible marker was output after all. */
  flush(): Buffer {
    const rest = this.state === 'output' ? this.pending : Buffer.alloc(0);
    this.pending = Buffer.alloc(0);
    return rest;
  }

  /** A lookalike of the end marker in the program's own output: pass it on and keep reading. */
  private giveUpOnMarker(results: ShellOutput[]): void {
    results.push({ kind: 'output', data: this.pending.subarray(0, 1) });
    this.pending = this.pending.subarray(1);
    this.readOutput(results);
  }

  private remember(bytes: Buffer): void {
    if (this.preamble.length < PREAMBLE_KEPT && bytes.length > 0) {
      this.preamble = (this.preamble + bytes.toString('utf8')).slice(0, PREAMBLE_KEPT);
    }
  }
}

/**
 * Undoes the terminal's `onlcr` (LF -> CRLF) for output that is not going to a terminal: a command run
 * without a shell cannot turn it off. A CR at the end of a chunk waits for the next one.
 */
export class CrlfToLf {
  private heldCr = false;

  push(chunk: Buffer): Buffer {
    let text = chunk;
    if (this.heldCr) text = Buffer.concat([Buffer.from([0x0d]), text]);
    this.heldCr = text.at(-1) === 0x0d;
    if (this.heldCr) text = text.subarray(0, -1);
    return Buffer.from(text.toString('latin1').replaceAll('\r\n', '\n'), 'latin1');
  }

  flush(): Buffer {
    const rest = this.heldCr ? Buffer.from([0x0d]) : Buffer.alloc(0);
    this.heldCr = false;
    return rest;
  }
}
