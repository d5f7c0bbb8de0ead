import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerGroup } from '@azure/arm-containerinstance';
import { FakeClock } from '../runtime/clock.ts';
import type { TrackedGroup } from './groups.ts';
import { ArmReadBudget, groupPhase, planReads, readBudgetPolicy, RefreshAllowance } from './read-budget.ts';

function group(
  name: string,
  provisioningState: string,
  view?: { group: string; containers: string[] },
): ContainerGroup {
  return {
    name,
    osType: 'Linux',
    provisioningState,
    containers: (view?.containers ?? ['Waiting']).map((state, i) => ({
      name: `c${String(i)}`,
      image: 'nginx',
      resources: { requests: { cpu: 1, memoryInGB: 1 } },
      ...(view && { instanceView: { currentState: { state } } }),
    })),
    ...(view && { instanceView: { state: view.group } }),
  };
}

function tracked(
  name: string,
  listedState: string,
  read?: { at: number; group: string; containers: string[]; provisioningState?: string },
): TrackedGroup {
  const detail =
    read &&
    group(name, read.provisioningState ?? 'Succeeded', { group: read.group, containers: read.containers });
  return {
    name,
    listed: group(name, listedState),
    detail,
    detailReadAt: read?.at,
    detailState: detail?.provisioningState,
    provisioningSince: undefined,
    createdAt: undefined,
  };
}

const options = {
  now: 100_000,
  allowed: 100,
  refreshAllowed: 100,
  transitionRefreshMs: 5000,
  refreshIntervalMs: 60_000,
};

describe('groupPhase', () => {
  const cases: [string, TrackedGroup, string][] = [
    ['created, not yet read, still provisioning', tracked('a', 'Creating'), 'provisioning'],
    ['listed Succeeded but never read', tracked('a', 'Succeeded'), 'unread'],
    [
      'read while Creating',
      tracked('a', 'Creating', {
        at: 0,
        group: 'Pending',
        containers: ['Waiting'],
        provisioningState: 'Creating',
      }),
      'provisioning',
    ],
    [
      'provisioned, a container still waiting',
      tracked('a', 'Succeeded', { at: 0, group: 'Running', containers: ['Running', 'Waiting'] }),
      'transition',
    ],
    [
      'a container crashed and restarts',
      tracked('a', 'Succeeded', { at: 0, group: 'Running', containers: ['Terminated'] }),
      'transition',
    ],
    [
      'every container running',
      tracked('a', 'Succeeded', { at: 0, group: 'Running', containers: ['Running', 'Running'] }),
      'running',
    ],
    ['ended', tracked('a', 'Succeeded', { at: 0, group: 'Succeeded', containers: ['Terminated'] }), 'done'],
  ];
  for (const [name, input, phase] of cases)
    it(name, () => {
      assert.equal(groupPhase(input), phase);
    });
});

describe('planReads', () => {
  it('reads changed groups, then groups in transition, then running groups due a refresh, oldest first', () => {
    const groups = [
      tracked('running-old', 'Succeeded', { at: 0, group: 'Running', containers: ['Running'] }),
      tracked('running-older', 'Succeeded', { at: -10, group: 'Running', containers: ['Running'] }),
      tracked('running-fresh', 'Succeeded', { at: 90_000, group: 'Running', containers: ['Running'] }),
      tracked('starting', 'Succeeded', { at: 94_000, group: 'Running', containers: ['Waiting'] }),
      tracked('starting-just-read', 'Succeeded', { at: 99_000, group: 'Running', containers: ['Waiting'] }),
      tracked('provisioning', 'Creating'),
      tracked('changed', 'Succeeded', {
        at: 99_000,
        group: 'Pending',
        containers: ['Waiting'],
        provisioningState: 'Creating',
      }),
      tracked('ended', 'Succeeded', { at: 0, group: 'Succeeded', containers: ['Terminated'] }),
    ];
    const plan = planReads(groups, new Set(['changed']), options);
    assert.deepEqual(plan.names, ['changed', 'starting', 'running-older', 'running-old']);
    assert.equal(plan.refreshes, 2);
  });

  it('never plans more than the budget allows, transitions before refreshes', () => {
    const groups = [
      tracked('running', 'Succeeded', { at: 0, group: 'Running', containers: ['Running'] }),
      tracked('unread-1', 'Succeeded'),
      tracked('unread-2', 'Succeeded'),
    ];
    assert.deepEqual(planReads(groups, new Set(), { ...options, allowed: 2 }).names, [
      'unread-1',
      'unread-2',
    ]);
    assert.deepEqual(planReads(groups, new Set(), { ...options, allowed: 0 }).names, []);
  });

  it('caps refreshes of running groups by their own allowance, not transitions', () => {
    const groups = [
      tracked('r1', 'Succeeded', { at: 0, group: 'Running', containers: ['Running'] }),
      tracked('r2', 'Succeeded', { at: 1, group: 'Running', containers: ['Running'] }),
      tracked('unread', 'Succeeded'),
    ];
    assert.deepEqual(planReads(groups, new Set(), { ...options, refreshAllowed: 1 }).names, ['unread', 'r1']);
  });
});

describe('ArmReadBudget', () => {
  it('takes the share of what ARM reported, minus reads sent since, refilled over time', async () => {
    const clock = new FakeClock();
    const budget = new ArmReadBudget({ clock, share: 0.5 });
    assert.equal(budget.available(), 125, 'a full bucket before ARM said anything');
    budget.observe(40);
    assert.equal(budget.available(), 20);
    budget.sent();
    budget.sent();
    assert.equal(budget.available(), 19);
    await clock.advance(1000);
    assert.equal(budget.available(), 31, '25 refilled in a second');
    await clock.advance(60_000);
    assert.equal(budget.available(), 125, 'never more than the bucket holds');
  });

  it('reads the header off every GET answer and takes a 429 as an empty bucket', async () => {
    const clock = new FakeClock();
    const budget = new ArmReadBudget({ clock, share: 1 });
    const policy = readBudgetPolicy(budget);
    const answer = (status: number, headers: Record<string, string>) => () =>
      Promise.resolve({
        status,
        headers: { get: (name: string) => headers[name] },
        request: undefined,
      } as never);
    const request = (method: string) => ({ method }) as never;
    await policy.sendRequest(
      request('GET'),
      answer(200, { 'x-ms-ratelimit-remaining-subscription-reads': '17' }),
    );
    assert.equal(budget.available(), 17);
    await policy.sendRequest(
      request('PUT'),
      answer(201, { 'x-ms-ratelimit-remaining-subscription-writes': '3' }),
    );
    assert.equal(budget.available(), 17, 'writes have a bucket of their own');
    await policy.sendRequest(request('GET'), answer(429, { 'retry-after': '5' }));
    assert.equal(budget.available(), 0);
  });
});

describe('RefreshAllowance', () => {
  it('spreads the per-minute rate evenly and saves up at most a minute', () => {
    const allowance = new RefreshAllowance(120, 0);
    assert.equal(allowance.available(0), 0);
    assert.equal(allowance.available(10_000), 20);
    allowance.spend(20);
    assert.equal(allowance.available(10_500), 1);
    assert.equal(allowance.available(3_600_000), 120);
  });
});
