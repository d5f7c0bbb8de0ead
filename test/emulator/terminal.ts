// The pseudo-terminal ACI puts between an exec websocket and the command: the slave side's line
// discipline as Linux's n_tty runs it, for the flags that change what a client sees. Pure.
//
// Input (what the client sends) is edited a line at a time in canonical mode (`icanon`): echoed as it
// arrives when `echo` is on, a line is readable once its newline arrives, ^D (0x04) hands over the line
// typed so far and, at the start of a line, is end-of-file; DEL (0x7f) erases a character; a line holds at
// most 4095 bytes (more are dropped, as n_tty drops them). `icrnl` turns CR into NL (what Enter sends in
// a raw local terminal). ^C (0x03) with `isig` discards pending input and interrupts the foreground
// command. Without `icanon`, bytes are readable as they arrive and ^D is just a byte.
// Output (what the command writes, stdout and stderr alike) turns `\n` into `\r\n` when `opost` and
// `onlcr` are on. Echo is output too, so it gets the same treatment.

export interface TerminalModes {
  echo: boolean;
  icanon: boolean;
  icrnl: boolean;
  isig: boolean;
  opost: boolean;
  onlcr: boolean;
}

export type TerminalFlag = keyof TerminalModes;

/** A fresh terminal, as `stty sane` leaves it. */
export const SANE_MODES: Readonly<TerminalModes> = {
  echo: true,
  icanon: true,
  icrnl: true,
  isig: true,
  opost: true,
  onlcr: true,
};

const FLAGS = Object.keys(SANE_MODES) as TerminalFlag[];
/** `stty raw` as GNU stty applies it (echo is not part of it); `-raw` and `cooked` undo it. */
const RAW: readonly TerminalFlag[] = ['icanon', 'icrnl', 'isig', 'opost'];

/** N_TTY_BUF_SIZE - 1: the longest line canonical mode keeps. */
export const MAX_LINE_BYTES = 4095;
/** Input received but not yet read (characters); past it the session is closed (a real pty would stall the writer). */
export const MAX_PENDING_INPUT = 1 << 20;

const EOF_CHAR = '\x04';
const INTR_CHAR = '\x03';
const ERASE_CHAR = '\x7f';

/** What reading the terminal gives: a string, end-of-file (null), or nothing yet (undefined). */
export type ReadResult = string | null | undefined;

export interface ReceiveResult {
  /** Bytes to send back (the echo), already output-processed. */
  echo: string;
  /** ^C arrived with isig on: the foreground command is interrupted. */
  interrupted: boolean;
  /** More input is pending than the terminal keeps. */
  overflow: boolean;
}

export type ConfigureResult = { ok: true; report?: string } | { ok: false; error: string };

function utf8Length(char: string): number {
  const code = char.codePointAt(0) ?? 0;
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  return code < 0x10000 ? 3 : 4;
}

/** How ECHOCTL shows a control character: ^C, ^[ ... (tab and newline are echoed as they are). */
function echoForm(char: string): string {
  const code = char.charCodeAt(0);
  if (char === '\t' || char === '\n' || code >= 0x20) return char;
  return `^${String.fromCharCode(code + 64)}`;
}

export class Terminal {
  readonly modes: TerminalModes = { ...SANE_MODES };
  rows: number;
  cols: number;
  /** The canonical line being edited. */
  private line: string[] = [];
  private lineBytes = 0;
  /** What a read returns next, in order: lines (canonical), chunks (raw), null for end-of-file. */
  private readable: (string | null)[] = [];
  private pending = 0;

  constructor(size: { rows: number; cols: number }) {
    this.rows = size.rows;
    this.cols = size.cols;
  }

  /** Output processing: what the client receives for `text` written by a command. */
  output(text: string): string {
    return this.modes.opost && this.modes.onlcr ? text.replaceAll('\n', '\r\n') : text;
  }

  /** Feeds client input through the line discipline. Linear in `input`. */
  receive(input: string): ReceiveResult {
    let echo = '';
    let interrupted = false;
    for (const raw of input) {
      const char = raw === '\r' && this.modes.icrnl ? '\n' : raw;
      if (char === INTR_CHAR && this.modes.isig) {
        this.discardInput();
        interrupted = true;
        if (this.modes.echo) echo += '^C';
        continue;
      }
      echo += this.modes.icanon ? this.receiveCanonical(char) : this.receiveRaw(char);
    }
    return { echo: this.output(echo), interrupted, overflow: this.pending > MAX_PENDING_INPUT };
  }

