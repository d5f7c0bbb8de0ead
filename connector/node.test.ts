import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isVirtualNode, REMAINING_CORES_ANNOTATION, REMAINING_GROUPS_ANNOTATION } from '../contract/names.ts';
import { boundedCapacity, buildNode, nodeConditions } from './node.ts';

const settings = {
  nodeName: 'aci-connector',
  region: 'westus',
  internalIP: '10.0.0.9',
  kubeletPort: 10250,
  capacity: { cpu: 100, memoryBytes: 400 * 2 ** 30, pods: 100 },
  declareWebSockets: true,
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
