import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { Server } from 'node:https';
import { after, before, describe, it } from 'node:test';
import type { V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import { checkPod } from '../contract/index.ts';
import { silentLogger } from '../runtime/logger.ts';
import { createRegistry } from '../runtime/metrics.ts';
import { certificateHosts } from './config.ts';
import { selfSignedCredentials } from './credentials.ts';
import { createCertificateAuthority, issueCertificate, type KeyPairPem } from '../runtime/tls.ts';
import type { ClusterView, ExtenderFilterResult, HostPriority } from './protocol.ts';
import { createExtenderApp, createExtenderMetrics, type ExtenderAppOptions } from './server.ts';
import { BODY_LIMITS } from '../runtime/http-limits.ts';
import { closeServer, listenHttps } from '../runtime/https-service.ts';

interface RawArgs {
  Pod: V1Pod;
  Nodes: { metadata: object; items: V1Node[] } | null;
  NodeNames: string[] | null;
}

function fixture(name: string): RawArgs {
  return JSON.parse(
    readFileSync(new URL(`../test/fixtures/scheduler/${name}`, import.meta.url), 'utf8'),
  ) as RawArgs;
}

const namesArgs = fixture('args-node-names.json');
const nodesArgs = fixture('args-nodes.json');
const clusterNodes = nodesArgs.Nodes?.items ?? [];

function findNode(name: string): V1Node {
  const node = clusterNodes.find((candidate) => candidate.metadata?.name === name);
  assert.ok(node, name);
  return structuredClone(node);
}

/** The fixture's pod, changed by `edit` (on a copy). */
function podWith(edit: (pod: V1Pod) => void): V1Pod {
  const pod = structuredClone(namesArgs.Pod);
  edit(pod);
  return pod;
}

const hostPathPod = podWith((pod) => {
  pod.spec?.volumes?.push({ name: 'logs', hostPath: { path: '/var/log', type: '' } });
});
const requiredPod = podWith((pod) => {
  pod.metadata = { ...pod.metadata, labels: { ...pod.metadata?.labels, 'azure.com/aci': 'required' } };
});
const preferringPod = podWith((pod) => {
  pod.metadata = { ...pod.metadata, annotations: { 'azure.com/aci-preference': 'prefer' } };
});

/** A ClusterView over plain arrays, as the informers would fill it. */
class FakeView implements ClusterView {
  nodes: V1Node[] = clusterNodes;
  namespaces: V1Namespace[] = [{ metadata: { name: 'shop' } }];
  reasons: string[] = [];
  node(name: string): V1Node | undefined {
    return this.nodes.find((node) => node.metadata?.name === name);
  }
  namespace(name: string): V1Namespace | undefined {
    return this.namespaces.find((namespace) => namespace.metadata?.name === name);
  }
  notReadyReasons(): string[] {
    return this.reasons;
  }
}

const credentials = selfSignedCredentials(
  certificateHosts('aci-burst-extender', 'aci-burst-system'),
  new Date(),
);
const view = new FakeView();
let failCheck = false;
let server: Server;
let port: number;

/** An extender on a free loopback port over `view`, with the options given. */
function serve(
  options: Partial<ExtenderAppOptions> = {},
  clientCaPem?: string,
): Promise<{ server: Server; port: number }> {
  const registry = createRegistry({ component: 'extender', processMetrics: false });
  const app = createExtenderApp({
    view,
    logger: silentLogger(),
    registry,
    metrics: createExtenderMetrics(registry),
    ...options,
  });
  return listenHttps(app, {
    port: 0,
    host: '127.0.0.1',
    credentials: credentials.serving,
    ...(clientCaPem !== undefined && { clientCaPem }),
  });
}

before(async () => {
  ({ server, port } = await serve({
    check: (pod) => {
      if (failCheck) throw new Error('checker exploded');
      return checkPod(pod);
    },
  }));
});

after(async () => {
  await closeServer(server, 1000);
});

/**
 * An HTTPS call that trusts only the extender's CA and checks its IP SAN, as kube-scheduler does; to
 * `port` (the shared server by default), presenting `client`'s certificate when given.
 */
function call(
  method: string,
  path: string,
  body?: string,
  options: { port?: number; client?: KeyPairPem | undefined } = {},
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: options.port ?? port,
        method,
        path,
        ca: credentials.caPem,
        ...(options.client && { cert: options.client.certPem, key: options.client.keyPem }),
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, text });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function filter(args: unknown): Promise<ExtenderFilterResult> {
  const response = await call('POST', '/filter', typeof args === 'string' ? args : JSON.stringify(args));
  assert.equal(response.status, 200);
  return JSON.parse(response.text) as ExtenderFilterResult;
}

