import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localExtender, shippedExtender } from './scheduler-extender.ts';

describe('localExtender', () => {
  it('keeps the shipped entry’s settings and points it at the local extender', () => {
    const entry = localExtender(41234, 'CA PEM');
    assert.equal(entry.urlPrefix, 'https://127.0.0.1:41234');
    assert.deepEqual(entry.tlsConfig, { caData: Buffer.from('CA PEM').toString('base64') });
    assert.equal(entry.weight, 20);
    assert.equal(entry.ignorable, true);
    assert.equal(entry.nodeCacheCapable, true);
  });
});

describe('shippedExtender', () => {
  it('says which file lacks the entry', () => {
    assert.throws(
      () => shippedExtender('apiVersion: v1\nkind: ConfigMap\ndata: {}\n'),
      /has no extender entry/,
    );
  });
});
