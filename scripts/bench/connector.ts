// Benchmark of the connector's pod controller through the real Azure SDK against the in-process ACI
// emulator (fast timeline, so the figures are the connector's own cost, not ACI's provisioning time):
// a burst of N pods from "bound" to "Running", ARM calls per pod, and heap per tracked pod.
//
//   npm run bench -- connector [pods=500]
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import {
  DEFAULT_ACI_LIMITS,
  DEFAULT_NETWORK_SETTINGS,
  type ReferencedObjects,
} from '../../contract/index.ts';
import { AciContainerGroups, throttleArmCalls } from '../../connector/aci.ts';
import { createAzureClients } from '../../connector/azure-client.ts';
import { AzureHealth } from '../../connector/health.ts';
import { createConnectorMetrics } from '../../connector/metrics.ts';
import { CreatePacer } from '../../connector/pacing.ts';
import { PodController } from '../../connector/pod-controller.ts';
import { systemTimers } from '../../runtime/clock.ts';
import { silentLogger } from '../../runtime/logger.ts';
import { createRegistry } from '../../runtime/metrics.ts';
import { startEmulator } from '../../test/emulator/server.ts';
import { clientSettingsFor } from '../../test/emulator/testing.ts';

const podCount = Number(process.argv[2] ?? 500);
const emulator = await startEmulator({
  timeline: 'fast',
  quotas: { containerGroups: podCount * 2, standardCores: podCount * 2 },
  rateLimits: {
    aciCreatesPerHour: podCount * 2,
    aciCreatesPer5Minutes: podCount * 2,
    armReads: { capacity: 100_000, refillPerSecond: 10_000 },
    armWrites: { capacity: 100_000, refillPerSecond: 10_000 },
  },
  pageSize: 100,
  // Fake addresses: 500 real listeners would put the emulator's own work into the connector's figures.
  addresses: 'documentation',
});
const { client } = createAzureClients(clientSettingsFor(emulator));
const clock = systemTimers;
throttleArmCalls([client], clock);
const metrics = createConnectorMetrics(createRegistry({ component: 'bench', processMetrics: false }));
const pods = new Map<string, V1Pod>();
const runningAt = new Map<string, number>();
const noReferences: ReferencedObjects = {
  configMaps: new Map(),
  secrets: new Map(),
  serviceAccount: undefined,
};

const controller = new PodController({
  groups: new AciContainerGroups({
    client,
    resourceGroup: emulator.resourceGroup,
    region: emulator.region,
    metrics,
    health: new AzureHealth(),
  }),
  pods: {
    updateStatus: (pod: V1Pod, status: V1PodStatus) => {
      const key = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
      const stored = pods.get(key);
      if (stored) stored.status = status;
      if (status.phase === 'Running' && !runningAt.has(key)) runningAt.set(key, performance.now());
      return Promise.resolve();
    },
    forceDelete: () => Promise.resolve(),
    fetchReferences: () => Promise.resolve(noReferences),
  },
  // The bench's pods set no args without command or workingDir: no registry is ever asked.
  images: { resolve: () => Promise.reject(new Error('the bench reads no image configurations')) },
  events: { record: () => undefined },
  cache: {
    synced: true,
    get: (namespace, name) => pods.get(`${namespace}/${name}`),
    list: () => [...pods.values()],
    subscribe: () => () => undefined,
  },
  namespaces: { synced: true, optedIn: () => true },
  clock,
  random: Math.random,
  logger: silentLogger(),
  metrics,
  settings: {
    region: emulator.region,
    nodeName: 'aci-connector',
    clusterId: 'bench',
    network: DEFAULT_NETWORK_SETTINGS,
    limits: DEFAULT_ACI_LIMITS,
  },
  hostIP: '10.0.0.4',
  pacer: new CreatePacer([{ limit: podCount * 2, windowMs: 300_000 }]),
  timing: {
    listIntervalMs: 1000,
    refreshIntervalMs: 60_000,
    maxReadsPerMinute: 6000,
    createGraceMs: 30_000,
    resyncIntervalMs: 600_000,
    backoff: { baseMs: 200, maxMs: 5000 },
    waitRetryMs: 1000,
    provisioningTimeoutMs: 900_000,
  },
});

controller.start(new AbortController().signal);
await controller.triggerSync();
global.gc?.();
const heapBefore = process.memoryUsage().heapUsed;
const started = performance.now();
for (let i = 0; i < podCount; i += 1) {
  const pod: V1Pod = {
    metadata: { name: `web-${i}`, namespace: 'bench', uid: `uid-${i}` },
    spec: {
      nodeName: 'aci-connector',
      containers: [{ name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }] }],
    },
    status: { phase: 'Pending' },
  };
  pods.set(`bench/web-${i}`, pod);
  controller.enqueue(pod);
}
const deadline = Date.now() + 300_000;
while (runningAt.size < podCount && Date.now() < deadline) await sleep(100);
const elapsedMs = performance.now() - started;
global.gc?.();
const heapAfter = process.memoryUsage().heapUsed;
const requests = await emulator.control.requests();
const byKind = (method: string, pattern: RegExp): number =>
  requests.filter((r) => r.method === method && pattern.test(r.path)).length;
const latencies = [...runningAt.values()].map((t) => t - started).sort((a, b) => a - b);
const percentile = (p: number): number =>
  latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;

console.log(
  JSON.stringify(
    {
      benchmark: 'connector burst (fast emulator timeline)',
      node: process.version,
      pods: podCount,
      running: runningAt.size,
      seconds: Number((elapsedMs / 1000).toFixed(2)),
      podsPerSecond: Number(((runningAt.size * 1000) / elapsedMs).toFixed(1)),
      boundToRunningMs: { p50: Math.round(percentile(0.5)), p99: Math.round(percentile(0.99)) },
      armCalls: {
        creates: byKind('PUT', /containerGroups\/[^/]+$/),
        gets: byKind('GET', /containerGroups\/[^/]+$/),
        lists: byKind('GET', /containerGroups$/),
        perPod: Number((requests.length / podCount).toFixed(2)),
      },
      heapPerPodKiB: Number(((heapAfter - heapBefore) / podCount / 1024).toFixed(1)),
    },
    null,
    2,
  ),
);
await controller.shutdown();
await emulator.close();