  private receiveCanonical(char: string): string {
    if (char === EOF_CHAR) {
      // Not echoed. With a partial line it hands that over; at the start of a line it is end-of-file.
      this.completeLine();
      return '';
    }
    if (char === ERASE_CHAR) {
      const erased = this.line.pop();
      if (erased === undefined) return '';
      this.lineBytes -= utf8Length(erased);
      return this.modes.echo ? '\b \b' : '';
    }
    if (char === '\n') {
      this.line.push(char);
      this.completeLine();
      return this.modes.echo ? '\n' : '';
    }
    const bytes = utf8Length(char);
    if (this.lineBytes + bytes > MAX_LINE_BYTES) return '';
    this.line.push(char);
    this.lineBytes += bytes;
    return this.modes.echo ? echoForm(char) : '';
  }

  private completeLine(): void {
    const text = this.line.join('');
    this.readable.push(text === '' ? null : text);
    this.pending += text.length || 1;
    this.line = [];
    this.lineBytes = 0;
  }

  private receiveRaw(char: string): string {
    const last = this.readable.length - 1;
    const tail = this.readable[last];
    if (typeof tail === 'string') this.readable[last] = tail + char;
    else this.readable.push(char);
    this.pending += char.length;
    return this.modes.echo ? char : '';
  }

  private discardInput(): void {
    this.line = [];
    this.lineBytes = 0;
    this.readable = [];
    this.pending = 0;
  }

  /** One read(2): a line in canonical mode, whatever has arrived otherwise. */
  read(): ReadResult {
    if (this.readable.length === 0) return undefined;
    const next = this.readable.shift() ?? null;
    this.pending -= next === null ? 1 : next.length;
    return next;
  }

  /** `stty` arguments: flags, `-flag`, raw, -raw, cooked, sane, size, rows N, cols N; none reports. */
  configure(args: readonly string[]): ConfigureResult {
    if (args.length === 0 || (args.length === 1 && args[0] === '-a'))
      return { ok: true, report: this.report() };
    if (args.length === 1 && args[0] === 'size') return { ok: true, report: `${this.rows} ${this.cols}\n` };
    const modes = { ...this.modes };
    const size = { rows: this.rows, cols: this.cols };
    for (let index = 0; index < args.length; index++) {
      const arg = args[index] ?? '';
      if (arg === 'rows' || arg === 'cols' || arg === 'columns') {
        const value = args[++index] ?? '';
        if (!setDimension(size, arg === 'rows' ? 'rows' : 'cols', value)) {
          return { ok: false, error: `stty: invalid integer argument: '${value}'\n` };
        }
      } else if (!applySetting(modes, arg)) {
        return { ok: false, error: `stty: invalid argument '${arg}'\n` };
      }
    }
    Object.assign(this.modes, modes);
    this.rows = size.rows;
    this.cols = size.cols;
    return { ok: true };
  }

  private report(): string {
    const flags = FLAGS.map((flag) => (this.modes[flag] ? flag : `-${flag}`)).join(' ');
    return `rows ${this.rows}; columns ${this.cols};\n${flags}\n`;
  }
}

function setDimension(size: { rows: number; cols: number }, name: 'rows' | 'cols', text: string): boolean {
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value > 65535) return false;
  size[name] = value;
  return true;
}

function applySetting(modes: TerminalModes, arg: string): boolean {
  if (arg === 'sane') {
    Object.assign(modes, SANE_MODES);
    return true;
  }
  if (arg === 'raw' || arg === '-raw' || arg === 'cooked' || arg === '-cooked') {
    const on = arg === '-raw' || arg === 'cooked';
    for (const flag of RAW) modes[flag] = on;
    return true;
  }
  const off = arg.startsWith('-');
  const name = off ? arg.slice(1) : arg;
  if (!(FLAGS as string[]).includes(name)) return false;
  modes[name as TerminalFlag] = !off;
  return true;
}
