import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../runtime/clock.ts';
import { WorkQueue } from './workqueue.ts';

describe('WorkQueue', () => {
  it('processes each queued key once, however often it was added', async () => {
    const seen: string[] = [];
    const queue = new WorkQueue({
      concurrency: 2,
      process: (key) => Promise.resolve(void seen.push(key)),
      timers: new FakeClock(),
    });
    for (const key of ['a', 'b', 'a', 'a', 'c']) queue.add(key);
    queue.start();
    await queue.idle();
    assert.deepEqual(seen.sort(), ['a', 'b', 'c']);
  });

  it('never runs one key twice at once, and reruns a key added while it ran', async () => {
    const clock = new FakeClock();
    let concurrent = 0;
    let maxConcurrent = 0;
    let runs = 0;
    const queue = new WorkQueue({
      concurrency: 4,
      timers: clock,
      process: async () => {
        concurrent += 1;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        runs += 1;
        if (runs === 1) queue.add('k');
        await clock.sleep(5);
        concurrent -= 1;
      },
    });
    queue.add('k');
    queue.start();
    await clock.advance(5);
    await clock.advance(5);
    await queue.idle();
    assert.equal(maxConcurrent, 1);
    assert.equal(runs, 2);
  });

  it('keeps the earliest of two delayed adds', async () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    const started = clock.now();
    const queue = new WorkQueue({
      concurrency: 1,
      timers: clock,
      process: () => Promise.resolve(void seen.push(clock.now() - started)),
    });
    queue.start();
    queue.addAfter('k', 20);
    queue.addAfter('k', 5000);
    assert.equal(queue.depth, 1);
    await clock.advance(19);
    assert.deepEqual(seen, []);
    await clock.advance(10_000);
    assert.deepEqual(seen, [20]);
    assert.equal(clock.pendingTimers, 0, 'the later add left no timer behind');
  });

  it('does not cut a delayed retry short for a plain add-unless-waiting', async () => {
    const seen: string[] = [];
    const queue = new WorkQueue({
      concurrency: 1,
      process: (key) => Promise.resolve(void seen.push(key)),
      timers: new FakeClock(),
    });
    queue.start();
    queue.addAfter('k', 10_000);
    queue.addUnlessWaiting('k');
    queue.addUnlessWaiting('other');
    await queue.idle();
    assert.deepEqual(seen, ['other']);
    assert.equal(queue.depth, 1);
    await queue.shutdown();
  });

  it('drains in-flight work on shutdown and drops delayed keys', async () => {
    const clock = new FakeClock();
    let finished = false;
    const queue = new WorkQueue({
      concurrency: 1,
      timers: clock,
      process: async () => {
        await clock.sleep(10);
        finished = true;
      },
    });
    queue.add('k');
    queue.addAfter('later', 10_000);
    queue.start();
    const stopped = queue.shutdown();
    await clock.advance(10);
    await stopped;
    assert.equal(finished, true);
    assert.equal(queue.depth, 0);
    assert.equal(clock.pendingTimers, 0);
  });
});
