import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerGroup } from '@azure/arm-containerinstance';
import { TAGS } from '../contract/index.ts';
import { GroupTracker } from './groups.ts';

const owner = { nodeName: 'aci-connector', clusterId: 'c1' };

function listed(name: string, provisioningState = 'Succeeded', cluster = 'c1'): ContainerGroup {
  return {
    name,
    osType: 'Linux',
    containers: [],
    provisioningState,
    tags: {
      [TAGS.nodeName]: 'aci-connector',
      [TAGS.clusterId]: cluster,
      [TAGS.namespace]: 'ns',
      [TAGS.podName]: name,
    },
  };
}

function withView(group: ContainerGroup, state: string): ContainerGroup {
  return { ...group, instanceView: { state } };
}

const options = { now: 0, createGraceMs: 30_000 };

describe('GroupTracker', () => {
  it('reports new groups and groups whose provisioning state changed, nothing else', () => {
    const tracker = new GroupTracker(owner);
    assert.deepEqual(tracker.applyList([listed('a', 'Creating'), listed('b')], options).changed, ['a', 'b']);
    tracker.applyDetail('a', withView(listed('a', 'Creating'), 'Pending'), 0);
    tracker.applyDetail('b', withView(listed('b'), 'Running'), 0);
    assert.deepEqual(
      tracker.applyList([listed('a', 'Creating'), listed('b')], { ...options, now: 1000 }).changed,
      [],
    );
    assert.deepEqual(
      tracker.applyList([listed('a', 'Succeeded'), listed('b')], { ...options, now: 2000 }).changed,
      ['a'],
    );
  });

  it('ignores groups other clusters own', () => {
    const tracker = new GroupTracker(owner);
    tracker.applyList([listed('mine'), listed('theirs', 'Succeeded', 'c2')], options);
    assert.deepEqual(
      tracker.all().map((t) => t.name),
      ['mine'],
    );
  });

  it('calls a group vanished when a list no longer shows it, but not a fresh create', () => {
    const tracker = new GroupTracker(owner);
    tracker.applyList([listed('old')], options);
    tracker.applyCreate('new', listed('new'), 1000);
    const outcome = tracker.applyList([], { ...options, now: 2000 });
    assert.deepEqual(
      outcome.vanished.map((t) => t.name),
      ['old'],
    );
    assert.ok(tracker.get('new'), 'within the create grace');
    assert.deepEqual(
      tracker.applyList([], { ...options, now: 40_000 }).vanished.map((t) => t.name),
      ['new'],
    );
  });

  it('does not let a list that predates a re-create overwrite the new group’s pod UID', () => {
    const tracker = new GroupTracker(owner);
    const old = listed('web');
    tracker.applyList([{ ...old, tags: { ...old.tags, [TAGS.podUid]: 'old-uid' } }], options);
    tracker.applyCreate('web', { ...old, tags: { ...old.tags, [TAGS.podUid]: 'new-uid' } }, 1000);
    tracker.applyList([{ ...old, tags: { ...old.tags, [TAGS.podUid]: 'old-uid' } }], {
      ...options,
      now: 900,
    });
    assert.equal(tracker.get('web')?.listed.tags?.[TAGS.podUid], 'new-uid');
  });

  it('is not synced before its first list', () => {
    const tracker = new GroupTracker(owner);
    assert.equal(tracker.synced, false);
    tracker.applyList([], options);
    assert.equal(tracker.synced, true);
  });
});

describe('GroupTracker and other owners', () => {
  it('remembers groups it does not own by name, never tracks them', () => {
    const tracker = new GroupTracker(owner);
    const theirs = listed('shared', 'Succeeded', 'c2');
    tracker.applyList([listed('a'), theirs], options);
    assert.deepEqual(
      tracker.all().map((t) => t.name),
      ['a'],
    );
    assert.deepEqual(tracker.foreignGroup('shared')?.tags, theirs.tags);
    assert.equal(tracker.foreignGroup('a'), undefined);
    tracker.applyList([listed('a')], { ...options, now: 1000 });
    assert.equal(tracker.foreignGroup('shared'), undefined, 'forgotten once it is gone');
  });

  it('stops tracking a group a read shows another owner has taken over', () => {
    const tracker = new GroupTracker(owner);
    tracker.applyList([listed('a')], options);
    tracker.applyDetail('a', listed('a', 'Succeeded', 'c2'), 0);
    assert.equal(tracker.get('a'), undefined);
    assert.ok(tracker.foreignGroup('a'));
  });

  it('finds a pod’s groups by their tags, whatever their names', () => {
    const tracker = new GroupTracker(owner);
    tracker.applyList(
      [listed('x'), { ...listed('y'), tags: { ...listed('y').tags, [TAGS.podName]: 'x' } }],
      options,
    );
    assert.deepEqual(
      tracker.groupsOf('ns/x').map((t) => t.name),
      ['x', 'y'],
    );
  });

  it('keeps of a read the states and the address, not the spec it was created from', () => {
    const tracker = new GroupTracker(owner);
    const instanceView = { restartCount: 1, currentState: { state: 'Running' }, events: [] };
    const read: ContainerGroup = {
      ...withView(listed('a'), 'Running'),
      id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/a',
      ipAddress: { ip: '10.0.0.5', type: 'Private', ports: [{ port: 80 }] },
      volumes: [{ name: 'data', emptyDir: {} }],
      containers: [
        {
          name: 'app',
          image: 'nginx',
          command: ['nginx', '-g', 'daemon off;'],
          environmentVariables: [{ name: 'TOKEN', value: 'x'.repeat(4096) }],
          resources: { requests: { cpu: 1, memoryInGB: 1.5 } },
          instanceView,
        },
      ],
    };
    tracker.applyDetail('a', read, 0);
    const kept = tracker.get('a')?.detail;
    assert.deepEqual(kept, {
      name: 'a',
      osType: 'Linux',
      provisioningState: 'Succeeded',
      tags: read.tags,
      ipAddress: read.ipAddress,
      instanceView: { state: 'Running' },
      containers: [
        { name: 'app', image: 'nginx', resources: { requests: { cpu: 1, memoryInGB: 1.5 } }, instanceView },
      ],
      initContainers: [],
    });
    assert.equal(tracker.get('a')?.listed, kept);
  });
});
