import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClassifiedError, type FailureKind } from '../runtime/errors.ts';
import { allOf, type AzureCondition, AzureHealth, UNREACHABLE_AFTER } from './health.ts';

function failures(health: AzureHealth, kind: FailureKind, times: number, code?: string): void {
  for (let i = 0; i < times; i += 1)
    health.failed(new ClassifiedError(kind, `${kind} happened`, code ? { code } : {}));
}

describe('AzureHealth', () => {
  const table: {
    name: string;
    kind: FailureKind;
    times: number;
    code?: string;
    reason: string;
    ok: boolean;
  }[] = [
    { name: 'one transient blip', kind: 'Transient', times: 1, reason: 'AzureReachable', ok: true },
    {
      name: 'a run of transient failures',
      kind: 'Transient',
      times: UNREACHABLE_AFTER,
      reason: 'AzureUnreachable',
      ok: false,
    },
    {
      name: 'throttling is Azure answering',
      kind: 'Throttled',
      times: 20,
      reason: 'AzureReachable',
      ok: true,
    },
    {
      name: 'a full quota is Azure answering',
      kind: 'QuotaExceeded',
      times: 20,
      reason: 'AzureReachable',
      ok: true,
    },
    {
      name: 'rejected credentials',
      kind: 'Unauthorized',
      times: 1,
      reason: 'AzureCredentialsRejected',
      ok: false,
    },
    {
      name: 'a missing resource group',
      kind: 'InvalidInput',
      times: 1,
      code: 'ResourceGroupNotFound',
      reason: 'ResourceGroupNotFound',
      ok: false,
    },
    {
      // Creates fail, but lists succeed: marking the node NotReady here would flap; the subnet monitor
      // reports the subnet.
      name: 'a subnet ACI refuses leaves Azure reachable',
      kind: 'InvalidInput',
      times: 20,
      code: 'SubnetMissingRequiredDelegation',
      reason: 'AzureReachable',
      ok: true,
    },
    {
      name: 'an invalid request is Azure answering',
      kind: 'InvalidInput',
      times: 20,
      reason: 'AzureReachable',
      ok: true,
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      const health = new AzureHealth();
      failures(health, c.kind, c.times, c.code);
      assert.deepEqual([health.condition.ok, health.condition.reason], [c.ok, c.reason]);
    });
  }

  it('recovers with the next successful call', () => {
    const health = new AzureHealth();
    failures(health, 'Unauthorized', 1);
    health.succeeded();
    assert.equal(health.condition.ok, true);
  });
});

describe('allOf', () => {
  const ok = { condition: { ok: true, reason: 'AzureReachable', message: 'answers' } };
  const bad = { condition: { ok: false, reason: 'SubnetNotDelegated', message: 'not delegated' } };
  const cases: { name: string; sources: { condition: AzureCondition }[]; reason: string }[] = [
    { name: 'all ready: the first', sources: [ok, ok], reason: 'AzureReachable' },
    { name: 'one not ready: that one names why', sources: [ok, bad], reason: 'SubnetNotDelegated' },
  ];
  for (const row of cases) {
    it(row.name, () => {
      assert.equal(allOf(row.sources).condition.reason, row.reason);
    });
  }
});
