// What the emulated groups do between ARM requests. The state is computed from the clock when asked,
// so something must look: GroupActivity settles the world to `now` on every ARM request (before the
// handler, so a response that shows a container Running is never ahead of its listeners), after every
// write, and on a short tick: listeners on group addresses follow their containers (group-network.ts),
// exec and attach sessions end with the container run they belong to, and attach gets the run's output
// as it is printed. The decisions are the pure functions below.
import type { Logger } from '../../runtime/logger.ts';
import type { GroupNetwork, ListenerSpec } from './group-network.ts';
import { advanceGroup, runOutput, type GroupRuntime, type Timeline } from './lifecycle.ts';
import type { ContainerTarget, EmulatorState } from './state.ts';
import type { GroupRecord } from './views.ts';

/**
 * Listeners open up to this long before their container is Running: a client that has just seen
 * Running (computed a moment after the settle) must find them.
 */
export const LISTEN_AHEAD_MS = 1000;

export interface WantedListeners {
  wanted: (ListenerSpec & { run: number })[];
  /** Nothing changes before this time unless the group itself does. */
  recheckAt: number;
}

function earliestTransition(runtime: GroupRuntime): number {
  return Math.min(...runtime.containers.map((container) => container.next?.at ?? Infinity));
}

/** The listeners a group should have at `now`: its containers' exposed TCP ports while they run. */
export function wantedListeners(record: GroupRecord, now: number, timeline: Timeline): WantedListeners {
  const { address } = record;
  const exposed = new Set(
    (record.spec.ipAddress?.ports ?? []).filter((p) => p.protocol === 'TCP').map((p) => p.port),
  );
  if (address === undefined || exposed.size === 0) return { wanted: [], recheckAt: Infinity };
  const current = advanceGroup(record.runtime, now, timeline);
  const ahead = advanceGroup(current, now + LISTEN_AHEAD_MS, timeline);
  const wanted: WantedListeners['wanted'] = [];
  const taken = new Set<number>();
  for (const container of record.spec.containers) {
    const running = [current, ahead]
      .map((runtime) => runtime.containers.find((c) => c.name === container.name))
      .find((c) => c?.currentState.state === 'Running');
    if (!running || record.runtime.stopped) continue;
    for (const { port } of container.ports) {
      if (!exposed.has(port) || taken.has(port)) continue;
      taken.add(port);
      wanted.push({
        address,
        port,
        group: record.name,
        container: container.name,
        run: running.runStartedAt ?? 0,
      });
    }
  }
  const recheckAt = Math.min(earliestTransition(current), earliestTransition(ahead) - LISTEN_AHEAD_MS);
  return { wanted, recheckAt };
}

export interface RunFollower {
  target: ContainerTarget;
  /** The run (its start time) the session belongs to. */
  run: number;
  /** Output already delivered up to this time. */
  since: number;
}

/** What a session sees of its run by `now`: newly printed lines, and why it is over when it is. */
export function followRun(
  record: GroupRecord | undefined,
  follower: RunFollower,
  now: number,
): { lines: { at: number; text: string }[]; ended?: string } {
  const container = record?.runtime.containers.find((c) => c.name === follower.target.container);
  if (!record || !container) return { lines: [], ended: 'container group deleted' };
  const output = runOutput(container, follower.run, now);
  const lines = output.lines.filter((line) => line.at > follower.since);
  if (record.runtime.stopped) return { lines, ended: 'container group stopped' };
  return output.endedAt === undefined ? { lines } : { lines, ended: 'container stopped' };
}

export interface WatchedSession {
  target: ContainerTarget;
  run: number;
  /** Attach: the run's lines printed after `since` (the attach POST), as they are printed. */
  output?: { since: number; deliver(lines: string[]): void };
  end(reason: string): void;
}

export interface GroupActivityDependencies {
  state: EmulatorState;
  network: GroupNetwork;
  clock: () => number;
  logger: Logger;
}

interface CachedListeners {
  runtime: GroupRuntime;
  address: string;
  recheckAt: number;
}

export class GroupActivity {
  private readonly deps: GroupActivityDependencies;
  private readonly sessions = new Map<WatchedSession, RunFollower>();
  /** Per group: what its listeners were computed from, so an unchanged group costs nothing. */
  private readonly listenerCache = new Map<string, CachedListeners>();
  private chain: Promise<void> = Promise.resolve();
  private queued: Promise<void> | undefined;
  private closed = false;

  constructor(deps: GroupActivityDependencies) {
    this.deps = deps;
  }

  /** Follows a session until its run ends; the returned function stops following it. */
  watch(session: WatchedSession): () => void {
    this.sessions.set(session, {
      target: session.target,
      run: session.run,
      since: session.output?.since ?? Infinity,
    });
    return () => {
      this.sessions.delete(session);
    };
  }

  /** Brings listeners and sessions up to now. Settles run one at a time; callers arriving meanwhile share the next. */
  settle(): Promise<void> {
    this.queued ??= this.chain
      .then(() => {
        this.queued = undefined;
        return this.settleNow(this.deps.clock());
      })
      .catch((error: unknown) => {
        this.deps.logger.error({ err: error }, 'emulator bug while following container groups');
      });
    this.chain = this.queued;
    return this.queued;
  }

  private async settleNow(now: number): Promise<void> {
    if (this.closed) return;
    this.settleSessions(now);
    if (this.deps.network.mode === 'loopback') await Promise.all(this.settleListeners(now));
  }

  private settleSessions(now: number): void {
    for (const [session, follower] of this.sessions) {
      const { target } = follower;
      const record = this.deps.state.findGroup(target.resourceGroup, target.name, now);
      const { lines, ended } = followRun(record, follower, now);
      const last = lines.at(-1);
      if (last && session.output) {
        follower.since = last.at;
        session.output.deliver(lines.map((line) => line.text));
      }
      if (ended !== undefined) {
        this.sessions.delete(session);
        session.end(ended);
      }
    }
  }

  private settleListeners(now: number): Promise<void>[] {
    const { state, network } = this.deps;
    const inUse = new Set<string>();
    const seen = new Set<string>();
    const opening: Promise<void>[] = [];
    for (const record of state.storedGroups()) {
      if (record.address === undefined) continue;
      const key = `${record.resourceGroup.toLowerCase()}/${record.name}`;
      inUse.add(record.address);
      seen.add(key);
      const cached = this.listenerCache.get(key);
      const unchanged =
        cached?.runtime === record.runtime && cached.address === record.address && now < cached.recheckAt;
      if (unchanged) continue;
      const { wanted, recheckAt } = wantedListeners(record, now, state.config.timeline);
      this.listenerCache.set(key, { runtime: record.runtime, address: record.address, recheckAt });
      opening.push(...network.setListeners(record.address, wanted));
    }
    for (const key of this.listenerCache.keys()) if (!seen.has(key)) this.listenerCache.delete(key);
    network.releaseExcept(inUse);
    return opening;
  }

  /** Ends every session and closes every listener and claim. */
  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    for (const session of this.sessions.keys()) session.end('emulator shutting down');
    this.sessions.clear();
    this.deps.network.close();
  }
}
