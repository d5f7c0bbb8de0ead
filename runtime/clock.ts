// Time as an injected interface: every module that reads the clock or waits takes a Clock or Timers, so
// tests advance time with FakeClock instead of sleeping, and an order of timers is the same on every run.
import { setTimeout as sleepFor } from 'node:timers/promises';

/** Reads the time (epoch milliseconds). */
export interface Clock {
  now(): number;
}

/** Cancels a timer; calling it twice, or after the timer fired, does nothing. */
export type Cancel = () => void;

/** Reads the time and waits. */
export interface Timers extends Clock {
  /** Resolves after `ms`; rejects with an AbortError when `signal` aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fn` once after `ms`. */
  after(ms: number, fn: () => void): Cancel;
  /** Calls `fn` every `ms` until cancelled. */
  every(ms: number, fn: () => void): Cancel;
}

/** The process's real clock and timers. Timers do not keep the process alive (shutdown decides that). */
export const systemTimers: Timers = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleepFor(ms, undefined, { signal, ref: false }),
  after: (ms, fn) => {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => {
      clearTimeout(timer);
    };
  },
  every: (ms, fn) => {
    const timer = setInterval(fn, ms);
    timer.unref();
    return () => {
      clearInterval(timer);
    };
  },
};

/** Sleeps `ms`, or less when `signal` aborts, and never rejects: for loops that check the signal themselves. */
export function sleepUnlessAborted(timers: Timers, ms: number, signal: AbortSignal): Promise<void> {
  return timers.sleep(ms, signal).catch(() => undefined);
}

function abortError(signal: AbortSignal): Error {
  return Object.assign(new Error('The operation was aborted', { cause: signal.reason }), {
    name: 'AbortError',
    code: 'ABORT_ERR',
  });
}

interface PendingTimer {
  due: number;
  /** Breaks ties between timers due at the same moment: the one set first fires first. */
  order: number;
  fn: () => void;
  repeatMs: number | undefined;
}

/**
 * Time that moves only when a test says so. `advance(ms)` fires every timer due within `ms`, in due
 * order, letting the promise chains each one starts settle before the next, so a test can assert what
 * happened at each moment without a real sleep.
 */
export class FakeClock implements Timers {
  private current: number;
  private readonly pending = new Set<PendingTimer>();
  private nextOrder = 0;

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  /** Timers waiting to fire (a test can assert that a component left none behind). */
  get pendingTimers(): number {
    return this.pending.size;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal === undefined) return new Promise((resolve) => this.after(ms, resolve));
    if (signal.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        cancel();
        reject(abortError(signal));
      };
      const cancel = this.after(ms, () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  after(ms: number, fn: () => void): Cancel {
    return this.schedule(ms, fn, undefined);
  }

  every(ms: number, fn: () => void): Cancel {
    return this.schedule(ms, fn, Math.max(1, ms));
  }

  /** Moves time forward by `ms`, firing what falls due; at most `maxFires` timers, so a loop cannot hang a test. */
  async advance(ms: number, maxFires = 10_000): Promise<void> {
    const target = this.current + ms;
    await settle();
    for (let fired = 0; this.fireNext(target);) {
      if (++fired > maxFires) throw new Error(`FakeClock.advance: more than ${maxFires} timers fired`);
      await settle();
    }
    this.current = target;
  }

  /**
   * Fires the earliest timer due by `until`, moving time to it, and says whether there was one. For
   * clocks that decide themselves when to move on (the benchmarks' virtual time waits for quiet first).
   */
  fireNext(until: number): boolean {
    const next = this.earliest();
    if (next === undefined || next.due > until) return false;
    this.current = Math.max(this.current, next.due);
    if (next.repeatMs === undefined) this.pending.delete(next);
    else {
      next.due += next.repeatMs;
      next.order = this.nextOrder++;
    }
    next.fn();
    return true;
  }

  private schedule(ms: number, fn: () => void, repeatMs: number | undefined): Cancel {
    const timer: PendingTimer = {
      due: this.current + Math.max(0, ms),
      order: this.nextOrder++,
      fn,
      repeatMs,
    };
    this.pending.add(timer);
    return () => {
      this.pending.delete(timer);
    };
  }

  private earliest(): PendingTimer | undefined {
    let best: PendingTimer | undefined;
    for (const timer of this.pending) {
      if (
        best === undefined ||
        timer.due < best.due ||
        (timer.due === best.due && timer.order < best.order)
      ) {
        best = timer;
      }
    }
    return best;
  }
}

/** Lets every promise chain that is ready run (a macrotask turn flushes all queued microtasks). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
