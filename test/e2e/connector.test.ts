// The connector end to end: the real process (`node connector/main.ts`), configured only by its
// environment, against the shared real control plane and an in-process ACI emulator reached through
// the real Azure SDK and Entra ID flow over HTTPS.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  BatchV1Api,
  CoordinationV1Api,
  CoreV1Api,
  type V1Node,
  type V1Pod,
  type V1PodSpec,
} from '@kubernetes/client-node';
import {
  ACI_TAINT_KEY,
  BURST_NAMESPACE_ENABLED,
  BURST_NAMESPACE_LABEL,
  containerGroupName,
  TAGS,
} from '../../contract/index.ts';
import { createAzureClients } from '../../connector/azure-client.ts';
import { startEmulator, type RunningEmulator } from '../emulator/server.ts';
import { clientSettingsFor } from '../emulator/testing.ts';
import type { RequestLogEntry } from '../emulator/request-log.ts';
import { useTestCluster } from '../support/cluster.ts';
import { startConnector, type RunningConnector } from '../support/connector.ts';
import { eventually } from '../support/eventually.ts';

const run = promisify(execFile);
const cluster = await useTestCluster();
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
const nodeName = `aci-e2e-${randomBytes(3).toString('hex')}`;
/** Pods run on ACI only from namespaces that opted in. */
const OPTED_IN = { [BURST_NAMESPACE_LABEL]: BURST_NAMESPACE_ENABLED };
/** The connector's cluster id (no ACI_CLUSTER_ID here): part of every group name. */
const clusterId = (await core.readNamespace({ name: 'kube-system' })).metadata?.uid ?? '';

function nginx(name: string, extra: Partial<V1PodSpec> = {}): V1Pod {
  const pod: V1Pod = {
    metadata: { name },
    spec: {
      nodeName,
      containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }] }],
      tolerations: [{ key: ACI_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' }],
      ...extra,
    },
  };
  return pod;
}

function readPod(namespace: string, name: string): Promise<V1Pod> {
  return core.readNamespacedPod({ name, namespace });
}

async function waitForPhase(
  namespace: string,
  name: string,
  phase: string,
  timeoutMs = 60_000,
): Promise<V1Pod> {
  return eventually(
    `${namespace}/${name} to be ${phase}`,
    async () => {
      const pod = await readPod(namespace, name);
      return pod.status?.phase === phase ? pod : undefined;
    },
    timeoutMs,
  );
}

function assertNodeShape(node: V1Node, region: string, kubeletPort: number): void {
  const labels = node.metadata?.labels ?? {};
  const status = node.status ?? {};
  assert.deepEqual(
    [labels.type, labels['kubernetes.io/os'], labels['kubernetes.io/hostname']],
    ['virtual-kubelet', 'linux', nodeName],
  );
  assert.equal(labels['topology.kubernetes.io/region'], region);
  assert.equal(labels['node.kubernetes.io/exclude-from-external-load-balancers'], 'true');
  // node.kubernetes.io/* taints (not-ready...) belong to the node lifecycle controller, which lifts them a
  // moment after the node turns Ready: only the virtual node's own taint is its shape.
  assert.deepEqual(
    node.spec?.taints
      ?.filter((t) => !t.key.startsWith('node.kubernetes.io/'))
      .map((t) => `${t.key}:${t.effect}`),
    [`${ACI_TAINT_KEY}:NoSchedule`],
  );
  assert.equal(status.addresses?.find((a) => a.type === 'InternalIP')?.address, '127.0.0.1');
  assert.equal(status.daemonEndpoints?.kubeletEndpoint?.Port, kubeletPort);
  assert.ok(Number(status.capacity?.pods) > 0);
  assert.ok(Number(status.allocatable?.cpu) > 0);
  assert.match(status.nodeInfo?.kubeletVersion ?? '', /aci-burst/);
}

/** The wire shape of a PUT body, as far as these tests read it. */
interface SentGroup {
  properties: {
    containers: {
      properties: { environmentVariables?: { name: string; value?: string; secureValue?: string }[] };
    }[];
    volumes?: { name: string; secret?: Record<string, string> }[];
  };
}

