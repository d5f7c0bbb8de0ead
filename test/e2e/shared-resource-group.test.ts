// Two clusters, one resource group: two real connectors with different ACI_CLUSTER_IDs (the "clusters"
// A and B, each with its own virtual node) on one emulator resource group, each running a pod named
// <namespace>/web. Before ownership checks, B's pod created over A's group `<namespace>-web`, B's
// kubectl logs read A's containers and deleting B's pod deleted A's group. Now the names differ by the
// cluster, each connector finds its groups by their tags, and a name another cluster holds is refused.
// Both pods share one API server here, so they exist one after the other: A's connector is stopped
// (its group keeps running, as after any connector stop) and A's pod removed before B's is created.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { createAzureClients } from '../../connector/azure-client.ts';
import {
  ACI_TOLERATION,
  BURST_NAMESPACE_ENABLED,
  BURST_NAMESPACE_LABEL,
  containerGroupName,
  TAGS,
} from '../../contract/index.ts';
import { startEmulator, type RunningEmulator } from '../emulator/server.ts';
import type { RequestLogEntry } from '../emulator/request-log.ts';
import { clientSettingsFor, FAST_POLL } from '../emulator/testing.ts';
import { useTestCluster } from '../support/cluster.ts';
import { startConnector, type RunningConnector } from '../support/connector.ts';
import { eventually } from '../support/eventually.ts';

const run = promisify(execFile);
const cluster = await useTestCluster();
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
const suffix = randomBytes(3).toString('hex');
const A = { clusterId: `cluster-a-${suffix}`, node: `aci-a-${suffix}` };
const B = { clusterId: `cluster-b-${suffix}`, node: `aci-b-${suffix}` };

interface Group {
  name: string;
  tags: Record<string, string>;
}

function web(node: string, says: string, name = 'web'): V1Pod {
  return {
    metadata: { name },
    spec: {
      nodeName: node,
      tolerations: [ACI_TOLERATION],
      containers: [{ name: 'app', image: `aci-burst/run?log=${says}` }],
    },
  };
}

