import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_ACI_LIMITS } from '../../contract/index.ts';
import { behaviourFor } from './behaviour.ts';
import { followRun, LISTEN_AHEAD_MS, wantedListeners } from './group-activity.ts';
import { advanceGroup, beginProvisioning, stopGroup, TIMELINES } from './lifecycle.ts';
import { parseGroupSpec } from './spec.ts';
import type { GroupRecord } from './views.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const timeline = TIMELINES.fast;
/** When the fast timeline starts the containers. */
const STARTED = T0 + timeline.pendingMs + timeline.creatingMs;

function container(name: string, ports: number[], command: string[]): object {
  return {
    name,
    properties: {
      image: 'busybox',
      command,
      ports: ports.map((port) => ({ port })),
      resources: { requests: { cpu: 0.5, memoryInGB: 0.5 } },
    },
  };
}

function record(options: { restartPolicy?: string; command?: string[] } = {}): GroupRecord {
  const body = {
    location: 'westus',
    properties: {
      osType: 'Linux',
      restartPolicy: options.restartPolicy ?? 'Always',
      containers: [
        container('web', [80, 8080], options.command ?? ['sh', '-c', 'sleep infinity']),
        container('side', [9000], ['sh', '-c', 'sleep infinity']),
      ],
      ipAddress: { type: 'Public', ports: [{ port: 80 }, { port: 8080 }, { port: 9000 }] },
    },
  };
  const spec = parseGroupSpec(body, { groupName: 'web', regions: ['westus'], limits: DEFAULT_ACI_LIMITS });
  const runtime = beginProvisioning(
    spec.containers.map((c) => ({ name: c.name, image: c.image, behaviour: behaviourFor(c) })),
    { kind: 'Create', restartPolicy: spec.restartPolicy, region: 'westus' },
    T0,
    timeline,
  );
  return {
    subscriptionId: 's',
    resourceGroup: 'rg',
    name: 'web',
    body,
    tags: {},
    spec,
    runtime,
    address: '127.5.6.7',
  };
}

const ports = (group: GroupRecord, now: number): string[] =>
  wantedListeners(group, now, timeline).wanted.map((w) => `${w.container}:${w.port}`);

describe('wantedListeners', () => {
  it('wants every exposed port of every running container, from shortly before it runs', () => {
    const group = record();
    assert.deepEqual(ports(group, STARTED - LISTEN_AHEAD_MS - 1), []);
    assert.deepEqual(ports(group, STARTED - LISTEN_AHEAD_MS), ['web:80', 'web:8080', 'side:9000']);
    assert.deepEqual(ports(group, STARTED + 10_000), ['web:80', 'web:8080', 'side:9000']);
  });

  it('says when to look again: at the next transition, or when one comes within reach', () => {
    const group = record();
    assert.equal(wantedListeners(group, T0, timeline).recheckAt, T0 + timeline.pendingMs, 'the pull');
    const slow = {
      ...group,
      runtime: {
        ...group.runtime,
        containers: group.runtime.containers.map((c) => ({
          ...c,
          next: { action: 'start' as const, at: T0 + 60_000 },
        })),
      },
    };
    assert.equal(wantedListeners(slow, T0, timeline).recheckAt, T0 + 60_000 - LISTEN_AHEAD_MS);
    assert.equal(wantedListeners(group, STARTED + 10_000, timeline).recheckAt, Infinity);
  });

  it('wants nothing once stopped, without an address, or for a container that has exited', () => {
    const running = { ...record(), runtime: advanceGroup(record().runtime, STARTED + 1, timeline) };
    assert.deepEqual(
      ports({ ...running, runtime: stopGroup(running.runtime, STARTED + 2) }, STARTED + 3),
      [],
    );
    const { address: _none, ...unaddressed } = running;
    assert.deepEqual(ports(unaddressed, STARTED + 3), []);
    const exits = record({ restartPolicy: 'Never', command: ['sh', '-c', 'sleep 2; exit 1'] });
    assert.deepEqual(ports(exits, STARTED + 1000), ['web:80', 'web:8080', 'side:9000']);
    assert.equal(wantedListeners(exits, STARTED + 1000, timeline).recheckAt, STARTED + 2000);
    assert.deepEqual(ports(exits, STARTED + 2000), ['side:9000']);
  });
});

describe('followRun', () => {
  const target = { resourceGroup: 'rg', name: 'web', container: 'web' };
  const printing = record({
    restartPolicy: 'Never',
    command: ['sh', '-c', 'echo a; sleep 1; echo b; sleep 1; echo c'],
  });
  const at = (now: number): GroupRecord => ({
    ...printing,
    runtime: advanceGroup(printing.runtime, now, timeline),
  });

  it('gives the lines printed after `since`, and ends with the run', () => {
    assert.deepEqual(
      followRun(at(STARTED + 1500), { target, run: STARTED, since: STARTED }, STARTED + 1500),
      {
        lines: [{ at: STARTED + 1000, text: 'b' }],
      },
    );
    assert.deepEqual(
      followRun(at(STARTED + 5000), { target, run: STARTED, since: STARTED + 1000 }, STARTED + 5000),
      {
        lines: [{ at: STARTED + 2000, text: 'c' }],
        ended: 'container stopped',
      },
    );
  });

  it('ends when the group is stopped or deleted', () => {
    const stopped = { ...at(STARTED + 500), runtime: stopGroup(at(STARTED + 500).runtime, STARTED + 500) };
    assert.equal(
      followRun(stopped, { target, run: STARTED, since: STARTED }, STARTED + 600).ended,
      'container group stopped',
    );
    assert.equal(
      followRun(undefined, { target, run: STARTED, since: STARTED }, STARTED).ended,
      'container group deleted',
    );
  });

  it('ends a session whose run was replaced by a restart', () => {
    const crashing = record({ command: ['sh', '-c', 'echo x; sleep 1; exit 1'] });
    const later = { ...crashing, runtime: advanceGroup(crashing.runtime, STARTED + 5000, timeline) };
    assert.equal(
      followRun(later, { target, run: STARTED, since: STARTED }, STARTED + 5000).ended,
      'container stopped',
    );
  });
});