describe('connector', () => {
  let emulator: RunningEmulator;
  let connector: RunningConnector;
  let namespace: string;

  before(async () => {
    emulator = await startEmulator();
    connector = await startConnector({
      cluster,
      emulator,
      nodeName,
      env: { NODE_STATUS_INTERVAL_SECONDS: '2', ACI_WAIT_RETRY_SECONDS: '2' },
    });
    namespace = await cluster.createNamespace('connector', OPTED_IN);
  });

  after(async () => {
    await connector.stop();
    await core.deleteNode({ name: nodeName }).catch(() => undefined);
    await emulator.close();
  });

  it('registers the virtual node Ready, tainted, with addresses, capacity and a Lease', async () => {
    const node = await eventually('the node to be Ready', async () => {
      const found = await core.readNode({ name: nodeName });
      return found.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? found : undefined;
    });
    assertNodeShape(node, emulator.region, connector.kubeletPort);
    // The node is registered before its first Lease renewal: the Lease may follow a moment later.
    const lease = await eventually('the node’s Lease', () =>
      cluster.kubeConfig
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ name: nodeName, namespace: 'kube-node-lease' }),
    );
    assert.equal(lease.spec?.holderIdentity, nodeName);
  });

  it('runs the 2017 connector’s nginx example: Running with the emulator’s IP, logs through kubectl', async () => {
    await core.createNamespacedPod({ namespace, body: nginx('nginx') });
    const pod = await waitForPhase(namespace, 'nginx', 'Running');
    assert.match(pod.status?.podIP ?? '', /^\d+\.\d+\.\d+\.\d+$/);
    assert.equal(pod.status?.containerStatuses?.[0]?.ready, true);
    const { stdout } = await run(cluster.kubectlPath, [
      '--kubeconfig',
      cluster.kubeconfigPath,
      'logs',
      '-n',
      namespace,
      'nginx',
      '--tail=2',
    ]);
    assert.ok(stdout.trim().split('\n').length <= 2, stdout);
    assert.notEqual(stdout.trim(), '');
  });

  it('follows one log for two kubectl logs -f at once: each line once to each, reads shared and tailed', async () => {
    const pod = nginx('ticker');
    const container = pod.spec?.containers[0];
    assert.ok(container);
    container.command = ['sh', '-c', 'echo one; sleep 4; echo two; sleep 4; echo three; sleep infinity'];
    await core.createNamespacedPod({ namespace, body: pod });
    await waitForPhase(namespace, 'ticker', 'Running');
    await emulator.control.clearRequests();
    const started = Date.now();
    const followers = [0, 1].map(() => {
      const child = spawn(cluster.kubectlPath, [
        '--kubeconfig',
        cluster.kubeconfigPath,
        'logs',
        '-f',
        '-n',
        namespace,
        'ticker',
      ]);
      const follower = { child, output: '' };
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => (follower.output += chunk));
      return follower;
    });
    try {
      await eventually(
        'both followers to see the third line',
        () => Promise.resolve(followers.every((f) => f.output.includes('three')) || undefined),
        60_000,
      );
    } finally {
      for (const { child } of followers) child.kill();
    }
    const elapsedMs = Date.now() - started;
    for (const { output } of followers) assert.deepEqual(output.trim().split('\n'), ['one', 'two', 'three']);
    const reads = (await emulator.control.requests()).filter((r: RequestLogEntry) =>
      r.path.endsWith(
        `/containerGroups/${containerGroupName(namespace, 'ticker', clusterId)}/containers/nginx/logs`,
      ),
    );
    // Each follower reads once to start; then one shared poll every 2 s, each asking for the last lines only.
    const polls = reads.slice(2);
    assert.ok(polls.length <= Math.ceil(elapsedMs / 2000) + 1, `${polls.length} polls in ${elapsedMs} ms`);
    assert.ok(
      polls.every((r) => /(^|&)tail=\d+/.test(r.query)),
      polls.map((r) => r.query).join(', '),
    );
  });

  it('shows ACI’s container events on the pod, as kubectl describe does', async () => {
    const reasons = await eventually('the pod’s events', async () => {
      const events = await core.listNamespacedEvent({
        namespace,
        fieldSelector: 'involvedObject.name=nginx',
      });
      const seen = new Set(events.items.map((e) => e.reason));
      return seen.has('ContainerGroupCreated') && seen.has('Started') ? seen : undefined;
    });
    assert.ok(reasons.has('Pulling') || reasons.has('Pulled'), [...reasons].join(', '));
  });

  it('registers the node again when someone deletes it', async () => {
    await core.deleteNode({ name: nodeName });
    await eventually('the node to return', async () => {
      const node = await core.readNode({ name: nodeName });
      return node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? node : undefined;
    });
  });

  it('reports an image that cannot be pulled as ErrImagePull, then ImagePullBackOff, without failing the pod', async () => {
    const pod = nginx('bad-image');
    const container = pod.spec?.containers[0];
    assert.ok(container);
    container.image = 'registry.example/does-not-exist:1.0';
    await core.createNamespacedPod({ namespace, body: pod });
    const waiting = await eventually('the pull failures to show', async () => {
      const found = await readPod(namespace, 'bad-image');
      const events = await core.listNamespacedEvent({
        namespace,
        fieldSelector: 'involvedObject.name=bad-image',
      });
      const seen = new Set(events.items.map((e) => e.reason));
      const reason = found.status?.containerStatuses?.[0]?.state?.waiting?.reason;
      return seen.has('ErrImagePull') && seen.has('ImagePullBackOff') && found.status?.phase === 'Pending'
        ? reason
        : undefined;
    });
    assert.match(waiting, /ErrImagePull|ImagePullBackOff/);
  });

  it('keeps a pod Pending while the ACI quota is used up, and runs it when quota frees', async () => {
    const used = (await listGroups(emulator)).length;
    await emulator.control.setQuotas({ containerGroups: used });
    await core.createNamespacedPod({ namespace, body: nginx('over-quota') });
    try {
      await eventually('the quota wait to show', async () => {
        const found = await readPod(namespace, 'over-quota');
        const waiting = found.status?.containerStatuses?.[0]?.state?.waiting?.reason;
        return found.status?.phase === 'Pending' && waiting === 'ACIQuotaExceeded' ? true : undefined;
      });
    } finally {
      await emulator.control.setQuotas({ containerGroups: 1000 });
    }
    await waitForPhase(namespace, 'over-quota', 'Running');
  });

  it('is chosen by the real scheduler for a pod that tolerates azure.com/aci and fits nowhere else', async () => {
    const pod = nginx('scheduled');
    delete pod.spec?.nodeName;
    if (pod.spec) pod.spec.nodeSelector = { 'kubernetes.io/hostname': nodeName };
    await core.createNamespacedPod({ namespace, body: pod });
    const running = await waitForPhase(namespace, 'scheduled', 'Running');
    assert.equal(running.spec?.nodeName, nodeName);
  });

  it('deletes the container group with the pod', async () => {
    await core.createNamespacedPod({ namespace, body: nginx('short-lived') });
    await waitForPhase(namespace, 'short-lived', 'Running');
    const group = containerGroupName(namespace, 'short-lived', clusterId);
    await core.deleteNamespacedPod({ namespace, name: 'short-lived' });
    await eventually('the pod object to be gone', async () =>
      (await readPod(namespace, 'short-lived').catch(() => undefined)) === undefined ? true : undefined,
    );
    const deletes = (await emulator.control.requests()).filter(
      (r: RequestLogEntry) => r.method === 'DELETE' && r.path.endsWith(`/containerGroups/${group}`),
    );
    assert.ok(deletes.length >= 1, 'the group was deleted through ARM');
  });

  it('runs a Job to Succeeded', async () => {
    const batch = cluster.kubeConfig.makeApiClient(BatchV1Api);
    await batch.createNamespacedJob({
      namespace,
      body: {
        metadata: { name: 'once' },
        spec: {
          backoffLimit: 0,
          template: {
            spec: {
              restartPolicy: 'Never',
              nodeSelector: { 'kubernetes.io/hostname': nodeName },
              tolerations: [{ key: ACI_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' }],
              containers: [
                { name: 'work', image: 'busybox', command: ['sh', '-c', 'echo done; sleep 1; exit 0'] },
              ],
            },
          },
        },
      },
    });
    await eventually('the Job to complete', async () => {
      const job = await batch.readNamespacedJob({ namespace, name: 'once' });
      return (job.status?.succeeded ?? 0) >= 1 ? job : undefined;
    });
  });

  it('fails a pod ACI cannot run at once, naming the field', async () => {
    const pod = nginx('host-path', { volumes: [{ name: 'logs', hostPath: { path: '/var/log' } }] });
    pod.spec?.containers[0]?.volumeMounts?.push({ name: 'logs', mountPath: '/logs' });
    await core.createNamespacedPod({ namespace, body: pod });
    const failed = await waitForPhase(namespace, 'host-path', 'Failed', 20_000);
    assert.match(failed.status?.message ?? '', /spec\.volumes\[0\]\.hostPath/);
  });

  it('delays but never fails pods under injected 429s and 5xx', async () => {
    await emulator.control.setFaults(
      [
        { fault: 'throttle', rate: 0.3, retryAfterSeconds: 1, method: 'PUT' },
        { fault: 'internal-error', rate: 0.3, method: 'PUT' },
        { fault: 'unavailable', rate: 0.2, method: 'GET', retryAfterSeconds: 1 },
      ],
      7,
    );
    const names = ['flaky-a', 'flaky-b', 'flaky-c', 'flaky-d'];
    for (const name of names) await core.createNamespacedPod({ namespace, body: nginx(name) });
    try {
      for (const name of names) await waitForPhase(namespace, name, 'Running', 90_000);
    } finally {
      await emulator.control.clearFaults();
    }
    const faulted = (await emulator.control.requests()).filter(
      (r: RequestLogEntry) => r.status === 429 || r.status >= 500,
    );
    assert.ok(faulted.length > 0, 'faults were really injected');
  });

  it('sends Secrets only as secure values, mounts ConfigMaps and a service-account token, logs no secret', async () => {
    const canary = `canary-${randomBytes(8).toString('hex')}`;
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'db' }, stringData: { password: canary } },
    });
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'site' }, data: { 'index.html': '<h1>hello from ACI</h1>' } },
    });
    const pod = nginx('configured', {
      volumes: [{ name: 'site', configMap: { name: 'site' } }],
    });
    const container = pod.spec?.containers[0];
    assert.ok(container);
    container.env = [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }];
    container.volumeMounts = [{ name: 'site', mountPath: '/usr/share/nginx/html' }];
    await core.createNamespacedPod({ namespace, body: pod });
    await waitForPhase(namespace, 'configured', 'Running');

    const group = containerGroupName(namespace, 'configured', clusterId);
    const put = (await emulator.control.requests()).find(
      (r: RequestLogEntry) => r.method === 'PUT' && r.path.endsWith(`/containerGroups/${group}`),
    );
    const body = put?.body as SentGroup | undefined;
    const sent = JSON.stringify(body);
    const variables = body?.properties.containers[0]?.properties.environmentVariables ?? [];
    assert.deepEqual(
      variables.find((v) => v.name === 'DB_PASSWORD'),
      { name: 'DB_PASSWORD', secureValue: canary },
    );
    assert.equal(sent.split(canary).length - 1, 1, 'the secret travels once, as the secure value');
    const volumes = body?.properties.volumes ?? [];
    const site = volumes.find((v) => v.name === 'site');
    assert.equal(
      Buffer.from(site?.secret?.['index.html'] ?? '', 'base64').toString(),
      '<h1>hello from ACI</h1>',
    );
    const token = volumes.find((v) => v.secret?.token !== undefined);
    assert.ok(token, 'the service-account token is mounted');
    assert.ok(token.secret?.['ca.crt'] && token.secret.namespace, 'with ca.crt and namespace beside it');
    assert.equal(connector.logText().includes(canary), false, 'the connector never logs a secret');
  });

  /** The 50-pod burst's namespace, whose groups all run when the read count is taken. */
  let burst = '';

  it('survives SIGKILL in the middle of a 50-pod burst: no duplicate, no orphan, all Running', async () => {
    burst = await cluster.createNamespace('burst', OPTED_IN);
    const names = Array.from({ length: 50 }, (_, i) => `burst-${i}`);
    await Promise.all(
      names.slice(0, 25).map((name) => core.createNamespacedPod({ namespace: burst, body: nginx(name) })),
    );
    await sleep(1500);
    await connector.kill();
    await Promise.all(
      names.slice(25).map((name) => core.createNamespacedPod({ namespace: burst, body: nginx(name) })),
    );
    await connector.restart();
    await eventually(
      'all 50 pods Running',
      async () => {
        const pods = await core.listNamespacedPod({ namespace: burst });
        return pods.items.filter((p) => p.status?.phase === 'Running').length === 50 ? true : undefined;
      },
      120_000,
    );
    const creates = (await emulator.control.requests()).filter(
      (r: RequestLogEntry) =>
        r.method === 'PUT' && r.path.includes(`/containerGroups/${burst}-`) && r.status < 300,
    );
    const createdNames = creates.map((r: RequestLogEntry) => r.path.split('/').at(-1));
    assert.equal(new Set(createdNames).size, 50, 'one group per pod');
    assert.equal(createdNames.length, 50, 'no group was created twice');
    const pods = await core.listNamespacedPod({ namespace: burst });
    const uids = new Set(pods.items.map((p) => p.metadata?.uid));
    const groups = await listGroups(emulator);
    const burstGroups = groups.filter((g) => g.tags[TAGS.namespace] === burst);
    assert.equal(burstGroups.length, 50);
    assert.ok(
      burstGroups.every((g) => uids.has(g.tags[TAGS.podUid])),
      'every group belongs to a live pod',
    );
  });

  it('keeps ARM reads bounded whatever the pod count: one list per interval, capped instance-view reads', async () => {
    // Over 50 pods run now. Re-reading each every 5 s (ACI_REFRESH_INTERVAL_SECONDS) would be about 600 GETs
    // a minute; ACI_MAX_READS_PER_MINUTE (120 a minute) caps the refreshes of running groups. Groups of the
    // earlier tests whose containers still start or fail are read more often (docs/scaling.md): they are
    // not counted here. The connector restarted in the burst test reads each group it has not read yet
    // once, beside the cap: those first reads end before the window (5 s of settling first).
    await sleep(5000);
    await emulator.control.clearRequests();
    await sleep(10_000);
    assert.notEqual(burst, '', 'the burst test ran first');
    const reads = (await emulator.control.requests()).filter((r: RequestLogEntry) => r.method === 'GET');
    const lists = reads.filter((r) => r.path.endsWith('/containerGroups'));
    const gets = reads.filter((r) => new RegExp(`/containerGroups/${burst}-[^/]+$`).test(r.path));
    assert.ok(lists.length >= 5 && lists.length <= 12, `${lists.length} lists in 10 s`);
    assert.ok(gets.length <= 24, `${gets.length} instance-view reads in 10 s`);
  });
});

/** The emulator's groups, read as any ARM client would. */
async function listGroups(
  emulator: RunningEmulator,
): Promise<{ name: string; tags: Record<string, string> }[]> {
  const { client } = createAzureClients(clientSettingsFor(emulator));
  const groups: { name: string; tags: Record<string, string> }[] = [];
  for await (const group of client.containerGroups.listByResourceGroup(emulator.resourceGroup)) {
    groups.push({ name: group.name ?? '', tags: group.tags ?? {} });
  }
  return groups;
}
