// Lifecycle hooks on ACI, which has none of its own. The connector runs them as a kubelet would:
//   preStop   before the container group is deleted, all containers' at once, within the pod's grace
//             period (a hook still running then is abandoned: the group is deleted anyway);
//   postStart once per container start, as soon as ACI reports the container Running (a kubelet holds
//             the container's Running state until the hook ends; ACI reports it itself).
// `exec` hooks go through ACI's exec API (the terminal client kubectl exec uses, through a shell so the
// exit code comes back), `httpGet` hooks to the group's IP address (the contract refuses one whose port
// the container does not declare: only those are on the address), `sleep` hooks wait. A failure is
// reported as a kubelet reports it: a FailedPostStartHook / FailedPreStopHook Warning event. A failed
// postStart restarts the container group (ACI restarts groups, not single containers), once per start.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Writable } from 'node:stream';
import type { ContainerGroup } from '@azure/arm-containerinstance';
import type { V1Container, V1LifecycleHandler, V1Pod } from '@kubernetes/client-node';
import { systemTimers, type Timers } from '../runtime/clock.ts';
import type { Logger } from '../runtime/logger.ts';
import { listOf, textOf } from './aci-shapes.ts';
import type { EventRecorder } from './ports.ts';
import type { CommandStreams } from './streaming/command-streams.ts';
import type { CommandOutcome } from './streaming/status.ts';
import { runExec, type TerminalSessionDeps } from './streaming/terminal-session.ts';

/** The output of a failed hook kept for its event: a kubelet quotes it too. */
const MAX_HOOK_OUTPUT = 1024;
/** Kubernetes' default terminationGracePeriodSeconds. */
const DEFAULT_GRACE_SECONDS = 30;
/** A postStart hook gets at most this long (a kubelet has no bound; a hung hook must not hold a slot). */
const POST_START_TIMEOUT_MS = 5 * 60_000;
/** The restart backoff after failed postStart hooks (a kubelet's crash-loop backoff). */
const RESTART_BACKOFF_MS = 10_000;
const MAX_RESTART_BACKOFF_MS = 5 * 60_000;

export type HookResult = { ok: true } | { ok: false; message: string };

/** Calls `url` (GET) with the headers; resolves with the status code. Errors reject. */
export type HttpGet = (url: URL, headers: Record<string, string>, signal: AbortSignal) => Promise<number>;

export interface HookDeps {
  terminal: TerminalSessionDeps;
  httpGet: HttpGet;
  timers: Timers;
  events: EventRecorder;
  logger: Logger;
  /** Restarts the container group (ARM restart): what a failed postStart does. */
  restartGroup(name: string): Promise<void>;
}

export interface HookTarget {
  group: string;
  container: V1Container;
  /** The group's IP address, when it has one. */
  ip: string | undefined;
}

/** Collects a hook command's output (bounded) and how it ended. */
function hookStreams(): { streams: CommandStreams; outcome: Promise<CommandOutcome>; output: () => string } {
  let kept = '';
  let finish: (outcome: CommandOutcome) => void = () => undefined;
  const outcome = new Promise<CommandOutcome>((resolve) => {
    finish = resolve;
  });
  const stdout = new Writable({
    write(chunk: Buffer, _encoding, done) {
      kept = (kept + chunk.toString('utf8')).slice(-MAX_HOOK_OUTPUT);
      done();
    },
  });
  const streams: CommandStreams = {
    options: { stdin: false, stdout: true, stderr: false, tty: false },
    stdin: undefined,
    stdout,
    stderr: undefined,
    onResize: () => undefined,
    finish,
    closed: outcome.then(() => undefined),
  };
  return { streams, outcome, output: () => kept.trim() };
}

async function execHook(
  deps: HookDeps,
  target: HookTarget,
  command: readonly string[],
  signal: AbortSignal,
): Promise<HookResult> {
  if (command.length === 0) return { ok: false, message: 'the exec hook has no command' };
  const { streams, outcome, output } = hookStreams();
  // `command` (the POSIX builtin) in front makes even a one-word hook go through the shell line that
  // reports the exit code (streaming/shell.ts); it runs the program as given, functions bypassed.
  const argv = ['command', ...command];
  await runExec(
    deps.terminal,
    { group: target.group, container: target.container.name, argv, signal },
    streams,
  );
  const ended = await outcome;
  if (ended.kind === 'success' || (ended.kind === 'exit' && ended.code === 0)) return { ok: true };
  const why = ended.kind === 'exit' ? `exit code ${ended.code}` : ended.message;
  const said = output();
  return {
    ok: false,
    message: `Exec lifecycle hook (${JSON.stringify(command)}) failed - error: ${why}${said ? `, message: ${JSON.stringify(said)}` : ''}`,
  };
}

