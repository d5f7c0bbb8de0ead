import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Container, ContainerGroup } from '@azure/arm-containerinstance';
import type { V1Pod } from '@kubernetes/client-node';
import { failedPodStatus, isProvisioning, pendingPodStatus, podStatusFromGroup } from './status.ts';

const now = new Date('2026-11-25T20:00:00Z');
const started = new Date('2026-11-25T19:59:30Z');
const finished = new Date('2026-11-25T19:59:50Z');
const context = { hostIP: '10.240.0.4', now };

function pod(restartPolicy: string, initContainers: string[] = []): V1Pod {
  return {
    metadata: { name: 'web', namespace: 'default', uid: 'uid-1' },
    spec: {
      nodeName: 'aci-connector',
      restartPolicy,
      containers: [{ name: 'nginx', image: 'nginx:1.27' }],
      ...(initContainers.length > 0 && {
        initContainers: initContainers.map((name) => ({ name, image: 'busybox' })),
      }),
    },
  };
}

type View = Container['instanceView'];

// Shapes as a GET of a container group returns them (api-version 2023-05-01), trimmed to what matters.
function group(provisioningState: string, view: View, extra: Partial<ContainerGroup> = {}): ContainerGroup {
  const result: ContainerGroup = {
    name: 'default-web',
    location: 'westus',
    osType: 'Linux',
    provisioningState,
    containers: [
      {
        name: 'nginx',
        image: 'nginx:1.27',
        resources: { requests: { cpu: 1, memoryInGB: 1.5 } },
        ...(view && { instanceView: view }),
      },
    ],
    ipAddress: { type: 'Public', ip: '20.1.2.3', ports: [{ port: 80, protocol: 'TCP' }] },
    instanceView: { state: 'Running', events: [] },
    ...extra,
  };
  return result;
}

const running: View = {
  restartCount: 0,
  currentState: { state: 'Running', startTime: started, detailStatus: '' },
  events: [
    { count: 1, name: 'Pulling', message: 'pulling image "nginx:1.27"', type: 'Normal' },
    { count: 1, name: 'Started', message: 'Started container', type: 'Normal' },
  ],
};
const exited = (exitCode: number): View => ({
  restartCount: 0,
  currentState: {
    state: 'Terminated',
    startTime: started,
    finishTime: finished,
    exitCode,
    detailStatus: exitCode === 0 ? 'Completed' : 'Error',
  },
});

