// The kubelet's resource-metrics routes, served from the Azure Monitor figures ResourceUsage keeps:
//   GET /metrics/resource  Prometheus text as a kubelet serves it (what metrics-server scrapes)
//   GET /stats/summary     the Summary API (stats/v1alpha1) JSON for the node and each pod
// Authorized as a kubelet does it: nodes/metrics and nodes/stats through a SubjectAccessReview.
// Rendering is pure; the router only gathers the pods and the figures.
import type { V1Pod } from '@kubernetes/client-node';
import express, { type Router } from 'express';
import type { PodCache } from './ports.ts';
import { runningPods, type Usage, type UsageSnapshot } from './resource-usage.ts';

export const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

/** The kubelet's resource metrics families (pkg/kubelet/metrics/collectors/resource_metrics.go). */
const FAMILIES = {
  container_cpu_usage_seconds_total: [
    'counter',
    'Cumulative cpu time consumed by the container in core-seconds',
  ],
  container_memory_working_set_bytes: ['gauge', 'Current working set of the container in bytes'],
  container_start_time_seconds: ['gauge', 'Start time of the container since unix epoch in seconds'],
  node_cpu_usage_seconds_total: ['counter', 'Cumulative cpu time consumed by the node in core-seconds'],
  node_memory_working_set_bytes: ['gauge', 'Current working set of the node in bytes'],
  pod_cpu_usage_seconds_total: ['counter', 'Cumulative cpu time consumed by the pod in core-seconds'],
  pod_memory_working_set_bytes: ['gauge', 'Current working set of the pod in bytes'],
} as const;

type Family = keyof typeof FAMILIES;

interface Sample {
  family: Family;
  labels: [string, string][];
  value: number;
  at: number;
}

