import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStreamingPath, type StreamingRoute } from './upgrade.ts';

describe('parseStreamingPath', () => {
  const cases: [string, StreamingRoute | undefined][] = [
    [
      '/exec/default/web/app',
      { kind: 'exec', namespace: 'default', pod: 'web', uid: undefined, container: 'app' },
    ],
    [
      '/exec/default/web/uid-1/app',
      { kind: 'exec', namespace: 'default', pod: 'web', uid: 'uid-1', container: 'app' },
    ],
    ['/attach/ns/p/c', { kind: 'attach', namespace: 'ns', pod: 'p', uid: undefined, container: 'c' }],
    ['/portForward/ns/p', { kind: 'portForward', namespace: 'ns', pod: 'p', uid: undefined }],
    ['/portForward/ns/p/uid-2', { kind: 'portForward', namespace: 'ns', pod: 'p', uid: 'uid-2' }],
    ['/exec/ns%2Fx/p/c', { kind: 'exec', namespace: 'ns/x', pod: 'p', uid: undefined, container: 'c' }],
    ['/exec/ns/p', undefined],
    ['/exec/ns/p/u/c/extra', undefined],
    ['/exec//p/c', undefined],
    ['/exec/%E0%A4%A/p/c', undefined],
    ['/portForward/ns/p/u/x', undefined],
    ['/run/ns/p/c', undefined],
  ];
  for (const [path, route] of cases) {
    it(`${path} -> ${route?.kind ?? 'not a streaming route'}`, () => {
      assert.deepEqual(parseStreamingPath(path), route);
    });
  }
});
