import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { FakeClock } from '../runtime/clock.ts';
import { silentLogger } from '../runtime/logger.ts';
import { ClassifiedError } from '../runtime/errors.ts';
import type { GroupMetricsApi, GroupUsageSeries, UsagePoint } from './monitor.ts';
import {
  integrateUsage,
  ResourceUsage,
  sumUsage,
  usageTargets,
  type ResourceUsageSettings,
  type UsageTarget,
} from './resource-usage.ts';

const MINUTE = 60_000;

describe('integrateUsage', () => {
  const points = (start: number, values: number[]): UsagePoint[] =>
    values.map((value, index) => ({ start: start + index * MINUTE, value }));

  it('counts each grain once: millicores x grain seconds, the latest grain as current figures', () => {
    const first = integrateUsage(
      undefined,
      { cpuMillicores: points(0, [500, 1000]), memoryBytes: points(0, [10, 20]) },
      MINUTE,
    );
    assert.deepEqual(first, { cpuNanoCores: 1e9, memoryBytes: 20, cpuSecondsTotal: 90, at: 2 * MINUTE });
    // The next read overlaps: the grain already counted adds nothing, the new one adds 0.25 x 60 s.
    const second = integrateUsage(
      first,
      { cpuMillicores: points(MINUTE, [1000, 250]), memoryBytes: points(MINUTE, [20, 30]) },
      MINUTE,
    );
    assert.deepEqual(second, { cpuNanoCores: 250e6, memoryBytes: 30, cpuSecondsTotal: 105, at: 3 * MINUTE });
  });

  it('keeps the previous figures when nothing new arrived, and has none before the first grain', () => {
    const previous = { cpuNanoCores: 1, memoryBytes: 2, cpuSecondsTotal: 3, at: 2 * MINUTE };
    assert.equal(
      integrateUsage(previous, { cpuMillicores: points(0, [9, 9]), memoryBytes: [] }, MINUTE),
      previous,
    );
    assert.equal(
      integrateUsage(undefined, { cpuMillicores: [], memoryBytes: points(0, [5]) }, MINUTE),
      undefined,
    );
  });

  it('takes memory of the same grain, else the latest, else the previous', () => {
    const cpu = points(0, [1, 1]);
    const sameGrain = integrateUsage(
      undefined,
      { cpuMillicores: cpu, memoryBytes: points(0, [7, 8]) },
      MINUTE,
    );
    assert.equal(sameGrain?.memoryBytes, 8);
    const older = integrateUsage(undefined, { cpuMillicores: cpu, memoryBytes: points(0, [7]) }, MINUTE);
    assert.equal(older?.memoryBytes, 7);
    const previous = { cpuNanoCores: 0, memoryBytes: 42, cpuSecondsTotal: 0, at: 0 };
    assert.equal(integrateUsage(previous, { cpuMillicores: cpu, memoryBytes: [] }, MINUTE)?.memoryBytes, 42);
  });

  it('the counter never decreases whatever the averages', () => {
    let usage = integrateUsage(undefined, { cpuMillicores: points(0, [3]), memoryBytes: [] }, MINUTE);
    for (const [minute, value] of [
      [1, 0],
      [2, 900],
      [3, 0.5],
      [5, 10],
    ] as const) {
      const before = usage?.cpuSecondsTotal ?? 0;
      usage = integrateUsage(
        usage,
        { cpuMillicores: points(minute * MINUTE, [value]), memoryBytes: [] },
        MINUTE,
      );
      assert.ok((usage?.cpuSecondsTotal ?? 0) >= before);
    }
  });
});

describe('sumUsage', () => {
  it('adds figures, keeps the latest time; nothing for nothing', () => {
    assert.deepEqual(
      sumUsage([
        { cpuNanoCores: 1, memoryBytes: 2, cpuSecondsTotal: 3, at: 10 },
        { cpuNanoCores: 10, memoryBytes: 20, cpuSecondsTotal: 30, at: 5 },
      ]),
      { cpuNanoCores: 11, memoryBytes: 22, cpuSecondsTotal: 33, at: 10 },
    );
    assert.equal(sumUsage([]), undefined);
  });
});