function escapeLabel(value: string): string {
  return value.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

/** When each container of the pod last started, from its status (ms); a restart moves it. */
function containerStartTimes(pod: V1Pod | undefined): Map<string, number> {
  const times = new Map<string, number>();
  for (const status of pod?.status?.containerStatuses ?? []) {
    const started = status.state?.running?.startedAt;
    if (started !== undefined) times.set(status.name, new Date(started).getTime());
  }
  return times;
}

/**
 * The Prometheus text of /metrics/resource: families sorted by name, each with HELP and TYPE, every
 * sample with the time its figures were true (ms), as the kubelet writes them.
 */
export function renderResourceMetrics(
  snapshot: UsageSnapshot,
  podOf: (namespace: string, name: string) => V1Pod | undefined,
): string {
  const samples: Sample[] = [];
  for (const pod of snapshot.pods) {
    const { namespace, name } = pod.target;
    const starts = containerStartTimes(podOf(namespace, name));
    for (const [container, usage] of pod.containers) {
      const labels: [string, string][] = [
        ['container', container],
        ['namespace', namespace],
        ['pod', name],
      ];
      samples.push(
        { family: 'container_cpu_usage_seconds_total', labels, value: usage.cpuSecondsTotal, at: usage.at },
        { family: 'container_memory_working_set_bytes', labels, value: usage.memoryBytes, at: usage.at },
      );
      const started = starts.get(container);
      if (started !== undefined) {
        samples.push({ family: 'container_start_time_seconds', labels, value: started / 1000, at: usage.at });
      }
    }
    const labels: [string, string][] = [
      ['namespace', namespace],
      ['pod', name],
    ];
    samples.push(
      { family: 'pod_cpu_usage_seconds_total', labels, value: pod.total.cpuSecondsTotal, at: pod.total.at },
      { family: 'pod_memory_working_set_bytes', labels, value: pod.total.memoryBytes, at: pod.total.at },
    );
  }
  if (snapshot.node !== undefined) {
    const { node } = snapshot;
    samples.push(
      { family: 'node_cpu_usage_seconds_total', labels: [], value: node.cpuSecondsTotal, at: node.at },
      { family: 'node_memory_working_set_bytes', labels: [], value: node.memoryBytes, at: node.at },
    );
  }
  const lines: string[] = [];
  for (const family of (Object.keys(FAMILIES) as Family[]).sort()) {
    const ofFamily = samples.filter((sample) => sample.family === family);
    if (ofFamily.length === 0) continue;
    const [type, help] = FAMILIES[family];
    lines.push(`# HELP ${family} [STABLE] ${help}`, `# TYPE ${family} ${type}`);
    for (const sample of ofFamily) {
      const labels = sample.labels.map(([key, value]) => `${key}="${escapeLabel(value)}"`).join(',');
      lines.push(`${family}${labels === '' ? '' : `{${labels}}`} ${sample.value} ${sample.at}`);
    }
  }
  return lines.map((line) => `${line}\n`).join('');
}

interface CpuStats {
  time: string;
  usageNanoCores: number;
  usageCoreNanoSeconds: number;
}

interface MemoryStats {
  time: string;
  usageBytes: number;
  workingSetBytes: number;
}

function cpuAndMemory(usage: Usage): { cpu: CpuStats; memory: MemoryStats } {
  const time = new Date(usage.at).toISOString();
  return {
    cpu: {
      time,
      usageNanoCores: usage.cpuNanoCores,
      usageCoreNanoSeconds: Math.round(usage.cpuSecondsTotal * 1e9),
    },
    // ACI reports one memory figure ("MemoryUsage"): it stands for both usage and working set.
    memory: { time, usageBytes: usage.memoryBytes, workingSetBytes: usage.memoryBytes },
  };
}

/**
 * The Summary API body: the node (sums over pods) and every Running pod on it, with CPU and memory
 * where Azure Monitor has figures (a pod too new to have any is listed without them).
 */
export function summaryStats(
  snapshot: UsageSnapshot,
  pods: readonly V1Pod[],
  node: { name: string; startedAt: number },
): object {
  const usageByUid = new Map(snapshot.pods.map((pod) => [pod.target.uid, pod]));
  const podByUid = new Map(pods.map((pod) => [pod.metadata?.uid, pod]));
  return {
    node: {
      nodeName: node.name,
      startTime: new Date(node.startedAt).toISOString(),
      ...(snapshot.node !== undefined && cpuAndMemory(snapshot.node)),
    },
    pods: runningPods(pods).map((target) => {
      const pod = podByUid.get(target.uid);
      const usage = usageByUid.get(target.uid);
      const starts = containerStartTimes(pod);
      const podStart = pod?.status?.startTime;
      return {
        podRef: { name: target.name, namespace: target.namespace, uid: target.uid },
        ...(podStart !== undefined && { startTime: new Date(podStart).toISOString() }),
        containers: [...(usage?.containers ?? new Map<string, Usage>())].map(([name, figures]) => {
          const started = starts.get(name);
          return {
            name,
            ...(started !== undefined && { startTime: new Date(started).toISOString() }),
            ...cpuAndMemory(figures),
          };
        }),
        ...(usage !== undefined && cpuAndMemory(usage.total)),
      };
    }),
  };
}

export interface KubeletStatsOptions {
  usage: { snapshot(): UsageSnapshot };
  cache: PodCache;
  nodeName: string;
  /** The node's startTime in the Summary API: when this connector started. */
  startedAt: number;
}

export function kubeletStatsRouter(options: KubeletStatsOptions): Router {
  const router = express.Router();
  // Authorized with the rest of the kubelet API (nodes/metrics, nodes/stats): see kubelet-api.ts.
  router.get('/metrics/resource', (_req, res) => {
    const text = renderResourceMetrics(options.usage.snapshot(), (namespace, name) =>
      options.cache.get(namespace, name),
    );
    res.status(200).type(PROMETHEUS_TEXT).send(text);
  });
  router.get('/stats/summary', (_req, res) => {
    res.status(200).json(
      summaryStats(options.usage.snapshot(), options.cache.list(), {
        name: options.nodeName,
        startedAt: options.startedAt,
      }),
    );
  });
  return router;
}
