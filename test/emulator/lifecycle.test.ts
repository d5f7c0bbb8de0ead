import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { behaviourFor } from './behaviour.ts';
import {
  advanceGroup,
  backoffMs,
  beginProvisioning,
  compressTimeline,
  groupStateAt,
  isTransitioning,
  killContainer,
  logLinesAt,
  provisioningStateAt,
  recordEvent,
  restartContainer,
  stopGroup,
  TIMELINES,
  type GroupRuntime,
  type Timeline,
} from './lifecycle.ts';
import type { RestartPolicy } from './spec.ts';

const TIMELINE: Timeline = { pendingMs: 100, creatingMs: 200, backoffBaseMs: 1000, backoffMaxMs: 4000 };
const T0 = Date.parse('2026-01-01T00:00:00Z');

function group(image: string, restartPolicy: RestartPolicy = 'Always', command: string[] = []): GroupRuntime {
  const container = { name: 'app', image, behaviour: behaviourFor({ name: 'app', image, command }) };
  return beginProvisioning([container], { kind: 'Create', restartPolicy, region: 'westus' }, T0, TIMELINE);
}

function at(runtime: GroupRuntime, ms: number): GroupRuntime {
  return advanceGroup(runtime, T0 + ms, TIMELINE);
}

function app(runtime: GroupRuntime) {
  const container = runtime.containers[0];
  assert.ok(container);
  return container;
}

describe('provisioning', () => {
  it('goes Pending -> Creating -> Succeeded on the timeline, transitioning until done', () => {
    const runtime = group('nginx');
    const states = [0, 99, 100, 299, 300].map((ms) => provisioningStateAt(runtime.provisioning, T0 + ms));
    assert.deepEqual(states, ['Pending', 'Pending', 'Creating', 'Creating', 'Succeeded']);
    assert.deepEqual([isTransitioning(runtime, T0 + 299), isTransitioning(runtime, T0 + 300)], [true, false]);
  });

  it('pulls at Creating and starts at Succeeded, with events in order', () => {
    const creating = at(group('nginx'), 150);
    assert.deepEqual(
      app(creating).events.map((e) => e.name),
      ['Pulling'],
    );
    assert.equal(app(creating).currentState.state, 'Waiting');
    const running = at(creating, 300);
    assert.deepEqual(
      app(running).events.map((e) => e.name),
      ['Pulling', 'Pulled', 'Started'],
    );
    assert.deepEqual(app(running).currentState, {
      state: 'Running',
      startTime: '2026-01-01T00:00:00.300Z',
      detailStatus: '',
    });
    assert.equal(groupStateAt(running, T0 + 300), 'Running');
  });

  const failures = [
    {
      image: 'aci-burst/pull-fail',
      code: 'InaccessibleImage',
      events: ['Pulling', 'Failed', 'BackOff'],
      detail: 'ErrImagePull',
    },
    { image: 'aci-burst/no-capacity', code: 'InsufficientCapacity', events: [], detail: '' },
  ];
  for (const { image, code, events, detail } of failures) {
    it(`fails the operation with ${code}`, () => {
      const runtime = at(group(image), 1000);
      assert.equal(provisioningStateAt(runtime.provisioning, T0 + 1000), 'Failed');
      assert.equal(runtime.provisioning.failure?.code, code);
      assert.deepEqual(
        app(runtime).events.map((e) => e.name),
        events,
      );
      assert.deepEqual(app(runtime).currentState, { state: 'Waiting', detailStatus: detail });
    });
  }
});

