// Global setup for `npm test`: runs once, in the test runner's process, before any test file.
// It makes sure the local Kubernetes cluster exists: it reuses the one `npm run cluster -- up` left
// running (and leaves it running), or builds the binaries if the cache lacks them and starts a
// private cluster for this run, which the teardown stops. Test files find it through
// ACI_BURST_TEST_CLUSTER, which node --test passes on to the process it spawns for each file.
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { homedir, userInfo } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { buildControlPlane } from '../../scripts/controlplane/build.ts';
import {
  clusterStatus,
  readClusterState,
  startCluster,
  stopCluster,
} from '../../scripts/controlplane/cluster.ts';
import { defaultStateDir } from '../../scripts/controlplane/layout.ts';
import { CLUSTER_ENV, TEST_RUN_ENV, TEST_RUN_LABEL } from './cluster.ts';

const repoRoot = dirname(dirname(import.meta.dirname));
let startedStateDir: string | undefined;
let reusedKubeconfig: string | undefined;

function report(line: string): void {
  process.stderr.write(`[cluster] ${line}\n`);
}

export async function globalSetup(): Promise<void> {
  const runId = randomBytes(4).toString('hex');
  process.env[TEST_RUN_ENV] = runId;
  const sharedDir = process.env[CLUSTER_ENV] ?? defaultStateDir(process.env, userInfo().uid);
  const shared = readClusterState(sharedDir);
  if (shared !== undefined && (await clusterStatus(shared)).ready) {
    report(`reusing the cluster in ${sharedDir} (${shared.apiServerUrl})`);
    process.env[CLUSTER_ENV] = sharedDir;
    reusedKubeconfig = shared.kubeconfigPath;
    return;
  }
  const privateDir = `${defaultStateDir(process.env, userInfo().uid)}-test-${process.pid}`;
  await stopStaleTestClusters(dirname(privateDir), basename(privateDir).replace(/\d+$/, ''));
  const binaries = await buildControlPlane({ repoRoot, env: process.env, home: homedir(), report });
  const started = Date.now();
  startedStateDir = privateDir;
  await startCluster({
    stateDir: privateDir,
    binaries: binaries.paths,
    kubernetesVersion: binaries.versions.kubernetes,
    owner: 'test-run',
    report,
    now: new Date(),
  });
  report(`cluster for this run up in ${((Date.now() - started) / 1000).toFixed(1)}s (${privateDir})`);
  process.env[CLUSTER_ENV] = privateDir;
}

export async function globalTeardown(): Promise<void> {
  if (startedStateDir !== undefined) {
    await stopCluster(startedStateDir);
    report(`stopped the cluster of this run (${startedStateDir})`);
    return;
  }
  if (reusedKubeconfig !== undefined) await sweepNamespaces(reusedKubeconfig);
}

/** A shared cluster outlives the run: remove the namespaces this run's test files left behind. */
async function sweepNamespaces(kubeconfigPath: string): Promise<void> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const selector = `${TEST_RUN_LABEL}=${process.env[TEST_RUN_ENV] ?? ''}`;
  const list = await core.listNamespace({ labelSelector: selector });
  await Promise.allSettled(list.items.map((ns) => core.deleteNamespace({ name: ns.metadata?.name ?? '' })));
}

/** Clusters of earlier runs that were killed before their teardown: their owner process is gone. */
async function stopStaleTestClusters(parent: string, prefix: string): Promise<void> {
  if (!existsSync(parent)) return;
  for (const entry of readdirSync(parent).filter((name) => name.startsWith(prefix))) {
    const stateDir = join(parent, entry);
    const state = readClusterState(stateDir);
    if (state?.owner === 'test-run' && !existsSync(`/proc/${state.ownerPid}`)) {
      report(`stopping a stale cluster left by an interrupted run (${stateDir})`);
      await stopCluster(stateDir);
    }
  }
}
