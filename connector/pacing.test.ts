import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreatePacer, retryDelay } from './pacing.ts';

describe('CreatePacer', () => {
  it('allows up to the limit, then says how long to wait', () => {
    const pacer = new CreatePacer([{ limit: 3, windowMs: 1000 }]);
    assert.deepEqual(
      [0, 10, 20].map((t) => pacer.tryAcquire(t)),
      [0, 0, 0],
    );
    assert.equal(pacer.tryAcquire(500), 500, 'the create at t=0 leaves the window at t=1000');
    assert.equal(pacer.tryAcquire(1001), 0);
  });

  it('honours the strictest of several windows', () => {
    const pacer = new CreatePacer([
      { limit: 2, windowMs: 100 },
      { limit: 3, windowMs: 10_000 },
    ]);
    assert.equal(pacer.tryAcquire(0), 0);
    assert.equal(pacer.tryAcquire(1), 0);
    assert.equal(pacer.tryAcquire(2), 98);
    assert.equal(pacer.tryAcquire(200), 0);
    assert.equal(pacer.tryAcquire(300), 9700, 'the hour-like window is full until t=10000');
  });

  it('gives back a create that never reached ACI', () => {
    const pacer = new CreatePacer([{ limit: 1, windowMs: 1000 }]);
    assert.equal(pacer.tryAcquire(5), 0);
    pacer.release(5);
    assert.equal(pacer.tryAcquire(6), 0);
  });
});

describe('retryDelay', () => {
  const policy = { baseMs: 1000, maxMs: 60_000 };
  const table: [number, number | undefined, number, number][] = [
    // attempt, retryAfterMs, random, expected
    [0, undefined, 0, 500],
    [0, undefined, 1, 1000],
    [3, undefined, 1, 8000],
    [30, undefined, 1, 60_000],
    [0, 7000, 0, 7000],
    [5, 1000, 1, 32_000],
  ];
  for (const [attempt, retryAfter, random, expected] of table) {
    it(`attempt ${attempt}, Retry-After ${retryAfter ?? 'none'}`, () => {
      assert.equal(
        retryDelay(attempt, policy, retryAfter, () => random),
        expected,
      );
    });
  }
});