describe('restart policies', () => {
  const cases: {
    policy: RestartPolicy;
    image: string;
    groupState: string;
    restarts: number;
    detail: string;
  }[] = [
    {
      policy: 'Never',
      image: 'aci-burst/exit:0?after=100ms',
      groupState: 'Succeeded',
      restarts: 0,
      detail: 'Completed',
    },
    {
      policy: 'Never',
      image: 'aci-burst/exit:2?after=100ms',
      groupState: 'Failed',
      restarts: 0,
      detail: 'Error',
    },
    {
      policy: 'OnFailure',
      image: 'aci-burst/exit:0?after=100ms',
      groupState: 'Succeeded',
      restarts: 0,
      detail: 'Completed',
    },
    // Exits at 400, restarts at 1400 (back-off 1 s), exits at 1500, restarts at 3500 (2 s), exits at 3600:
    // by 4000, two restarts and waiting for the third.
    {
      policy: 'OnFailure',
      image: 'aci-burst/exit:2?after=100ms',
      groupState: 'Running',
      restarts: 2,
      detail: 'Error',
    },
    {
      policy: 'Always',
      image: 'aci-burst/exit:0?after=100ms',
      groupState: 'Running',
      restarts: 2,
      detail: 'Completed',
    },
  ];
  for (const { policy, image, groupState, restarts, detail } of cases) {
    it(`${policy} with ${image}: group ${groupState}, ${restarts} restarts`, () => {
      const runtime = at(group(image, policy), 4000);
      assert.equal(groupStateAt(runtime, T0 + 4000), groupState);
      assert.equal(app(runtime).restartCount, restarts);
      assert.equal(app(runtime).currentState.detailStatus, detail);
      if (restarts > 0) assert.equal(app(runtime).previousState?.state, 'Terminated');
    });
  }

  it('backs off exponentially up to the maximum', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 10].map((n) => backoffMs(n, TIMELINE)),
      [1000, 2000, 4000, 4000, 4000],
    );
  });

  it('is between restarts a Running group with a Terminated container and a BackOff event', () => {
    const runtime = at(group('aci-burst/crash:5?after=100ms'), 500);
    assert.deepEqual(
      [app(runtime).currentState.state, app(runtime).currentState.exitCode],
      ['Terminated', 5],
    );
    assert.equal(groupStateAt(runtime, T0 + 500), 'Running');
    assert.deepEqual(app(runtime).events.at(-1)?.name, 'BackOff');
  });
});

describe('interventions', () => {
  it('kill ends the run with 137 and Always restarts it after a back-off', () => {
    const killed = killContainer(at(group('nginx'), 500), 'app', T0 + 500, TIMELINE);
    assert.deepEqual([app(killed).currentState.exitCode, app(killed).events.at(-1)?.name], [137, 'BackOff']);
    assert.ok(app(killed).events.some((e) => e.name === 'Killing'));
    const back = at(killed, 1500);
    assert.deepEqual(
      [app(back).currentState.state, app(back).restartCount, app(back).previousState?.exitCode],
      ['Running', 1, 137],
    );
  });

  it('restart starts the container again at once, whatever the policy', () => {
    const restarted = restartContainer(at(group('nginx', 'Never'), 500), 'app', T0 + 600);
    assert.deepEqual([app(restarted).currentState.state, app(restarted).restartCount], ['Running', 1]);
    assert.equal(app(restarted).previousState?.detailStatus, 'Killed');
  });

  it('stop terminates every container and nothing restarts', () => {
    const stopped = stopGroup(at(group('nginx'), 500), T0 + 500);
    const later = at(stopped, 60_000);
    assert.equal(groupStateAt(later, T0 + 60_000), 'Stopped');
    assert.deepEqual([app(later).currentState.state, app(later).next], ['Terminated', undefined]);
  });
});

describe('logs and events', () => {
  it('shows the lines printed by now in the current run only', () => {
    const runtime = group('busybox', 'Never', ['sh', '-c', 'echo a; sleep 1; echo b; sleep 1; exit 0']);
    assert.deepEqual(logLinesAt(app(at(runtime, 200)), T0 + 200), []);
    assert.deepEqual(
      logLinesAt(app(at(runtime, 800)), T0 + 800).map((l) => l.text),
      ['a'],
    );
    assert.deepEqual(
      logLinesAt(app(at(runtime, 5000)), T0 + 5000).map((l) => l.text),
      ['a', 'b'],
    );
  });

  it('merges repeated events into a count with first and last timestamps', () => {
    const event = {
      name: 'BackOff',
      message: 'Back-off restarting failed container',
      type: 'Warning' as const,
    };
    const events = recordEvent(recordEvent([], event, T0), event, T0 + 1000);
    assert.deepEqual(events, [
      {
        ...event,
        count: 2,
        firstTimestamp: '2026-01-01T00:00:00.000Z',
        lastTimestamp: '2026-01-01T00:00:01.000Z',
      },
    ]);
  });
});

describe('compressTimeline', () => {
  it('divides every duration by the factor, never below 1 ms', () => {
    assert.deepEqual(compressTimeline(TIMELINES.realistic, 10), {
      pendingMs: 500,
      creatingMs: 2500,
      backoffBaseMs: 1000,
      backoffMaxMs: 30_000,
    });
    assert.equal(compressTimeline(TIMELINES.fast, 1000).pendingMs, 1);
  });
});
