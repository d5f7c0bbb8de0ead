import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Node, V1NodeCondition, V1Pod, V1PodStatus } from '@kubernetes/client-node';
import {
  podAction,
  runningStatus,
  SIMULATED_LABEL,
  SIMULATED_NODE_NAME,
  SimulatedKubelet,
  simulatedNode,
  simulatedPodIp,
  type PodAction,
  type SimulatedNodeApi,
} from './simulated-node.ts';

const now = new Date('2026-11-25T20:00:00Z');

function pod(name: string, phase: string | undefined, deleting = false): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'demo',
      uid: `uid-${name}`,
      ...(deleting && { deletionTimestamp: now }),
    },
    spec: {
      nodeName: SIMULATED_NODE_NAME,
      containers: [
        { name: 'nginx', image: 'nginx' },
        { name: 'sidecar', image: 'busybox' },
      ],
    },
    ...(phase !== undefined && { status: { phase } }),
  };
}

describe('simulatedNode', () => {
  it('is named, labelled and annotated as a simulation, Ready, with the small capacity', () => {
    const node = simulatedNode(now);
    assert.equal(node.metadata?.name, 'demo-worker-simulated');
    // assert.equal narrows: metadata is defined from here on.
    assert.equal(node.metadata.labels?.[SIMULATED_LABEL], 'true');
    assert.match(Object.values(node.metadata.annotations ?? {}).join(' '), /Simulated/);
    assert.deepEqual(node.status?.capacity, { cpu: '2', memory: '4Gi', pods: '10' });
    assert.equal(node.status.conditions?.[0]?.status, 'True');
  });
});

describe('podAction', () => {
  const cases: { name: string; pod: V1Pod; action: PodAction }[] = [
    { name: 'a new pod is reported Running', pod: pod('a', undefined), action: 'report-running' },
    { name: 'a Pending pod is reported Running', pod: pod('a', 'Pending'), action: 'report-running' },
    { name: 'a Running pod is left alone', pod: pod('a', 'Running'), action: 'none' },
    { name: 'a deleted pod is confirmed gone', pod: pod('a', 'Running', true), action: 'delete-now' },
  ];
  for (const { name, pod: input, action } of cases) {
    it(name, () => {
      assert.equal(podAction(input), action);
    });
  }
});

describe('runningStatus', () => {
  it('reports every container running and ready, with the IP', () => {
    const status = runningStatus(pod('a', 'Pending'), '198.51.100.7', now);
    assert.equal(status.phase, 'Running');
    assert.equal(status.podIP, '198.51.100.7');
    assert.deepEqual(
      status.containerStatuses?.map((container) => [
        container.name,
        container.ready,
        container.state?.running?.startedAt,
      ]),
      [
        ['nginx', true, now],
        ['sidecar', true, now],
      ],
    );
    assert.equal(status.conditions?.find((condition) => condition.type === 'Ready')?.status, 'True');
  });
});

describe('simulatedPodIp', () => {
  it('stays in the documentation range 198.51.100.0/24', () => {
    assert.deepEqual([0, 1, 252, 253].map(simulatedPodIp), [
      '198.51.100.1',
      '198.51.100.2',
      '198.51.100.253',
      '198.51.100.1',
    ]);
  });
});

describe('SimulatedKubelet', () => {
  function fakeApi(pods: V1Pod[]): SimulatedNodeApi & {
    statuses: [string, V1PodStatus][];
    deleted: string[];
    registered: V1Node[];
    beats: V1NodeCondition[];
  } {
    const api = {
      statuses: [] as [string, V1PodStatus][],
      deleted: [] as string[],
      registered: [] as V1Node[],
      beats: [] as V1NodeCondition[],
      register: (node: V1Node) => {
        api.registered.push(node);
        return Promise.resolve();
      },
      heartbeat: (_name: string, condition: V1NodeCondition) => {
        api.beats.push(condition);
        return Promise.resolve();
      },
      podsOnNode: () => Promise.resolve(pods),
      setStatus: (target: V1Pod, status: V1PodStatus) => {
        api.statuses.push([target.metadata?.name ?? '', status]);
        return Promise.resolve();
      },
      deleteNow: (target: V1Pod) => {
        api.deleted.push(target.metadata?.name ?? '');
        return Promise.resolve();
      },
    };
    return api;
  }

  it('reports new pods Running with stable, distinct IPs and confirms deletions', async () => {
    const api = fakeApi([
      pod('a', 'Pending'),
      pod('b', undefined),
      pod('c', 'Running'),
      pod('d', 'Running', true),
    ]);
    const kubelet = new SimulatedKubelet(api);
    assert.equal(await kubelet.sync(now), 3);
    assert.equal(await kubelet.sync(now), 3);
    assert.deepEqual(
      api.statuses.map(([name, status]) => [name, status.podIP]),
      [
        ['a', '198.51.100.1'],
        ['b', '198.51.100.2'],
        ['a', '198.51.100.1'],
        ['b', '198.51.100.2'],
      ],
    );
    assert.deepEqual(api.deleted, ['d', 'd']);
  });

  it('registers the simulated node and renews its Ready condition', async () => {
    const api = fakeApi([]);
    const kubelet = new SimulatedKubelet(api);
    await kubelet.register(now);
    await kubelet.heartbeat(new Date('2026-11-25T20:00:10Z'));
    assert.equal(api.registered[0]?.metadata?.name, SIMULATED_NODE_NAME);
    assert.deepEqual(
      api.beats.map((beat) => [beat.type, beat.status, beat.lastHeartbeatTime]),
      [['Ready', 'True', new Date('2026-11-25T20:00:10Z')]],
    );
  });
});
