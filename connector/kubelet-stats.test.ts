import assert from 'node:assert/strict';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { silentLogger } from '../runtime/logger.ts';
import { createCertificateAuthority, issueCertificate, type KeyPairPem } from '../runtime/tls.ts';
import { createKubeletApi } from './kubelet-api.ts';
import type { KubeletAuthorizer } from './kubelet-auth.ts';
import { kubeletStatsRouter, renderResourceMetrics, summaryStats } from './kubelet-stats.ts';
import type { PodCache } from './ports.ts';
import type { UsageSnapshot } from './resource-usage.ts';
import { FakeClock } from '../runtime/clock.ts';

const T = Date.parse('2026-01-01T00:10:00Z');

function pod(name: string, uid: string, containers: string[]): V1Pod {
  return {
    metadata: { name, namespace: 'web', uid },
    status: {
      phase: 'Running',
      startTime: new Date(T - 600_000),
      containerStatuses: containers.map((container) => ({
        name: container,
        image: 'nginx',
        imageID: '',
        ready: true,
        restartCount: 0,
        state: { running: { startedAt: new Date(T - 300_000) } },
      })),
    },
  };
}

const pods = [pod('a', 'uid-a', ['app', 'sidecar']), pod('b', 'uid-b', ['app'])];

const snapshot: UsageSnapshot = {
  pods: [
    {
      target: { uid: 'uid-a', namespace: 'web', name: 'a', groupName: 'web-a' },
      containers: new Map([
        ['app', { cpuNanoCores: 250e6, memoryBytes: 1000, cpuSecondsTotal: 15, at: T }],
        ['sidecar', { cpuNanoCores: 5e6, memoryBytes: 24, cpuSecondsTotal: 0.3, at: T }],
      ]),
      total: { cpuNanoCores: 255e6, memoryBytes: 1024, cpuSecondsTotal: 15.3, at: T },
    },
  ],
  node: { cpuNanoCores: 255e6, memoryBytes: 1024, cpuSecondsTotal: 40.5, at: T },
};

const podOf = (namespace: string, name: string): V1Pod | undefined =>
  pods.find((p) => p.metadata?.namespace === namespace && p.metadata.name === name);

