import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authorize, kubeletAttributes, type Authorization, type KubeletAuthorizer } from './kubelet-auth.ts';

describe('kubeletAttributes', () => {
  const table: [string, string, string, string][] = [
    // method, path, verb, subresource (pkg/kubelet/server/auth.go)
    ['GET', '/stats/summary', 'get', 'stats'],
    ['GET', '/stats', 'get', 'stats'],
    ['POST', '/stats/container', 'create', 'stats'],
    ['GET', '/metrics/resource', 'get', 'metrics'],
    ['GET', '/metrics', 'get', 'metrics'],
    ['GET', '/logs/', 'get', 'log'],
    ['GET', '/containerLogs/ns/pod/c', 'get', 'proxy'],
    ['POST', '/exec/ns/pod/c', 'create', 'proxy'],
    ['HEAD', '/pods', 'get', 'proxy'],
    ['PUT', '/x', 'update', 'proxy'],
    ['PATCH', '/x', 'patch', 'proxy'],
    ['DELETE', '/x', 'delete', 'proxy'],
    ['GET', '/statsfoo', 'get', 'proxy'],
    ['GET', '/metricsx/resource', 'get', 'proxy'],
  ];
  for (const [method, path, verb, subresource] of table) {
    it(`${method} ${path} -> ${verb} nodes/${subresource}`, () => {
      assert.deepEqual(kubeletAttributes(method, path), { verb, subresource });
    });
  }
});

describe('authorize', () => {
  const caller = { user: 'alice', groups: ['devs'] };
  const cases: [string, KubeletAuthorizer, typeof caller, Authorization][] = [
    [
      'allows what the API server allows',
      { allowed: () => Promise.resolve(true) },
      caller,
      { allowed: true },
    ],
    [
      'refuses in the kubelet’s words',
      { allowed: () => Promise.resolve(false) },
      caller,
      {
        allowed: false,
        status: 403,
        message: 'Forbidden (user=alice, verb=create, resource=nodes, subresource=proxy)',
      },
    ],
    [
      'refuses a caller without a user without asking',
      { allowed: () => Promise.reject(new Error('must not be asked')) },
      { user: '', groups: [] },
      {
        allowed: false,
        status: 403,
        message: 'Forbidden (user=unknown, verb=create, resource=nodes, subresource=proxy)',
      },
    ],
    [
      'answers 503 when the API server cannot be asked',
      { allowed: () => Promise.reject(new Error('connection refused')) },
      caller,
      { allowed: false, status: 503, message: 'could not authorize the request; try again' },
    ],
  ];
  for (const [name, authorizer, who, expected] of cases) {
    it(name, async () => {
      assert.deepEqual(await authorize(authorizer, who, { method: 'POST', path: '/exec/ns/p/c' }), expected);
    });
  }
});
