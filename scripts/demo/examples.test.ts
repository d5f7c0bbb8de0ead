import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadAllYaml, type V1Pod } from '@kubernetes/client-node';
import { REPO_ROOT } from '../local/node-process.ts';
import {
  BURST_NAMESPACE,
  EXAMPLE_FILES,
  examplesIn,
  progressOf,
  summaryLines,
  waitingReason,
  type Example,
} from './examples.ts';

function pod(
  name: string,
  fields: { node?: string; phase?: string; labels?: Record<string, string>; deleting?: boolean },
): V1Pod {
  return {
    metadata: {
      name,
      namespace: BURST_NAMESPACE,
      labels: fields.labels ?? {},
      ...(fields.deleting === true && { deletionTimestamp: new Date('2026-11-25T20:00:00Z') }),
    },
    spec: {
      containers: [{ name: 'nginx', image: 'nginx' }],
      ...(fields.node !== undefined && { nodeName: fields.node }),
    },
    status: { phase: fields.phase ?? 'Pending' },
  };
}

describe('the shipped examples', () => {
  it('define the two nginx pods and a four-replica Deployment', () => {
    const examples = EXAMPLE_FILES.flatMap((file) =>
      examplesIn(file, loadAllYaml(readFileSync(join(REPO_ROOT, file.path), 'utf8'))),
    );
    assert.deepEqual(
      examples.map((example) => [example.title, example.expectedPods]),
      [
        ['aci-burst-demo/nginx', 1],
        ['aci-burst-demo/nginx-tolerations', 1],
        [`${BURST_NAMESPACE}/web`, 4],
      ],
    );
  });
});

const web: Example = {
  title: `${BURST_NAMESPACE}/web`,
  namespace: BURST_NAMESPACE,
  match: { labels: { app: 'web' } },
  expectedPods: 2,
};

describe('progressOf', () => {
  const cases: { name: string; pods: V1Pod[]; done: boolean; running: number; waiting: string[] }[] = [
    { name: 'nothing created yet', pods: [], done: false, running: 0, waiting: ['2 pod(s)'] },
    {
      name: 'one Running on ACI, one Pending unscheduled',
      pods: [
        pod('a', { node: 'aci-connector', phase: 'Running', labels: { app: 'web' } }),
        pod('b', { labels: { app: 'web' } }),
      ],
      done: false,
      running: 1,
      waiting: ['b'],
    },
    {
      name: 'Running on the simulated worker and on ACI',
      pods: [
        pod('a', { node: 'aci-connector', phase: 'Running', labels: { app: 'web' } }),
        pod('b', { node: 'demo-worker-simulated', phase: 'Running', labels: { app: 'web' } }),
      ],
      done: true,
      running: 2,
      waiting: [],
    },
    {
      name: 'Running on some other node does not count',
      pods: [
        pod('a', { node: 'somewhere-else', phase: 'Running', labels: { app: 'web' } }),
        pod('b', { node: 'aci-connector', phase: 'Running', labels: { app: 'web' } }),
      ],
      done: false,
      running: 1,
      waiting: ['a'],
    },
    {
      name: 'terminating pods and other labels are not the example’s',
      pods: [
        pod('a', { node: 'aci-connector', phase: 'Running', labels: { app: 'web' }, deleting: true }),
        pod('b', { node: 'aci-connector', phase: 'Running', labels: { app: 'other' } }),
      ],
      done: false,
      running: 0,
      waiting: ['2 pod(s)'],
    },
  ];
  for (const { name, pods, done, running, waiting } of cases) {
    it(name, () => {
      const progress = progressOf(web, pods);
      assert.equal(progress.done, done);
      assert.equal(progress.running.length, running);
      assert.deepEqual(
        progress.waiting.map((item) => item.pod),
        waiting,
      );
    });
  }
});

describe('waitingReason', () => {
  it('names the phase, the node and the failing condition', () => {
    const unschedulable = pod('a', {});
    unschedulable.status = {
      phase: 'Pending',
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: '0/2 nodes are available',
        },
      ],
    };
    assert.equal(waitingReason(unschedulable), 'Pending, not scheduled, 0/2 nodes are available');
  });
  it('falls back to a waiting container’s reason', () => {
    const creating = pod('a', { node: 'aci-connector' });
    creating.status = {
      phase: 'Pending',
      containerStatuses: [
        {
          name: 'nginx',
          image: 'nginx',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: { waiting: { reason: 'ContainerCreating' } },
        },
      ],
    };
    assert.equal(waitingReason(creating), 'Pending, on aci-connector, ContainerCreating');
  });
});

describe('summaryLines', () => {
  it('counts where the pods run, or says what is not Running', () => {
    const done = progressOf(web, [
      pod('a', { node: 'aci-connector', phase: 'Running', labels: { app: 'web' } }),
      pod('b', { node: 'demo-worker-simulated', phase: 'Running', labels: { app: 'web' } }),
    ]);
    const stuck = progressOf(web, [pod('a', { node: 'aci-connector', labels: { app: 'web' } })]);
    assert.deepEqual(summaryLines([done, stuck]), [
      `  ${BURST_NAMESPACE}/web: 2/2 Running (1 on aci-connector, 1 on demo-worker-simulated)`,
      `  ${BURST_NAMESPACE}/web: 0/2 Running; NOT Running: a (Pending, on aci-connector); 1 pod(s) (not created yet)`,
    ]);
  });
});
