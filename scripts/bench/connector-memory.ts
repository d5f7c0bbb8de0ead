// RSS and heap of the connector's pod controller with N tracked pods (goal: under 200 MB RSS at
// 10,000). Method: one pod is run through the emulator and the real SDK (in a child process), and its
// list entry and instance view as the SDK returns them become the template of N groups that an in-process
// client serves to the connector's Azure edge (AciContainerGroups; fresh objects on every call, as the
// SDK deserializes them), so the measured
// process holds the connector's state and not the emulator's. The pods carry the metadata an API
// server sends (labels, owner references; managed fields too, which the connector's informer drops).
// Then 15 minutes of virtual time run: every pod reconciled and its status written, lists every
// 10 s and instance-view reads within the budget.
// The measured process runs with the Node flags of the connector's container (its command in
// manifests/connector/connector.yaml): without them V8 sizes its heap by this machine's memory, not
// the container's. RSS is read after a full GC and 10 s idle (as between two lists), and at its peak.
//
//   npm run bench -- connector-memory [pods=10000]
import { spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import type { ContainerGroup, ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import { RestError } from '@azure/core-rest-pipeline';
import { AciContainerGroups } from '../../connector/aci.ts';
import { shippedConnectorNodeFlags } from '../local/connector-flags.ts';
import { AzureHealth } from '../../connector/health.ts';
import type { V1Pod } from '@kubernetes/client-node';
import { containerGroupName, TAGS } from '../../contract/index.ts';
import { createAzureClients } from '../../connector/azure-client.ts';
import { createConnectorMetrics } from '../../connector/metrics.ts';
import { ArmReadBudget } from '../../connector/read-budget.ts';
import { withoutManagedFields } from '../../runtime/informer.ts';
import { createRegistry } from '../../runtime/metrics.ts';
import { clientSettingsFor } from '../../test/emulator/testing.ts';
import {
  benchController,
  defaultConfig,
  type PodRecord,
  round,
  startWorld,
  VirtualTimers,
} from './support/connector-world.ts';

const MEASURE = '--measure';
const MB = 1024 * 1024;

const nodeFlags = shippedConnectorNodeFlags();
if (process.argv[2] !== '--templates' && process.argv[2] !== MEASURE) {
  const measured = spawnSync(
    process.execPath,
    ['--expose-gc', ...nodeFlags, import.meta.filename, MEASURE, process.argv[2] ?? '10000'],
    { stdio: 'inherit' },
  );
  process.exit(measured.status ?? 1);
}
const podCount = Number(process.argv[3] ?? 10_000);

// The templates: what the SDK returns for a running nginx pod's group, read in a child process so that
// the emulator's memory stays out of the figures.
if (process.argv[2] === '--templates') {
  const world = await startWorld({});
  world.bind(0);
  await world.clock.run(() => world.running() === 1, 600_000);
  const { client } = createAzureClients({ ...clientSettingsFor(world.emulator), trustPublicRoots: false });
  const listed: ContainerGroup[] = [];
  for await (const group of client.containerGroups.listByResourceGroup(world.emulator.resourceGroup))
    listed.push(group);
  const detail = await client.containerGroups.get(world.emulator.resourceGroup, listed[0]?.name ?? '');
  await world.close();
  console.log(JSON.stringify({ listed: listed[0] ?? detail, detail }));
  process.exit(0);
}
const child = spawnSync(process.execPath, [import.meta.filename, '--templates'], { encoding: 'utf8' });
if (child.status !== 0) throw new Error(`reading the templates failed: ${child.stderr}`);
const templates = JSON.parse(child.stdout) as { listed: ContainerGroup; detail: ContainerGroup };
const listedText = JSON.stringify(templates.listed);
const detailText = JSON.stringify(templates.detail);

/** The SDK's date-time fields of a container group (ContainerState, Event): it makes Dates of them. */
const DATE_FIELDS = new Set(['startTime', 'finishTime', 'firstTimestamp', 'lastTimestamp']);

/**
 * A group as the SDK hands it over: JSON.parse of ARM's answer (which shares repeated short strings;
 * a structured clone, used before, copies each and cost 40% more heap per group), then Dates.
 */
function groupFor(template: string, index: number): ContainerGroup {
  const group = JSON.parse(template, (key, value: unknown) =>
    DATE_FIELDS.has(key) && typeof value === 'string' ? new Date(value) : value,
  ) as ContainerGroup;
  return {
    ...group,
    name: containerGroupName('bench', `web-${String(index)}`, 'bench'),
    id: `${group.id ?? ''}-${String(index)}`,
    tags: { ...group.tags, [TAGS.podName]: `web-${String(index)}`, [TAGS.podUid]: `uid-${String(index)}` },
  };
}

function podFor(index: number, nodeName: string): V1Pod {
  const name = `web-${String(index)}`;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'bench',
      uid: `uid-${String(index)}`,
      resourceVersion: String(100_000 + index),
      creationTimestamp: new Date(Date.UTC(2026, 0, 1)),
      labels: { app: 'web', 'pod-template-hash': '7d4b9c8f6d' },
      annotations: { 'kubernetes.io/psp': 'restricted' },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web-7d4b9c8f6d',
          uid: 'rs-uid',
          controller: true,
        },
      ],
      managedFields: [
        {
          manager: 'kube-controller-manager',
          operation: 'Update',
          apiVersion: 'v1',
          time: new Date(Date.UTC(2026, 0, 1)),
          fieldsType: 'FieldsV1',
          fieldsV1: { 'f:metadata': { 'f:labels': { 'f:app': {} } }, 'f:spec': { 'f:containers': {} } },
        },
      ],
    },
    spec: {
      nodeName,
      containers: [
        {
          name: 'nginx',
          image: 'nginx',
          ports: [{ containerPort: 80, protocol: 'TCP' }],
          resources: { requests: { cpu: '250m', memory: '256Mi' } },
        },
      ],
      tolerations: [{ key: 'virtual-kubelet.io/provider', operator: 'Exists', effect: 'NoSchedule' }],
    },
    status: { phase: 'Pending' },
  };
}

