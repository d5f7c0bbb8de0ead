// Several virtual nodes in one cluster: two real connectors, one per region, each on its own emulator
// resource group, with its own name, labels and taint. Each node's pods become groups in its own
// resource group and region; each node publishes the quota its region has left, and the extender's
// scoring, fed the nodes as the API server holds them, prefers the region with more left.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, type V1Node, type V1Pod } from '@kubernetes/client-node';
import {
  ACI_TOLERATION,
  BURST_NAMESPACE_ENABLED,
  BURST_NAMESPACE_LABEL,
  REMAINING_GROUPS_ANNOTATION,
  TAGS,
} from '../../contract/index.ts';
import { createAzureClients } from '../../connector/azure-client.ts';
import { scoreNodes } from '../../extender/policy.ts';
import { startEmulator, type RunningEmulator } from '../emulator/server.ts';
import { clientSettingsFor } from '../emulator/testing.ts';
import { useTestCluster } from '../support/cluster.ts';
import { startConnector, type RunningConnector } from '../support/connector.ts';
import { eventually } from '../support/eventually.ts';

const cluster = await useTestCluster();
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
const suffix = randomBytes(3).toString('hex');
/** Container groups per region in the emulator's subscription. */
const GROUP_QUOTA = 10;
const WEST = { node: `aci-west-${suffix}`, resourceGroup: 'aci-burst', region: 'westus', pods: 3 };
const EAST = {
  node: `aci-east-${suffix}`,
  resourceGroup: `aci-burst-east-${suffix}`,
  region: 'eastus',
  pods: 1,
};
const EAST_TAINT = { key: 'example.com/region', value: 'eastus', effect: 'NoSchedule' };

function pod(name: string, node: string): V1Pod {
  return {
    metadata: { name },
    spec: {
      nodeName: node,
      tolerations: [ACI_TOLERATION, { ...EAST_TAINT, operator: 'Equal' }],
      containers: [{ name: 'app', image: 'aci-burst/run?log=ready' }],
    },
  };
}

describe('two virtual nodes, one per region, on two resource groups', () => {
  let emulator: RunningEmulator;
  let west: RunningConnector;
  let east: RunningConnector;
  let namespace: string;

  before(async () => {
    emulator = await startEmulator({
      region: WEST.region,
      extraRegions: [EAST.region],
      quotas: { containerGroups: GROUP_QUOTA },
    });
    await emulator.control.createResourceGroup(EAST.resourceGroup);
    namespace = await cluster.createNamespace('nodes', { [BURST_NAMESPACE_LABEL]: BURST_NAMESPACE_ENABLED });
    // The quota is read and published every second here (5 minutes by default).
    const fast = { ACI_QUOTA_INTERVAL_SECONDS: '1', NODE_STATUS_INTERVAL_SECONDS: '1' };
    [west, east] = await Promise.all([
      startConnector({
        cluster,
        emulator,
        nodeName: WEST.node,
        env: { ...fast, NODE_LABELS: 'example.com/pool=west' },
      }),
      startConnector({
        cluster,
        emulator,
        nodeName: EAST.node,
        env: {
          ...fast,
          ACI_RESOURCE_GROUP: EAST.resourceGroup,
          ACI_REGION: EAST.region,
          NODE_LABELS: 'example.com/pool=east',
          NODE_TAINTS: `${EAST_TAINT.key}=${EAST_TAINT.value}:${EAST_TAINT.effect}`,
        },
      }),
    ]);
  });

  after(async () => {
    await Promise.all([west.stop(), east.stop()]);
    await Promise.all([WEST.node, EAST.node].map((name) => core.deleteNode({ name }).catch(() => undefined)));
    await emulator.close();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('registers each node with its own region, labels and taints', async () => {
    const [westNode, eastNode] = await Promise.all([
      core.readNode({ name: WEST.node }),
      core.readNode({ name: EAST.node }),
    ]);
    const shape = (node: V1Node): unknown => ({
      region: node.metadata?.labels?.['topology.kubernetes.io/region'],
      pool: node.metadata?.labels?.['example.com/pool'],
      // The node lifecycle controller's node.kubernetes.io/not-ready can outlive the first Ready status
      // by a moment: it is the control plane's, not the connector's.
      taints: node.spec?.taints
        ?.filter((t) => !t.key.startsWith('node.kubernetes.io/'))
        .map((t) => `${t.key}=${t.value ?? ''}:${t.effect}`),
    });
    assert.deepEqual(shape(westNode), {
      region: 'westus',
      pool: 'west',
      taints: ['azure.com/aci=:NoSchedule'],
    });
    assert.deepEqual(shape(eastNode), {
      region: 'eastus',
      pool: 'east',
      taints: ['azure.com/aci=:NoSchedule', 'example.com/region=eastus:NoSchedule'],
    });
  });

  it('runs each node’s pods in its own resource group and region', async () => {
    for (const { node, pods } of [WEST, EAST]) {
      for (let i = 0; i < pods; i++)
        await core.createNamespacedPod({ namespace, body: pod(`${node}-${String(i)}`, node) });
    }
    await eventually(
      'every pod to run',
      async () => {
        const listed = await core.listNamespacedPod({ namespace });
        const running = listed.items.filter((p) => p.status?.phase === 'Running').length;
        return running === WEST.pods + EAST.pods ? true : undefined;
      },
      90_000,
    );
    const { client } = createAzureClients(clientSettingsFor(emulator));
    for (const { node, resourceGroup, region, pods } of [WEST, EAST]) {
      const groups: { location: string; node: string }[] = [];
      for await (const group of client.containerGroups.listByResourceGroup(resourceGroup)) {
        groups.push({ location: group.location ?? '', node: group.tags?.[TAGS.nodeName] ?? '' });
      }
      assert.deepEqual(
        groups,
        Array.from({ length: pods }, () => ({ location: region, node })),
        `${resourceGroup} holds ${node}'s groups only`,
      );
    }
  });

  it('publishes each region’s remaining quota, and the extender prefers the region with more left', async () => {
    const nodes = await eventually(
      'both nodes to publish their remaining quota',
      async () => {
        const found = await Promise.all([WEST.node, EAST.node].map((name) => core.readNode({ name })));
        const left = found.map((node) => node.metadata?.annotations?.[REMAINING_GROUPS_ANNOTATION]);
        return left[0] === String(GROUP_QUOTA - WEST.pods) && left[1] === String(GROUP_QUOTA - EAST.pods)
          ? found
          : undefined;
      },
      60_000,
    );
    const [westScore = 0, eastScore = 0] = scoreNodes(nodes, 'prefer-aci');
    assert.ok(eastScore > westScore, `east ${String(eastScore)} over west ${String(westScore)}`);
  });
});
