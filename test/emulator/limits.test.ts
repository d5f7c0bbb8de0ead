import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { exceededQuota, hitWindow, newBucket, newWindow, takeToken } from './limits.ts';

describe('takeToken', () => {
  it('spends the bucket, refuses with a Retry-After from the refill rate, and refills over time', () => {
    let bucket = newBucket(2, 0.5, 0);
    const decisions = [0, 0, 0].map((now) => {
      const decision = takeToken(bucket, now);
      bucket = decision.state;
      return [decision.allowed, decision.remaining, decision.retryAfterSeconds];
    });
    assert.deepEqual(decisions, [
      [true, 1, 0],
      [true, 0, 0],
      [false, 0, 2],
    ]);
    assert.equal(takeToken(bucket, 2000).allowed, true, 'one token back after 2 s at 0.5/s');
  });
});

describe('hitWindow', () => {
  it('counts hits inside the window and frees them as they leave it', () => {
    let window = newWindow(2, 1000);
    const results = [0, 100, 200].map((now) => {
      const decision = hitWindow(window, now);
      window = decision.state;
      return [decision.allowed, decision.remaining, decision.retryAfterSeconds];
    });
    assert.deepEqual(results, [
      [true, 1, 0],
      [true, 0, 0],
      [false, 0, 1],
    ]);
    assert.deepEqual([hitWindow(window, 1001).allowed, hitWindow(window, 1001).remaining], [true, 0]);
  });
});

describe('exceededQuota', () => {
  const quotas = { containerGroups: 3, standardCores: 4 };
  const cases = [
    { name: 'room left', usage: { containerGroups: 1, standardCores: 1 }, cpu: 1, expected: undefined },
    {
      name: 'group count',
      usage: { containerGroups: 3, standardCores: 1 },
      cpu: 1,
      expected: { name: 'ContainerGroups', limit: 3, usage: 3, requested: 1 },
    },
    {
      name: 'cores, fractional CPU rounded up',
      usage: { containerGroups: 1, standardCores: 4 },
      cpu: 0.5,
      expected: { name: 'StandardCores', limit: 4, usage: 4, requested: 1 },
    },
  ];
  for (const { name, usage, cpu, expected } of cases) {
    it(name, () => {
      assert.deepEqual(exceededQuota(usage, quotas, cpu), expected);
    });
  }
});
