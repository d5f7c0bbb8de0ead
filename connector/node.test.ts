import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Node } from '@kubernetes/client-node';
import {
  ACI_TAINT,
  isVirtualNode,
  REMAINING_CORES_ANNOTATION,
  REMAINING_GROUPS_ANNOTATION,
} from '../contract/index.ts';
import { FakeClock } from '../runtime/clock.ts';
import { silentLogger } from '../runtime/logger.ts';
import { AzureHealth } from './health.ts';
import {
  boundedCapacity,
  buildNode,
  nodeConditions,
  nodeLabels,
  nodeMaySetLabel,
  NodeController,
  type NodeApi,
} from './node.ts';

const settings = {
  nodeName: 'aci-connector',
  region: 'westus',
  internalIP: '10.0.0.9',
  kubeletPort: 10250,
  capacity: { cpu: 100, memoryBytes: 400 * 2 ** 30, pods: 100 },
  declareWebSockets: true,
  labels: {},
  taints: [],
};
const now = new Date('2026-11-25T20:00:00Z');
const healthy = { ok: true, reason: 'AzureReachable', message: 'ok' };

describe('buildNode', () => {
  it('is a virtual node by the contract, tainted, addressed, with the kubelet port', () => {
    const node = buildNode(settings, { quota: undefined, azure: healthy, now });
    const { spec, status } = node;
    assert.equal(isVirtualNode(node), true);
    assert.deepEqual(
      [
        spec?.taints,
        status?.addresses?.[0],
        status?.daemonEndpoints?.kubeletEndpoint?.Port,
        status?.capacity,
      ],
      [
        [{ key: 'azure.com/aci', effect: 'NoSchedule' }],
        { type: 'InternalIP', address: '10.0.0.9' },
        10250,
        { cpu: '100', memory: String(400 * 2 ** 30), pods: '100' },
      ],
    );
  });

  it('declares WebSocket streaming to the API server only when configured to', () => {
    const declared = (declareWebSockets: boolean): string[] | undefined =>
      buildNode({ ...settings, declareWebSockets }, { quota: undefined, azure: healthy, now }).status
        ?.declaredFeatures;
    assert.deepEqual(declared(true), ['ExtendWebSocketsToKubelet']);
    assert.deepEqual(declared(false), []);
  });

  it('bounds capacity by the quota and publishes what remains for the extender', () => {
    const quota = { cores: { used: 6, limit: 10 }, containerGroups: { used: 3, limit: 50 } };
    const node = buildNode(settings, { quota, azure: healthy, now });
    const annotations = node.metadata?.annotations ?? {};
    const allocatable = node.status?.allocatable ?? {};
    assert.deepEqual(
      [
        allocatable.cpu,
        allocatable.pods,
        annotations[REMAINING_CORES_ANNOTATION],
        annotations[REMAINING_GROUPS_ANNOTATION],
      ],
      ['10', '50', '4', '47'],
    );
  });
});

describe('boundedCapacity', () => {
  const table: [string, Parameters<typeof boundedCapacity>[1], { cpu: number; pods: number }][] = [
    ['no quota known', undefined, { cpu: 100, pods: 100 }],
    [
      'quota above configuration',
      { cores: { used: 0, limit: 500 }, containerGroups: undefined },
      { cpu: 100, pods: 100 },
    ],
    [
      'quota below configuration',
      { cores: { used: 0, limit: 10 }, containerGroups: { used: 0, limit: 20 } },
      { cpu: 10, pods: 20 },
    ],
  ];
  for (const [name, quota, expected] of table) {
    it(name, () => {
      const { cpu, pods } = boundedCapacity(settings, quota);
      assert.deepEqual({ cpu, pods }, expected);
    });
  }
});

describe('nodeConditions', () => {
  it('reports Azure trouble as Ready=False with the reason', () => {
    const conditions = nodeConditions(
      { ok: false, reason: 'AzureCredentialsRejected', message: 'bad secret' },
      now,
    );
    const ready = conditions.find((c) => c.type === 'Ready');
    assert.deepEqual(
      [ready?.status, ready?.reason, ready?.message],
      ['False', 'AzureCredentialsRejected', 'bad secret'],
    );
  });

  it('moves lastTransitionTime only when the status changes', () => {
    const earlier = new Date('2026-11-25T19:00:00Z');
    const previous = nodeConditions(healthy, earlier);
    const again = nodeConditions(healthy, now, previous).find((c) => c.type === 'Ready');
    assert.deepEqual([again?.lastTransitionTime, again?.lastHeartbeatTime], [earlier, now]);
    const failed = nodeConditions({ ok: false, reason: 'AzureUnreachable', message: 'x' }, now, previous);
    assert.deepEqual(failed.find((c) => c.type === 'Ready')?.lastTransitionTime, now);
  });
});

describe('what NodeRestriction lets a node write', () => {
  const allowed = nodeMaySetLabel;

  it('gives itself only labels a node may set', () => {
    const refused = Object.keys(nodeLabels(settings)).filter((label) => !allowed(label));
    assert.deepEqual(refused, []);
    assert.equal(allowed('kubernetes.io/role'), false, 'the rule itself refuses the 2017 label');
  });

  const labelCases: [string, boolean][] = [
    ['team', true],
    ['example.com/pool', true],
    ['topology.kubernetes.io/zone', true],
    ['node.kubernetes.io/pool', true],
    ['node-role.kubernetes.io/aci', false],
    ['kubernetes.io/role', false],
    ['sub.k8s.io/x', false],
  ];
  for (const [label, expected] of labelCases) {
    it(`${expected ? 'may' : 'may not'} set ${label}`, () => {
      assert.equal(allowed(label), expected);
    });
  }

  function fakeApi(existing: V1Node | undefined): NodeApi & { patches: unknown[] } {
    const patches: unknown[] = [];
    return {
      patches,
      readNode: () => Promise.resolve(existing),
      createNode: (node) => Promise.resolve(node),
      patchNode: (_name, patch) => {
        patches.push(patch);
        return Promise.resolve();
      },
      patchNodeStatus: () => Promise.resolve(),
      readLease: () => Promise.resolve(undefined),
      createLease: () => Promise.resolve(),
      replaceLease: () => Promise.resolve(),
    };
  }

  function controller(api: NodeApi): NodeController {
    return new NodeController({
      api,
      quota: { usage: () => Promise.resolve({ cores: undefined, containerGroups: undefined }) },
      health: new AzureHealth(),
      clock: new FakeClock(now.getTime()),
      logger: silentLogger(),
      settings,
      timing: { leaseDurationSeconds: 40, nodeStatusIntervalMs: 30_000, quotaIntervalMs: 300_000 },
    });
  }

  it('adopts an existing tainted node by patching labels and annotations only (never taints)', async () => {
    const api = fakeApi({ metadata: { name: 'aci-connector' }, spec: { taints: [ACI_TAINT] } });
    await controller(api).register();
    assert.equal(api.patches.length, 1);
    assert.deepEqual(Object.keys(api.patches[0] as object), ['metadata']);
  });

  it('refuses to adopt a node without the taint, saying how to fix it', async () => {
    const api = fakeApi({ metadata: { name: 'aci-connector' }, spec: {} });
    await assert.rejects(
      controller(api).register(),
      /exists without the taint azure\.com\/aci:NoSchedule.*kubectl taint node aci-connector azure\.com\/aci=:NoSchedule/,
    );
    assert.deepEqual(api.patches, []);
  });
});
