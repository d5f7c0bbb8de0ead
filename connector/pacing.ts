// Paces container-group creates to ACI's sliding-window limits (by default 100 per 5 minutes and
// 300 per hour), so a burst of pods waits here, visibly, instead of being refused by Azure.

export interface WindowLimit {
  limit: number;
  windowMs: number;
}

export class CreatePacer {
  private readonly limits: readonly WindowLimit[];
  /** Times of the creates still inside the longest window, oldest first. */
  private readonly recent: number[] = [];

  constructor(limits: readonly WindowLimit[]) {
    this.limits = limits;
  }

  /** Records a create at `now` and returns 0, or returns how long to wait before one is allowed. */
  tryAcquire(now: number): number {
    this.forgetBefore(now - Math.max(...this.limits.map((l) => l.windowMs)));
    const wait = Math.max(0, ...this.limits.map((l) => this.waitFor(l, now)));
    if (wait === 0) this.recent.push(now);
    return wait;
  }

  /** Gives back a create that was not sent after all (the request failed before reaching ACI). */
  release(at: number): void {
    const index = this.recent.lastIndexOf(at);
    if (index >= 0) this.recent.splice(index, 1);
  }

  private waitFor(limit: WindowLimit, now: number): number {
    const inWindow = this.recent.filter((t) => t > now - limit.windowMs);
    if (inWindow.length < limit.limit) return 0;
    // The window frees a slot when its oldest counted create leaves it.
    const oldest = inWindow[inWindow.length - limit.limit] ?? now;
    return oldest + limit.windowMs - now;
  }

  private forgetBefore(time: number): void {
    while (this.recent.length > 0 && (this.recent[0] ?? 0) <= time) this.recent.shift();
  }
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
