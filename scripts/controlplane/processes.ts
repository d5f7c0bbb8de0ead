// Long-running child processes that outlive the command that started them (detached, output to a
// log file, pid recorded), their readiness probes, and stopping exactly the recorded ones.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface ManagedProcess {
  name: string;
  pid: number;
  /** The executable, checked against /proc before any signal so a recycled pid is never hit. */
  binary: string;
  logPath: string;
}

export interface LaunchedProcess {
  process: ManagedProcess;
  /** Settles with the exit code if the process ends while this Node process still watches it. */
  exited: Promise<number | null>;
}

export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/** Distinct free loopback ports: every listener stays open until all are chosen. */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => {
            resolve(server);
          });
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('listener has no port');
    return address.port;
  });
  await Promise.all(
    servers.map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
        }),
    ),
  );
  return ports;
}

export function launch(
  name: string,
  binary: string,
  args: readonly string[],
  logPath: string,
): LaunchedProcess {
  const log = openSync(logPath, 'a');
  try {
    const child = spawn(binary, args, { detached: true, stdio: ['ignore', log, log] });
    const exited = new Promise<number | null>((resolve) => {
      child.once('exit', (code) => {
        resolve(code);
      });
      child.once('error', () => {
        resolve(null);
      });
    });
    child.unref();
    if (child.pid === undefined) throw new StartupError(`${name} could not be started (${binary})`);
    return { process: { name, pid: child.pid, binary, logPath }, exited };
  } finally {
    closeSync(log);
  }
}

export function isRunning(process: ManagedProcess): boolean {
  const cmdlinePath = `/proc/${process.pid}/cmdline`;
  if (!existsSync(cmdlinePath)) return false;
  // A zombie's cmdline is empty; another program under a recycled pid has a different argv[0].
  const argv0 = readFileSync(cmdlinePath, 'utf8').split('\0')[0];
  return argv0 === process.binary;
}

export function logTail(logPath: string, lines = 25): string {
  if (!existsSync(logPath)) return '(no log)';
  return readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

/** SIGTERM to each recorded process still running, then SIGKILL to what outlives `graceMs`. */
export async function stopProcesses(
  processes: readonly ManagedProcess[],
  graceMs = 10_000,
): Promise<string[]> {
  const running = processes.filter(isRunning);
  for (const target of running) signal(target, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (running.some(isRunning) && Date.now() < deadline) await sleep(100);
  for (const target of running.filter(isRunning)) signal(target, 'SIGKILL');
  return running.map((target) => target.name);
}

function signal(target: ManagedProcess, name: NodeJS.Signals): void {
  try {
    process.kill(target.pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export interface TlsProbe {
  ca?: string;
  cert?: string;
  key?: string;
}

/** GET over HTTPS; the status code, or undefined when the server is not answering yet. */
export function httpsStatus(url: string, tls: TlsProbe): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: 'GET',
        timeout: 2000,
        agent: false,
        ...tls,
        // Component health ports serve a self-signed certificate; only the apiserver's is checked.
        rejectUnauthorized: tls.ca !== undefined,
      },
      (response) => {
        response.resume();
        resolve(response.statusCode);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => {
      resolve(undefined);
    });
    req.end();
  });
}

/** GET over plain HTTP (etcd's client port); same contract as httpsStatus. */
export async function httpStatus(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await response.body?.cancel();
    return response.status;
  } catch {
    return undefined;
  }
}

/**
 * Polls `ready` until it holds, failing early with the log tail if the process exits and with a
 * timeout otherwise.
 */
export async function waitUntilReady(
  launched: LaunchedProcess,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const { name, logPath } = launched.process;
  let exitCode: number | null | undefined;
  void launched.exited.then((code) => {
    exitCode = code;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exitCode !== undefined) {
      throw new StartupError(
        `${name} exited (code ${String(exitCode)}) during start; last lines of ${logPath}:\n${logTail(logPath)}`,
      );
    }
    if (await ready()) return;
    if (Date.now() > deadline) {
      throw new StartupError(
        `${name} not ready after ${timeoutMs / 1000}s; last lines of ${logPath}:\n${logTail(logPath)}`,
      );
    }
    await sleep(150);
  }
}
