// The real kube-scheduler placing pods onto 1,000 registered Node objects (no kubelets), without and
// with the extender (in process, over HTTPS, the shipped extender settings), on a PRIVATE control plane
// this benchmark starts in a temporary directory and stops at the end. One JSON line: pods per second
// each way and the ratio. The pods are created first, then a scheduler starts and the clock runs from
// its readiness until every pod is bound, so pod creation does not count.
//
//   npm run bench -- scheduler [pods=300] [nodes=1000]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig, type V1Node } from '@kubernetes/client-node';
import { checkPod } from '../../contract/index.ts';
import { watchCluster } from '../../extender/cluster-view.ts';
import { selfSignedCredentials } from '../../extender/credentials.ts';
import { createExtenderApp, createExtenderMetrics } from '../../extender/server.ts';
import { systemTimers } from '../../runtime/clock.ts';
import { closeServer, listenHttps } from '../../runtime/https-service.ts';
import { silentLogger } from '../../runtime/logger.ts';
import { createRegistry } from '../../runtime/metrics.ts';
import { eachConcurrently } from '../../runtime/references.ts';
import { readClusterState } from '../controlplane/cluster.ts';
import type { SchedulerExtender } from '../controlplane/flags.ts';
import { startScheduler } from '../controlplane/scheduler.ts';
import { localExtender } from '../local/scheduler-extender.ts';
import { REPO_ROOT } from '../local/node-process.ts';

const pods = Number(process.argv[2] ?? 300);
const nodes = Number(process.argv[3] ?? 1000);
/** Bounds every wait: a scheduler that stops placing pods fails the run instead of hanging it. */
const PLACE_TIMEOUT_MS = 600_000;
const stateDir = mkdtempSync(join(tmpdir(), 'aci-burst-bench-scheduler-'));
const clusterCli = (command: string): void => {
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'cluster.ts'), command], {
    env: { ...process.env, ACI_BURST_CLUSTER_DIR: stateDir },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
};

function node(index: number): V1Node {
  const name = `bench-node-${String(index).padStart(4, '0')}`;
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
    status: {
      capacity: { cpu: '8', memory: '32Gi', pods: '110' },
      allocatable: { cpu: '8', memory: '32Gi', pods: '110' },
      conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date() }],
    },
  };
}

clusterCli('up');
const abort = new AbortController();
try {
  const state = readClusterState(stateDir);
  if (state === undefined) throw new Error(`no cluster state in ${stateDir}`);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(state.kubeconfigPath);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  // The not-ready taint the API server puts on a new node stays (no kubelet heartbeats): the pods
  // tolerate it, as they would on nodes a kubelet keeps Ready.
  await eachConcurrently(
    Array.from({ length: nodes }, (_, i) => i),
    16,
    async (i) => {
      await core.createNode({ body: node(i) });
    },
  );
  const credentials = selfSignedCredentials(['127.0.0.1'], new Date());
  const registry = createRegistry({ component: 'bench-extender', processMetrics: false });
  const view = watchCluster(kubeConfig, {
    logger: silentLogger(),
    signal: abort.signal,
    timers: systemTimers,
  });
  const extender = await listenHttps(
    createExtenderApp({
      view,
      logger: silentLogger(),
      registry,
      metrics: createExtenderMetrics(registry),
      check: checkPod,
    }),
    { port: 0, host: '127.0.0.1', credentials: credentials.serving },
  );
  for (let waited = 0; view.notReadyReasons().length > 0 && waited < 600; waited++) await sleep(100);

  const place = async (label: string, extenders: SchedulerExtender[]): Promise<number> => {
    const namespace = `bench-${label}`;
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    await eachConcurrently(
      Array.from({ length: pods }, (_, i) => i),
      16,
      async (i) => {
        await core.createNamespacedPod({
          namespace,
          body: {
            metadata: { name: `pod-${String(i)}` },
            spec: {
              schedulerName: namespace,
              tolerations: [
                { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoSchedule' },
              ],
              containers: [
                { name: 'app', image: 'app', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
              ],
            },
          },
        });
      },
    );
    const scheduler = await startScheduler(state, { schedulerName: namespace, extenders });
    const started = performance.now();
    try {
      for (;;) {
        const listed = await core.listNamespacedPod({ namespace });
        if (listed.items.every((pod) => pod.spec?.nodeName !== undefined)) break;
        if (performance.now() - started > PLACE_TIMEOUT_MS) throw new Error(`${label}: pods not all placed`);
        await sleep(100);
      }
      return pods / ((performance.now() - started) / 1000);
    } finally {
      await scheduler.stop();
    }
  };

  const without = await place('plain', []);
  const withExtender = await place('extender', [localExtender(extender.port, credentials.caPem)]);
  console.log(
    JSON.stringify({
      benchmark: 'scheduler',
      kubernetes: state.kubernetesVersion,
      nodes,
      pods,
      podsPerSecond: { withoutExtender: Math.round(without), withExtender: Math.round(withExtender) },
      ratio: Number((withExtender / without).toFixed(2)),
    }),
  );
  await closeServer(extender.server, 1000);
} finally {
  abort.abort();
  clusterCli('down');
  rmSync(stateDir, { recursive: true, force: true });
}
