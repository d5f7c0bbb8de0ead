// The container group state machine. Pure: every function takes `now` (ms since the epoch) and returns
// new state. Provisioning goes Pending -> Creating -> Succeeded|Failed on a timeline; each container
// then plays its scripted program (behaviour.ts), restarting as the group's restart policy says.
import type { Behaviour, Program } from './behaviour.ts';
import type { RestartPolicy } from './spec.ts';
import { MOUNT_FAILED_EVENT } from './storage.ts';

export interface Timeline {
  /** Time spent Pending before Creating. */
  pendingMs: number;
  /** Time spent Creating (pulling images) before Succeeded. */
  creatingMs: number;
  /** First restart back-off after a container exits; doubles per restart up to backoffMaxMs. */
  backoffBaseMs: number;
  backoffMaxMs: number;
}

export const TIMELINES = {
  /** Succeeded ~150 ms after the PUT: for tests. */
  fast: { pendingMs: 50, creatingMs: 100, backoffBaseMs: 100, backoffMaxMs: 1000 },
  /** Succeeded ~30 s after the PUT, as observed on Azure for a small Linux image. */
  realistic: { pendingMs: 5000, creatingMs: 25_000, backoffBaseMs: 10_000, backoffMaxMs: 300_000 },
} as const satisfies Record<string, Timeline>;

/** A timeline `factor` times faster (a factor of 10 turns realistic's ~30 s create into ~3 s). */
export function compressTimeline(timeline: Timeline, factor: number): Timeline {
  const scale = (ms: number): number => Math.max(1, Math.round(ms / factor));
  return {
    pendingMs: scale(timeline.pendingMs),
    creatingMs: scale(timeline.creatingMs),
    backoffBaseMs: scale(timeline.backoffBaseMs),
    backoffMaxMs: scale(timeline.backoffMaxMs),
  };
}

export type ProvisioningKind = 'Create' | 'Update' | 'Start' | 'Restart';

export interface Provisioning {
  kind: ProvisioningKind;
  startedAt: number;
  creatingAt: number;
  finishedAt: number;
  failure?: { code: string; message: string };
  /** A stuck operation (fault `stall`): it never finishes. */
  stalled?: boolean;
}

/** The last instant a Date can hold: "never", yet still printable as ISO 8601. */
const NEVER = 8.64e15;

/** The operation in flight never finishes: the group stays Pending or Creating. */
export function stallProvisioning(runtime: GroupRuntime): GroupRuntime {
  return { ...runtime, provisioning: { ...runtime.provisioning, finishedAt: NEVER, stalled: true } };
}

export interface ContainerState {
  state: 'Waiting' | 'Running' | 'Terminated';
  startTime?: string;
  finishTime?: string;
  exitCode?: number;
  detailStatus: string;
}

export interface ContainerEvent {
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  name: string;
  message: string;
  type: 'Normal' | 'Warning';
}

type Transition =
  | { action: 'pull'; at: number }
  | { action: 'pull-failed'; at: number }
  | { action: 'mount-failed'; at: number }
  | { action: 'start'; at: number }
  | { action: 'exit'; at: number; code: number };

export interface ContainerRuntime {
  name: string;
  image: string;
  behaviour: Behaviour;
  restartCount: number;
  currentState: ContainerState;
  previousState?: ContainerState;
  events: ContainerEvent[];
  /** When the current run started: its log lines are timed from here. */
  runStartedAt?: number;
  /** Whether the image was pulled once (later starts do not pull again). */
  pulled: boolean;
  next?: Transition;
}

export interface GroupRuntime {
  provisioning: Provisioning;
  restartPolicy: RestartPolicy;
  stopped: boolean;
  containers: ContainerRuntime[];
}

export type ProvisioningState = 'Pending' | 'Creating' | 'Succeeded' | 'Failed';
export type GroupState = 'Pending' | 'Running' | 'Stopped' | 'Succeeded' | 'Failed';

export interface ContainerDescription {
  name: string;
  image: string;
  behaviour: Behaviour;
}

