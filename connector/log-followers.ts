// `kubectl logs` for pods on ACI, fairly. ACI returns a container's log as one document and has no
// follow mode, so a followed log is polled. Done naively, every follower re-read the whole log (up
// to 4 MB) every 2 s, and a 429 that caused stalled every ARM call. Here:
//   - all followers of one container share one poll: one read per interval, however many follow;
//   - a poll asks only for the last lines it needs (`tail`), doubling it until the oldest line a
//     follower has not seen is in the answer, and sizing the next request from what it found;
//   - every log read draws on a budget of its own (LogReadBudget), so following logs cannot use up
//     the reads the pod controller needs; a 429 on a log read holds back log reads only (aci.ts).
import { classifyAzureError } from '../runtime/errors.ts';
import type { ContainerLogsApi } from './ports.ts';
import { selectLines, splitLog, type LogLine, type LogOptions } from './logs.ts';

/** Time, injected so the polling is tested with a fake clock. */
export interface Timers {
  now(): number;
  /** Resolves after `ms`, or as soon as `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export interface LogTarget {
  group: string;
  container: string;
  /** Aborted when the caller hangs up or the process stops. */
  signal: AbortSignal;
}

/**
 * Log reads per minute, with a short burst allowed (a generic cell-rate algorithm: one read every
 * `60 s / readsPerMinute`, `burst` of them at once). Reservations are served in the order asked.
 */
export class LogReadBudget {
  private readonly spacingMs: number;
  private readonly toleranceMs: number;
  /** When the next read would be due if reads came exactly evenly spaced. */
  private due = Number.NEGATIVE_INFINITY;

  constructor(readsPerMinute: number, burst: number) {
    this.spacingMs = 60_000 / readsPerMinute;
    this.toleranceMs = (burst - 1) * this.spacingMs;
  }

  /** Reserves a read; returns how long to wait before making it (0: at once). */
  reserve(now: number): number {
    const due = Math.max(this.due, now);
    this.due = due + this.spacingMs;
    return Math.max(0, due - this.toleranceMs - now);
  }
}

/** The first request asks for this many lines; a poll then asks for twice what it found new. */
export const INITIAL_TAIL = 100;
/** Beyond this many lines a poll reads the whole log (ACI returns at most 4 MB of it anyway). */
export const MAX_TAIL = 100_000;

interface Follower {
  /** The time of the last line this follower has sent; undefined before any. */
  after: Date | undefined;
}

interface Batch {
  generation: number;
  lines: LogLine[];
}

export interface LogFollowersOptions {
  source: ContainerLogsApi;
  timers: Timers;
  /** How often a followed container is read. */
  intervalMs: number;
  budget: LogReadBudget;
}

export class LogFollowers {
  private readonly options: LogFollowersOptions;
  private readonly polls = new Map<string, SharedPoll>();

  constructor(options: LogFollowersOptions) {
    this.options = options;
  }

  /** Followed containers right now (one shared poll each). */
  get followedContainers(): number {
    return this.polls.size;
  }

  /**
   * The log as `kubectl logs` asks for it: the first batch (last `tailLines`, after `since`), then,
   * when following, each batch of lines newer than the last one sent, until `target.signal` aborts.
   */
  async *read(target: LogTarget, options: LogOptions): AsyncGenerator<LogLine[]> {
    const content = await this.fetch(target, options.tailLines, target.signal);
    if (content === undefined) return;
    const first = selectLines(splitLog(content), options, undefined);
    yield first;
    if (!options.follow) return;
    const follower: Follower = { after: first.at(-1)?.time };
    const key = JSON.stringify([target.group, target.container]);
    let poll = this.polls.get(key);
    if (!poll) {
      const { timers, intervalMs } = this.options;
      poll = new SharedPoll({ timers, intervalMs }, (tail, signal) => this.fetch(target, tail, signal));
      this.polls.set(key, poll);
    }
    poll.followers.add(follower);
    try {
      let seen = poll.generation;
      for (;;) {
        const batch = await poll.next(seen, target.signal);
        if (!batch) return;
        seen = batch.generation;
        const lines = selectLines(batch.lines, options, follower.after);
        if (lines.length === 0) continue;
        follower.after = lines.at(-1)?.time ?? follower.after;
        yield lines;
      }
    } finally {
      poll.followers.delete(follower);
      if (poll.followers.size === 0) {
        poll.stop();
        this.polls.delete(key);
      }
    }
  }

