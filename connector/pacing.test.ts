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

describe('CreatePacer turns', () => {
  it('serves waiting pods first come, first served, and says when each will be created', () => {
    const pacer = new CreatePacer([
      { limit: 2, windowMs: 1000 },
      { limit: 3, windowMs: 10_000 },
    ]);
    const take = { take: true };
    assert.deepEqual(pacer.turn('a', 0, take), { waitMs: 0, ahead: 0, at: 0 });
    assert.deepEqual(pacer.turn('b', 0, take), { waitMs: 0, ahead: 0, at: 0 });
    assert.deepEqual(pacer.turn('c', 1, take), { waitMs: 999, ahead: 0, at: 1000 });
    assert.deepEqual(pacer.turn('d', 2, take), { waitMs: 9998, ahead: 1, at: 10_000 }, 'the long window');
    assert.deepEqual(pacer.turn('e', 3, take), { waitMs: 9997, ahead: 2, at: 10_000 });
    assert.equal(pacer.turn('d', 1000, take).ahead, 1, 'd never jumps ahead of c');
    assert.deepEqual(pacer.turn('c', 1000, take), { waitMs: 0, ahead: 0, at: 1000 });
    assert.deepEqual(
      pacer.turn('e', 10_000, take),
      { waitMs: 0, ahead: 1, at: 10_000 },
      'two slots free at once',
    );
  });

  it('looking at the turn takes no slot; leaving gives the place up', () => {
    const pacer = new CreatePacer([{ limit: 1, windowMs: 1000 }]);
    assert.equal(pacer.turn('a', 0, { take: false }).waitMs, 0);
    assert.equal(pacer.turn('b', 0, { take: false }).waitMs, 1000, 'b waits behind a');
    pacer.leave('a');
    assert.deepEqual(pacer.turn('b', 0, { take: true }), { waitMs: 0, ahead: 0, at: 0 });
  });

  it('keeps a margin beyond each window, since ACI counts a create when it arrives', () => {
    const pacer = new CreatePacer([{ limit: 1, windowMs: 1000 }], { marginMs: 500 });
    assert.equal(pacer.turn('a', 0, { take: true }).waitMs, 0);
    assert.equal(pacer.turn('b', 100, { take: true }).at, 1500);
    assert.equal(pacer.describeLimits(), '1 per second');
    const aci = new CreatePacer([
      { limit: 100, windowMs: 300_000 },
      { limit: 300, windowMs: 3_600_000 },
    ]);
    assert.equal(aci.describeLimits(), '100 per 5 minutes, 300 per hour');
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