const WAITING: ContainerState = { state: 'Waiting', detailStatus: '' };
/** Bounds the work one read does on a long crash loop; the state catches up on the next read. */
const MAX_TRANSITIONS_PER_ADVANCE = 10_000;

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function provisioningFailure(
  containers: readonly ContainerDescription[],
  region: string,
): Provisioning['failure'] {
  const unpullable = containers.find((c) => c.behaviour.kind === 'pull-fail');
  if (unpullable) {
    return {
      code: 'InaccessibleImage',
      message: `The image '${unpullable.image}' is not accessible. Please check the image and registry credential.`,
    };
  }
  if (containers.some((c) => c.behaviour.kind === 'no-capacity')) {
    return {
      code: 'InsufficientCapacity',
      message: `The requested resource is not available in the location '${region}' at this moment. Please retry with a different resource request or in another location.`,
    };
  }
  return undefined;
}

/** A new provisioning operation: every container waits to be pulled and started afresh. */
export function beginProvisioning(
  containers: readonly ContainerDescription[],
  settings: { kind: ProvisioningKind; restartPolicy: RestartPolicy; region: string },
  now: number,
  timeline: Timeline,
): GroupRuntime {
  const creatingAt = now + timeline.pendingMs;
  const failure = provisioningFailure(containers, settings.region);
  const noCapacity = failure?.code === 'InsufficientCapacity';
  return {
    provisioning: {
      kind: settings.kind,
      startedAt: now,
      creatingAt,
      finishedAt: creatingAt + timeline.creatingMs,
      ...(failure && { failure }),
    },
    restartPolicy: settings.restartPolicy,
    stopped: false,
    containers: containers.map((c) => ({
      name: c.name,
      image: c.image,
      behaviour: c.behaviour,
      restartCount: 0,
      currentState: WAITING,
      events: [],
      pulled: false,
      ...(!noCapacity && { next: { action: 'pull', at: creatingAt } }),
    })),
  };
}

export function provisioningStateAt(provisioning: Provisioning, now: number): ProvisioningState {
  if (now < provisioning.creatingAt) return 'Pending';
  if (now < provisioning.finishedAt) return 'Creating';
  return provisioning.failure ? 'Failed' : 'Succeeded';
}

/** Whether an operation is in flight: Azure answers 409 ContainerGroupTransitioning to writes then. */
export function isTransitioning(runtime: GroupRuntime, now: number): boolean {
  return now < runtime.provisioning.finishedAt;
}

export function groupStateAt(runtime: GroupRuntime, now: number): GroupState {
  if (runtime.stopped) return 'Stopped';
  if (provisioningStateAt(runtime.provisioning, now) !== 'Succeeded') return 'Pending';
  // A container between a crash and its restart is Terminated but not finished.
  if (runtime.containers.some((c) => c.currentState.state !== 'Terminated' || c.next !== undefined))
    return 'Running';
  if (runtime.restartPolicy === 'Never' && runtime.containers.some((c) => c.currentState.exitCode !== 0)) {
    return 'Failed';
  }
  return 'Succeeded';
}

export function recordEvent(
  events: readonly ContainerEvent[],
  event: { name: string; message: string; type: 'Normal' | 'Warning' },
  at: number,
): ContainerEvent[] {
  const index = events.findIndex((e) => e.name === event.name && e.message === event.message);
  const existing = events[index];
  if (existing === undefined) {
    return [...events, { ...event, count: 1, firstTimestamp: iso(at), lastTimestamp: iso(at) }];
  }
  const updated = { ...existing, count: existing.count + 1, lastTimestamp: iso(at) };
  return [...events.slice(0, index), ...events.slice(index + 1), updated];
}

function program(container: ContainerRuntime): Program | undefined {
  return container.behaviour.kind === 'run' ? container.behaviour.program : undefined;
}

function shouldRestart(policy: RestartPolicy, exitCode: number): boolean {
  return policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);
}

export function backoffMs(restartCount: number, timeline: Timeline): number {
  return Math.min(timeline.backoffMaxMs, timeline.backoffBaseMs * 2 ** Math.min(restartCount, 30));
}

