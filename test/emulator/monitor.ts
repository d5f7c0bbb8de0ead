// Azure Monitor's platform metrics of container groups, as Metrics - List answers them: CpuUsage
// (millicores) and MemoryUsage (bytes) per container (dimension containerName), one average per
// grain. What each container uses is scripted by tests (a constant or a ramp, per resource group,
// group-name prefix and container), and only counts while the container runs. Pure: every
// function takes `now`; the HTTP layer is monitor-routes.ts.
import { ArmError } from './arm-error.ts';
import type { ContainerRuntime, ContainerState } from './lifecycle.ts';
import type { GroupRecord } from './views.ts';

/** A figure over time from the moment its rule was set: constant, or a linear ramp that then holds. */
export type UsageProfile = { constant: number } | { ramp: { from: number; to: number; overMs: number } };

/** Which containers a rule scripts (every field optional: absent matches all) and what they use. */
export interface UsageRule {
  resourceGroup?: string;
  /** Container group names starting with this (a Deployment's pods: `<namespace>-<deployment>`). */
  groupPrefix?: string;
  container?: string;
  cpuMillicores?: UsageProfile;
  memoryBytes?: UsageProfile;
}

export type MetricKind = 'cpuMillicores' | 'memoryBytes';

/** What a container uses when no rule says otherwise: an idle process (unconfirmed figures). */
export const IDLE_USAGE: Record<MetricKind, UsageProfile> = {
  cpuMillicores: { constant: 2 },
  memoryBytes: { constant: 48 * 1024 * 1024 },
};

/** ACI's metrics (Azure Monitor's supported metrics for Microsoft.ContainerInstance/containerGroups). */
export const ACI_METRICS = {
  CpuUsage: {
    kind: 'cpuMillicores',
    localizedName: 'CPU Usage',
    description: 'CPU usage on all cores in millicores.',
    unit: 'Count',
  },
  MemoryUsage: {
    kind: 'memoryBytes',
    localizedName: 'Memory Usage',
    description: 'Total memory usage in byte.',
    unit: 'Bytes',
  },
  // Valid names whose figures the emulator does not play: answered with no data (unconfirmed).
  NetworkBytesReceivedPerSecond: {
    kind: undefined,
    localizedName: 'Network Bytes Received Per Second',
    description: 'The network bytes received per second.',
    unit: 'Bytes',
  },
  NetworkBytesTransmittedPerSecond: {
    kind: undefined,
    localizedName: 'Network Bytes Transmitted Per Second',
    description: 'The network bytes transmitted per second.',
    unit: 'Bytes',
  },
} as const satisfies Record<
  string,
  { kind: MetricKind | undefined; localizedName: string; description: string; unit: string }
>;

