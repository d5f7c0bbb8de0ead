// What the kubelet routes serve as pods' CPU and memory: Azure Monitor's per-container averages, read
// at most once per group per refresh interval, never more than a cap per minute, only for Running
// pods, and kept between reads. CPU time is a counter integrated from the averages (millicores x
// grain), so it only grows, as a kubelet's cumulative CPU seconds do; the node's counter adds every
// pod's increments and so never falls when a pod goes.
import type { V1Pod } from '@kubernetes/client-node';
import { classifyAzureError } from '../runtime/errors.ts';
import { stopOnAbort } from '../runtime/lifecycle.ts';
import type { Logger } from '../runtime/logger.ts';
import type { GroupMetricsApi, UsagePoint } from './monitor.ts';
import { CreatePacer } from './pacing.ts';
import type { Cancel, Timers } from '../runtime/clock.ts';

/** A Running pod whose container group is measured. */
export interface UsageTarget {
  uid: string;
  namespace: string;
  name: string;
  groupName: string;
}

/** One container's latest figures, or a pod's, or the node's (sums). */
export interface Usage {
  cpuNanoCores: number;
  memoryBytes: number;
  /** Core-seconds used: only grows. */
  cpuSecondsTotal: number;
  /** When the figures were true (ms): the end of the latest grain read. */
  at: number;
}

export interface PodUsage {
  target: UsageTarget;
  containers: Map<string, Usage>;
  total: Usage;
}

export interface UsageSnapshot {
  pods: PodUsage[];
  /** Undefined until some pod's figures were read. */
  node: Usage | undefined;
}

export interface ResourceUsageSettings {
  /** A group is read again only after this long (Azure Monitor's grain is a minute). */
  refreshIntervalMs: number;
  /** Cap on Monitor reads per minute, whatever the pod count. */
  maxReadsPerMinute: number;
  /** How often due groups are looked for; reads spread over ticks. */
  tickMs: number;
  /** How far back a read asks: more than the refresh interval plus Monitor's ingestion delay. */
  lookbackMs: number;
  /** Reads in flight at once. */
  concurrency: number;
}

export function defaultUsageSettings(
  refreshIntervalMs: number,
  maxReadsPerMinute: number,
): ResourceUsageSettings {
  return {
    refreshIntervalMs,
    maxReadsPerMinute,
    tickMs: Math.min(5000, refreshIntervalMs),
    lookbackMs: Math.max(5 * 60_000, 3 * refreshIntervalMs),
    concurrency: 4,
  };
}

/** The Running pods, the only ones whose groups are worth reading or reporting. */
export function runningPods(
  pods: readonly V1Pod[],
): { uid: string; namespace: string; name: string; pod: V1Pod }[] {
  return pods.flatMap((pod) => {
    const { uid, namespace, name } = pod.metadata ?? {};
    if (pod.status?.phase !== 'Running' || uid === undefined || namespace === undefined || name === undefined)
      return [];
    return [{ uid, namespace, name, pod }];
  });
}

/** The Running pods with the group this connector owns for each (the controller's ownedGroupFor). */
export function usageTargets(
  pods: readonly V1Pod[],
  groupOf: (pod: V1Pod) => string | undefined,
): UsageTarget[] {
  return runningPods(pods).flatMap(({ uid, namespace, name, pod }) => {
    const groupName = groupOf(pod);
    return groupName === undefined ? [] : [{ uid, namespace, name, groupName }];
  });
}

/**
 * Adds the grains that start at or after `previous.at` (the end of what was already counted) to
 * the counter; the latest grain gives the current figures. Undefined while there is no CPU grain.
 */
export function integrateUsage(
  previous: Usage | undefined,
  series: { cpuMillicores: readonly UsagePoint[]; memoryBytes: readonly UsagePoint[] },
  grainMs: number,
): Usage | undefined {
  const fresh = series.cpuMillicores.filter((point) => previous === undefined || point.start >= previous.at);
  const latest = fresh.at(-1);
  if (latest === undefined) return previous;
  const grainSeconds = grainMs / 1000;
  const added = fresh.reduce((sum, point) => sum + (point.value / 1000) * grainSeconds, 0);
  const memory =
    series.memoryBytes.find((point) => point.start === latest.start) ?? series.memoryBytes.at(-1);
  return {
    cpuNanoCores: Math.round(latest.value * 1e6),
    memoryBytes: Math.round(memory?.value ?? previous?.memoryBytes ?? 0),
    cpuSecondsTotal: (previous?.cpuSecondsTotal ?? 0) + added,
    at: latest.start + grainMs,
  };
}

/** Sums figures (a pod's containers, the node's pods); `at` is the latest. */
export function sumUsage(usages: Iterable<Usage>): Usage | undefined {
  let total: Usage | undefined;
  for (const usage of usages) {
    total = {
      cpuNanoCores: (total?.cpuNanoCores ?? 0) + usage.cpuNanoCores,
      memoryBytes: (total?.memoryBytes ?? 0) + usage.memoryBytes,
      cpuSecondsTotal: (total?.cpuSecondsTotal ?? 0) + usage.cpuSecondsTotal,
      at: Math.max(total?.at ?? 0, usage.at),
    };
  }
  return total;
}

function neverReadFirstThenOldest(a: GroupEntry, b: GroupEntry): number {
  if (a.lastReadAt === undefined || b.lastReadAt === undefined)
    return Number(a.lastReadAt !== undefined) - Number(b.lastReadAt !== undefined);
  return a.lastReadAt - b.lastReadAt;
}

