import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container, V1Lifecycle } from '@kubernetes/client-node';
import { checkPod } from './capability.ts';

function podWith(
  lifecycle: V1Lifecycle,
  ports: V1Container['ports'] = [{ name: 'http', containerPort: 8080 }],
) {
  return {
    metadata: { name: 'web', namespace: 'shop' },
    spec: { containers: [{ name: 'app', image: 'nginx', lifecycle, ports }] },
  };
}

describe('lifecycle hooks', () => {
  const table: { name: string; lifecycle: V1Lifecycle; ports?: V1Container['ports']; paths: string[] }[] = [
    {
      name: 'exec hooks run',
      lifecycle: { postStart: { exec: { command: ['/warm'] } }, preStop: { exec: { command: ['/drain'] } } },
      paths: [],
    },
    { name: 'sleep hooks run', lifecycle: { preStop: { sleep: { seconds: 5 } } }, paths: [] },
    {
      name: 'an httpGet hook on a declared port, by name',
      lifecycle: { preStop: { httpGet: { port: 'http', path: '/stop' } } },
      paths: [],
    },
    {
      name: 'an httpGet hook on a declared port, by number',
      lifecycle: { postStart: { httpGet: { port: 8080 } } },
      paths: [],
    },
    {
      name: 'an httpGet hook on a port the container does not declare',
      lifecycle: { preStop: { httpGet: { port: 9090 } } },
      paths: ['spec.containers[0].lifecycle.preStop.httpGet.port'],
    },
    {
      name: 'an httpGet hook of a container without ports',
      lifecycle: { postStart: { httpGet: { port: 'http' } } },
      ports: [],
      paths: ['spec.containers[0].lifecycle.postStart.httpGet.port'],
    },
    {
      name: 'an httpGet hook on another host',
      lifecycle: { preStop: { httpGet: { host: 'drain.example', port: 8080 } } },
      paths: ['spec.containers[0].lifecycle.preStop.httpGet.host'],
    },
    {
      name: 'a tcpSocket hook (a kubelet does not run it either)',
      lifecycle: { postStart: { tcpSocket: { port: 8080 } } },
      paths: ['spec.containers[0].lifecycle.postStart.tcpSocket'],
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const problems = checkPod(podWith(row.lifecycle, row.ports));
      assert.deepEqual(
        problems.map((problem) => problem.path),
        row.paths,
      );
    });
  }
});
