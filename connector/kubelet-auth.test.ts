import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kubeletAttributes } from './kubelet-auth.ts';

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
