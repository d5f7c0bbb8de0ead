// `kubectl exec` and `kubectl attach` for a container on ACI: open ACI's terminal for it, copy the
// caller's streams through, and end with the outcome a kubelet would report. See shell.ts for how
// arguments and exit codes survive ACI's one-string, no-exit-code exec.
import type { Duplex } from 'node:stream';
import type { TerminalDialer, TerminalEndpoint } from './aci-terminal.ts';
import type { CommandStreams, TerminalSize } from './command-streams.ts';
import { CrlfToLf, shellLine, ShellOutputParser } from './shell.ts';
import type { CommandOutcome } from './status.ts';

/** ACI's exec and attach APIs for one resource group. Errors are ClassifiedErrors. */
export interface ContainerTerminals {
  openExec(
    group: string,
    container: string,
    command: string,
    size: { rows: number; cols: number },
  ): Promise<TerminalEndpoint>;
  openAttach(group: string, container: string): Promise<TerminalEndpoint>;
}

/** Schedules `fire` after `ms`; returns the cancel function. */
export type Schedule = (ms: number, fire: () => void) => () => void;

export interface TerminalSessionDeps {
  terminals: ContainerTerminals;
  dial: TerminalDialer;
  schedule: Schedule;
  /** A fresh random hex string per session (the shell markers). */
  nonce: () => string;
  /** How long a `-t` session waits for the caller's first terminal size before ACI's default. */
  firstResizeWaitMs: number;
  /** A session with no bytes either way for this long is closed, as a kubelet's streaming idle timeout. */
  idleTimeoutMs: number;
}

export interface SessionTarget {
  group: string;
  container: string;
  /** Aborts when the pod is deleted or the connector shuts down; the reason is told to the caller. */
  signal: AbortSignal;
}

const SHELL = '/bin/sh';
const DEFAULT_SIZE = { rows: 24, cols: 80 };
const EOF = 0x04;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function firstSize(streams: CommandStreams, deps: TerminalSessionDeps): Promise<TerminalSize | undefined> {
  return new Promise((resolve) => {
    const cancel = deps.schedule(deps.firstResizeWaitMs, () => {
      resolve(undefined);
    });
    streams.onResize((size) => {
      cancel();
      resolve(size);
    });
  });
}

export async function runExec(
  deps: TerminalSessionDeps,
  target: SessionTarget & { argv: readonly string[] },
  streams: CommandStreams,
): Promise<void> {
  streams.finish(await execOutcome(deps, target, streams).catch((error: unknown) => failure(error)));
}

export async function runAttach(
  deps: TerminalSessionDeps,
  target: SessionTarget,
  streams: CommandStreams,
): Promise<void> {
  streams.finish(await attachOutcome(deps, target, streams).catch((error: unknown) => failure(error)));
}

function failure(error: unknown): CommandOutcome {
  return { kind: 'error', message: message(error) };
}

async function execOutcome(
  deps: TerminalSessionDeps,
  target: SessionTarget & { argv: readonly string[] },
  streams: CommandStreams,
): Promise<CommandOutcome> {
  const [command, ...args] = target.argv;
  if (command === undefined || command === '') return failure('no command given');
  const { stdin, tty } = streams.options;
  let shell: { line: string; parser: ShellOutputParser } | undefined;
  if (args.length > 0) {
    const nonce = deps.nonce();
    const line = shellLine(target.argv, { stdin, tty, nonce });
    if (!line.ok) return failure(line.message);
    shell = { line: line.line, parser: new ShellOutputParser(nonce) };
  }
  const size = tty ? await firstSize(streams, deps) : undefined;
  const endpoint = await deps.terminals.openExec(
    target.group,
    target.container,
    shell ? SHELL : command,
    size ? { rows: size.height, cols: size.width } : DEFAULT_SIZE,
  );
  const terminal = await deps.dial(endpoint, 'first-message');
  if (shell) terminal.write(shell.line);
  return pump(deps, { terminal, streams, signal: target.signal, parser: shell?.parser });
}

async function attachOutcome(
  deps: TerminalSessionDeps,
  target: SessionTarget,
  streams: CommandStreams,
): Promise<CommandOutcome> {
  if (streams.options.stdin) {
    return failure(
      "ACI's attach streams the container's output only and cannot send it input; use kubectl exec -i for input",
    );
  }
  const endpoint = await deps.terminals.openAttach(target.group, target.container);
  const terminal = await deps.dial(endpoint, 'authorization-header');
  return pump(deps, { terminal, streams, signal: target.signal, parser: undefined });
}

interface Pump {
  terminal: Duplex;
  streams: CommandStreams;
  signal: AbortSignal;
  /** Set when a shell reports the exit status in-band. */
  parser: ShellOutputParser | undefined;
}