describe('renderResourceMetrics', () => {
  it('writes the kubelet’s families, sorted, with HELP, TYPE and millisecond timestamps', () => {
    const started = (T - 300_000) / 1000;
    assert.equal(
      renderResourceMetrics(snapshot, podOf),
      [
        '# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the container in core-seconds',
        '# TYPE container_cpu_usage_seconds_total counter',
        `container_cpu_usage_seconds_total{container="app",namespace="web",pod="a"} 15 ${T}`,
        `container_cpu_usage_seconds_total{container="sidecar",namespace="web",pod="a"} 0.3 ${T}`,
        '# HELP container_memory_working_set_bytes [STABLE] Current working set of the container in bytes',
        '# TYPE container_memory_working_set_bytes gauge',
        `container_memory_working_set_bytes{container="app",namespace="web",pod="a"} 1000 ${T}`,
        `container_memory_working_set_bytes{container="sidecar",namespace="web",pod="a"} 24 ${T}`,
        '# HELP container_start_time_seconds [STABLE] Start time of the container since unix epoch in seconds',
        '# TYPE container_start_time_seconds gauge',
        `container_start_time_seconds{container="app",namespace="web",pod="a"} ${started} ${T}`,
        `container_start_time_seconds{container="sidecar",namespace="web",pod="a"} ${started} ${T}`,
        '# HELP node_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the node in core-seconds',
        '# TYPE node_cpu_usage_seconds_total counter',
        `node_cpu_usage_seconds_total 40.5 ${T}`,
        '# HELP node_memory_working_set_bytes [STABLE] Current working set of the node in bytes',
        '# TYPE node_memory_working_set_bytes gauge',
        `node_memory_working_set_bytes 1024 ${T}`,
        '# HELP pod_cpu_usage_seconds_total [STABLE] Cumulative cpu time consumed by the pod in core-seconds',
        '# TYPE pod_cpu_usage_seconds_total counter',
        `pod_cpu_usage_seconds_total{namespace="web",pod="a"} 15.3 ${T}`,
        '# HELP pod_memory_working_set_bytes [STABLE] Current working set of the pod in bytes',
        '# TYPE pod_memory_working_set_bytes gauge',
        `pod_memory_working_set_bytes{namespace="web",pod="a"} 1024 ${T}`,
        '',
      ].join('\n'),
    );
  });

  it('no figures yet: an empty body; label values are escaped', () => {
    assert.equal(renderResourceMetrics({ pods: [], node: undefined }, podOf), '');
    const odd = renderResourceMetrics(
      {
        pods: [
          {
            target: { uid: 'u', namespace: 'n', name: 'p"\\\n', groupName: 'g' },
            containers: new Map(),
            total: { cpuNanoCores: 0, memoryBytes: 0, cpuSecondsTotal: 1, at: 5 },
          },
        ],
        node: undefined,
      },
      () => undefined,
    );
    assert.match(odd, /^pod_cpu_usage_seconds_total\{namespace="n",pod="p\\"\\\\\\n"\} 1 5$/m);
  });
});

describe('summaryStats', () => {
  it('the node’s sums and every Running pod; a pod without figures yet has none', () => {
    const body = summaryStats(snapshot, pods, { name: 'aci-connector', startedAt: T - 3_600_000 });
    const time = new Date(T).toISOString();
    assert.deepEqual(body, {
      node: {
        nodeName: 'aci-connector',
        startTime: new Date(T - 3_600_000).toISOString(),
        cpu: { time, usageNanoCores: 255e6, usageCoreNanoSeconds: 40.5e9 },
        memory: { time, usageBytes: 1024, workingSetBytes: 1024 },
      },
      pods: [
        {
          podRef: { name: 'a', namespace: 'web', uid: 'uid-a' },
          startTime: new Date(T - 600_000).toISOString(),
          containers: [
            {
              name: 'app',
              startTime: new Date(T - 300_000).toISOString(),
              cpu: { time, usageNanoCores: 250e6, usageCoreNanoSeconds: 15e9 },
              memory: { time, usageBytes: 1000, workingSetBytes: 1000 },
            },
            {
              name: 'sidecar',
              startTime: new Date(T - 300_000).toISOString(),
              cpu: { time, usageNanoCores: 5e6, usageCoreNanoSeconds: 0.3e9 },
              memory: { time, usageBytes: 24, workingSetBytes: 24 },
            },
          ],
          cpu: { time, usageNanoCores: 255e6, usageCoreNanoSeconds: 15.3e9 },
          memory: { time, usageBytes: 1024, workingSetBytes: 1024 },
        },
        {
          podRef: { name: 'b', namespace: 'web', uid: 'uid-b' },
          startTime: new Date(T - 600_000).toISOString(),
          containers: [],
        },
      ],
    });
  });
});

describe('the kubelet API’s stats routes over TLS', () => {
  const ca = createCertificateAuthority({ commonName: 'test client CA', now: new Date() });
  const serving = issueCertificate(
    ca,
    { commonName: 'node', hosts: ['127.0.0.1'], now: new Date() },
    'server',
  );
  const metricsServer = issueCertificate(
    ca,
    { commonName: 'system:metrics-server', now: new Date() },
    'client',
  );
  const stranger = issueCertificate(
    ca,
    { commonName: 'someone', organizations: ['devs'], now: new Date() },
    'client',
  );
  const asked: { user: string; groups: string[]; verb: string; subresource: string }[] = [];
  const authorizer: KubeletAuthorizer = {
    allowed: (caller, attributes) => {
      asked.push({ ...caller, ...attributes });
      if (caller.user === 'broken') return Promise.reject(new Error('apiserver down'));
      return Promise.resolve(caller.user === 'system:metrics-server');
    },
  };
  const cache: PodCache = {
    synced: true,
    get: (namespace, name) => podOf(namespace, name),
    list: () => pods,
  };
  const shutdown = new AbortController();
  const server = createKubeletApi({
    cache,
    logs: { read: async function* () {} },
    ownedGroupFor: (pod) => `group-of-${pod.metadata?.name ?? ''}`,
    authorizer,
    logger: silentLogger(),
    clock: new FakeClock(),
    tls: { ...serving, clientCaPem: ca.certPem },
    shutdown: shutdown.signal,
    statsRoutes: kubeletStatsRouter({
      usage: { snapshot: () => snapshot },
      cache,
      nodeName: 'aci-connector',
      startedAt: T,
    }),
  });
  let port = 0;

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    shutdown.abort();
    server.close();
  });

  function get(path: string, client: KeyPairPem): Promise<{ status: number; type: string; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path, ca: ca.certPem, cert: client.certPem, key: client.keyPem },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => {
            resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body });
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('serves /metrics/resource as Prometheus text to a caller allowed nodes/metrics', async () => {
    asked.length = 0;
    const response = await get('/metrics/resource', metricsServer);
    assert.equal(response.status, 200);
    assert.equal(response.type, 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(response.body, renderResourceMetrics(snapshot, podOf));
    assert.deepEqual(asked, [
      { user: 'system:metrics-server', groups: [], verb: 'get', subresource: 'metrics' },
    ]);
  });

  it('serves /stats/summary as JSON to a caller allowed nodes/stats', async () => {
    asked.length = 0;
    const response = await get('/stats/summary?only_cpu_and_memory=true', metricsServer);
    assert.equal(response.status, 200);
    assert.deepEqual(
      JSON.parse(response.body),
      JSON.parse(JSON.stringify(summaryStats(snapshot, pods, { name: 'aci-connector', startedAt: T }))),
    );
    assert.deepEqual(asked, [
      { user: 'system:metrics-server', groups: [], verb: 'get', subresource: 'stats' },
    ]);
  });

  it('refuses a caller the API server does not allow, as a kubelet words it', async () => {
    const metrics = await get('/metrics/resource', stranger);
    assert.equal(metrics.status, 403);
    assert.equal(metrics.body, 'Forbidden (user=someone, verb=get, resource=nodes, subresource=metrics)\n');
    const stats = await get('/stats/summary', stranger);
    assert.equal(stats.body, 'Forbidden (user=someone, verb=get, resource=nodes, subresource=stats)\n');
  });

  it('answers 503 when the API server cannot be asked', async () => {
    const broken = issueCertificate(ca, { commonName: 'broken', now: new Date() }, 'client');
    assert.equal((await get('/metrics/resource', broken)).status, 503);
  });
});
