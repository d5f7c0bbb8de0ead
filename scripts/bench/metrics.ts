// Benchmark of the connector's Azure Monitor budget: N running container groups in the in-process
// emulator (Azure's one-minute grain and publishing delay, ARM's default read limits), the real
// ResourceUsage and Azure Monitor client, and one simulated hour on a shared fake clock. Reports
// Monitor reads per pod-hour, the longest a pod's figures went without a read, and throttled reads.
//
//   npm run bench -- metrics [pods=1000] [maxReadsPerMinute=300] [refreshSeconds=60]
import { performance } from 'node:perf_hooks';
import { throttleArmCalls } from '../../connector/aci.ts';
import { createAzureClients } from '../../connector/azure-client.ts';
import { createConnectorMetrics } from '../../connector/metrics.ts';
import { AzureMonitorMetrics, type GroupMetricsApi } from '../../connector/monitor.ts';
import { defaultUsageSettings, ResourceUsage, type UsageTarget } from '../../connector/resource-usage.ts';
import { systemTimers } from '../../runtime/clock.ts';
import { classifyAzureError } from '../../runtime/errors.ts';
import { silentLogger } from '../../runtime/logger.ts';
import { createRegistry } from '../../runtime/metrics.ts';
import { MONITOR_TIMINGS } from '../../test/emulator/monitor.ts';
import { startEmulator } from '../../test/emulator/server.ts';
import { clientSettingsFor, containerGroup } from '../../test/emulator/testing.ts';

const [podCount = 1000, maxReadsPerMinute = 300, refreshSeconds = 60] = process.argv.slice(2).map(Number);
const HOUR_MS = 3_600_000;
let now = Math.floor(Date.now() / 60_000) * 60_000;
// Time is simulated; a throttle's wait (none is expected) would still be a real sleep.
const clock = { ...systemTimers, now: () => now };
const emulator = await startEmulator({
  clock: clock.now,
  timeline: 'fast',
  monitor: MONITOR_TIMINGS.realistic,
  quotas: { containerGroups: podCount * 2, standardCores: podCount * 2 },
  // Creating the groups is setup, not what is measured; reads keep ARM's default bucket.
  rateLimits: {
    aciCreatesPerHour: podCount * 2,
    aciCreatesPer5Minutes: podCount * 2,
    armWrites: { capacity: 100_000, refillPerSecond: 10_000 },
  },
  tokenLifetimeSeconds: 7 * 24 * 3600,
});
const { client, monitor } = createAzureClients(clientSettingsFor(emulator));
throttleArmCalls([monitor], clock);

const targets: UsageTarget[] = Array.from({ length: podCount }, (_, i) => ({
  uid: `uid-${i}`,
  namespace: 'bench',
  name: `web-${i}`,
  groupName: `bench-web-${i}`,
}));
const queue = [...targets];
await Promise.all(
  Array.from({ length: 16 }, async () => {
    for (let target = queue.shift(); target !== undefined; target = queue.shift()) {
      // Time passes while creating, so that the operation polls stay within ARM's read bucket.
      now += 100;
      await client.containerGroups.beginCreateOrUpdate(
        emulator.resourceGroup,
        target.groupName,
        containerGroup(emulator.region),
      );
    }
  }),
);
now += 5 * 60_000; // every group provisioned and running for five minutes

const metrics = createConnectorMetrics(createRegistry({ component: 'bench', processMetrics: false }));
const azure = new AzureMonitorMetrics({
  monitor,
  subscriptionId: emulator.subscriptionId,
  resourceGroup: emulator.resourceGroup,
  context: { metrics },
});
const readsOf = new Map<string, number[]>();
const failures = new Map<string, number>();
const counting: GroupMetricsApi = {
  read: async (groupName, window) => {
    readsOf.set(groupName, [...(readsOf.get(groupName) ?? []), now]);
    try {
      return await azure.read(groupName, window);
    } catch (error) {
      const kind = classifyAzureError(error).kind;
      failures.set(kind, (failures.get(kind) ?? 0) + 1);
      throw error;
    }
  },
};
const settings = defaultUsageSettings(refreshSeconds * 1000, maxReadsPerMinute);
const usage = new ResourceUsage({
  api: counting,
  targets: () => targets,
  clock,
  logger: silentLogger(),
  settings,
});

const started = performance.now();
const end = now + HOUR_MS;
for (; now < end; now += settings.tickMs) await usage.refresh();
const wallSeconds = (performance.now() - started) / 1000;

const reads = [...readsOf.values()].reduce((sum, times) => sum + times.length, 0);
const gaps = [...readsOf.values()].flatMap((times) => times.slice(1).map((t, i) => t - (times[i] ?? t)));
const withFigures = usage.snapshot().pods.length;
console.log(
  JSON.stringify(
    {
      benchmark: 'Azure Monitor reads for resource metrics (one simulated hour)',
      node: process.version,
      pods: podCount,
      settings: { refreshSeconds, maxReadsPerMinute },
      monitorReads: reads,
      readsPerPodHour: Number((reads / podCount).toFixed(2)),
      readsPerSecond: Number((reads / 3600).toFixed(2)),
      podsWithFigures: withFigures,
      longestSecondsBetweenReadsOfAPod: Math.max(0, ...gaps) / 1000,
      failedReads: Object.fromEntries(failures),
      wallSeconds: Number(wallSeconds.toFixed(1)),
    },
    null,
    2,
  ),
);
await usage.stop();
await emulator.close();
