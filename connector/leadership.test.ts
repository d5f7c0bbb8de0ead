import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { FakeClock } from '../runtime/clock.ts';
import { ClassifiedError } from '../runtime/errors.ts';
import { createLogger } from '../runtime/logger.ts';
import { electionTiming, LeaderElector, nextStep, type LeaseApi } from './leadership.ts';

const logger = createLogger({ component: 'test', level: 'silent' });
const TIMING = electionTiming(10);

function lease(holder: string, renewMs: number, seconds = 10): V1Lease {
  return {
    metadata: { name: 'node', namespace: 'ns', resourceVersion: '1' },
    spec: { holderIdentity: holder, leaseDurationSeconds: seconds, renewTime: new V1MicroTime(renewMs) },
  };
}

describe('nextStep: what a candidate does with the Lease it read', () => {
  const now = 100_000;
  const held = lease('other', 50_000);
  const seen = { record: `other|${new Date(50_000).toISOString()}|0`, at: now - 10_000 };
  const cases: [string, V1Lease | undefined, Parameters<typeof nextStep>[2], string][] = [
    ['no Lease: create it', undefined, undefined, 'create'],
    ['its own Lease: renew it', lease('me', 0), undefined, 'claim'],
    ['a released Lease (no holder): take it', lease('', now), undefined, 'claim'],
    ['a holder first seen now: wait, whatever its renewTime says', held, undefined, 'wait'],
    ['the same record seen for the lease duration: take it', held, seen, 'claim'],
    [
      'the same record seen for less than the lease duration: wait',
      held,
      { ...seen, at: now - 9_999 },
      'wait',
    ],
    ['a record that changed since: wait', lease('other', 60_000), seen, 'wait'],
  ];
  for (const [name, input, observed, expected] of cases) {
    it(name, () => {
      assert.equal(nextStep(input, 'me', observed, now).step, expected);
    });
  }
});

/** One Lease in memory with the API server's optimistic concurrency; `down` makes calls fail. */
class MemoryLeases {
  current: V1Lease | undefined;
  private version = 0;
  down = new Set<string>();
  hang = new Set<string>();

  apiFor(identity: string): LeaseApi {
    const guard = async (): Promise<void> => {
      if (this.hang.has(identity)) await new Promise(() => undefined);
      if (this.down.has(identity)) throw new ClassifiedError('Transient', 'connection refused');
    };
    return {
      read: async () => {
        await guard();
        return structuredClone(this.current);
      },
      create: async (body) => {
        await guard();
        if (this.current !== undefined) throw new ClassifiedError('Conflict', 'exists', { statusCode: 409 });
        return this.store(body);
      },
      replace: async (body) => {
        await guard();
        if (body.metadata?.resourceVersion !== this.current?.metadata?.resourceVersion)
          throw new ClassifiedError('Conflict', 'modified', { statusCode: 409 });
        return this.store(body);
      },
    };
  }

  private store(body: V1Lease): V1Lease {
    this.version += 1;
    this.current = structuredClone({
      ...body,
      metadata: { ...body.metadata, resourceVersion: String(this.version) },
    });
    return structuredClone(this.current);
  }
}

interface Replica {
  elector: LeaderElector;
  started: number[];
  stopped: number[];
}

function replica(leases: MemoryLeases, clock: FakeClock, identity: string): Replica {
  const started: number[] = [];
  const stopped: number[] = [];
  const elector = new LeaderElector({
    api: leases.apiFor(identity),
    timers: clock,
    logger,
    identity,
    leaseName: 'node',
    namespace: 'ns',
    timing: TIMING,
    onStartedLeading: () => started.push(clock.now()),
    onStoppedLeading: () => stopped.push(clock.now()),
  });
  return { elector, started, stopped };
}

/** Two replicas on one Lease: a starts first and leads, b stands by; time runs for `settleMs`. */
async function leaderAndStandby(
  settleMs: number,
): Promise<{ clock: FakeClock; leases: MemoryLeases; a: Replica; b: Replica }> {
  const clock = new FakeClock();
  const leases = new MemoryLeases();
  const [a, b] = [replica(leases, clock, 'a'), replica(leases, clock, 'b')];
  a.elector.start();
  await clock.advance(1);
  b.elector.start();
  await clock.advance(settleMs);
  return { clock, leases, a, b };
}

describe('LeaderElector', () => {
  it('lets exactly one of two replicas lead, and the other stand by while the leader renews', async () => {
    const clock = new FakeClock();
    const leases = new MemoryLeases();
    const [a, b] = [replica(leases, clock, 'a'), replica(leases, clock, 'b')];
    a.elector.start();
    b.elector.start();
    await clock.advance(60_000);
    assert.deepEqual([a.elector.leading, b.elector.leading], [true, false]);
    assert.equal(b.started.length, 0);
    assert.equal(leases.current?.spec?.holderIdentity, 'a');
    await a.elector.stop();
    await b.elector.stop();
  });

  it('hands over within the lease plus two retry periods when the leader dies without a word', async () => {
    const { clock, leases, b } = await leaderAndStandby(7_000);
    // SIGKILL: from the Lease's side, a makes no call any more.
    const lastRenewal = new Date(leases.current?.spec?.renewTime ?? 0).getTime();
    leases.hang.add('a');
    const died = clock.now();
    await clock.advance(30_000);
    assert.equal(b.started.length, 1);
    const takeover = (b.started[0] ?? 0) - died;
    assert.ok(takeover >= TIMING.leaseDurationMs - (died - lastRenewal), `took over after ${takeover} ms`);
    assert.ok(
      takeover <= TIMING.leaseDurationMs + 2 * TIMING.retryPeriodMs,
      `took over after ${takeover} ms`,
    );
    const { holderIdentity, leaseTransitions } = leases.current?.spec ?? {};
    assert.deepEqual([holderIdentity, leaseTransitions], ['b', 1]);
    await b.elector.stop();
  });

  it('hands the Lease back on a clean stop, so the standby leads within one retry period', async () => {
    const { clock, a, b } = await leaderAndStandby(5_000);
    const stoppedAt = clock.now();
    await a.elector.stop();
    await clock.advance(5_000);
    assert.ok((b.started[0] ?? Infinity) - stoppedAt <= TIMING.retryPeriodMs);
    assert.deepEqual(a.stopped, [], 'a clean stop is not a lost lead');
    await b.elector.stop();
  });

  it('stops a leader cut off from the API server before any standby can lead (never two leaders)', async () => {
    for (const fault of ['down', 'hang'] as const) {
      const { clock, leases, a, b } = await leaderAndStandby(5_000);
      leases[fault].add('a');
      await clock.advance(30_000);
      assert.equal(a.stopped.length, 1, fault);
      assert.equal(b.started.length, 1, fault);
      assert.ok((a.stopped[0] ?? Infinity) < (b.started[0] ?? 0), `${fault}: a stopped before b started`);
      assert.equal(a.elector.leading, false);
      await b.elector.stop();
    }
  });

  it('lets only one of two candidates win a Lease neither holds (the loser gets a Conflict)', async () => {
    const clock = new FakeClock();
    const leases = new MemoryLeases();
    const replicas = [replica(leases, clock, 'a'), replica(leases, clock, 'b'), replica(leases, clock, 'c')];
    for (const r of replicas) r.elector.start();
    await clock.advance(30_000);
    assert.equal(replicas.filter((r) => r.elector.leading).length, 1);
    for (const r of replicas) await r.elector.stop();
  });
});