async function prioritize(args: unknown): Promise<HostPriority[]> {
  const response = await call('POST', '/prioritize', typeof args === 'string' ? args : JSON.stringify(args));
  assert.equal(response.status, 200);
  return JSON.parse(response.text) as HostPriority[];
}

function returnedNames(result: ExtenderFilterResult): string[] {
  return result.NodeNames ?? result.Nodes?.items.map((node) => node.metadata?.name ?? '') ?? [];
}

describe('POST /filter', () => {
  const cases: {
    name: string;
    pod: V1Pod;
    passed: string[];
    /** Quota annotations the virtual node carries instead of the fixture's. */
    quota?: Record<string, string>;
    failed?: Record<string, RegExp>;
    unresolvable?: Record<string, RegExp>;
  }[] = [
    { name: 'a burstable pod may use both nodes', pod: namesArgs.Pod, passed: ['aci-connector', 'worker-1'] },
    {
      name: 'ACI cannot run a hostPath pod',
      pod: hostPathPod,
      passed: ['worker-1'],
      unresolvable: { 'aci-connector': /^ACI cannot run this pod: spec\.volumes\[1\]\.hostPath: / },
    },
    {
      name: 'a required pod may use only the virtual node',
      pod: requiredPod,
      passed: ['aci-connector'],
      unresolvable: { 'worker-1': /azure\.com\/aci=required/ },
    },
    {
      name: 'a pod larger than the remaining ACI cores',
      pod: podWith((pod) => {
        const container = pod.spec?.containers[0];
        if (container) container.resources = { requests: { cpu: '3' } };
      }),
      quota: { 'azure.com/aci-remaining-cores': '2.5' },
      passed: ['worker-1'],
      failed: { 'aci-connector': /needs 3 cores .* has 2\.5 left/ },
    },
    {
      name: 'no ACI container group left',
      pod: namesArgs.Pod,
      quota: { 'azure.com/aci-remaining-container-groups': '0' },
      passed: ['worker-1'],
      failed: { 'aci-connector': /container group quota .* used up/ },
    },
  ];
  for (const mode of ['NodeNames', 'Nodes'] as const) {
    for (const c of cases) {
      it(`${c.name} (${mode})`, async () => {
        const nodes = clusterNodes.map((node) =>
          c.quota && node.metadata?.name === 'aci-connector'
            ? { ...node, metadata: { ...node.metadata, annotations: c.quota } }
            : node,
        );
        // NodeNames mode reads the nodes from the cache, Nodes mode from the request.
        view.nodes = nodes;
        const args =
          mode === 'NodeNames' ? namesArgs : { ...nodesArgs, Nodes: { metadata: {}, items: nodes } };
        const result = await filter({ ...args, Pod: c.pod }).finally(() => {
          view.nodes = clusterNodes;
        });
        assert.equal(result.Error, '');
        assert.deepEqual(returnedNames(result), c.passed);
        if (mode === 'NodeNames') assert.equal(result.Nodes, null);
        else {
          assert.equal(result.NodeNames, null);
          // The node objects come back as they were sent.
          assert.deepEqual(result.Nodes?.items, c.passed.map(findNode));
        }
        for (const [expected, actual] of [
          [c.failed ?? {}, result.FailedNodes],
          [c.unresolvable ?? {}, result.FailedAndUnresolvableNodes],
        ] as const) {
          assert.deepEqual(Object.keys(actual).sort(), Object.keys(expected).sort());
          for (const [node, reason] of Object.entries(expected)) assert.match(actual[node] ?? '', reason);
        }
      });
    }
  }

  it('fails a node name its cache does not know, and never returns it', async () => {
    const result = await filter({ ...namesArgs, NodeNames: ['aci-connector', 'worker-9', 'worker-1'] });
    assert.deepEqual(result.NodeNames, ['aci-connector', 'worker-1']);
    assert.match(
      result.FailedNodes['worker-9'] ?? '',
      /"worker-9" is not in the scheduler extender's node cache/,
    );
  });

  it('reports an unsynced cache in Error in NodeNames mode, and still answers Nodes mode', async () => {
    view.reasons = ['node cache not synced'];
    try {
      const names = await filter(namesArgs);
      assert.equal(names.Error, 'not ready: node cache not synced');
      assert.equal(names.NodeNames, null);
      const nodes = await filter(nodesArgs);
      assert.equal(nodes.Error, '');
      assert.deepEqual(returnedNames(nodes), ['aci-connector', 'worker-1']);
    } finally {
      view.reasons = [];
    }
  });

  it('reads keys case-insensitively, as Go does', async () => {
    const result = await filter({ pod: namesArgs.Pod, nodenames: ['worker-1'] });
    assert.equal(result.Error, '');
    assert.deepEqual(result.NodeNames, ['worker-1']);
  });

  const badRequests: { name: string; body: string; error: RegExp }[] = [
    { name: 'malformed JSON', body: '{"Pod": {', error: /^the request body is not valid JSON: / },
    {
      name: 'no Pod',
      body: JSON.stringify({ NodeNames: ['worker-1'] }),
      error: /ExtenderArgs\.Pod is missing/,
    },
    {
      name: 'no nodes at all',
      body: JSON.stringify({ Pod: namesArgs.Pod, Nodes: null, NodeNames: null }),
      error: /neither NodeNames nor Nodes/,
    },
    {
      name: 'NodeNames not strings',
      body: JSON.stringify({ Pod: namesArgs.Pod, NodeNames: [1, 2] }),
      error: /NodeNames is not a list of node names/,
    },
    {
      name: 'Nodes without names',
      body: JSON.stringify({ Pod: namesArgs.Pod, Nodes: { items: [{ spec: {} }] } }),
      error: /Nodes\.items is not a list of nodes/,
    },
    { name: 'a JSON array', body: '[]', error: /not an ExtenderArgs JSON object/ },
    {
      name: 'a body over 5 MiB (Nodes mode in a large cluster)',
      body: JSON.stringify({ Pod: namesArgs.Pod, NodeNames: ['x'.repeat(BODY_LIMITS.schedulerCall)] }),
      error:
        /^the request body is larger than 5242880 bytes; with more than a few hundred nodes, configure the extender with nodeCacheCapable: true$/,
    },
  ];
  for (const c of badRequests) {
    it(`answers ${c.name} with 200 and Error`, async () => {
      const result = await filter(c.body);
      assert.match(result.Error, c.error);
      assert.equal(result.NodeNames, null);
      assert.equal(result.Nodes, null);
    });
  }

  it('turns an exception into Error instead of a crash', async () => {
    failCheck = true;
    try {
      const result = await filter(namesArgs);
      assert.equal(result.Error, 'checker exploded');
    } finally {
      failCheck = false;
    }
    assert.equal((await filter(namesArgs)).Error, '');
  });
});

