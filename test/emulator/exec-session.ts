// One exec session: the terminal (terminal.ts) between the client and the program (exec-shell.ts).
// Runs the program until it waits, performs its waits (a read of the terminal, a sleep) and resumes it;
// ends when the program ends, after a while without input or output, or when output exceeds a bound.
// No I/O of its own: the websocket side passes input in and gets output and the end through SessionIo.
import {
  execProgram,
  Interrupt,
  newBudget,
  type ShellContext,
  type ShellEffect,
  type ShellRun,
} from './exec-shell.ts';
import { Terminal, type ReadResult } from './terminal.ts';

export interface SessionIo {
  /** Output for the client (terminal-processed). */
  send(text: string): void;
  /** The session is over; `reason` is set when it did not end by the program ending. */
  end(reason?: string): void;
}

export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ExecSessionOptions {
  command: string;
  context: ShellContext;
  hasShell: boolean;
  terminalSize: { rows: number; cols: number };
  /** Closes a session with neither input nor output for this long. */
  idleMs: number;
  /** Closes a session that has sent this many characters. */
  maxOutputChars: number;
}

/** setTimeout's largest delay; a longer sleep (sleep infinity) just never wakes. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type Resumption = { value: ReadResult } | { error: Error };

export class ExecSession {
  private readonly terminal: Terminal;
  private readonly io: SessionIo;
  private readonly timers: Timers;
  private readonly options: ExecSessionOptions;
  private program: ShellRun | undefined;
  /** What the program waits for, when it waits. */
  private waiting: ShellEffect['kind'] | undefined;
  private sleepTimer: unknown;
  private idleTimer: unknown;
  private sent = 0;
  /** The program is executing (a generator cannot be returned then). */
  private running = false;
  private ended = false;

  constructor(options: ExecSessionOptions, io: SessionIo, timers: Timers) {
    this.options = options;
    this.io = io;
    this.timers = timers;
    this.terminal = new Terminal(options.terminalSize);
    // Idle counts from the websocket's opening: a client that never authenticates is closed too.
    this.touch();
  }

  /** Starts the program (once the client has authenticated). */
  start(): void {
    if (this.ended || this.program) return;
    this.program = execProgram(
      this.options.command,
      {
        context: this.options.context,
        tty: {
          write: (text) => {
            this.send(this.terminal.output(text));
          },
          configure: (args) => this.terminal.configure(args),
        },
        budget: newBudget(),
      },
      { hasShell: this.options.hasShell },
    );
    this.touch();
    this.resume({ value: undefined });
  }

  /** Client input: through the line discipline (echo, editing), then to a program waiting to read. */
  input(text: string): void {
    if (!this.program) return;
    this.touch();
    const received = this.terminal.receive(text);
    this.send(received.echo);
    if (received.overflow) {
      this.finish('input overflow: the program does not read its input');
      return;
    }
    if (received.interrupted && this.waiting !== undefined) {
      this.stopWaiting();
      this.resume({ error: new Interrupt('^C') });
    } else if (this.waiting === 'read') {
      const got = this.terminal.read();
      if (got === undefined) return;
      this.stopWaiting();
      this.resume({ value: got });
    }
  }

  /** Ends the session from outside (socket closed, container stopped). */
  stop(reason: string): void {
    this.finish(reason);
  }

  private send(text: string): void {
    if (text === '' || !this.program) return;
    this.sent += text.length;
    this.io.send(text);
    this.touch();
    if (this.sent > this.options.maxOutputChars) this.finish('output limit reached');
  }

  private touch(): void {
    if (this.ended) return;
    if (this.idleTimer !== undefined) this.timers.clearTimeout(this.idleTimer);
    this.idleTimer = this.timers.setTimeout(() => {
      this.finish('idle timeout');
    }, this.options.idleMs);
  }

  private stopWaiting(): void {
    if (this.sleepTimer !== undefined) this.timers.clearTimeout(this.sleepTimer);
    this.sleepTimer = undefined;
    this.waiting = undefined;
  }

  /** Runs the program until it waits for something not yet there, or ends. */
  private resume(first: Resumption): void {
    const program = this.program;
    let next = first;
    while (program && this.program === program) {
      let step: IteratorResult<ShellEffect, number>;
      this.running = true;
      try {
        step = 'error' in next ? program.throw(next.error) : program.next(next.value);
      } catch (error) {
        this.running = false;
        this.finish(`emulator error: ${error instanceof Error ? error.message : String(error)}`);
        return;
      }
      this.running = false;
      if (step.done || this.program !== program) {
        // Ended, or finished from inside (output limit): a generator cannot be returned while it runs.
        program.return(0);
        this.finish();
        return;
      }
      const effect = step.value;
      if (effect.kind === 'sleep') {
        this.waiting = 'sleep';
        if (effect.ms <= MAX_TIMER_MS) {
          this.sleepTimer = this.timers.setTimeout(() => {
            this.stopWaiting();
            this.resume({ value: undefined });
          }, effect.ms);
        }
        return;
      }
      const got = this.terminal.read();
      if (got === undefined) {
        this.waiting = 'read';
        return;
      }
      next = { value: got };
    }
  }

  private finish(reason?: string): void {
    if (this.ended) return;
    this.ended = true;
    const program = this.program;
    this.program = undefined;
    this.stopWaiting();
    if (this.idleTimer !== undefined) this.timers.clearTimeout(this.idleTimer);
    if (program && !this.running) program.return(0);
    this.io.end(reason);
  }
}
