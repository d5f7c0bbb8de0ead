// RSS and heap of the connector's pod controller with N tracked pods (goal: under 200 MB RSS at
// 10,000). Method: one pod is run through the emulator and the real SDK (in a child process), and its
// list entry and instance view as the SDK returns them become the template of N groups served by an in-process
// ContainerGroupApi (fresh objects on every call, as the SDK deserializes them), so the measured
// process holds the connector's state and not the emulator's. The pods carry the metadata an API
// server sends (managed fields, labels, owner references). Then 15 minutes of virtual time run: every
// pod reconciled and its status written, lists every 10 s and instance-view reads within the budget.
//
//   npm run bench -- connector-memory [pods=10000]
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { ContainerGroup } from '@azure/arm-containerinstance';
import type { V1Pod } from '@kubernetes/client-node';
import { containerGroupName, TAGS } from '../../contract/index.ts';
import { createAzureClients } from '../../connector/azure-client.ts';
import { createConnectorMetrics } from '../../connector/metrics.ts';
import { ArmReadBudget } from '../../connector/read-budget.ts';
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

const podCount = Number(process.argv[2] ?? 10_000);
const MB = 1024 * 1024;

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

function groupFor(template: ContainerGroup, index: number): ContainerGroup {
  const copy = structuredClone(template);
  return {
    ...copy,
    name: containerGroupName('bench', `web-${String(index)}`, 'bench'),
    id: `${template.id ?? ''}-${String(index)}`,
    tags: { ...copy.tags, [TAGS.podName]: `web-${String(index)}`, [TAGS.podUid]: `uid-${String(index)}` },
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
  pods.set(`bench/web-${String(i)}`, { pod: podFor(i, config.nodeName), boundAt: clock.now() });
const names = [...Array(podCount).keys()].map((i) => groupFor(templates.listed, i).name ?? '');
const index = new Map(names.map((name, i) => [name, i]));
const controller = benchController({
  groups: {
    list: () => Promise.resolve(names.map((_name, i) => groupFor(templates.listed, i))),
    get: (name) => {
      const i = index.get(name);
      return Promise.resolve(i === undefined ? undefined : groupFor(templates.detail, i));
    },
    create: () => Promise.reject(new Error('every group exists')),
    remove: () => Promise.resolve(),
  },
  metrics: createConnectorMetrics(createRegistry({ component: 'bench', processMetrics: false })),
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
const memory = process.memoryUsage();
console.log(
  JSON.stringify({
    benchmark: 'connector-memory',
    method: `${String(podCount)} pods and groups tracked, 15 min of virtual time in ${String(round((performance.now() - realStart) / 1000))} s; groups shaped as the SDK returns the emulator's; after a full GC`,
    node: process.version,
    pods: podCount,
    running,
    rssMB: round(memory.rss / MB),
    heapUsedMB: round(memory.heapUsed / MB),
    externalMB: round(memory.external / MB),
    goalRssMB: 200,
    // What the controller adds to a process that already holds the pods (as the informer does).
    controllerHeapPerPodKiB: round((memory.heapUsed - before.heapUsed) / podCount / 1024, 2),
    beforeControllerMB: { rss: round(before.rss / MB), heapUsed: round(before.heapUsed / MB) },
  }),
);
await controller.shutdown();