describe('podStatusFromGroup', () => {
  const cases: {
    name: string;
    pod: V1Pod;
    group: ContainerGroup;
    phase: string;
    ready: boolean;
    state: 'running' | 'waiting' | 'terminated';
    reason?: string;
  }[] = [
    {
      name: 'provisioning: Pending, containers creating',
      pod: pod('Always'),
      group: group('Creating', undefined, { instanceView: { state: 'Pending', events: [] } }),
      phase: 'Pending',
      ready: false,
      state: 'waiting',
      reason: 'ContainerCreating',
    },
    {
      name: 'running',
      pod: pod('Always'),
      group: group('Succeeded', running),
      phase: 'Running',
      ready: true,
      state: 'running',
    },
    {
      name: 'a Job container that exited 0 under Never: Succeeded',
      pod: pod('Never'),
      group: group('Succeeded', exited(0), { instanceView: { state: 'Succeeded', events: [] } }),
      phase: 'Succeeded',
      ready: false,
      state: 'terminated',
      reason: 'Completed',
    },
    {
      name: 'non-zero exit under Never: Failed',
      pod: pod('Never'),
      group: group('Succeeded', exited(2), { instanceView: { state: 'Failed', events: [] } }),
      phase: 'Failed',
      ready: false,
      state: 'terminated',
      reason: 'Error',
    },
    {
      name: 'non-zero exit under OnFailure keeps running (ACI restarts it)',
      pod: pod('OnFailure'),
      group: group('Succeeded', exited(2)),
      phase: 'Running',
      ready: false,
      state: 'terminated',
      reason: 'Error',
    },
    {
      name: 'image pull failing repeatedly: ImagePullBackOff',
      pod: pod('Always'),
      group: group('Succeeded', {
        restartCount: 0,
        currentState: { state: 'Waiting', detailStatus: '' },
        events: [
          {
            count: 3,
            name: 'Failed',
            message: 'Failed to pull image "nginx:nope": manifest unknown',
            type: 'Warning',
          },
        ],
      }),
      phase: 'Pending',
      ready: false,
      state: 'waiting',
      reason: 'ImagePullBackOff',
    },
    {
      name: 'provisioning failed',
      pod: pod('Always'),
      group: group('Failed', undefined, {
        instanceView: {
          state: 'Pending',
          events: [{ name: 'InsufficientCapacity', message: 'no capacity in westus', type: 'Warning' }],
        },
      }),
      phase: 'Failed',
      ready: false,
      state: 'waiting',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const status = podStatusFromGroup(c.pod, c.group, context);
      assert.equal(status.phase, c.phase);
      const container = status.containerStatuses?.[0];
      assert.ok(container?.state);
      assert.equal(container.ready, c.ready);
      assert.ok(container.state[c.state], `state ${c.state}`);
      const reason = container.state.waiting?.reason ?? container.state.terminated?.reason;
      if (c.reason !== undefined) assert.equal(reason, c.reason);
      assert.equal(status.conditions?.find((x) => x.type === 'Ready')?.status, c.ready ? 'True' : 'False');
    });
  }

  it('reports IPs and the earliest container start', () => {
    const status = podStatusFromGroup(pod('Always'), group('Succeeded', running), context);
    assert.equal(status.podIP, '20.1.2.3');
    assert.deepEqual(status.podIPs, [{ ip: '20.1.2.3' }]);
    assert.equal(status.hostIP, '10.240.0.4');
    assert.deepEqual(status.startTime, started);
  });

  it('leaves out dates ACI sent that are not dates', () => {
    const invalid = new Date('not a date');
    const view: View = {
      restartCount: 0,
      currentState: { state: 'Terminated', startTime: invalid, finishTime: invalid, exitCode: 0 },
    };
    const status = podStatusFromGroup(pod('Never'), group('Succeeded', view), context);
    assert.deepEqual(status.startTime, now);
    assert.deepEqual(status.containerStatuses?.[0]?.state, {
      terminated: { exitCode: 0, reason: 'Completed' },
    });
  });

  it('reads answers whose values are not what the SDK types promise (found by npm run fuzz)', () => {
    const strange = {
      ...group('Succeeded', {
        restartCount: 'x' as unknown as number,
        currentState: {
          state: 'Terminated',
          exitCode: '1' as unknown as number,
          detailStatus: 7 as unknown as string,
        },
        events: { 0: 'not a list' } as unknown as [],
      }),
      ipAddress: { type: 'Public', ip: 'not-an-address', ports: [] },
    } as ContainerGroup;
    const status = podStatusFromGroup(pod('Never'), strange, context);
    assert.equal(status.podIP, undefined);
    const [first] = status.containerStatuses ?? [];
    assert.ok(first);
    assert.equal(first.restartCount, 0);
    assert.deepEqual(first.state, {
      terminated: { exitCode: 0, reason: 'Completed' },
    });
    const noContainers = {
      ...strange,
      containers: undefined,
      initContainers: 5,
    } as unknown as ContainerGroup;
    assert.deepEqual(podStatusFromGroup(pod('Never'), noContainers, context).containerStatuses, []);
    const unnamed = { ...strange, containers: [null, { name: 3, image: {} }] } as unknown as ContainerGroup;
    const [named] = podStatusFromGroup(pod('Never'), unnamed, context).containerStatuses ?? [];
    assert.deepEqual([named?.name, named?.image], ['', '']);
  });

  it('keeps the previous state and restart count of a crash-looping container', () => {
    const status = podStatusFromGroup(
      pod('Always'),
      group('Succeeded', {
        restartCount: 4,
        currentState: { state: 'Running', startTime: finished },
        previousState: { state: 'Terminated', exitCode: 137, detailStatus: 'Killed', finishTime: finished },
      }),
      context,
    );
    const terminated = status.containerStatuses?.[0]?.lastState?.terminated;
    assert.equal(status.containerStatuses?.[0]?.restartCount, 4);
    assert.deepEqual([terminated?.exitCode, terminated?.reason], [137, 'Killed']);
  });

  it('waits for init containers before the pod runs', () => {
    const withInit = group('Succeeded', undefined, {
      initContainers: [{ name: 'migrate', instanceView: { currentState: { state: 'Running' } } }],
    });
    const status = podStatusFromGroup(pod('Always', ['migrate']), withInit, context);
    assert.equal(status.phase, 'Pending');
    assert.equal(status.conditions?.find((x) => x.type === 'Initialized')?.status, 'False');
    assert.equal(status.initContainerStatuses?.[0]?.state?.running !== undefined, true);
  });

  it('fails the pod when an init container fails under Never', () => {
    const withInit = group('Succeeded', undefined, {
      initContainers: [
        { name: 'migrate', instanceView: { currentState: { state: 'Terminated', exitCode: 1 } } },
      ],
    });
    assert.equal(podStatusFromGroup(pod('Never', ['migrate']), withInit, context).phase, 'Failed');
  });

  it('waits for readiness gates before Ready, and keeps their conditions', () => {
    const gated = pod('Always');
    gated.spec = {
      ...gated.spec,
      containers: gated.spec?.containers ?? [],
      readinessGates: [{ conditionType: 'example.com/lb' }],
    };
    const notYet = podStatusFromGroup(gated, group('Succeeded', running), context);
    assert.equal(notYet.conditions?.find((x) => x.type === 'Ready')?.status, 'False');
    gated.status = { conditions: [{ type: 'example.com/lb', status: 'True' }] };
    const ready = podStatusFromGroup(gated, group('Succeeded', running), context);
    const statuses = new Map(ready.conditions?.map((x) => [x.type, x.status]));
    assert.deepEqual([statuses.get('Ready'), statuses.get('example.com/lb')], ['True', 'True']);
  });

  it('keeps lastTransitionTime while a condition holds', () => {
    const earlier = new Date('2026-11-25T19:00:00Z');
    const before = pod('Always');
    before.status = { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: earlier }] };
    const status = podStatusFromGroup(before, group('Succeeded', running), context);
    const transitions = new Map(status.conditions?.map((x) => [x.type, x.lastTransitionTime]));
    assert.deepEqual(transitions.get('Ready'), earlier);
    assert.deepEqual(transitions.get('Initialized'), now);
  });
});

describe('pendingPodStatus and failedPodStatus', () => {
  it('says why a pod waits', () => {
    const status = pendingPodStatus(
      pod('Always'),
      { reason: 'QuotaExceeded', message: 'no cores left' },
      context,
    );
    assert.equal(status.phase, 'Pending');
    assert.equal(status.containerStatuses?.[0]?.state?.waiting?.reason, 'QuotaExceeded');
  });
  it('fails with a reason and message', () => {
    const status = failedPodStatus(pod('Always'), { reason: 'ProviderFailed', message: 'bad spec' }, context);
    assert.equal(status.phase, 'Failed');
    assert.equal(status.reason, 'ProviderFailed');
    assert.equal(status.message, 'bad spec');
  });
});

describe('isProvisioning', () => {
  for (const [state, expected] of [
    ['Pending', true],
    ['Creating', true],
    ['Succeeded', false],
    ['Failed', false],
  ] as const) {
    it(state, () => {
      assert.equal(isProvisioning({ provisioningState: state, containers: [], osType: 'Linux' }), expected);
    });
  }
});
