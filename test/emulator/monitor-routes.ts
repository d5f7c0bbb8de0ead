// Metrics - List on a container group (GET {group id}/providers/Microsoft.Insights/metrics), parsed as
// Azure Monitor reads it: metricnames, aggregation, interval, timespan and `$filter` on containerName.
// Monitor answers its own errors as `{"code","message"}` (not ARM's `{"error":{...}}`), e.g. 400
// BadRequest "Failed to find metric configuration ..." for a metric name ACI does not have.
import type { Request, Response, Router } from 'express';
import type { EmulatorState } from './state.ts';
import {
  ACI_GRAINS_MS,
  ACI_METRICS,
  AGGREGATIONS,
  metricsResponse,
  type Aggregation,
  type AciMetricName,
  type MetricsQuery,
  type MonitorTiming,
  type UsageScript,
} from './monitor.ts';

export const METRICS_PATH =
  '/resourceGroups/:resourceGroup/providers/Microsoft.ContainerInstance/containerGroups/:name/providers/Microsoft.Insights/metrics';

/** Azure Monitor's own error body. */
class MonitorError extends Error {
  readonly code = 'BadRequest';
}

const HOUR_MS = 3_600_000;
/** Bounds one answer's work and size (unconfirmed: Azure's own limit on data points differs). */
const MAX_GRAINS = 10_000;

function text(req: Request, name: string): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function metricNames(value: string | undefined): AciMetricName[] {
  if (value === undefined || list(value).length === 0) {
    throw new MonitorError("Query parameter 'metricnames' is required. (unconfirmed wording)");
  }
  const known = Object.keys(ACI_METRICS) as AciMetricName[];
  return list(value).map((name) => {
    const found = known.find((candidate) => candidate.toLowerCase() === name.toLowerCase());
    if (found === undefined) {
      throw new MonitorError(
        `Failed to find metric configuration for provider: Microsoft.ContainerInstance, resource Type: containerGroups, metric: ${name}, Valid metrics: ${known.join(',')}`,
      );
    }
    return found;
  });
}

function aggregations(value: string | undefined): Aggregation[] {
  return list(value ?? 'average').map((name) => {
    const found = AGGREGATIONS.find((candidate) => candidate === name.toLowerCase());
    if (found === undefined) {
      throw new MonitorError(
        `Aggregation '${name}' is not supported for this metric; supported: ${AGGREGATIONS.join(', ')}. (unconfirmed wording)`,
      );
    }
    return found;
  });
}

function grain(value: string | undefined, timing: MonitorTiming): number {
  const requested = ACI_GRAINS_MS[(value ?? 'PT1M').toUpperCase()];
  if (requested === undefined) {
    throw new MonitorError(
      `Invalid interval '${String(value)}'; supported: ${Object.keys(ACI_GRAINS_MS).join(', ')}. (unconfirmed wording)`,
    );
  }
  return timing.grainMs ?? requested;
}

function timespan(value: string | undefined, now: number): { from: number; to: number } {
  if (value === undefined) return { from: now - HOUR_MS, to: now };
  const [fromText = '', toText = ''] = value.split('/');
  const from = Date.parse(fromText);
  const to = Date.parse(toText);
  if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to) {
    throw new MonitorError(
      `Invalid timespan '${value}': expected 'startTime/endTime' in ISO 8601. (unconfirmed wording)`,
    );
  }
  return { from, to };
}

const CONTAINER_FILTER = /^\s*containerName\s+eq\s+'([^']*)'\s*$/i;

function containers(filter: string | undefined): MetricsQuery['containers'] {
  if (filter === undefined) return { split: false };
  const match = CONTAINER_FILTER.exec(filter);
  if (match === null) {
    throw new MonitorError(
      `Invalid $filter '${filter}': the only dimension of these metrics is containerName. (unconfirmed wording)`,
    );
  }
  const name = match[1] ?? '*';
  return name === '*' ? { split: true } : { split: true, only: name };
}

export function monitorRoutes(
  router: Router,
  deps: { state: EmulatorState; script: UsageScript; timing: MonitorTiming; clock: () => number },
): void {
  router.get(METRICS_PATH, (req: Request, res: Response) => {
    const now = deps.clock();
    const params = req.params as Record<string, string>;
    // A group that does not exist is ARM's 404 ResourceNotFound, thrown before the query is read.
    const record = deps.state.getGroup(params['resourceGroup'] ?? '', params['name'] ?? '', now);
    let query: MetricsQuery;
    try {
      const window = timespan(text(req, 'timespan'), now);
      query = {
        metrics: metricNames(text(req, 'metricnames')),
        aggregations: aggregations(text(req, 'aggregation')),
        grainMs: grain(text(req, 'interval'), deps.timing),
        containers: containers(text(req, '$filter')),
        ...window,
      };
      if ((query.to - query.from) / query.grainMs > MAX_GRAINS) {
        throw new MonitorError(
          `The query asks for more than ${MAX_GRAINS} points per series; shorten the timespan or widen the interval. (unconfirmed wording)`,
        );
      }
    } catch (error) {
      if (!(error instanceof MonitorError)) throw error;
      res.status(400).json({ code: error.code, message: error.message });
      return;
    }
    res.json(
      metricsResponse(record, query, {
        script: deps.script,
        ingestionDelayMs: deps.timing.ingestionDelayMs,
        now,
      }),
    );
  });
}