interface GroupEntry {
  target: UsageTarget;
  lastReadAt: number | undefined;
  containers: Map<string, Usage>;
}

export interface ResourceUsageDeps {
  api: GroupMetricsApi;
  /** The pods to measure now (main.ts: usageTargets of the informer's pods). */
  targets: () => UsageTarget[];
  /** Reads the time and runs the refresh tick. */
  clock: Timers;
  logger: Logger;
  settings: ResourceUsageSettings;
}

export class ResourceUsage {
  private readonly deps: ResourceUsageDeps;
  /** Keyed by pod UID: a pod re-created under the same name starts from nothing. */
  private readonly groups = new Map<string, GroupEntry>();
  private readonly budget: CreatePacer;
  private nodeCpuSecondsTotal = 0;
  private nodeAt = 0;
  private running: Promise<void> | undefined;
  private stopTicks: Cancel | undefined;

  constructor(deps: ResourceUsageDeps) {
    this.deps = deps;
    // The same sliding window that paces creates: here one window of a minute.
    this.budget = new CreatePacer([{ limit: deps.settings.maxReadsPerMinute, windowMs: 60_000 }]);
  }

  /** Settles once reading stopped after the start signal aborted (the read in progress finished). */
  done: Promise<void> = Promise.resolve();

  /** Reads due groups now and then every tick until `signal` aborts; a tick still reading makes the next one wait. */
  start(signal: AbortSignal): void {
    void this.refresh();
    this.stopTicks = this.deps.clock.every(this.deps.settings.tickMs, () => {
      void this.refresh();
    });
    this.done = stopOnAbort(
      signal,
      () => this.stop(),
      (error) => {
        this.deps.logger.warn({ err: error }, 'stopping the usage reads failed');
      },
    );
  }

  async stop(): Promise<void> {
    this.stopTicks?.();
    this.stopTicks = undefined;
    await this.running;
  }

  /** One tick: reads the groups whose figures are older than the refresh interval, within the budget. */
  refresh(): Promise<void> {
    this.running ??= this.readDue().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  snapshot(): UsageSnapshot {
    const pods: PodUsage[] = [];
    for (const entry of this.groups.values()) {
      const total = sumUsage(entry.containers.values());
      if (total !== undefined) pods.push({ target: entry.target, containers: entry.containers, total });
    }
    const current = sumUsage(pods.map((pod) => pod.total));
    const node =
      current === undefined
        ? undefined
        : { ...current, cpuSecondsTotal: this.nodeCpuSecondsTotal, at: Math.max(this.nodeAt, current.at) };
    return { pods, node };
  }

  private async readDue(): Promise<void> {
    const { settings } = this.deps;
    const now = this.deps.clock.now();
    const targets = this.deps.targets();
    this.forgetAllBut(targets);
    const due = targets
      .map((target) => this.entryFor(target))
      .filter(
        (entry) => entry.lastReadAt === undefined || now - entry.lastReadAt >= settings.refreshIntervalMs,
      )
      .sort(neverReadFirstThenOldest);
    // Spread over the minute's ticks, and never past the cap whatever calls this.
    const perTick = Math.max(1, Math.ceil((settings.maxReadsPerMinute * settings.tickMs) / 60_000));
    const chosen: GroupEntry[] = [];
    for (const entry of due) {
      if (chosen.length >= perTick || this.budget.tryAcquire(now) > 0) break;
      entry.lastReadAt = now;
      chosen.push(entry);
    }
    const queue = [...chosen];
    const worker = async (): Promise<void> => {
      for (let entry = queue.shift(); entry !== undefined; entry = queue.shift()) await this.read(entry, now);
    };
    await Promise.all(Array.from({ length: Math.min(settings.concurrency, queue.length) }, worker));
  }

  private entryFor(target: UsageTarget): GroupEntry {
    const existing = this.groups.get(target.uid);
    if (existing !== undefined) return existing;
    const entry: GroupEntry = { target, lastReadAt: undefined, containers: new Map() };
    this.groups.set(target.uid, entry);
    return entry;
  }

  private forgetAllBut(targets: readonly UsageTarget[]): void {
    const live = new Set(targets.map((target) => target.uid));
    for (const uid of this.groups.keys()) if (!live.has(uid)) this.groups.delete(uid);
  }

  private async read(entry: GroupEntry, now: number): Promise<void> {
    const { groupName } = entry.target;
    try {
      const series = await this.deps.api.read(groupName, {
        from: now - this.deps.settings.lookbackMs,
        to: now,
      });
      for (const [container, points] of series.containers) {
        const previous = entry.containers.get(container);
        const next = integrateUsage(previous, points, series.grainMs);
        if (next === undefined || next === previous) continue;
        this.nodeCpuSecondsTotal += next.cpuSecondsTotal - (previous?.cpuSecondsTotal ?? 0);
        this.nodeAt = Math.max(this.nodeAt, next.at);
        entry.containers.set(container, next);
      }
    } catch (error) {
      // The figures already read keep being served; the group is tried again after a refresh interval.
      const classified = classifyAzureError(error);
      this.deps.logger.warn(
        { group: groupName, kind: classified.kind, err: classified.message },
        'reading container group metrics failed',
      );
    }
  }
}