export type AciMetricName = keyof typeof ACI_METRICS;
export const AGGREGATIONS = ['average', 'minimum', 'maximum'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** The time grains Azure Monitor offers for ACI's metrics. */
export const ACI_GRAINS_MS: Readonly<Record<string, number>> = {
  PT1M: 60_000,
  PT5M: 300_000,
  PT15M: 900_000,
  PT30M: 1_800_000,
  PT1H: 3_600_000,
  PT6H: 21_600_000,
  PT12H: 43_200_000,
  P1D: 86_400_000,
};

/** Samples per grain averaged into one data point. */
const SAMPLES_PER_GRAIN = 12;
/** Rule sets kept for past grains; older ones only matter to grains nobody asks for any more. */
const MAX_VERSIONS = 100;

const RULE_SHAPE =
  'Expected {"rules":[{"resourceGroup"?, "groupPrefix"?, "container"?, "cpuMillicores"?: profile, "memoryBytes"?: profile}]} ' +
  'with profile {"constant": n} or {"ramp": {"from": n, "to": n, "overMs": n > 0}}, n >= 0.';

function isFigure(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function isProfile(value: unknown): value is UsageProfile {
  if (typeof value !== 'object' || value === null) return false;
  const { constant, ramp } = value as { constant?: unknown; ramp?: unknown };
  if (ramp === undefined) return isFigure(constant);
  const { from, to, overMs } = (ramp ?? {}) as { from?: unknown; to?: unknown; overMs?: unknown };
  return constant === undefined && isFigure(from) && isFigure(to) && isFigure(overMs) && overMs > 0;
}

function isRule(value: unknown): value is UsageRule {
  if (typeof value !== 'object' || value === null) return false;
  const rule = value as Record<string, unknown>;
  const optionalText = (key: string): boolean => rule[key] === undefined || typeof rule[key] === 'string';
  const optionalProfile = (key: string): boolean => rule[key] === undefined || isProfile(rule[key]);
  return (
    optionalText('resourceGroup') &&
    optionalText('groupPrefix') &&
    optionalText('container') &&
    optionalProfile('cpuMillicores') &&
    optionalProfile('memoryBytes')
  );
}

/** The control API's body, checked: 400 InvalidUsage naming the expected shape otherwise. */
export function parseUsageRules(body: unknown): UsageRule[] {
  const rules = typeof body === 'object' && body !== null ? (body as { rules?: unknown }).rules : undefined;
  if (!Array.isArray(rules) || !rules.every(isRule)) throw new ArmError(400, 'InvalidUsage', RULE_SHAPE);
  return rules;
}

export function profileAt(profile: UsageProfile, sinceMs: number): number {
  if ('constant' in profile) return profile.constant;
  const { from, to, overMs } = profile.ramp;
  return from + (to - from) * Math.min(1, Math.max(0, sinceMs / overMs));
}

function matches(
  rule: UsageRule,
  target: { resourceGroup: string; group: string; container: string },
): boolean {
  return (
    (rule.resourceGroup === undefined ||
      rule.resourceGroup.toLowerCase() === target.resourceGroup.toLowerCase()) &&
    (rule.groupPrefix === undefined || target.group.startsWith(rule.groupPrefix)) &&
    (rule.container === undefined || rule.container === target.container)
  );
}

/** The scripted usage, kept per version so that past grains keep the figures they had. */
export class UsageScript {
  private versions: { since: number; rules: readonly UsageRule[] }[] = [];

  /** Rules from `now` on; the first rule that matches a container and names the metric wins. */
  set(rules: readonly UsageRule[], now: number): void {
    this.versions.push({ since: now, rules });
    if (this.versions.length > MAX_VERSIONS) this.versions.splice(0, this.versions.length - MAX_VERSIONS);
  }

  reset(): void {
    this.versions = [];
  }

  valueAt(
    target: { resourceGroup: string; group: string; container: string },
    kind: MetricKind,
    at: number,
  ): number {
    const version = this.versions.findLast((v) => v.since <= at);
    const rule = version?.rules.find((r) => r[kind] !== undefined && matches(r, target));
    const profile = rule?.[kind];
    return version !== undefined && profile !== undefined
      ? profileAt(profile, at - version.since)
      : profileAt(IDLE_USAGE[kind], 0);
  }
}

/** When the container ran: its previous run and its current one (a running one runs until `now`). */
export function runIntervals(container: ContainerRuntime, now: number): [number, number][] {
  const interval = (state: ContainerState | undefined): [number, number][] => {
    if (state?.startTime === undefined) return [];
    const start = Date.parse(state.startTime);
    if (state.state === 'Running') return [[start, now]];
    return state.finishTime === undefined ? [] : [[start, Date.parse(state.finishTime)]];
  };
  return [...interval(container.previousState), ...interval(container.currentState)];
}

export interface MetricsQuery {
  metrics: AciMetricName[];
  aggregations: Aggregation[];
  from: number;
  to: number;
  grainMs: number;
  /** Split by containerName: all (`*`), one name, or no split (one series, the containers' sum). */
  containers: { split: true; only?: string } | { split: false };
}

export interface MonitorTiming {
  /** Overrides the requested grain (the fast timeline's time compression; Azure's finest is PT1M). */
  grainMs: number | undefined;
  /** How long after a grain ends its point is published (Azure: about a minute, unconfirmed). */
  ingestionDelayMs: number;
}

export const MONITOR_TIMINGS = {
  /** One-second grains published at once: tests see figures within seconds. */
  fast: { grainMs: 1000, ingestionDelayMs: 0 },
  /** The grain asked for, published a minute after it ends (unconfirmed latency). */
  realistic: { grainMs: undefined, ingestionDelayMs: 60_000 },
} as const satisfies Record<string, MonitorTiming>;

interface DataPoint {
  timeStamp: string;
  average?: number;
  minimum?: number;
  maximum?: number;
}

/** Azure writes metric timestamps without milliseconds. */
function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function aggregate(
  samples: readonly number[],
  aggregations: readonly Aggregation[],
): Omit<DataPoint, 'timeStamp'> {
  if (samples.length === 0) return {};
  const values: Record<Aggregation, () => number> = {
    average: () => samples.reduce((sum, v) => sum + v, 0) / samples.length,
    minimum: () => Math.min(...samples),
    maximum: () => Math.max(...samples),
  };
  return Object.fromEntries(aggregations.map((name) => [name, values[name]()]));
}

/** An ISO 8601 duration for a grain, as the response's `interval` names it (PT1M, PT1S, P1D). */
export function isoDuration(ms: number): string {
  if (ms % 86_400_000 === 0) return `P${ms / 86_400_000}D`;
  if (ms % 3_600_000 === 0) return `PT${ms / 3_600_000}H`;
  if (ms % 60_000 === 0) return `PT${ms / 60_000}M`;
  return `PT${ms / 1000}S`;
}

/**
 * Samples of one grain: at evenly spaced instants, the sum over `members` that ran then (one
 * container, or the whole group without the split); none when nothing ran or the grain is not
 * published yet (ingestion delay).
 */
function grainSamples(
  { record, members }: { record: GroupRecord; members: readonly ContainerRuntime[] },
  grain: { start: number; ms: number },
  kind: MetricKind,
  deps: { script: UsageScript; ingestionDelayMs: number; now: number },
): number[] {
  if (grain.start + grain.ms + deps.ingestionDelayMs > deps.now) return [];
  const running = members.map((c) => ({ name: c.name, intervals: runIntervals(c, deps.now) }));
  const samples: number[] = [];
  const step = grain.ms / SAMPLES_PER_GRAIN;
  for (let i = 0; i < SAMPLES_PER_GRAIN; i += 1) {
    const at = grain.start + i * step + step / 2;
    const ran = running.filter((c) => c.intervals.some(([from, to]) => at >= from && at < to));
    if (ran.length === 0) continue;
    samples.push(
      ran.reduce(
        (sum, c) =>
          sum +
          deps.script.valueAt(
            { resourceGroup: record.resourceGroup, group: record.name, container: c.name },
            kind,
            at,
          ),
        0,
      ),
    );
  }
  return samples;
}

/**
 * The response body of Metrics - List for one container group. A container (or, without the split,
 * the group) with no published grain in the timespan has no timeseries: a new group answers `[]`.
 * Grains without data carry only their timeStamp.
 */
export function metricsResponse(
  record: GroupRecord,
  query: MetricsQuery,
  deps: { script: UsageScript; ingestionDelayMs: number; now: number },
): object {
  const first = Math.floor(query.from / query.grainMs) * query.grainMs;
  const grains: number[] = [];
  for (let start = first; start < query.to; start += query.grainMs) grains.push(start);
  const { containers: split } = query;
  const members = split.split
    ? record.runtime.containers
        .filter((c) => split.only === undefined || c.name === split.only)
        .map((c) => [c])
    : [record.runtime.containers];
  const resourceId = `/subscriptions/${record.subscriptionId}/resourceGroups/${record.resourceGroup}/providers/Microsoft.ContainerInstance/containerGroups/${record.name}`;
  let cost = 0;
  const value = query.metrics.map((name) => {
    const definition = ACI_METRICS[name];
    const { kind } = definition;
    const timeseries = members
      .map((group) => ({
        metadatavalues: split.split
          ? [
              {
                name: { value: 'containername', localizedValue: 'containername' },
                value: group[0]?.name ?? '',
              },
            ]
          : [],
        data: grains.map((start): DataPoint => ({
          timeStamp: timestamp(start),
          ...(kind !== undefined &&
            aggregate(
              grainSamples({ record, members: group }, { start, ms: query.grainMs }, kind, deps),
              query.aggregations,
            )),
        })),
      }))
      .filter((series) => series.data.some((point) => Object.keys(point).length > 1));
    cost += timeseries.length * grains.length;
    return {
      id: `${resourceId}/providers/Microsoft.Insights/metrics/${name}`,
      type: 'Microsoft.Insights/metrics',
      name: { value: name, localizedValue: definition.localizedName },
      displayDescription: definition.description,
      unit: definition.unit,
      timeseries,
      errorCode: 'Success',
    };
  });
  return {
    cost,
    timespan: `${timestamp(query.from)}/${timestamp(query.to)}`,
    interval: isoDuration(query.grainMs),
    value,
    namespace: 'Microsoft.ContainerInstance/containerGroups',
    resourceregion: record.spec.location,
  };
}
