// Paces container-group creates to ACI's sliding-window limits (by default 100 per 5 minutes and
// 300 per hour), so a burst of pods waits here, visibly, instead of being refused by Azure.

export interface WindowLimit {
  limit: number;
  windowMs: number;
}

/**
 * ACI counts a create when the PUT arrives, a moment after the connector counted it: a second beyond
 * each window keeps a create sent right at a window's edge from a 429.
 */
export const CREATE_WINDOW_MARGIN_MS = 1000;

/** Where a pod waiting for a create stands: how many wait before it, and when its turn comes. */
export interface CreateTurn {
  /** 0: create now (a slot is taken). Otherwise how long until its turn. */
  waitMs: number;
  /** Pods ahead of it in the backlog. */
  ahead: number;
  /** When its create is expected (epoch ms). */
  at: number;
}

/**
 * First come, first served: pods take slots in the order they first asked, so the time each is told
 * ("created at about ...") holds, and a slot that frees goes to exactly one pod instead of waking
 * every waiting pod at once.
 */
export class CreatePacer {
  private readonly limits: readonly WindowLimit[];
  /** Added to every window: ACI counts a create when it arrives, a little after it is sent. */
  private readonly marginMs: number;
  /** Times of the creates still inside the longest window, oldest first. */
  private readonly recent: number[] = [];
  /** Pods waiting for a slot, in the order they first asked. */
  private readonly backlog = new Set<string>();
  /** Bumped whenever `recent` changes, which invalidates the schedule. */
  private version = 0;
  private schedule: { version: number; planned: number[]; slots: number[] } = {
    version: -1,
    planned: [],
    slots: [],
  };

  constructor(limits: readonly WindowLimit[], options: { marginMs?: number } = {}) {
    this.limits = limits;
    this.marginMs = options.marginMs ?? 0;
  }

  /** Records a create at `now` and returns 0, or returns how long to wait before one is allowed. */
  tryAcquire(now: number): number {
    this.forgetBefore(now - this.longestWindow());
    const wait = Math.max(0, ...this.limits.map((l) => this.waitFor(this.recent, l, now)));
    if (wait === 0) this.take(now);
    return wait;
  }

  /**
   * The turn of pod `key`: joins the backlog on its first call. When its turn has come and `take` is
   * set, it takes the slot and leaves the backlog; without `take` it only learns that it may go on.
   */
  turn(key: string, now: number, options: { take: boolean }): CreateTurn {
    this.forgetBefore(now - this.longestWindow());
    this.backlog.add(key);
    let ahead = 0;
    for (const waiting of this.backlog) {
      if (waiting === key) break;
      ahead += 1;
    }
    const at = this.slotTime(now, ahead);
    if (at > now) return { waitMs: at - now, ahead, at };
    if (!options.take) return { waitMs: 0, ahead, at };
    this.backlog.delete(key);
    this.take(now);
    return { waitMs: 0, ahead, at: now };
  }

  /** The pod no longer waits (created some other way, deleted, or failed). */
  leave(key: string): void {
    this.backlog.delete(key);
  }

  /** The limits in words, e.g. "100 per 5 minutes, 300 per hour". */
  describeLimits(): string {
    return this.limits.map((l) => `${String(l.limit)} per ${describeWindow(l.windowMs)}`).join(', ');
  }

  /** Gives back a create that was not sent after all (the request failed before reaching ACI). */
  release(at: number): void {
    const index = this.recent.lastIndexOf(at);
    if (index >= 0) this.recent.splice(index, 1);
    this.version += 1;
  }

  private take(now: number): void {
    this.recent.push(now);
    this.version += 1;
  }

  /**
   * When the (ahead+1)-th create from now is allowed, if every earlier one takes its slot at once.
   * The schedule is kept until a create is taken or given back, or its first slot has passed.
   */
  private slotTime(now: number, ahead: number): number {
    if (this.schedule.version !== this.version || (this.schedule.slots[0] ?? now) < now) {
      this.schedule = { version: this.version, planned: [...this.recent], slots: [] };
    }
    const { planned, slots } = this.schedule;
    while (slots.length <= ahead) {
      let at = Math.max(now, slots.at(-1) ?? now);
      for (let wait = this.waitAll(planned, at); wait > 0; wait = this.waitAll(planned, at)) at += wait;
      planned.push(at);
      slots.push(at);
    }
    return slots[ahead] ?? now;
  }

  private waitAll(times: readonly number[], now: number): number {
    return Math.max(0, ...this.limits.map((l) => this.waitFor(times, l, now)));
  }

  private longestWindow(): number {
    return Math.max(...this.limits.map((l) => l.windowMs)) + this.marginMs;
  }

  private waitFor(times: readonly number[], limit: WindowLimit, now: number): number {
    const windowMs = limit.windowMs + this.marginMs;
    const inWindow = times.length - countAtOrBefore(times, now - windowMs);
    if (inWindow < limit.limit) return 0;
    // The window frees a slot when its oldest counted create leaves it.
    const oldest = times[times.length - limit.limit] ?? now;
    return oldest + windowMs - now;
  }

  private forgetBefore(time: number): void {
    const gone = countAtOrBefore(this.recent, time);
    if (gone === 0) return;
    this.recent.splice(0, gone);
    this.version += 1;
  }
}

function describeWindow(ms: number): string {
  const [count, unit] =
    ms % 3_600_000 === 0
      ? [ms / 3_600_000, 'hour']
      : ms % 60_000 === 0
        ? [ms / 60_000, 'minute']
        : [ms / 1000, 'second'];
  return count === 1 ? unit : `${String(count)} ${unit}s`;
}

/** How many of the ascending `times` are at or before `time` (binary search). */
function countAtOrBefore(times: readonly number[], time: number): number {
  let low = 0;
  let high = times.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((times[middle] ?? 0) <= time) low = middle + 1;
    else high = middle;
  }
  return low;
}

export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

/** Exponential backoff with full jitter, never shorter than what the server asked for. */
export function retryDelay(
  attempt: number,
  policy: BackoffPolicy,
  retryAfterMs: number | undefined,
  random: () => number,
): number {
  const exponential = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 20));
  const jittered = exponential / 2 + (random() * exponential) / 2;
  return Math.max(retryAfterMs ?? 0, Math.round(jittered));
}
