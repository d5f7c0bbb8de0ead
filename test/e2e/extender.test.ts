// The burst policy end to end: the real kube-scheduler (a second scheduler, configured with the
// extender entry shipped in manifests/extender/scheduler.yaml) calls the real extender process
// (`node extender/main.ts`) over TLS, in NodeNames mode, against a small real node and a virtual
// node this test registers. No kubelet runs, so "lands" means the binding set spec.nodeName.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { request } from 'node:https';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import {
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
  type V1NodeCondition,
  type V1Pod,
  type V1Volume,
} from '@kubernetes/client-node';
import {
  ACI_TAINT,
  ACI_TOLERATION,
  PROVIDER,
  PROVIDER_LABEL,
  REMAINING_CORES_ANNOTATION,
  REMAINING_GROUPS_ANNOTATION,
  VIRTUAL_NODE_TYPE,
  VIRTUAL_NODE_TYPE_LABEL,
} from '../../contract/index.ts';
import { useTestCluster, type RunningScheduler } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';
import { localExtender } from '../../scripts/local/scheduler-extender.ts';

const repoRoot = new URL('../../', import.meta.url);
const cluster = await useTestCluster();
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);

// Everything this file registers carries the run id: the label keeps its pods on its own nodes (the
// cluster is shared with other test files), the taint keeps other files' pods off them.
const runId = randomBytes(3).toString('hex');
const TEST_KEY = 'aci-burst.test/extender';
const testTaint = { key: TEST_KEY, value: runId, effect: 'NoSchedule' };
const realNodeName = `extender-test-worker-${runId}`;
const virtualNodeName = `extender-test-aci-${runId}`;
const schedulerName = `aci-burst-scheduler-${runId}`;

function readyCondition(now: Date): V1NodeCondition {
  return {
    type: 'Ready',
    status: 'True',
    reason: 'KubeletReady',
    message: 'registered by test/e2e/extender.test.ts (no kubelet runs)',
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  };
}

/** A small real node (2 cpu, clearly a test node) and a virtual node as the connector registers it. */
function testNodes(now: Date): V1Node[] {
  const status = (cpu: string, memory: string, pods: string): V1Node['status'] => ({
    capacity: { cpu, memory, pods },
    allocatable: { cpu, memory, pods },
    conditions: [readyCondition(now)],
  });
  return [
    {
      metadata: {
        name: realNodeName,
        labels: { [TEST_KEY]: runId, 'kubernetes.io/hostname': realNodeName, 'kubernetes.io/os': 'linux' },
      },
      spec: { taints: [testTaint] },
      status: status('2', '4Gi', '110'),
    },
    {
      metadata: {
        name: virtualNodeName,
        labels: {
          [TEST_KEY]: runId,
          [VIRTUAL_NODE_TYPE_LABEL]: VIRTUAL_NODE_TYPE,
          [PROVIDER_LABEL]: PROVIDER,
          'kubernetes.io/hostname': virtualNodeName,
          'kubernetes.io/os': 'linux',
          'kubernetes.io/role': 'agent',
        },
        annotations: { [REMAINING_CORES_ANNOTATION]: '96', [REMAINING_GROUPS_ANNOTATION]: '97' },
      },
      spec: { taints: [testTaint, ACI_TAINT] },
      status: status('10k', '4Ti', '5k'),
    },
  ];
}

/** Renews the nodes' Ready heartbeat, as a kubelet would, so the node controller keeps them Ready. */
async function heartbeat(): Promise<void> {
  const body = { status: { conditions: [readyCondition(new Date())] } };
  await Promise.all(
    [realNodeName, virtualNodeName].map((name) =>
      core.patchNodeStatus(
        { name, body },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      ),
    ),
  );
}

/** The node controller removes the not-ready taint admission put on the new nodes. */
async function untaintedByController(name: string): Promise<true | undefined> {
  const node = await core.readNode({ name });
  return (node.spec?.taints ?? []).some((taint) => taint.key.startsWith('node.kubernetes.io/'))
    ? undefined
    : true;
}

interface RunningExtender {
  port: number;
  caPem: string;
  child: ChildProcess;
  logs: Record<string, unknown>[];
}