  /** One read within the budget; undefined when `signal` aborted while waiting for it. */
  private async fetch(
    target: { group: string; container: string },
    tail: number | undefined,
    signal: AbortSignal,
  ): Promise<string | undefined> {
    const { timers, budget, source } = this.options;
    const wait = budget.reserve(timers.now());
    if (wait > 0) await timers.sleep(wait, signal);
    if (signal.aborted) return undefined;
    return source.logs(target.group, target.container, tail);
  }
}

type Fetch = (tail: number | undefined, signal: AbortSignal) => Promise<string | undefined>;

/** The one poll of a followed container: reads every interval while anyone follows, and publishes. */
class SharedPoll {
  readonly followers = new Set<Follower>();
  generation = 0;
  private lines: LogLine[] = [];
  private failure: Error | undefined;
  private tail = INITIAL_TAIL;
  private readonly stopped = new AbortController();
  private readonly waiters = new Set<() => void>();
  private readonly timing: Pick<LogFollowersOptions, 'timers' | 'intervalMs'>;
  private readonly fetch: Fetch;

  constructor(timing: Pick<LogFollowersOptions, 'timers' | 'intervalMs'>, fetch: Fetch) {
    this.timing = timing;
    this.fetch = fetch;
    void this.run();
  }

  stop(): void {
    this.stopped.abort();
  }

  private isActive(): boolean {
    return !this.stopped.signal.aborted;
  }

  /** The first batch newer than `seen`; undefined when `signal` aborts first. Throws what ended the poll. */
  next(seen: number, signal: AbortSignal): Promise<Batch | undefined> {
    if (this.generation > seen) return Promise.resolve({ generation: this.generation, lines: this.lines });
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise<Batch | undefined>((resolve, reject) => {
      const wake = (): void => {
        signal.removeEventListener('abort', wake);
        this.waiters.delete(wake);
        if (signal.aborted) resolve(undefined);
        else if (this.failure !== undefined) reject(this.failure);
        else resolve({ generation: this.generation, lines: this.lines });
      };
      this.waiters.add(wake);
      signal.addEventListener('abort', wake);
    });
  }

  private async run(): Promise<void> {
    const { timers, intervalMs } = this.timing;
    while (this.isActive()) {
      await timers.sleep(intervalMs, this.stopped.signal);
      if (!this.isActive()) return;
      try {
        const lines = await this.readCovering(this.oldestCursor());
        if (lines === undefined) return;
        this.generation += 1;
        this.lines = lines;
      } catch (error) {
        const classified = classifyAzureError(error);
        // A slow-down or a blip skips a round; anything else (the group is gone) ends every follower.
        if (classified.reaction === 'slow-down' || classified.reaction === 'retry') continue;
        this.failure = classified;
        this.stop();
      }
      for (const wake of [...this.waiters]) wake();
    }
  }

  /** The oldest line time any follower has sent; undefined when one has sent none (it needs everything). */
  private oldestCursor(): Date | undefined {
    let oldest: Date | undefined;
    for (const { after } of this.followers) {
      if (after === undefined) return undefined;
      if (oldest === undefined || after < oldest) oldest = after;
    }
    return oldest;
  }

  /** The last lines of the log, enough to reach `oldest` (the whole log when it is undefined). */
  private async readCovering(oldest: Date | undefined): Promise<LogLine[] | undefined> {
    let tail: number | undefined = oldest === undefined ? undefined : this.tail;
    for (;;) {
      const content = await this.fetch(tail, this.stopped.signal);
      if (content === undefined) return undefined;
      const lines = splitLog(content);
      const earliest = lines[0]?.time;
      const reached = earliest !== undefined && oldest !== undefined && earliest <= oldest;
      if (tail === undefined || lines.length < tail || reached) {
        const fresh =
          oldest === undefined
            ? lines.length
            : lines.filter((line) => !line.time || line.time > oldest).length;
        this.tail = Math.min(MAX_TAIL, Math.max(INITIAL_TAIL, 2 * fresh));
        return lines;
      }
      tail = tail * 2 > MAX_TAIL ? undefined : tail * 2;
    }
  }
}
