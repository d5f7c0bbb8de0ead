import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TtlCache } from './cache.ts';

function cache(maxEntries: number, ttlMs: number) {
  let now = 0;
  const store = new TtlCache<string, number>({ maxEntries, ttlMs, clock: { now: () => now } });
  return {
    store,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('TtlCache', () => {
  it('forgets an entry once its time to live has passed', () => {
    const { store, advance } = cache(10, 1000);
    store.set('a', 1);
    advance(999);
    assert.equal(store.get('a'), 1);
    advance(1);
    assert.equal(store.get('a'), undefined);
    assert.equal(store.size, 0);
  });

  it('keeps entries without a time to live until they are evicted', () => {
    const { store, advance } = cache(10, Infinity);
    store.set('a', 1);
    advance(1e12);
    assert.equal(store.get('a'), 1);
  });

  it('evicts the least recently used beyond its size', () => {
    const { store } = cache(2, Infinity);
    store.set('a', 1);
    store.set('b', 2);
    assert.equal(store.get('a'), 1);
    store.set('c', 3);
    assert.deepEqual(
      ['a', 'b', 'c'].map((key) => store.get(key)),
      [1, undefined, 3],
    );
    assert.equal(store.size, 2);
  });

  it('a new value restarts the time to live', () => {
    const { store, advance } = cache(2, 1000);
    store.set('a', 1);
    advance(900);
    store.set('a', 2);
    advance(900);
    assert.equal(store.get('a'), 2);
  });
});