const config = defaultConfig();
const clock = new VirtualTimers();
const pods = new Map<string, PodRecord>();
for (let i = 0; i < podCount; i += 1)
  pods.set(`bench/web-${String(i)}`, {
    // What the connector's pod informer keeps of it (connector/kube.ts).
    pod: withoutManagedFields(podFor(i, config.nodeName)),
    boundAt: clock.now(),
  });
const names = [...Array(podCount).keys()].map((i) => groupFor(listedText, i).name ?? '');
const index = new Map(names.map((name, i) => [name, i]));
const metrics = createConnectorMetrics(createRegistry({ component: 'bench', processMetrics: false }));
// The connector's own Azure edge over a client that answers as the SDK would (a list yields group
// after group as its pages arrive), so what the edge keeps of each answer is measured too.
const client = {
  containerGroups: {
    *listByResourceGroup() {
      for (let i = 0; i < podCount; i += 1) yield groupFor(listedText, i);
    },
    get: (_resourceGroup: string, name: string) => {
      const i = index.get(name);
      return i === undefined
        ? Promise.reject(new RestError('not found', { statusCode: 404 }))
        : Promise.resolve(groupFor(detailText, i));
    },
  },
} as unknown as ContainerInstanceManagementClient;
const controller = benchController({
  groups: new AciContainerGroups({
    client,
    resourceGroup: 'bench',
    region: 'westus',
    metrics,
    health: new AzureHealth(),
  }),
  metrics,
  clock,
  config,
  pods,
  region: 'westus',
  createLimits: config.createLimits,
  // In-process: no ARM figures come back, so the budget is the bucket's refill alone.
  readBudget: new ArmReadBudget({ clock, share: config.timing.readBudgetShare }),
});
global.gc?.();
const before = process.memoryUsage();
const realStart = performance.now();
controller.start(new AbortController().signal);
for (const record of pods.values()) controller.enqueue(record.pod);
await clock.run(() => false, 15 * 60_000);
const running = [...pods.values()].filter((r) => r.runningAt !== undefined).length;
global.gc?.();
// A connector idles between lists: V8 hands freed pages back only then, if at all.
await sleep(10_000);
global.gc?.();
const memory = process.memoryUsage();
console.log(
  JSON.stringify({
    benchmark: 'connector-memory',
    method: `${String(podCount)} pods and groups tracked, 15 min of virtual time in ${String(round((performance.now() - realStart) / 1000))} s; groups shaped as the SDK returns the emulator's; after a full GC and 10 s idle`,
    node: process.version,
    nodeFlags,
    pods: podCount,
    running,
    rssMB: round(memory.rss / MB),
    peakRssMB: round((process.resourceUsage().maxRSS * 1024) / MB),
    heapTotalMB: round(memory.heapTotal / MB),
    heapUsedMB: round(memory.heapUsed / MB),
    externalMB: round(memory.external / MB),
    arrayBuffersMB: round(memory.arrayBuffers / MB),
    goalRssMB: 200,
    // What the controller adds to a process that already holds the pods (as the informer does).
    controllerHeapPerPodKiB: round((memory.heapUsed - before.heapUsed) / podCount / 1024, 2),
    beforeControllerMB: { rss: round(before.rss / MB), heapUsed: round(before.heapUsed / MB) },
  }),
);
await controller.shutdown();