describe('two clusters sharing one resource group, each with a pod <namespace>/web', () => {
  let emulator: RunningEmulator;
  let connectorA: RunningConnector;
  let connectorB: RunningConnector;
  let namespace: string;
  let groupOfA: Group;
  const arm = (): ReturnType<typeof createAzureClients>['client'] =>
    createAzureClients(clientSettingsFor(emulator)).client;

  async function groups(): Promise<Group[]> {
    const found: Group[] = [];
    for await (const group of arm().containerGroups.listByResourceGroup(emulator.resourceGroup)) {
      found.push({ name: group.name ?? '', tags: group.tags ?? {} });
    }
    return found;
  }

  async function runningUid(name: string): Promise<string> {
    return eventually(`${namespace}/${name} to be Running`, async () => {
      const pod = await core.readNamespacedPod({ namespace, name });
      return pod.status?.phase === 'Running' ? pod.metadata?.uid : undefined;
    });
  }

  /** ARM writes (PUT, PATCH, DELETE) and log reads that named a group. */
  async function touched(group: string): Promise<string[]> {
    return (await emulator.control.requests())
      .filter((r: RequestLogEntry) => r.method !== 'GET' || r.path.includes('/logs'))
      .filter((r: RequestLogEntry) => r.path.includes(`/containerGroups/${group}`))
      .map((r: RequestLogEntry) => `${r.method} ${r.path.split('/containerGroups/')[1] ?? ''}`);
  }

  before(async () => {
    emulator = await startEmulator();
    // No hyphen, so the groups get the readable form `<namespace>-web-<cluster tag>`.
    namespace = `shared${suffix}`;
    await core.createNamespace({
      body: { metadata: { name: namespace, labels: { [BURST_NAMESPACE_LABEL]: BURST_NAMESPACE_ENABLED } } },
    });
    await eventually('the namespace’s default ServiceAccount', () =>
      core.readNamespacedServiceAccount({ namespace, name: 'default' }),
    );
    const fast = { ACI_WAIT_RETRY_SECONDS: '1' };
    [connectorA, connectorB] = await Promise.all([
      startConnector({ cluster, emulator, nodeName: A.node, env: { ...fast, ACI_CLUSTER_ID: A.clusterId } }),
      startConnector({ cluster, emulator, nodeName: B.node, env: { ...fast, ACI_CLUSTER_ID: B.clusterId } }),
    ]);
  });

  after(async () => {
    await Promise.all([connectorA.stop(), connectorB.stop()]);
    await Promise.all([A.node, B.node].map((name) => core.deleteNode({ name }).catch(() => undefined)));
    await emulator.close();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('cluster A runs its web pod in a group named and tagged for cluster A', async () => {
    await core.createNamespacedPod({ namespace, body: web(A.node, 'from-cluster-a') });
    const uid = await runningUid('web');
    const found = (await groups()).find((group) => group.tags[TAGS.podUid] === uid);
    assert.ok(found);
    groupOfA = found;
    assert.equal(groupOfA.name, containerGroupName(namespace, 'web', A.clusterId));
    assert.match(groupOfA.name, new RegExp(`^${namespace}-web-[0-9a-f]{8}$`));
    assert.equal(groupOfA.tags[TAGS.clusterId], A.clusterId);
    // A stops (its group keeps running) and A's pod goes, as if it lived in another API server.
    await connectorA.kill();
    await core.deleteNamespacedPod({ namespace, name: 'web', gracePeriodSeconds: 0 });
  });

  it('cluster B’s pod of the same name gets its own group: A’s is neither created over nor read', async () => {
    await emulator.control.clearRequests();
    await core.createNamespacedPod({ namespace, body: web(B.node, 'from-cluster-b') });
    const uid = await runningUid('web');
    const ofB = (await groups()).find((group) => group.tags[TAGS.podUid] === uid);
    assert.ok(ofB);
    assert.notEqual(ofB.name, groupOfA.name);
    assert.equal(ofB.tags[TAGS.clusterId], B.clusterId);
    const { stdout } = await run(cluster.kubectlPath, [
      '--kubeconfig',
      cluster.kubeconfigPath,
      'logs',
      '-n',
      namespace,
      'web',
    ]);
    assert.match(stdout, /from-cluster-b/);
    assert.doesNotMatch(stdout, /from-cluster-a/);
    const stillA = (await groups()).find((group) => group.name === groupOfA.name);
    assert.deepEqual(stillA?.tags, groupOfA.tags, 'A’s group is as A left it');
    assert.deepEqual(await touched(groupOfA.name), [], 'B sent nothing for A’s group');
  });

  it('deleting B’s pod deletes B’s group only', async () => {
    const ofB = containerGroupName(namespace, 'web', B.clusterId);
    await core.deleteNamespacedPod({ namespace, name: 'web' });
    await eventually('B’s group to be deleted', async () =>
      (await groups()).some((group) => group.name === ofB) ? undefined : true,
    );
    assert.ok(
      (await groups()).some((group) => group.name === groupOfA.name),
      'A’s group is still there',
    );
    assert.deepEqual(await touched(groupOfA.name), []);
  });

  it('B refuses a pod whose group name is held by cluster A, with an event, and leaves that group alone', async () => {
    // A group with the very name B would give <namespace>/squat, tagged as A's (a hash collision, or
    // a cluster id reused by mistake).
    const name = containerGroupName(namespace, 'squat', B.clusterId);
    await arm().containerGroups.beginCreateOrUpdateAndWait(
      emulator.resourceGroup,
      name,
      {
        location: emulator.region,
        osType: 'Linux',
        tags: { [TAGS.clusterId]: A.clusterId, [TAGS.nodeName]: `${A.node}-2`, [TAGS.podUid]: 'uid-of-a' },
        containers: [
          {
            name: 'app',
            image: 'aci-burst/run?log=squatter',
            resources: { requests: { cpu: 1, memoryInGB: 1 } },
          },
        ],
      },
      FAST_POLL,
    );
    await emulator.control.clearRequests();
    await core.createNamespacedPod({ namespace, body: web(B.node, 'from-cluster-b', 'squat') });
    const events = await eventually('the conflict event', async () => {
      const list = await core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.name=squat' });
      return list.items.find((event) => event.reason === 'ContainerGroupNameConflict');
    });
    assert.match(
      events.message ?? '',
      new RegExp(`${name} already exists .*belongs to cluster ${A.clusterId}`),
    );
    const pod = await core.readNamespacedPod({ namespace, name: 'squat' });
    assert.equal(pod.status?.phase, 'Pending');
    assert.deepEqual(await touched(name), [], 'never created over');
  });

  it('cluster A, back, deletes its own orphan and nothing of B’s', async () => {
    await emulator.control.clearRequests();
    await connectorA.restart();
    await eventually('A’s orphan to be deleted', async () =>
      (await groups()).some((group) => group.name === groupOfA.name) ? undefined : true,
    );
    const deletes = (await emulator.control.requests())
      .filter((r: RequestLogEntry) => r.method === 'DELETE')
      .map((r: RequestLogEntry) => r.path.split('/containerGroups/')[1]);
    assert.deepEqual(deletes, [groupOfA.name]);
  });
});