function namedPort(container: V1Container, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return (container.ports ?? []).find((declared) => declared.name === port)?.containerPort;
}

async function httpHook(
  deps: HookDeps,
  target: HookTarget,
  handler: NonNullable<V1LifecycleHandler['httpGet']>,
  signal: AbortSignal,
): Promise<HookResult> {
  const port = namedPort(target.container, handler.port);
  if (target.ip === undefined || port === undefined) {
    return { ok: false, message: 'the container group has no IP address for the httpGet hook' };
  }
  const scheme = (handler.scheme ?? 'HTTP').toLowerCase();
  const path = handler.path ?? '/';
  const url = new URL(`${scheme}://${target.ip}:${port}${path.startsWith('/') ? path : `/${path}`}`);
  const headers = Object.fromEntries(
    (handler.httpHeaders ?? []).map((header) => [header.name, header.value]),
  );
  try {
    const status = await deps.httpGet(url, headers, signal);
    // As a kubelet judges it: 2xx and 3xx succeed.
    if (status >= 200 && status < 400) return { ok: true };
    return { ok: false, message: `HTTP lifecycle hook (${path}) failed - error: HTTP status ${status}` };
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    return { ok: false, message: `HTTP lifecycle hook (${path}) failed - error: ${why}` };
  }
}

/** Runs one hook handler; never throws. */
export async function runHook(
  deps: HookDeps,
  target: HookTarget,
  handler: V1LifecycleHandler,
  signal: AbortSignal,
): Promise<HookResult> {
  try {
    if (handler.exec) return await execHook(deps, target, handler.exec.command ?? [], signal);
    if (handler.httpGet) return await httpHook(deps, target, handler.httpGet, signal);
    if (handler.sleep) {
      await deps.timers.sleep(handler.sleep.seconds * 1000, signal).catch(() => undefined);
      return { ok: true };
    }
    return { ok: false, message: 'the hook has no exec, httpGet or sleep action' };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error) };
  }
}

/** The group's IP address, as ARM reports it. */
function groupIp(group: ContainerGroup | undefined): string | undefined {
  return textOf(group?.ipAddress?.ip);
}

/** A signal that aborts after `ms` on the injected timers. */
function deadline(timers: Timers, ms: number): { signal: AbortSignal; cancel: () => void } {
  const controller = new AbortController();
  const cancel = timers.after(ms, () => {
    controller.abort(new Error(`the hook did not finish within ${Math.round(ms / 1000)}s`));
  });
  return { signal: controller.signal, cancel };
}

/** What a pod's deletion leaves for its preStop hooks: the grace period, counted from the deletion. */
export function preStopBudgetMs(pod: V1Pod, now: number): number {
  const graceSeconds =
    pod.metadata?.deletionGracePeriodSeconds ??
    pod.spec?.terminationGracePeriodSeconds ??
    DEFAULT_GRACE_SECONDS;
  const deletion = pod.metadata?.deletionTimestamp;
  const until = deletion === undefined ? undefined : new Date(deletion).getTime() - now;
  const budget = Math.min(graceSeconds * 1000, until ?? Number.POSITIVE_INFINITY);
  return Math.max(0, Number.isFinite(budget) ? budget : graceSeconds * 1000);
}

export class LifecycleHooks {
  private readonly deps: HookDeps;
  /** Container starts whose postStart ran or runs (`uid/container/startTime`): each runs once. */
  private readonly started = new Set<string>();
  /** Pods whose preStop hooks ran: a retried deletion does not run them again. */
  private readonly stopped = new Set<string>();
  /** Failed postStart hooks per pod, for the restart backoff. */
  private readonly failures = new Map<string, number>();

  constructor(deps: HookDeps) {
    this.deps = deps;
  }

