// Private networking end to end (issue 14): the real connector against the shared control plane and
// an in-process emulator with a virtual network fixture. With a subnet, a Deployment's pods get
// private addresses from it, a Service's EndpointSlice lists them, and the groups carry the subnet and
// ClusterFirst DNS with the cluster's real kube-dns IP. Without one, only a pod that asks gets a public
// IP. A subnet ACI cannot use keeps the node NotReady and the pods Pending, never Failed.
// The subnet is a private range (Kubernetes refuses loopback addresses in EndpointSlices): the emulator
// hands its addresses out and never binds or dials them, and nothing here dials a pod IP.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import {
  AppsV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  type V1Endpoint,
  type V1Node,
  type V1Pod,
  type V1PodSpec,
  type V1Service,
} from '@kubernetes/client-node';
import {
  ACI_ANNOTATIONS,
  ACI_TAINT_KEY,
  BURST_NAMESPACE_ENABLED,
  BURST_NAMESPACE_LABEL,
} from '../../contract/index.ts';
import { startEmulator, type RunningEmulator } from '../emulator/server.ts';
import { addressPool, inPool, type AddressPool } from '../emulator/virtual-networks.ts';
import { useTestCluster } from '../support/cluster.ts';
import { startConnector, type RunningConnector } from '../support/connector.ts';
import { eventually } from '../support/eventually.ts';

const cluster = await useTestCluster();
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
const discovery = cluster.kubeConfig.makeApiClient(DiscoveryV1Api);
const DELEGATION = 'Microsoft.ContainerInstance/containerGroups';

/** A private /24 of this run's own; never dialled. */
const prefix = `10.${randomInt(0, 256)}.${randomInt(0, 256)}.0/24`;

function subnetId(emulator: RunningEmulator, subnet: string): string {
  return `/subscriptions/${emulator.subscriptionId}/resourceGroups/network/providers/Microsoft.Network/virtualNetworks/cluster-vnet/subnets/${subnet}`;
}

function startNetworkEmulator(): Promise<RunningEmulator> {
  return startEmulator({
    virtualNetworks: [
      {
        name: 'cluster-vnet',
        resourceGroup: 'network',
        subnets: [
          { name: 'aci', addressPrefix: prefix, delegations: [DELEGATION] },
          { name: 'undelegated', addressPrefix: '192.168.240.0/29' },
        ],
      },
    ],
  });
}

const toleration = { key: ACI_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' };

function podOn(
  nodeName: string,
  name: string,
  extra: { annotations?: Record<string, string>; spec?: Partial<V1PodSpec> } = {},
): V1Pod {
  return {
    metadata: { name, annotations: extra.annotations ?? {} },
    spec: {
      nodeName,
      containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 8080 }] }],
      tolerations: [toleration],
      ...extra.spec,
    },
  };
}

function readyCondition(node: V1Node): { status?: string; reason?: string; message?: string } | undefined {
  return node.status?.conditions?.find((c) => c.type === 'Ready');
}

function nodeReady(nodeName: string): Promise<V1Node> {
  return eventually(`${nodeName} to be Ready`, async () => {
    const node = await core.readNode({ name: nodeName });
    return readyCondition(node)?.status === 'True' ? node : undefined;
  });
}

/** The PUT bodies the emulator received for groups of this namespace. */
interface SentGroup {
  properties: {
    subnetIds?: { id: string }[];
    ipAddress?: { type: string; ports: { port: number }[] };
    dnsConfig?: { nameServers: string[]; searchDomains?: string; options?: string };
  };
}

async function sentGroups(emulator: RunningEmulator, namespace: string): Promise<SentGroup[]> {
  const requests = await emulator.control.requests();
  return requests
    .filter((r) => r.method === 'PUT' && r.path.includes(`/containerGroups/${namespace}-`))
    .map((r) => r.body as SentGroup);
}

/** The cluster's kube-dns Service; created for the test when the local cluster has none. */
async function ensureKubeDns(): Promise<{ ip: string; created: boolean }> {
  const existing = await core
    .readNamespacedService({ name: 'kube-dns', namespace: 'kube-system' })
    .catch(() => undefined);
  const ipOf = (service: V1Service): string => service.spec?.clusterIP ?? '';
  if (existing) return { ip: ipOf(existing), created: false };
  const created = await core.createNamespacedService({
    namespace: 'kube-system',
    body: {
      metadata: { name: 'kube-dns', labels: { 'k8s-app': 'kube-dns' } },
      spec: {
        selector: { 'k8s-app': 'kube-dns' },
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
        ],
      },
    },
  });
  return { ip: ipOf(created), created: true };
}

