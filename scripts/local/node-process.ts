// A long-running Node process of this repository (the webhook, the extender, the connector) started
// outside the cluster: `node <entry>` with an explicit environment, stdout and stderr appended to a log
// file, its JSON log lines kept for whoever waits on them, and stopped by its pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');

export type LogEntry = Record<string, unknown>;

export interface NodeProcess {
  name: string;
  pid: number;
  logPath: string;
  /** Settles with the exit code (null after a signal) once the process has ended. */
  exited: Promise<number | null>;
  /** Whether the process has ended. */
  hasExited(): boolean;
  /** Everything it wrote so far. */
  logText(): string;
  /** Resolves with the first JSON log line (past or future) that `matches`; rejects on exit or timeout. */
  waitForLog(what: string, matches: (entry: LogEntry) => boolean, timeoutMs: number): Promise<LogEntry>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL: no chance to tidy up. */
  kill(): Promise<void>;
}

export interface NodeProcessOptions {
  name: string;
  /** Path of the entry point, relative to the repository root (e.g. `webhook/main.ts`). */
  entry: string;
  /** The whole environment of the child: nothing is inherited implicitly. */
  env: Readonly<Record<string, string>>;
  logPath: string;
  /** Node's own flags, before the entry point (e.g. those of the container's command). */
  nodeFlags?: readonly string[];
}

/**
 * Children still running: killed when this process exits, so a harness that is itself killed (and
 * exits through process.exit) leaves none behind. A detached child would outlive it otherwise.
 */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts the process in its own process group, so a terminal's Ctrl-C reaches only the parent, which
 * then stops its children in order instead of all of them dying at once.
 */
export function startNodeProcess(options: NodeProcessOptions): NodeProcess {
  const log = createWriteStream(options.logPath, { flags: 'a' });
  const child = spawn(process.execPath, [...(options.nodeFlags ?? []), join(REPO_ROOT, options.entry)], {
    cwd: REPO_ROOT,
    env: options.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${options.name} could not be started`);
  const pid = child.pid;
  running.add(child);
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  const entries: LogEntry[] = [];
  const listeners = new Set<(entry: LogEntry) => void>();
  createInterface({ input: child.stdout }).on('line', (line) => {
    const entry = parseLogLine(line);
    if (entry === undefined) return;
    entries.push(entry);
    for (const listener of listeners) listener(entry);
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('close', (code) => {
      running.delete(child);
      exitCode = code;
      log.end();
      resolve(code);
    });
  });
  const logText = (): string => readFileSync(options.logPath, 'utf8');

  const waitForLog: NodeProcess['waitForLog'] = (what, matches, timeoutMs) =>
    new Promise((resolve, reject) => {
      const seen = entries.find(matches);
      if (seen !== undefined) {
        resolve(seen);
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        listeners.delete(listener);
      };
      const listener = (entry: LogEntry): void => {
        if (!matches(entry)) return;
        done();
        resolve(entry);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${options.name}: no ${what} within ${timeoutMs / 1000}s; log ${options.logPath}`));
      }, timeoutMs);
      listeners.add(listener);
      void exited.then((code) => {
        done();
        reject(
          new Error(
            `${options.name} exited (code ${String(code)}) before ${what}; last lines of ${options.logPath}:\n${logText().slice(-3000)}`,
          ),
        );
      });
    });

  const signal = async (name: NodeJS.Signals): Promise<void> => {
    if (exitCode === undefined) child.kill(name);
    await exited;
  };
  return {
    name: options.name,
    pid,
    logPath: options.logPath,
    exited,
    hasExited: () => exitCode !== undefined,
    logText,
    waitForLog,
    stop: async (graceMs = 10_000) => {
      if (exitCode !== undefined) return;
      child.kill('SIGTERM');
      const outcome = await Promise.race([exited.then(() => 'exited'), sleep(graceMs, 'timeout')]);
      if (outcome === 'timeout') await signal('SIGKILL');
    },
    kill: () => signal('SIGKILL'),
  };
}

function parseLogLine(line: string): LogEntry | undefined {
  try {
    const parsed: unknown = JSON.parse(line);
    return typeof parsed === 'object' && parsed !== null ? (parsed as LogEntry) : undefined;
  } catch {
    return undefined;
  }
}

/** The environment every child gets from its parent: enough to run, nothing that changes its behaviour. */
export function baseEnvironment(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  return { PATH: env.PATH ?? '', HOME: env.HOME ?? '/tmp' };
}
