// The Azure Monitor edge: CPU and memory of one container group's containers, per time grain, from
// Metrics - List (`Microsoft.Insights/metrics` on the group's resource) through Resource Manager with
// @azure/arm-monitor, so it uses the container-instance client's credential, endpoint and trust.
// One call per read: both metrics, averaged, split by the `containerName` dimension.
import type { MonitorClient } from '@azure/arm-monitor';
import { armCall, type ArmCallContext } from './aci.ts';

/** ACI's metric names (Azure Monitor's supported metrics for Microsoft.ContainerInstance/containerGroups). */
export const CPU_METRIC = 'CpuUsage';
export const MEMORY_METRIC = 'MemoryUsage';
/** ACI's finest grain; Azure answers with the grain it used in the response's `interval`. */
export const REQUESTED_GRAIN = 'PT1M';
export const CONTAINER_DIMENSION = 'containerName';

/** One grain's average: `start` is the bucket's timestamp (its beginning), in ms. */
export interface UsagePoint {
  start: number;
  value: number;
}

/** What one read returned: per container, the grains that carry an average, oldest first. */
export interface GroupUsageSeries {
  grainMs: number;
  containers: Map<string, { cpuMillicores: UsagePoint[]; memoryBytes: UsagePoint[] }>;
}

export interface GroupMetricsApi {
  /** The group's per-container CPU (millicores) and memory (bytes) averages over [from, to). */
  read(groupName: string, window: { from: number; to: number }): Promise<GroupUsageSeries>;
}

/** The parts of Metrics - List's response this reads (the SDK's `Response`). */
export interface MetricsResponse {
  interval?: string;
  value: {
    name: { value: string };
    timeseries?: {
      metadatavalues?: { name?: { value: string }; value?: string }[];
      data?: { timeStamp: Date; average?: number }[];
    }[];
  }[];
}

const DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;

/** An ISO 8601 duration (`PT1M`, `PT5S`, `PT1H`, `P1D`) in ms; undefined when it is not one. */
export function parseDuration(text: string | undefined): number | undefined {
  const match = DURATION.exec(text ?? '');
  if (match === null || text === 'P' || text === 'PT') return undefined;
  const [, days = '0', hours = '0', minutes = '0', seconds = '0'] = match;
  const ms = ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60_000 + Number(seconds) * 1000;
  return ms > 0 ? ms : undefined;
}

/**
 * The series of one response. Timeseries without a container name (Azure sends none without the
 * dimension filter) and grains without an average (no data yet, or a gap) are left out.
 */
export function parseMetricsResponse(response: MetricsResponse): GroupUsageSeries {
  const containers: GroupUsageSeries['containers'] = new Map();
  for (const metric of response.value) {
    const key =
      metric.name.value === CPU_METRIC
        ? 'cpuMillicores'
        : metric.name.value === MEMORY_METRIC
          ? 'memoryBytes'
          : undefined;
    if (key === undefined) continue;
    for (const series of metric.timeseries ?? []) {
      // Azure answers the dimension's name in lower case ("containername").
      const container = series.metadatavalues?.find(
        (m) => m.name?.value.toLowerCase() === CONTAINER_DIMENSION.toLowerCase(),
      )?.value;
      if (container === undefined) continue;
      const entry = containers.get(container) ?? { cpuMillicores: [], memoryBytes: [] };
      entry[key] = (series.data ?? [])
        .filter((point) => typeof point.average === 'number' && Number.isFinite(point.average))
        .map((point) => ({ start: point.timeStamp.getTime(), value: Math.max(0, point.average ?? 0) }))
        .sort((a, b) => a.start - b.start);
      containers.set(container, entry);
    }
  }
  return { grainMs: parseDuration(response.interval) ?? 60_000, containers };
}

export class AzureMonitorMetrics implements GroupMetricsApi {
  private readonly monitor: MonitorClient;
  private readonly groupsScope: string;
  private readonly context: ArmCallContext;

  constructor(options: {
    monitor: MonitorClient;
    subscriptionId: string;
    resourceGroup: string;
    /** Monitor failures leave the node's health alone: pods are served without metrics. */
    context: Omit<ArmCallContext, 'health'>;
  }) {
    this.monitor = options.monitor;
    // The SDK's URL template is `/{+resourceUri}/providers/...`: the URI goes without its leading slash.
    this.groupsScope = `subscriptions/${options.subscriptionId}/resourceGroups/${options.resourceGroup}/providers/Microsoft.ContainerInstance/containerGroups`;
    this.context = options.context;
  }

  read(groupName: string, window: { from: number; to: number }): Promise<GroupUsageSeries> {
    return armCall(this.context, 'metrics', async () => {
      const response = await this.monitor.metrics.list(`${this.groupsScope}/${groupName}`, {
        metricnames: `${CPU_METRIC},${MEMORY_METRIC}`,
        aggregation: 'average',
        interval: REQUESTED_GRAIN,
        timespan: `${new Date(window.from).toISOString()}/${new Date(window.to).toISOString()}`,
        filter: `${CONTAINER_DIMENSION} eq '*'`,
      });
      return parseMetricsResponse(response);
    });
  }
}
