// A keyed work queue in the manner of client-go's: a key is queued at most once, is never processed
// by two workers at once, and a key added while it is processed runs again afterwards. Delayed adds
// keep the earliest due time. Timers are created only after start(), never on import.

import { systemTimers, type Cancel, type Timers } from '../runtime/clock.ts';

export interface WorkQueueOptions {
  concurrency: number;
  process: (key: string) => Promise<void>;
  /** The delayed adds' timers (default: the process's). */
  timers?: Timers;
}

export class WorkQueue {
  private readonly options: WorkQueueOptions;
  private readonly queued = new Set<string>();
  private readonly order: string[] = [];
  private readonly active = new Set<string>();
  private readonly dirtyWhileActive = new Set<string>();
  private readonly delayed = new Map<string, { due: number; cancel: Cancel }>();
  private running = 0;
  private started = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  private readonly timers: Timers;

  constructor(options: WorkQueueOptions) {
    this.options = options;
    this.timers = options.timers ?? systemTimers;
  }

  start(): void {
    this.started = true;
    this.pump();
  }

  /** Queues the key now; a pending delayed add for it is superseded. */
  add(key: string): void {
    if (this.stopped) return;
    this.cancelDelay(key);
    if (this.active.has(key)) {
      this.dirtyWhileActive.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.order.push(key);
    this.pump();
  }

  /**
   * Queues the key now unless it waits for a delayed retry: a watch event caused by the connector's
   * own status write must not cut a backoff short.
   */
  addUnlessWaiting(key: string): void {
    if (!this.delayed.has(key)) this.add(key);
  }

  /** Queues the key after `delayMs`, unless it is already due sooner. */
  addAfter(key: string, delayMs: number, now = this.timers.now()): void {
    if (this.stopped) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const due = now + delayMs;
    const existing = this.delayed.get(key);
    if (existing && existing.due <= due) return;
    if (existing) existing.cancel();
    const cancel = this.timers.after(delayMs, () => {
      this.delayed.delete(key);
      this.add(key);
    });
    this.delayed.set(key, { due, cancel });
  }

  /** Keys waiting now or later, for metrics. */
  get depth(): number {
    return this.queued.size + this.delayed.size;
  }

  /** Stops taking new work, drops delayed keys, and resolves when in-flight work is done. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const { cancel } of this.delayed.values()) cancel();
    this.delayed.clear();
    this.queued.clear();
    this.order.length = 0;
    if (this.running === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves when nothing is queued or running (delayed keys do not count); for tests. */
  async idle(): Promise<void> {
    if (this.running === 0 && this.order.length === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private cancelDelay(key: string): void {
    const existing = this.delayed.get(key);
    if (!existing) return;
    existing.cancel();
    this.delayed.delete(key);
  }

  private pump(): void {
    while (
      this.started &&
      !this.stopped &&
      this.running < this.options.concurrency &&
      this.order.length > 0
    ) {
      const key = this.order.shift();
      if (key === undefined) break;
      this.queued.delete(key);
      this.active.add(key);
      this.running += 1;
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    try {
      await this.options.process(key);
    } finally {
      this.active.delete(key);
      this.running -= 1;
      if (this.dirtyWhileActive.delete(key)) this.addUnlessWaiting(key);
      this.pump();
      if (this.running === 0 && this.order.length === 0) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const resolve of waiters) resolve();
      }
    }
  }
}