describe('usageTargets', () => {
  const pod = (name: string, phase: string): V1Pod => ({
    metadata: { name, namespace: 'ns', uid: `uid-${name}` },
    status: { phase },
  });
  it('only Running pods whose group this connector owns, with their group names', () => {
    const owned = (p: V1Pod): string | undefined =>
      p.metadata?.name === 'd' ? undefined : `group-of-${p.metadata?.name ?? ''}`;
    assert.deepEqual(
      usageTargets(
        [pod('a', 'Running'), pod('b', 'Pending'), pod('c', 'Succeeded'), pod('d', 'Running'), {}],
        owned,
      ),
      [{ uid: 'uid-a', namespace: 'ns', name: 'a', groupName: 'group-of-a' }],
    );
  });
});

/** A Monitor that answers every group with a constant figure per grain and counts its calls. */
class FakeMonitor implements GroupMetricsApi {
  readonly calls: { group: string; at: number }[] = [];
  millicores = 500;
  failing = new Set<string>();
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  read(groupName: string, window: { from: number; to: number }): Promise<GroupUsageSeries> {
    this.calls.push({ group: groupName, at: this.now() });
    if (this.failing.has(groupName)) return Promise.reject(new ClassifiedError('Throttled', 'slow down'));
    const cpuMillicores: UsagePoint[] = [];
    // Completed grains only, as Azure publishes them.
    for (let start = Math.ceil(window.from / MINUTE) * MINUTE; start + MINUTE <= window.to; start += MINUTE) {
      cpuMillicores.push({ start, value: this.millicores });
    }
    const memoryBytes = cpuMillicores.map((point) => ({ start: point.start, value: 1000 }));
    return Promise.resolve({
      grainMs: MINUTE,
      containers: new Map([['app', { cpuMillicores, memoryBytes }]]),
    });
  }
}

function targets(count: number): UsageTarget[] {
  return Array.from({ length: count }, (_, i) => ({
    uid: `uid-${i}`,
    namespace: 'ns',
    name: `pod-${i}`,
    groupName: `ns-pod-${i}`,
  }));
}

function setup(options: { pods: number; settings?: Partial<ResourceUsageSettings> }) {
  let pods = targets(options.pods);
  const clock = new FakeClock(10 * MINUTE);
  const monitor = new FakeMonitor(() => clock.now());
  const usage = new ResourceUsage({
    api: monitor,
    targets: () => pods,
    clock,
    logger: silentLogger(),
    settings: {
      refreshIntervalMs: MINUTE,
      maxReadsPerMinute: 1000,
      tickMs: 5000,
      lookbackMs: 5 * MINUTE,
      concurrency: 4,
      ...options.settings,
    },
  });
  return {
    usage,
    monitor,
    advance: (ms: number) => clock.advance(ms),
    setPods: (next: UsageTarget[]) => {
      pods = next;
    },
  };
}

/** Runs ticks every `tickMs` for `durationMs` of fake time. */
async function runFor(ctx: ReturnType<typeof setup>, durationMs: number, tickMs = 5000): Promise<void> {
  for (let elapsed = 0; elapsed < durationMs; elapsed += tickMs) {
    await ctx.usage.refresh();
    await ctx.advance(tickMs);
  }
}