/** Copies bytes both ways until ACI closes the terminal, the caller leaves, the pod goes or it idles. */
function pump(deps: TerminalSessionDeps, session: Pump): Promise<CommandOutcome> {
  const { terminal, streams, parser } = session;
  return new Promise((resolve) => {
    let settled = false;
    let cancelIdle = (): void => undefined;
    const settle = (outcome: CommandOutcome): void => {
      if (settled) return;
      settled = true;
      cancelIdle();
      session.signal.removeEventListener('abort', onAbort);
      terminal.destroy();
      resolve(outcome);
    };
    const touch = (): void => {
      cancelIdle();
      cancelIdle = deps.schedule(deps.idleTimeoutMs, () => {
        settle(failure(`the session was idle for ${Math.round(deps.idleTimeoutMs / 1000)} s and was closed`));
      });
    };
    const onAbort = (): void => {
      settle(failure(message(session.signal.reason)));
    };
    if (session.signal.aborted) {
      onAbort();
      return;
    }
    session.signal.addEventListener('abort', onAbort);
    touch();
    // Input typed before the shell ran our line would be echoed and read as part of it: a shell
    // session gets the caller's stdin only once its first marker shows the command has started.
    let inputFlowing = false;
    const startInput = (): void => {
      if (inputFlowing || (parser !== undefined && !parser.started)) return;
      inputFlowing = true;
      forwardInput(streams, terminal, touch);
    };
    startInput();
    const output = outputWriter(streams, parser, (code) => {
      settle({ kind: 'exit', code });
    });
    terminal.on('data', (chunk: Buffer) => {
      touch();
      const writable = output.write(chunk);
      startInput();
      if (!writable) {
        terminal.pause();
        output.drained(() => terminal.resume());
      }
    });
    const ended = (): void => {
      output.flush();
      settle(endOutcome(parser));
    };
    terminal.once('end', ended);
    terminal.once('close', ended);
    terminal.once('error', (error) => {
      settle(failure(`ACI's terminal failed: ${error.message}`));
    });
    void streams.closed.then(() => {
      settle(failure('the caller closed the connection'));
    });
  });
}

/** How a session ended when ACI closed the terminal. */
function endOutcome(parser: ShellOutputParser | undefined): CommandOutcome {
  if (parser === undefined) return { kind: 'success' };
  if (!parser.started) {
    const said = parser.beforeStart.trim();
    return failure(
      `could not start ${SHELL} in the container: ACI's exec runs one command string, so a command with arguments needs a shell in the image. ` +
        `Run the command without arguments, or use an image with ${SHELL}.${said === '' ? '' : ` The container said: ${said}`}`,
    );
  }
  return failure("ACI's session ended before the command reported its exit status");
}

function forwardInput(streams: CommandStreams, terminal: Duplex, touch: () => void): void {
  const { stdin } = streams;
  if (stdin === undefined) return;
  let lastByte: number | undefined;
  stdin.on('data', (chunk: Buffer) => {
    touch();
    lastByte = chunk.at(-1) ?? lastByte;
    if (!terminal.destroyed) terminal.write(chunk);
  });
  stdin.once('end', () => {
    if (streams.options.tty || terminal.destroyed) return;
    // End of input for the program reading the terminal: ^D at the start of a line (a second one
    // first pushes out a partial line).
    terminal.write(Buffer.from(lastByte === undefined || lastByte === 0x0a ? [EOF] : [EOF, EOF]));
  });
}

interface OutputWriter {
  /** False when the caller's stream is full. */
  write(chunk: Buffer): boolean;
  drained(resume: () => void): void;
  flush(): void;
}

function outputWriter(
  streams: CommandStreams,
  parser: ShellOutputParser | undefined,
  exited: (code: number) => void,
): OutputWriter {
  const stdout = streams.stdout ?? streams.stderr;
  // Without a shell to turn it off, the terminal maps LF to CRLF; a caller without a TTY wants LF.
  const crlf = parser === undefined && !streams.options.tty ? new CrlfToLf() : undefined;
  const emit = (data: Buffer): boolean =>
    stdout === undefined || data.length === 0 ? true : stdout.write(data);
  return {
    write(chunk) {
      if (parser === undefined) return emit(crlf ? crlf.push(chunk) : chunk);
      let writable = true;
      for (const result of parser.push(chunk)) {
        if (result.kind === 'output') writable = emit(result.data) && writable;
        else exited(result.code);
      }
      return writable;
    },
    drained(resume) {
      if (stdout) stdout.once('drain', resume);
      else resume();
    },
    flush() {
      if (crlf) emit(crlf.flush());
      if (parser) emit(parser.flush());
    },
  };
}