/**
 * One virtual node for a describe block: an emulator (with the network fixture or without), the
 * connector with `env` (given the emulator), a namespace; all stopped and deleted after the block.
 */
function virtualNode(options: {
  prefix: string;
  network: boolean;
  env: (emulator: RunningEmulator) => Record<string, string>;
}): { nodeName: string; emulator: () => RunningEmulator; namespace: () => string } {
  const nodeName = `aci-${options.prefix}-${randomBytes(3).toString('hex')}`;
  let emulator: RunningEmulator | undefined;
  let connector: RunningConnector | undefined;
  let namespace = '';
  before(async () => {
    emulator = options.network ? await startNetworkEmulator() : await startEmulator();
    connector = await startConnector({
      cluster,
      emulator,
      nodeName,
      env: { NODE_STATUS_INTERVAL_SECONDS: '2', ...options.env(emulator) },
    });
    namespace = await cluster.createNamespace(options.prefix, {
      [BURST_NAMESPACE_LABEL]: BURST_NAMESPACE_ENABLED,
    });
  });
  after(async () => {
    await connector?.stop();
    await core.deleteNode({ name: nodeName }).catch(() => undefined);
    await emulator?.close();
  });
  return {
    nodeName,
    emulator: () => emulator ?? assert.fail('the emulator has not started'),
    namespace: () => namespace,
  };
}

describe('networking with a delegated subnet', () => {
  let kubeDns: { ip: string; created: boolean } = { ip: '', created: false };
  let pool: AddressPool;
  before(async () => {
    kubeDns = await ensureKubeDns();
    assert.match(kubeDns.ip, /^\d+\.\d+\.\d+\.\d+$/);
    pool = addressPool(prefix) ?? assert.fail(prefix);
  });
  after(async () => {
    if (kubeDns.created) await core.deleteNamespacedService({ name: 'kube-dns', namespace: 'kube-system' });
  });
  const node = virtualNode({
    prefix: 'network',
    network: true,
    env: (emulator) => ({ ACI_SUBNET_ID: subnetId(emulator, 'aci'), ACI_EXPOSE_PORTS_PUBLICLY: 'false' }),
  });
  before(() => nodeReady(node.nodeName));

  it("gives a Deployment's pods private IPs from the subnet, which its Service's EndpointSlice lists", async () => {
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace: node.namespace(),
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              nodeSelector: { 'kubernetes.io/hostname': node.nodeName },
              tolerations: [toleration],
              containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 8080 }] }],
            },
          },
        },
      },
    });
    await core.createNamespacedService({
      namespace: node.namespace(),
      body: {
        metadata: { name: 'web' },
        spec: { selector: labels, ports: [{ port: 80, targetPort: 8080 }] },
      },
    });
    const podIPs = await eventually(
      'two Running pods with IPs',
      async () => {
        const pods = await core.listNamespacedPod({ namespace: node.namespace(), labelSelector: 'app=web' });
        const ips = pods.items
          .filter((p) => p.status?.phase === 'Running' && p.status.podIP)
          .map((p) => p.status?.podIP ?? '');
        return ips.length === 2 ? ips.sort() : undefined;
      },
      90_000,
    );
    for (const ip of podIPs) assert.ok(inPool(pool, ip), `${ip} is in ${prefix}`);
    const listed = await eventually('the EndpointSlice to list both pods, ready', async () => {
      const slices = await discovery.listNamespacedEndpointSlice({
        namespace: node.namespace(),
        labelSelector: 'kubernetes.io/service-name=web',
      });
      // An EndpointSlice without endpoints carries `endpoints: null` on the wire.
      const endpoints = slices.items.flatMap((slice) => (slice.endpoints as V1Endpoint[] | null) ?? []);
      const ready = endpoints
        .filter((endpoint) => endpoint.conditions?.ready === true)
        .flatMap((endpoint) => endpoint.addresses)
        .sort();
      return ready.length === 2 ? ready : undefined;
    });
    assert.deepEqual(listed, podIPs);
  });

  it('sends the subnet and ClusterFirst DNS with the cluster’s kube-dns IP, never a public IP', async () => {
    const sent = await sentGroups(node.emulator(), node.namespace());
    assert.ok(sent.length >= 2, `${sent.length} PUTs`);
    for (const body of sent) {
      assert.deepEqual(body.properties.subnetIds, [{ id: subnetId(node.emulator(), 'aci') }]);
      assert.equal(body.properties.ipAddress?.type, 'Private');
      assert.deepEqual(body.properties.dnsConfig, {
        nameServers: [kubeDns.ip],
        searchDomains: `${node.namespace()}.svc.cluster.local svc.cluster.local cluster.local`,
        options: 'ndots:5',
      });
    }
  });

  it('gives a pod that declares no port a private IP all the same', async () => {
    await core.createNamespacedPod({
      namespace: node.namespace(),
      body: podOn(node.nodeName, 'worker', {
        spec: { containers: [{ name: 'worker', image: 'busybox', command: ['sleep', '3600'] }] },
      }),
    });
    const pod = await eventually('the worker Running with an IP', async () => {
      const found = await core.readNamespacedPod({ namespace: node.namespace(), name: 'worker' });
      return found.status?.phase === 'Running' && found.status.podIP ? found : undefined;
    });
    assert.ok(inPool(pool, pod.status?.podIP ?? ''), pod.status?.podIP);
  });
});