  /**
   * Runs the preStop hooks of the containers ACI reports Running, all at once, and resolves when they
   * end or the grace period does. Failures become events; the deletion goes on either way.
   */
  async preStop(
    pod: V1Pod,
    groupName: string,
    group: ContainerGroup | undefined,
    now: number,
  ): Promise<void> {
    const uid = pod.metadata?.uid ?? '';
    if (this.stopped.has(uid)) return;
    const running = new Set(
      listOf(group?.containers)
        .filter((c) => c.instanceView?.currentState?.state === 'Running')
        .map((c) => c.name),
    );
    const hooked = (pod.spec?.containers ?? []).filter(
      (container) => container.lifecycle?.preStop !== undefined && running.has(container.name),
    );
    this.stopped.add(uid);
    if (hooked.length === 0) return;
    const { signal, cancel } = deadline(this.deps.timers, preStopBudgetMs(pod, now));
    try {
      await Promise.all(
        hooked.map(async (container) => {
          const handler = container.lifecycle?.preStop as V1LifecycleHandler;
          const result = await runHook(
            this.deps,
            { group: groupName, container, ip: groupIp(group) },
            handler,
            signal,
          );
          if (!result.ok) {
            this.deps.events.record(pod, {
              type: 'Warning',
              reason: 'FailedPreStopHook',
              message: result.message,
            });
          }
        }),
      );
    } finally {
      cancel();
    }
  }

  /**
   * Starts the postStart hook of every container ACI reports newly Running (once per start); does not
   * wait for it. A failure is an event and a restart of the group.
   */
  postStart(pod: V1Pod, groupName: string, group: ContainerGroup): void {
    const uid = pod.metadata?.uid ?? '';
    for (const container of pod.spec?.containers ?? []) {
      const handler = container.lifecycle?.postStart;
      if (!handler) continue;
      const state = listOf(group.containers).find((c) => c.name === container.name)?.instanceView
        ?.currentState;
      if (state?.state !== 'Running') continue;
      const start = `${uid}/${container.name}/${String(state.startTime ?? '')}`;
      if (this.started.has(start)) continue;
      this.started.add(start);
      void this.runPostStart(pod, { group: groupName, container, ip: groupIp(group) }, handler);
    }
  }

  /** Forgets a pod whose group is gone, so the sets stay as small as the node's pods. */
  forget(pod: V1Pod): void {
    const uid = pod.metadata?.uid ?? '';
    this.stopped.delete(uid);
    this.failures.delete(uid);
    for (const start of this.started) if (start.startsWith(`${uid}/`)) this.started.delete(start);
  }

  private async runPostStart(pod: V1Pod, target: HookTarget, handler: V1LifecycleHandler): Promise<void> {
    const { signal, cancel } = deadline(this.deps.timers, POST_START_TIMEOUT_MS);
    const result = await runHook(this.deps, target, handler, signal);
    cancel();
    if (result.ok) return;
    this.deps.events.record(pod, { type: 'Warning', reason: 'FailedPostStartHook', message: result.message });
    // As a kubelet backs off a container that keeps failing: at once, then 10 s doubling to 5 min.
    const uid = pod.metadata?.uid ?? '';
    const failures = this.failures.get(uid) ?? 0;
    this.failures.set(uid, failures + 1);
    const delay =
      failures === 0 ? 0 : Math.min(MAX_RESTART_BACKOFF_MS, RESTART_BACKOFF_MS * 2 ** (failures - 1));
    this.deps.timers.after(delay, () => {
      this.restart(target.group);
    });
  }

  private restart(group: string): void {
    this.deps.restartGroup(group).catch((error: unknown) => {
      this.deps.logger.warn(
        { group, err: error },
        'restarting the group after a failed postStart hook failed',
      );
    });
  }
}

/**
 * The real httpGet: one GET, the body discarded. HTTPS is not verified, as a kubelet does not verify
 * it for hooks and probes (the container's certificate names no IP address).
 */
export const nodeHttpGet: HttpGet = (url, headers, signal) =>
  new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const outgoing = send(url, { method: 'GET', headers, signal, rejectUnauthorized: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    outgoing.once('error', reject);
    outgoing.end();
  });

/** The hooks as connector/main.ts wires them: real timers and HTTP, ACI's restart. */
export function podLifecycleHooks(deps: {
  terminal: TerminalSessionDeps;
  events: EventRecorder;
  groups: { restart(name: string): Promise<void> };
  logger: Logger;
}): LifecycleHooks {
  return new LifecycleHooks({
    terminal: deps.terminal,
    httpGet: nodeHttpGet,
    timers: systemTimers,
    events: deps.events,
    logger: deps.logger,
    restartGroup: (name) => deps.groups.restart(name),
  });
}