describe('POST /prioritize', () => {
  const cases: {
    name: string;
    pod: V1Pod;
    namespaceAnnotations?: Record<string, string>;
    expected: number[];
  }[] = [
    { name: 'real nodes first by default', pod: namesArgs.Pod, expected: [2, 10] },
    { name: 'a pod that prefers ACI', pod: preferringPod, expected: [10, 0] },
    {
      name: 'a namespace that prefers ACI',
      pod: namesArgs.Pod,
      namespaceAnnotations: { 'azure.com/aci-preference': 'prefer' },
      expected: [10, 0],
    },
  ];
  for (const mode of ['NodeNames', 'Nodes'] as const) {
    for (const c of cases) {
      it(`${c.name} (${mode})`, async () => {
        view.namespaces = [{ metadata: { name: 'shop', annotations: c.namespaceAnnotations ?? {} } }];
        try {
          const args = mode === 'NodeNames' ? namesArgs : nodesArgs;
          const scores = await prioritize({ ...args, Pod: c.pod });
          assert.deepEqual(scores, [
            { Host: 'aci-connector', Score: c.expected[0] },
            { Host: 'worker-1', Score: c.expected[1] },
          ]);
        } finally {
          view.namespaces = [{ metadata: { name: 'shop' } }];
        }
      });
    }
  }

  it('scores a node its cache does not know 0', async () => {
    const scores = await prioritize({ ...namesArgs, NodeNames: ['worker-9'] });
    assert.deepEqual(scores, [{ Host: 'worker-9', Score: 0 }]);
  });

  it('answers malformed JSON with 200 and an empty list (no opinion)', async () => {
    assert.deepEqual(await prioritize('{"Pod"'), []);
  });
});

