import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkQueue } from './workqueue.ts';

describe('WorkQueue', () => {
  it('processes each queued key once, however often it was added', async () => {
    const seen: string[] = [];
    const queue = new WorkQueue({ concurrency: 2, process: (key) => Promise.resolve(void seen.push(key)) });
    for (const key of ['a', 'b', 'a', 'a', 'c']) queue.add(key);
    queue.start();
    await queue.idle();
    assert.deepEqual(seen.sort(), ['a', 'b', 'c']);
  });

  it('never runs one key twice at once, and reruns a key added while it ran', async () => {
    let concurrent = 0;
    let maxConcurrent = 0;
    let runs = 0;
    const queue = new WorkQueue({
      concurrency: 4,
      process: async () => {
        concurrent += 1;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        runs += 1;
        if (runs === 1) queue.add('k');
        await sleep(5);
        concurrent -= 1;
      },
    });
    queue.add('k');
    queue.start();
    await sleep(30);
    await queue.idle();
    assert.equal(maxConcurrent, 1);
    assert.equal(runs, 2);
  });

  it('keeps the earliest of two delayed adds', async () => {
    const seen: number[] = [];
    const started = Date.now();
    const queue = new WorkQueue({
      concurrency: 1,
      process: () => Promise.resolve(void seen.push(Date.now() - started)),
    });
    queue.start();
    queue.addAfter('k', 20);
    queue.addAfter('k', 5000);
    assert.equal(queue.depth, 1);
    await sleep(60);
    assert.equal(seen.length, 1);
    assert.ok((seen[0] ?? 0) < 1000);
  });

  it('does not cut a delayed retry short for a plain add-unless-waiting', async () => {
    const seen: string[] = [];
    const queue = new WorkQueue({ concurrency: 1, process: (key) => Promise.resolve(void seen.push(key)) });
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
    let finished = false;
    const queue = new WorkQueue({
      concurrency: 1,
      process: async () => {
        await sleep(10);
        finished = true;
      },
    });
    queue.add('k');
    queue.addAfter('later', 10_000);
    queue.start();
    await queue.shutdown();
    assert.equal(finished, true);
    assert.equal(queue.depth, 0);
  });
});