function start(container: ContainerRuntime, at: number): ContainerRuntime {
  const exit = program(container)?.exit;
  const restarted = container.runStartedAt !== undefined;
  const pulledEvents = container.pulled
    ? container.events
    : recordEvent(
        container.events,
        { name: 'Pulled', message: `Successfully pulled image "${container.image}"`, type: 'Normal' },
        at,
      );
  const { next: _done, ...rest } = container;
  return {
    ...rest,
    pulled: true,
    restartCount: restarted ? container.restartCount + 1 : container.restartCount,
    ...(restarted && container.currentState.state !== 'Waiting' && { previousState: container.currentState }),
    currentState: { state: 'Running', startTime: iso(at), detailStatus: '' },
    events: recordEvent(pulledEvents, { name: 'Started', message: 'Started container', type: 'Normal' }, at),
    runStartedAt: at,
    ...(exit && { next: { action: 'exit', at: at + exit.atMs, code: exit.code } }),
  };
}

/** The container stops at `at` with `code`; the restart policy decides whether it starts again. */
function exitContainer(
  container: ContainerRuntime,
  exit: { at: number; code: number; restartPolicy: RestartPolicy },
  timeline: Timeline,
): ContainerRuntime {
  const { at, code } = exit;
  const terminated: ContainerState = {
    state: 'Terminated',
    ...(container.currentState.startTime !== undefined && { startTime: container.currentState.startTime }),
    finishTime: iso(at),
    exitCode: code,
    detailStatus: code === 0 ? 'Completed' : 'Error',
  };
  const { next: _done, ...rest } = container;
  if (!shouldRestart(exit.restartPolicy, code)) return { ...rest, currentState: terminated };
  return {
    ...rest,
    currentState: terminated,
    events: recordEvent(
      container.events,
      { name: 'BackOff', message: 'Back-off restarting failed container', type: 'Warning' },
      at,
    ),
    next: { action: 'start', at: at + backoffMs(container.restartCount, timeline) },
  };
}

function applyTransition(
  container: ContainerRuntime,
  transition: Transition,
  runtime: GroupRuntime,
  timeline: Timeline,
): ContainerRuntime {
  const { finishedAt } = runtime.provisioning;
  switch (transition.action) {
    case 'pull': {
      const pullEvent = {
        name: 'Pulling',
        message: `pulling image "${container.image}"`,
        type: 'Normal' as const,
      };
      const { kind } = container.behaviour;
      const action = kind === 'pull-fail' ? 'pull-failed' : kind === 'mount-fail' ? 'mount-failed' : 'start';
      return {
        ...container,
        events: recordEvent(container.events, pullEvent, transition.at),
        next: { action, at: finishedAt },
      };
    }
    case 'mount-failed': {
      // Azure retries the mount and counts the event up; one record says the same (unconfirmed: Azure
      // shows it among the group's events, the emulator among the container's).
      const { next: _done, ...rest } = container;
      return {
        ...rest,
        currentState: { state: 'Waiting', detailStatus: '' },
        events: recordEvent(container.events, MOUNT_FAILED_EVENT, transition.at),
      };
    }
    case 'pull-failed': {
      const { next: _done, ...rest } = container;
      const failed = recordEvent(
        container.events,
        { name: 'Failed', message: `Failed to pull image "${container.image}": not found`, type: 'Warning' },
        transition.at,
      );
      return {
        ...rest,
        currentState: { state: 'Waiting', detailStatus: 'ErrImagePull' },
        events: recordEvent(
          failed,
          { name: 'BackOff', message: `Back-off pulling image "${container.image}"`, type: 'Warning' },
          transition.at,
        ),
      };
    }
    case 'start':
      return start(container, transition.at);
    case 'exit':
      return exitContainer(
        container,
        { at: transition.at, code: transition.code, restartPolicy: runtime.restartPolicy },
        timeline,
      );
  }
}

