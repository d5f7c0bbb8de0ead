// Benchmark of the capability check and the translation on a hostile pod of about 1.5 MiB (what etcd
// admits): hundreds of containers, mounts into a thousand emptyDirs, thousands of environment
// variables, and one 40,000-character cpu quantity. Before the linear-time work this shape froze the
// webhook for seconds; the goal is under 50 ms per check. Also times the webhook's review and the
// extender's filter of the same pod, in process.
//
//   npm run bench -- hostile-pod [rounds=20]
import { performance } from 'node:perf_hooks';
import type { V1Container, V1Pod, V1Volume } from '@kubernetes/client-node';
import {
  checkPod,
  DEFAULT_ACI_LIMITS,
  DEFAULT_NETWORK_SETTINGS,
  toContainerGroup,
} from '../../contract/index.ts';
import { createExtenderMetrics, createSchedulerCallHandler } from '../../extender/server.ts';
import { silentLogger } from '../../runtime/logger.ts';
import { createRegistry } from '../../runtime/metrics.ts';
import { benchWebhook } from './webhook.ts';

const rounds = Number(process.argv[2] ?? 20);
const CONTAINERS = 120;
const VOLUMES = 1_000;
const ENV_PER_CONTAINER = 105;

function container(index: number): V1Container {
  return {
    name: `app-${index}`,
    image: 'registry.example/team/app:1.2.3',
    command: ['sh', '-c', 'exec app --listen $(PORT) --name $(POD_NAME)'],
    env: Array.from({ length: ENV_PER_CONTAINER }, (_, variable) =>
      variable % 3 === 0
        ? { name: `FIELD_${variable}`, valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } }
        : { name: `VAR_${variable}`, value: `value-${variable}-$(FIELD_0)-${'x'.repeat(40)}` },
    ),
    volumeMounts: Array.from({ length: 40 }, (_, mount) => ({
      name: `scratch-${(index * 40 + mount) % VOLUMES}`,
      mountPath: `/data/${mount}`,
      subPath: `part-${mount}`,
    })),
    resources: { requests: { cpu: '10m', memory: '32Mi' } },
  };
}

function hostilePod(): V1Pod {
  const containers = Array.from({ length: CONTAINERS }, (_, index) => container(index));
  const first = containers[0];
  if (first) first.resources = { limits: { cpu: `${'1'.repeat(40_000)}x`, memory: '64Mi' } };
  const volumes: V1Volume[] = Array.from({ length: VOLUMES }, (_, index) => ({
    name: `scratch-${index}`,
    emptyDir: {},
  }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'hostile',
      namespace: 'shop',
      uid: 'u',
      labels: { app: 'web', 'azure.com/aci': 'required' },
    },
    spec: { containers, volumes },
  };
}

/** p50 and max of `rounds` runs; `run` may return a promise, which is awaited. */
async function time(run: () => unknown): Promise<{ p50Ms: number; maxMs: number }> {
  const samples: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const started = performance.now();
    await run();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  const round1 = (value: number): number => Math.round(value * 10) / 10;
  return {
    p50Ms: round1(samples[Math.floor(samples.length / 2)] ?? NaN),
    maxMs: round1(samples.at(-1) ?? NaN),
  };
}

const pod = hostilePod();
const json = JSON.stringify(pod);
const objects = {
  configMaps: new Map(),
  secrets: new Map(),
  serviceAccount: { metadata: { name: 'default' } },
};
const settings = {
  region: 'westus',
  nodeName: 'aci-connector',
  clusterId: 'c',
  limits: DEFAULT_ACI_LIMITS,
  network: DEFAULT_NETWORK_SETTINGS,
};
const problems = checkPod(pod);

const webhook = benchWebhook();
const review = (): unknown => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'u',
    resource: { group: '', version: 'v1', resource: 'pods' },
    operation: 'CREATE',
    namespace: 'shop',
    object: JSON.parse(json) as unknown,
  },
});
const registry = createRegistry({ component: 'bench-extender', processMetrics: false });
const filter = createSchedulerCallHandler({
  view: { node: () => undefined, namespace: () => undefined, notReadyReasons: () => [] },
  logger: silentLogger(),
  registry,
  metrics: createExtenderMetrics(registry),
});
const nodeNames = Array.from({ length: 5_000 }, (_, index) => `node-${index}`);

console.log(
  JSON.stringify(
    {
      benchmark: 'capability check and translation of a hostile 1.5 MiB pod, in process',
      node: process.version,
      podBytes: json.length,
      containers: CONTAINERS,
      volumes: VOLUMES,
      environmentVariables: CONTAINERS * ENV_PER_CONTAINER,
      mounts: CONTAINERS * 40,
      longestQuantityCharacters: 40_001,
      problems: problems.length,
      rounds,
      checkPodSpecOnly: await time(() => checkPod(pod)),
      checkPodWithObjects: await time(() => checkPod(pod, objects)),
      toContainerGroup: await time(() => toContainerGroup(pod, objects, settings)),
      webhookReviewIncludingJsonParse: await time(() => webhook.review('required', review())),
      extenderFilter5000NodeNames: await time(() => filter('filter', { Pod: pod, NodeNames: nodeNames })),
      rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
    },
    null,
    2,
  ),
);