describe('networking without a subnet', () => {
  const node = virtualNode({
    prefix: 'public',
    network: false,
    env: () => ({ ACI_EXPOSE_PORTS_PUBLICLY: 'false' }),
  });
  before(() => nodeReady(node.nodeName));

  it('gives a public IP to the pod that asks with the annotation', async () => {
    await core.createNamespacedPod({
      namespace: node.namespace(),
      body: podOn(node.nodeName, 'asks', { annotations: { [ACI_ANNOTATIONS.publicIP]: 'true' } }),
    });
    const pod = await eventually('the pod Running with an IP', async () => {
      const found = await core.readNamespacedPod({ namespace: node.namespace(), name: 'asks' });
      return found.status?.phase === 'Running' && found.status.podIP ? found : undefined;
    });
    assert.match(pod.status?.podIP ?? '', /^127\./);
    const [body] = (await sentGroups(node.emulator(), node.namespace())).filter(
      (b) => b.properties.ipAddress,
    );
    assert.equal(body?.properties.ipAddress?.type, 'Public');
  });

  it('gives none to a pod that does not ask, and says how to ask in an event', async () => {
    await core.createNamespacedPod({ namespace: node.namespace(), body: podOn(node.nodeName, 'quiet') });
    await eventually('the pod Running', async () => {
      const found = await core.readNamespacedPod({ namespace: node.namespace(), name: 'quiet' });
      return found.status?.phase === 'Running' ? found : undefined;
    });
    const event = await eventually('the NoIPAddress event', async () => {
      const events = await core.listNamespacedEvent({
        namespace: node.namespace(),
        fieldSelector: 'involvedObject.name=quiet',
      });
      return events.items.find((e) => e.reason === 'NoIPAddress');
    });
    assert.match(event.message ?? '', /azure\.com\/aci-public-ip: "true"/);
    const pod = await core.readNamespacedPod({ namespace: node.namespace(), name: 'quiet' });
    assert.equal(pod.status?.podIP, undefined);
  });
});

describe('a subnet ACI cannot use', () => {
  const node = virtualNode({
    prefix: 'badnet',
    network: true,
    env: (emulator) => ({ ACI_SUBNET_ID: subnetId(emulator, 'undelegated'), ACI_WAIT_RETRY_SECONDS: '1' }),
  });

  it('keeps the node NotReady, naming the problem', async () => {
    const condition = await eventually('the node NotReady with the subnet reason', async () => {
      const ready = readyCondition(await core.readNode({ name: node.nodeName }));
      return ready?.status === 'False' ? ready : undefined;
    });
    assert.equal(condition.reason, 'SubnetNotDelegated');
    assert.match(
      condition.message ?? '',
      /undelegated.*not delegated to Microsoft\.ContainerInstance\/containerGroups/,
    );
  });

  it('keeps its pods Pending with an event, never Failed, and creates no group', async () => {
    await core.createNamespacedPod({ namespace: node.namespace(), body: podOn(node.nodeName, 'waits') });
    const event = await eventually('the SubnetNotReady event', async () => {
      const events = await core.listNamespacedEvent({
        namespace: node.namespace(),
        fieldSelector: 'involvedObject.name=waits',
      });
      return events.items.find((e) => e.reason === 'SubnetNotReady');
    });
    assert.match(event.message ?? '', /not delegated/);
    // Several retries later (ACI_WAIT_RETRY_SECONDS=1) it still waits.
    await sleep(3000);
    const pod = await core.readNamespacedPod({ namespace: node.namespace(), name: 'waits' });
    assert.equal(pod.status?.phase, 'Pending');
    assert.equal(pod.status.containerStatuses?.[0]?.state?.waiting?.reason, 'SubnetNotReady');
    assert.deepEqual(await sentGroups(node.emulator(), node.namespace()), []);
  });
});