describe('ResourceUsage', () => {
  it('reads each Running group at most once per refresh interval', async () => {
    const ctx = setup({ pods: 3 });
    await runFor(ctx, 10 * MINUTE);
    assert.equal(ctx.monitor.calls.length, 30, '3 groups x 10 refresh intervals');
    for (const group of ['ns-pod-0', 'ns-pod-1', 'ns-pod-2']) {
      const times = ctx.monitor.calls.filter((call) => call.group === group).map((call) => call.at);
      for (let i = 1; i < times.length; i += 1) {
        assert.ok((times[i] ?? 0) - (times[i - 1] ?? 0) >= MINUTE, `${group} read twice within a minute`);
      }
    }
  });

  it('never reads more than the cap in any minute, whatever the pod count, oldest figures first', async () => {
    const ctx = setup({ pods: 50, settings: { maxReadsPerMinute: 12 } });
    await runFor(ctx, 10 * MINUTE);
    const times = ctx.monitor.calls.map((call) => call.at);
    for (const start of times) {
      const inMinute = times.filter((t) => t >= start && t < start + MINUTE).length;
      assert.ok(inMinute <= 12, `${inMinute} reads in the minute from ${start}`);
    }
    assert.equal(times.length, 120, 'the cap is used, not wasted');
    // Round-robin: every group got read before any was read a third time.
    const perGroup = new Map<string, number>();
    for (const call of ctx.monitor.calls) perGroup.set(call.group, (perGroup.get(call.group) ?? 0) + 1);
    assert.deepEqual(new Set(perGroup.values()), new Set([2, 3]));
  });

  it('however often it is asked to refresh, the cap holds', async () => {
    const ctx = setup({ pods: 50, settings: { maxReadsPerMinute: 12 } });
    for (let i = 0; i < 100; i += 1) {
      await ctx.usage.refresh();
      await ctx.advance(100);
    }
    assert.equal(ctx.monitor.calls.length, 12);
  });

  it('spreads a burst of new groups over the minute instead of reading them all in one tick', async () => {
    const ctx = setup({ pods: 100, settings: { maxReadsPerMinute: 120, tickMs: 5000 } });
    await ctx.usage.refresh();
    assert.equal(ctx.monitor.calls.length, 10, '120 a minute is 10 per 5-second tick');
  });

  it('serves cached figures between reads; pods and the node sum them', async () => {
    const ctx = setup({ pods: 2 });
    await ctx.usage.refresh();
    const first = ctx.usage.snapshot();
    assert.equal(first.pods.length, 2);
    assert.deepEqual(first.pods[0]?.containers.get('app'), {
      cpuNanoCores: 500e6,
      memoryBytes: 1000,
      cpuSecondsTotal: 5 * 30,
      at: 10 * MINUTE,
    });
    assert.deepEqual(first.node, {
      cpuNanoCores: 1e9,
      memoryBytes: 2000,
      cpuSecondsTotal: 300,
      at: 10 * MINUTE,
    });
    await ctx.advance(30_000);
    await ctx.usage.refresh();
    assert.equal(ctx.monitor.calls.length, 2, 'no read within the refresh interval');
    assert.deepEqual(ctx.usage.snapshot(), first);
  });

  it('keeps the figures it has when a read fails, and waits a refresh interval before trying again', async () => {
    const ctx = setup({ pods: 1 });
    await ctx.usage.refresh();
    const before = ctx.usage.snapshot();
    ctx.monitor.failing.add('ns-pod-0');
    await ctx.advance(MINUTE);
    await ctx.usage.refresh();
    await ctx.advance(5000);
    await ctx.usage.refresh();
    assert.equal(ctx.monitor.calls.length, 2);
    assert.deepEqual(ctx.usage.snapshot(), before);
  });

  it('forgets pods that stopped running; the node counter keeps what they used', async () => {
    const ctx = setup({ pods: 2 });
    await ctx.usage.refresh();
    const counterBefore = ctx.usage.snapshot().node?.cpuSecondsTotal;
    assert.equal(counterBefore, 300);
    ctx.setPods(targets(1));
    await ctx.advance(MINUTE);
    await ctx.usage.refresh();
    const after = ctx.usage.snapshot();
    assert.equal(after.pods.length, 1);
    assert.equal(after.node?.cpuNanoCores, 500e6, 'the current figure is the remaining pod’s');
    assert.equal(after.node.cpuSecondsTotal, 330, 'the gone pod’s 300 stay; the other adds 30');
  });

  it('a pod re-created under the same name starts from nothing (keyed by UID)', async () => {
    const ctx = setup({ pods: 1 });
    await runFor(ctx, 3 * MINUTE);
    ctx.setPods(targets(1).map((target) => ({ ...target, uid: 'new-uid' })));
    await ctx.usage.refresh();
    const [pod] = ctx.usage.snapshot().pods;
    assert.equal(pod?.target.uid, 'new-uid');
    assert.equal(pod.total.cpuSecondsTotal, 150, 'only the new read’s five grains');
  });
});