function advanceContainer(
  container: ContainerRuntime,
  runtime: GroupRuntime,
  now: number,
  timeline: Timeline,
): ContainerRuntime {
  let current = container;
  for (let step = 0; step < MAX_TRANSITIONS_PER_ADVANCE && current.next && current.next.at <= now; step++) {
    current = applyTransition(current, current.next, runtime, timeline);
  }
  return current;
}

/** Plays every transition due by `now`. */
export function advanceGroup(runtime: GroupRuntime, now: number, timeline: Timeline): GroupRuntime {
  if (runtime.stopped) return runtime;
  return {
    ...runtime,
    containers: runtime.containers.map((c) => advanceContainer(c, runtime, now, timeline)),
  };
}

function killed(container: ContainerRuntime, now: number): ContainerRuntime {
  return {
    ...container,
    events: recordEvent(
      container.events,
      { name: 'Killing', message: `Killing container ${container.name}`, type: 'Normal' },
      now,
    ),
  };
}

/** The container is killed (exit 137, SIGKILL); the restart policy decides what follows. */
export function killContainer(
  runtime: GroupRuntime,
  name: string,
  now: number,
  timeline: Timeline,
): GroupRuntime {
  return mapContainer(runtime, name, (c) =>
    c.currentState.state === 'Running'
      ? exitContainer(killed(c, now), { at: now, code: 137, restartPolicy: runtime.restartPolicy }, timeline)
      : c,
  );
}

/** The container is killed and started again at once, whatever the restart policy. */
export function restartContainer(runtime: GroupRuntime, name: string, now: number): GroupRuntime {
  return mapContainer(runtime, name, (c) => {
    const stopped =
      c.currentState.state === 'Running'
        ? {
            ...killed(c, now),
            currentState: {
              ...c.currentState,
              state: 'Terminated' as const,
              finishTime: iso(now),
              exitCode: 137,
              detailStatus: 'Killed',
            },
          }
        : c;
    return start(stopped, now);
  });
}

function mapContainer(
  runtime: GroupRuntime,
  name: string,
  update: (c: ContainerRuntime) => ContainerRuntime,
): GroupRuntime {
  return { ...runtime, containers: runtime.containers.map((c) => (c.name === name ? update(c) : c)) };
}

/** Stop: every container is killed and nothing restarts until start. */
export function stopGroup(runtime: GroupRuntime, now: number): GroupRuntime {
  return {
    ...runtime,
    stopped: true,
    containers: runtime.containers.map((c) => {
      const { next: _cancelled, ...rest } = killed(c, now);
      return c.currentState.state === 'Running'
        ? {
            ...rest,
            currentState: {
              ...c.currentState,
              state: 'Terminated',
              finishTime: iso(now),
              exitCode: 137,
              detailStatus: 'Killed',
            },
          }
        : rest;
    }),
  };
}

/**
 * What the run of the container that started at `run` has printed by `now`, and when that run ended if
 * it has (it exited, was killed, or a newer run or provisioning replaced it).
 */
export function runOutput(
  container: ContainerRuntime,
  run: number,
  now: number,
): { lines: { at: number; text: string }[]; endedAt?: number } {
  const played = program(container);
  const exitAt = played?.exit ? run + played.exit.atMs : Infinity;
  const { currentState } = container;
  let endedAt: number | undefined;
  if (container.runStartedAt !== run) endedAt = Math.min(exitAt, container.runStartedAt ?? now);
  else if (currentState.state === 'Terminated' && currentState.finishTime !== undefined) {
    endedAt = Date.parse(currentState.finishTime);
  }
  const until = Math.min(now, endedAt ?? now);
  const lines = (played?.lines ?? [])
    .map((line) => ({ at: run + line.atMs, text: line.text }))
    .filter((line) => line.at <= until);
  return { lines, ...(endedAt !== undefined && { endedAt }) };
}

/** The log lines the current run has printed by `now`. */
export function logLinesAt(container: ContainerRuntime, now: number): { at: number; text: string }[] {
  return container.runStartedAt === undefined ? [] : runOutput(container, container.runStartedAt, now).lines;
}