/** Starts `node extender/main.ts` on a free loopback port and reads its port and CA from its logs. */
async function startExtender(): Promise<RunningExtender> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KUBECONFIG: cluster.kubeconfigPath,
    PORT: '0',
    BIND_ADDRESS: '127.0.0.1',
    LOG_LEVEL: 'debug',
    SHUTDOWN_GRACE_SECONDS: '2',
  };
  // The child is a server, not a test file.
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['extender/main.ts'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const logs: Record<string, unknown>[] = [];
  let caPem = '';
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const listening = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`the extender did not listen within 20s: ${JSON.stringify(logs)}`));
    }, 20_000);
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (typeof entry.caData === 'string') caPem = Buffer.from(entry.caData, 'base64').toString('utf8');
      if (entry.msg === 'listening') {
        clearTimeout(timer);
        resolve(entry.port as number);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the extender exited with ${String(code)} before listening`));
    });
  });
  const port = await listening;
  return { port, caPem, child, logs };
}

function getStatus(extender: RunningExtender, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port: extender.port, path, ca: extender.caPem }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    })
      .on('error', reject)
      .end();
  });
}

interface PodSpec {
  cpu: string;
  labels?: Record<string, string>;
  volumes?: V1Volume[];
}

/** A pod for the second scheduler that tolerates the ACI taint, as the webhook makes burstable pods. */
function burstablePod(name: string, spec: PodSpec): V1Pod {
  return {
    metadata: { name, labels: { app: 'burst', ...spec.labels } },
    spec: {
      schedulerName,
      nodeSelector: { [TEST_KEY]: runId },
      tolerations: [ACI_TOLERATION, { key: TEST_KEY, operator: 'Exists', effect: 'NoSchedule' }],
      containers: [
        {
          name: 'nginx',
          image: 'nginx:1.27',
          resources: {
            requests: { cpu: spec.cpu, memory: '128Mi' },
            limits: { cpu: spec.cpu, memory: '128Mi' },
          },
          ...(spec.volumes && {
            volumeMounts: spec.volumes.map((volume) => ({ name: volume.name, mountPath: '/data' })),
          }),
        },
      ],
      ...(spec.volumes && { volumes: spec.volumes }),
    },
  };
}

describe('the scheduler extender with a real kube-scheduler', { timeout: 180_000 }, () => {
  let namespace = '';
  let extender: RunningExtender | undefined;
  let scheduler: RunningScheduler | undefined;
  let heartbeats: NodeJS.Timeout | undefined;

  async function createPod(name: string, spec: PodSpec): Promise<void> {
    await core.createNamespacedPod({ namespace, body: burstablePod(name, spec) });
  }

  function boundNode(name: string): Promise<string> {
    return eventually(`pod ${name} to be bound`, async () => {
      const pod = await core.readNamespacedPod({ name, namespace });
      return pod.spec?.nodeName || undefined;
    });
  }

  before(async () => {
    namespace = await cluster.createNamespace('extender');
    // Started before the nodes exist, so its node cache must learn them from the watch.
    const started = await startExtender();
    extender = started;
    await eventually('the extender to be ready (caches synced)', async () =>
      (await getStatus(started, '/readyz')) === 200 ? true : undefined,
    );
    for (const node of testNodes(new Date())) await core.createNode({ body: node });
    heartbeats = setInterval(() => {
      heartbeat().catch(() => {
        // A conflicting node update: the next beat is 5 s away, well within the 40 s grace period.
      });
    }, 5000);
    for (const name of [realNodeName, virtualNodeName]) {
      await eventually(`node ${name} to lose the not-ready taint`, () => untaintedByController(name));
    }
    scheduler = await cluster.startScheduler({
      schedulerName,
      extenders: [localExtender(started.port, started.caPem)],
    });
  });

  after(async () => {
    clearInterval(heartbeats);
    await scheduler?.stop();
    if (extender?.child.exitCode === null) extender.child.kill('SIGKILL');
    // The ReplicaSet first, or it recreates what is deleted below.
    await Promise.allSettled([apps.deleteNamespacedReplicaSet({ name: 'web', namespace })]);
    // No kubelet confirms deletion of a bound pod: delete them at once so the namespace can go.
    const pods = namespace ? await core.listNamespacedPod({ namespace }) : { items: [] };
    await Promise.allSettled(
      pods.items.map((pod) =>
        core.deleteNamespacedPod({ name: pod.metadata?.name ?? '', namespace, gracePeriodSeconds: 0 }),
      ),
    );
    await Promise.allSettled([realNodeName, virtualNodeName].map((name) => core.deleteNode({ name })));
  });

  it('places a burstable pod on the real node while it has room', async () => {
    await createPod('first', { cpu: '1' });
    assert.equal(await boundNode('first'), realNodeName);
  });

  it('fills the real node with a ReplicaSet before ACI, although spreading prefers the empty virtual node', async () => {
    // The scheduler's own plugins (spreading replicas over hosts, LeastAllocated) score the empty
    // virtual node above the real one; the shipped extender weight must outweigh them.
    const template = burstablePod('', { cpu: '250m', labels: { app: 'web' } });
    await apps.createNamespacedReplicaSet({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: template.spec },
        },
      },
    });
    const nodes = await eventually('both replicas to be bound', async () => {
      const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app=web' });
      const bound = pods.items.map((pod) => pod.spec?.nodeName).filter((name) => name !== undefined);
      return bound.length === 2 ? bound : undefined;
    });
    assert.deepEqual(nodes, [realNodeName, realNodeName]);
  });

  it('places the next one on the virtual node once the real node has no room for it', async () => {
    await createPod('overflow', { cpu: '1' });
    assert.equal(await boundNode('overflow'), virtualNodeName);
  });

  it('places a required pod on the virtual node although the real node has room', async () => {
    await createPod('required', { cpu: '100m', labels: { 'azure.com/aci': 'required' } });
    assert.equal(await boundNode('required'), virtualNodeName);
  });

  it('keeps a pod ACI cannot run Pending, with the extender reason in its FailedScheduling event', async () => {
    await createPod('host-path', {
      cpu: '1',
      volumes: [{ name: 'logs', hostPath: { path: '/var/log' } }],
    });
    const message = await eventually('a FailedScheduling event naming the hostPath volume', async () => {
      const events = await core.listNamespacedEvent({
        namespace,
        fieldSelector: 'involvedObject.name=host-path,reason=FailedScheduling',
      });
      return events.items.map((event) => event.message ?? '').find((text) => text.includes('hostPath'));
    });
    assert.match(
      message,
      /ACI cannot run this pod: spec\.volumes\[\d+\]\.hostPath: volume "logs" mounts a path/,
    );
    const pod = await core.readNamespacedPod({ name: 'host-path', namespace });
    assert.equal(pod.spec?.nodeName, undefined);
    assert.equal(pod.status?.phase, 'Pending');
  });

  it('keeps a required pod Pending while the ACI quota published on the node cannot hold it', async () => {
    await core.patchNode(
      { name: virtualNodeName, body: { metadata: { annotations: { [REMAINING_CORES_ANNOTATION]: '0.5' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await createPod('over-quota', { cpu: '1', labels: { 'azure.com/aci': 'required' } });
    const message = await eventually('a FailedScheduling event naming the quota', async () => {
      const events = await core.listNamespacedEvent({
        namespace,
        fieldSelector: 'involvedObject.name=over-quota,reason=FailedScheduling',
      });
      return events.items.map((event) => event.message ?? '').find((text) => text.includes('quota'));
    });
    assert.match(message, /the pod needs 1 cores and the ACI core quota of the region has 0\.5 left/);
    assert.equal((await core.readNamespacedPod({ name: 'over-quota', namespace })).spec?.nodeName, undefined);
  });

  it('counted its calls and verdicts in its metrics', async () => {
    assert.ok(extender);
    const { port, caPem } = extender;
    const text = await new Promise<string>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/metrics', ca: caPem }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        response.on('end', () => {
          resolve(body);
        });
      })
        .on('error', reject)
        .end();
    });
    assert.match(
      text,
      /aci_burst_extender_filter_verdicts_total\{node_type="virtual",verdict="unsupported"[^}]*\} [1-9]/,
    );
    assert.match(
      text,
      /aci_burst_extender_filter_verdicts_total\{node_type="real",verdict="requires-aci"[^}]*\} [1-9]/,
    );
    assert.match(
      text,
      /aci_burst_extender_filter_verdicts_total\{node_type="virtual",verdict="quota-cores"[^}]*\} [1-9]/,
    );
    assert.match(
      text,
      /aci_burst_extender_requests_total\{verb="prioritize",outcome="answered"[^}]*\} [1-9]/,
    );
  });

  it('stops gracefully on SIGTERM, and scheduling goes on without it (ignorable)', async () => {
    assert.ok(extender);
    const { child, logs } = extender;
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
    assert.ok(logs.some((entry) => entry.msg === 'stopped'));
    await createPod('without-extender', { cpu: '100m' });
    assert.ok([realNodeName, virtualNodeName].includes(await boundNode('without-extender')));
  });
});