describe('ops routes', () => {
  it('serves health, readiness from the caches, and metrics of calls, latency and verdicts', async () => {
    assert.deepEqual(await call('GET', '/healthz'), { status: 200, text: 'ok' });
    view.reasons = ['namespace cache not synced'];
    assert.deepEqual(await call('GET', '/readyz'), {
      status: 503,
      text: 'not ready: namespace cache not synced',
    });
    view.reasons = [];
    assert.equal((await call('GET', '/readyz')).status, 200);

    await filter({ ...namesArgs, Pod: hostPathPod });
    const metrics = (await call('GET', '/metrics')).text;
    assert.match(
      metrics,
      /aci_burst_extender_filter_verdicts_total\{node_type="virtual",verdict="unsupported",component="extender"\} [1-9]/,
    );
    assert.match(
      metrics,
      /aci_burst_extender_requests_total\{verb="filter",outcome="answered",component="extender"\} [1-9]/,
    );
    assert.match(
      metrics,
      /aci_burst_extender_requests_total\{verb="filter",outcome="invalid",component="extender"\} [1-9]/,
    );
    assert.match(
      metrics,
      /aci_burst_extender_request_duration_seconds_count\{component="extender",verb="filter"\} [1-9]/,
    );
    assert.match(
      metrics,
      /aci_burst_extender_prioritize_preferences_total\{preference="real-first",component="extender"\}/,
    );
  });
});

describe('callers must present a client certificate when required', () => {
  const callerCa = createCertificateAuthority({ commonName: 'scheduler-ca', now: new Date() });
  const scheduler = issueCertificate(
    callerCa,
    { commonName: 'aci-burst-scheduler', now: new Date() },
    'client',
  );
  const stranger = issueCertificate(
    createCertificateAuthority({ commonName: 'other-ca', now: new Date() }),
    { commonName: 'x', now: new Date() },
    'client',
  );
  let guarded: Server;
  let guardedPort: number;

  before(async () => {
    ({ server: guarded, port: guardedPort } = await serve(
      { requireClientCertificate: true },
      callerCa.certPem,
    ));
  });

  after(async () => {
    await closeServer(guarded, 1000);
  });

  function callAs(client: KeyPairPem | undefined, path: string): Promise<{ status: number; text: string }> {
    const filtering = path === '/filter';
    return call(filtering ? 'POST' : 'GET', path, filtering ? JSON.stringify(namesArgs) : undefined, {
      port: guardedPort,
      client,
    });
  }

  const table: { who: string; client: () => KeyPairPem | undefined; path: string; status: number }[] = [
    { who: 'the scheduler, with its certificate', client: () => scheduler, path: '/filter', status: 200 },
    { who: 'a caller without a certificate', client: () => undefined, path: '/filter', status: 403 },
    { who: 'a caller with another CA’s certificate', client: () => stranger, path: '/filter', status: 403 },
    { who: 'a kubelet probe (no certificate)', client: () => undefined, path: '/healthz', status: 200 },
    { who: 'Prometheus (no certificate)', client: () => undefined, path: '/metrics', status: 200 },
  ];
  for (const { who, client, path, status } of table) {
    it(`${path} from ${who}: ${status}`, async () => {
      const response = await callAs(client(), path);
      assert.equal(response.status, status, response.text);
      if (status === 403)
        assert.match(response.text, /client certificate signed by the CA this server trusts/);
    });
  }
});
