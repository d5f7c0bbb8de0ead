import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forwardRequest, refusal, type ForwardTarget } from './port-forward.ts';

describe('forwardRequest', () => {
  const cases: [string, Record<string, string>, number, ReturnType<typeof forwardRequest>][] = [
    [
      'an error stream',
      { streamtype: 'error', port: '80', requestid: '7' },
      1,
      { type: 'error', port: 80, requestId: '7' },
    ],
    [
      'a data stream',
      { streamtype: 'data', port: '65535', requestid: '7' },
      3,
      { type: 'data', port: 65535, requestId: '7' },
    ],
    [
      'an old client’s error stream, paired by its id',
      { streamtype: 'error', port: '80' },
      5,
      { type: 'error', port: 80, requestId: '5' },
    ],
    [
      'an old client’s data stream, paired two ids back',
      { streamtype: 'data', port: '80' },
      7,
      { type: 'data', port: 80, requestId: '5' },
    ],
    [
      'an unknown stream type',
      { streamtype: 'stdin', port: '80' },
      1,
      { problem: 'invalid stream type "stdin"' },
    ],
    ['port 0', { streamtype: 'data', port: '0' }, 1, { problem: 'unable to parse "0" as a port' }],
    [
      'a port too large',
      { streamtype: 'data', port: '70000' },
      1,
      { problem: 'unable to parse "70000" as a port' },
    ],
    ['no port', { streamtype: 'data' }, 1, { problem: 'unable to parse "" as a port' }],
  ];
  for (const [name, headers, id, expected] of cases) {
    it(name, () => {
      assert.deepEqual(forwardRequest(headers, id), expected);
    });
  }
});

describe('refusal', () => {
  const target: ForwardTarget = {
    pod: 'default/web',
    podIP: '20.1.2.3',
    ports: new Set([443, 80]),
    signal: new AbortController().signal,
  };
  it('lets a declared port through', () => {
    assert.equal(refusal(target, 80), undefined);
  });
  it('refuses an undeclared port, listing the declared ones', () => {
    assert.equal(
      refusal(target, 81),
      'port 81 is not declared by pod default/web; ACI exposes only the ports a pod declares (declared: 80, 443)',
    );
  });
  it('refuses while the group has no address', () => {
    assert.equal(refusal({ ...target, podIP: undefined }, 80), 'pod default/web has no IP address yet');
  });
});
