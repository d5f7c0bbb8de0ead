import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from './clock.ts';

describe('FakeClock', () => {
  it('fires timers in due order, ties in the order they were set', async () => {
    const clock = new FakeClock(0);
    const fired: string[] = [];
    clock.after(20, () => fired.push('b@20'));
    clock.after(10, () => fired.push('a@10'));
    clock.after(20, () => fired.push('c@20'));
    clock.every(15, () => fired.push(`tick@${clock.now()}`));
    await clock.advance(30);
    assert.deepEqual(fired, ['a@10', 'tick@15', 'b@20', 'c@20', 'tick@30']);
    assert.equal(clock.now(), 30);
  });

  it('lets the promise chain a timer starts settle before the next timer fires', async () => {
    const clock = new FakeClock(0);
    const seen: string[] = [];
    void (async () => {
      await clock.sleep(5);
      seen.push(`woke@${clock.now()}`);
      await clock.sleep(5);
      seen.push(`woke again@${clock.now()}`);
    })();
    clock.after(7, () => seen.push('timer@7'));
    await clock.advance(10);
    assert.deepEqual(seen, ['woke@5', 'timer@7', 'woke again@10']);
  });

  it('does not fire a cancelled timer, and leaves nothing pending', async () => {
    const clock = new FakeClock(0);
    let fired = 0;
    const cancel = clock.every(1, () => fired++);
    await clock.advance(3);
    cancel();
    await clock.advance(10);
    assert.equal(fired, 3);
    assert.equal(clock.pendingTimers, 0);
  });

  it('rejects a sleep whose signal aborts, and forgets its timer', async () => {
    const clock = new FakeClock(0);
    const controller = new AbortController();
    const sleeping = clock.sleep(1000, controller.signal);
    controller.abort(new Error('shutting down'));
    await assert.rejects(sleeping, { name: 'AbortError' });
    assert.equal(clock.pendingTimers, 0);
    await assert.rejects(clock.sleep(1, controller.signal), { name: 'AbortError' });
  });

  it('fires one timer at a time with fireNext, never one due after the limit', () => {
    const clock = new FakeClock(0);
    const fired: number[] = [];
    clock.after(30, () => fired.push(30));
    clock.after(10, () => fired.push(10));
    assert.equal(clock.fireNext(20), true);
    assert.deepEqual(fired, [10]);
    assert.equal(clock.now(), 10);
    assert.equal(clock.fireNext(20), false, 'the next timer is due after the limit');
    assert.equal(clock.now(), 10, 'time stays where the last timer fired');
  });

  it('stops a runaway loop of timers instead of hanging the test', async () => {
    const clock = new FakeClock(0);
    clock.every(1, () => {});
    await assert.rejects(clock.advance(1_000_000, 100), /more than 100 timers/);
  });
});
