// The connector's Prometheus metrics, registered on the registry main.ts creates.
import { Counter, Gauge, Histogram, LATENCY_BUCKETS, type Registry } from '../runtime/metrics.ts';

export interface ConnectorMetrics {
  armRequests: Counter<'operation' | 'outcome'>;
  armSeconds: Histogram<'operation'>;
  reconcileSeconds: Histogram<'outcome'>;
  retries: Counter<'kind'>;
  groupCreates: Counter;
  groupDeletes: Counter<'reason'>;
  statusUpdates: Counter;
  trackedGroups: Gauge;
  queueDepth: Gauge;
}

export function createConnectorMetrics(registry: Registry): ConnectorMetrics {
  const registers = [registry];
  return {
    armRequests: new Counter({
      name: 'aci_arm_requests_total',
      help: 'Azure Resource Manager calls by operation and outcome (ok or the error kind).',
      labelNames: ['operation', 'outcome'],
      registers,
    }),
    armSeconds: new Histogram({
      name: 'aci_arm_request_seconds',
      help: 'Latency of Azure Resource Manager calls, including the SDK’s own retries.',
      labelNames: ['operation'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    reconcileSeconds: new Histogram({
      name: 'aci_pod_reconcile_seconds',
      help: 'Time to reconcile one pod, by outcome.',
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    retries: new Counter({
      name: 'aci_pod_retries_total',
      help: 'Reconciles that will be retried, by error kind.',
      labelNames: ['kind'],
      registers,
    }),
    groupCreates: new Counter({
      name: 'aci_container_group_creates_total',
      help: 'Groups created.',
      registers,
    }),
    groupDeletes: new Counter({
      name: 'aci_container_group_deletes_total',
      help: 'Groups deleted, by reason (pod deleted, pod replaced, orphan).',
      labelNames: ['reason'],
      registers,
    }),
    statusUpdates: new Counter({
      name: 'aci_pod_status_updates_total',
      help: 'Pod status writes.',
      registers,
    }),
    trackedGroups: new Gauge({
      name: 'aci_container_groups',
      help: 'Container groups this node owns.',
      registers,
    }),
    queueDepth: new Gauge({
      name: 'aci_work_queue_depth',
      help: 'Pod keys waiting to be reconciled.',
      registers,
    }),
  };
}
