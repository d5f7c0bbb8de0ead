import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClassifiedError } from '../runtime/errors.ts';
import { INITIAL_TAIL, LogFollowers, LogReadBudget, type Timers } from './log-followers.ts';
import type { LogOptions } from './logs.ts';

/** A clock that moves only when told to, waking the sleepers it passes in order. */
class FakeTimers implements Timers {
  time = Date.parse('2026-11-25T20:00:00Z');
  private sleepers: { until: number; wake: () => void }[] = [];

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = {
        until: this.time + ms,
        wake: () => {
          this.sleepers = this.sleepers.filter((other) => other !== sleeper);
          resolve();
        },
      };
      this.sleepers.push(sleeper);
      signal.addEventListener('abort', sleeper.wake, { once: true });
    });
  }

  async advance(ms: number): Promise<void> {
    const end = this.time + ms;
    for (;;) {
      await settle();
      const next = this.sleepers
        .filter((sleeper) => sleeper.until <= end)
        .sort((a, b) => a.until - b.until)[0];
      if (!next) break;
      this.time = next.until;
      next.wake();
    }
    this.time = end;
    await settle();
  }
}

async function settle(): Promise<void> {
  for (let round = 0; round < 10; round += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** A container log that grows on demand, served as ACI serves it: timestamped, optionally the last lines. */
class FakeLog {
  readonly lines: string[] = [];
  readonly calls: { container: string; tail: number | undefined; at: number }[] = [];
  failWith: Error | undefined;
  private readonly timers: FakeTimers;

  constructor(timers: FakeTimers) {
    this.timers = timers;
  }

  write(count: number): void {
    for (let index = 0; index < count; index += 1) {
      const time = new Date(this.timers.time + this.lines.length).toISOString();
      this.lines.push(`${time} line ${this.lines.length}`);
    }
  }

  logs = (_group: string, container: string, tail: number | undefined): Promise<string> => {
    this.calls.push({ container, tail, at: this.timers.time });
    if (this.failWith) return Promise.reject(this.failWith);
    const lines = tail === undefined ? this.lines : this.lines.slice(-tail);
    return Promise.resolve(lines.map((line) => `${line}\n`).join(''));
  };
}

const FOLLOW: LogOptions = {
  tailLines: undefined,
  timestamps: false,
  since: undefined,
  limitBytes: undefined,
  follow: true,
  previous: false,
};

function setUp(budget = new LogReadBudget(6000, 100)): {
  timers: FakeTimers;
  log: FakeLog;
  followers: LogFollowers;
} {
  const timers = new FakeTimers();
  const log = new FakeLog(timers);
  const followers = new LogFollowers({ source: log, timers, intervalMs: 2000, budget });
  return { timers, log, followers };
}

function follow(
  followers: LogFollowers,
  container: string,
  options: LogOptions = FOLLOW,
): { batches: string[][]; stop: () => void; done: Promise<void> } {
  const abort = new AbortController();
  const batches: string[][] = [];
  const done = (async () => {
    const target = { group: 'shop-web', container, signal: abort.signal };
    for await (const lines of followers.read(target, options)) batches.push(lines.map((line) => line.text));
  })();
  return {
    batches,
    stop: () => {
      abort.abort();
    },
    done,
  };
}

describe('LogFollowers', () => {
  it('gives followers of one container one shared read per interval', async () => {
    const { timers, log, followers } = setUp();
    log.write(3);
    const three = [follow(followers, 'nginx'), follow(followers, 'nginx'), follow(followers, 'nginx')];
    await settle();
    assert.equal(log.calls.length, 3, 'each follower reads the log once to start');
    log.write(1);
    await timers.advance(2000);
    assert.equal(log.calls.length, 4);
    log.write(1);
    await timers.advance(2000);
    assert.equal(log.calls.length, 5);
    for (const follower of three) {
      assert.deepEqual(follower.batches, [['line 0', 'line 1', 'line 2'], ['line 3'], ['line 4']]);
      follower.stop();
      await follower.done;
    }
    assert.equal(followers.followedContainers, 0);
    await timers.advance(10_000);
    assert.equal(log.calls.length, 5, 'nobody follows: no more reads');
  });

  it('asks for the last lines only, doubling the tail until it reaches the last line sent', async () => {
    const { timers, log, followers } = setUp();
    log.write(1000);
    const follower = follow(followers, 'nginx', { ...FOLLOW, tailLines: 10 });
    await settle();
    log.write(250);
    await timers.advance(2000);
    assert.deepEqual(
      log.calls.map((call) => call.tail),
      [10, INITIAL_TAIL, 2 * INITIAL_TAIL, 4 * INITIAL_TAIL],
    );
    const [, newLines = []] = follower.batches;
    assert.equal(newLines.length, 250);
    assert.equal(newLines[0], 'line 1000');

    log.write(1);
    await timers.advance(2000);
    assert.equal(log.calls.at(-1)?.tail, 500, 'the next poll asks for twice what was new');
    assert.deepEqual(follower.batches[2], ['line 1250']);
    follower.stop();
    await follower.done;
  });

  it('spaces log reads by their own budget', async () => {
    const { timers, log, followers } = setUp(new LogReadBudget(6, 1));
    log.write(1);
    const first = follow(followers, 'nginx');
    const second = follow(followers, 'sidecar');
    await timers.advance(60_000);
    const spacing = log.calls.slice(1).map((call, index) => call.at - (log.calls[index]?.at ?? 0));
    assert.ok(log.calls.length >= 5);
    assert.ok(
      spacing.every((gap) => gap >= 10_000),
      spacing.join(', '),
    );
    first.stop();
    second.stop();
    await Promise.all([first.done, second.done]);
  });

  it('ends every follower when the group is gone, and keeps following through throttling', async () => {
    const { timers, log, followers } = setUp();
    log.write(1);
    const follower = follow(followers, 'nginx');
    await settle();
    log.failWith = new ClassifiedError('Throttled', 'slow down', { retryAfterMs: 1000 });
    await timers.advance(2000);
    log.failWith = undefined;
    log.write(1);
    await timers.advance(2000);
    assert.deepEqual(follower.batches, [['line 0'], ['line 1']]);
    const ended = assert.rejects(follower.done, /the container group was deleted/);
    log.failWith = new ClassifiedError('NotFound', 'the container group was deleted');
    await timers.advance(2000);
    await ended;
    assert.equal(followers.followedContainers, 0);
  });

  it('reads once without following', async () => {
    const { log, followers } = setUp();
    log.write(5);
    const once = follow(followers, 'nginx', { ...FOLLOW, follow: false, tailLines: 2 });
    await once.done;
    assert.deepEqual(once.batches, [['line 3', 'line 4']]);
    assert.deepEqual(
      log.calls.map((call) => call.tail),
      [2],
    );
  });
});

describe('LogReadBudget', () => {
  it('allows a burst, then one read per spacing', () => {
    const budget = new LogReadBudget(60, 3);
    assert.deepEqual(
      [0, 0, 0, 0, 0].map((at) => budget.reserve(at)),
      [0, 0, 0, 1000, 2000],
    );
    assert.equal(budget.reserve(10_000), 0, 'the budget refills while unused');
  });
});
