/**
 * The shared local Kubernetes cluster (real etcd, kube-apiserver, kube-controller-manager and
 * kube-scheduler) for end-to-end tests. `npm test`'s global setup starts it once per run (or reuses
 * the one `npm run cluster -- up` left running) and passes its state directory to every test file
 * in ACI_BURST_TEST_CLUSTER; a single file run by hand uses the `npm run cluster -- up` cluster.
 *
 *   const cluster = await useTestCluster();
 *   const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
 *   const namespace = await cluster.createNamespace('webhook', { 'azure.com/aci-burst': 'enabled' });
 *   const scheduler = await cluster.startScheduler({ schedulerName: 'aci-burst', extenders: [...] });
 *   after(() => scheduler.stop());
 *
 * Extender fields are those of KubeSchedulerConfiguration's file: `tlsConfig.caData` is the
 * base64 of the PEM. The kubelet client CA is the one a virtual node verifies the apiserver with.
 *
 * Namespaces are unique per call, own their `default` service account before they are returned,
 * and are deleted when the test file's process ends (or earlier through deleteNamespace); extra
 * schedulers still running then are stopped too.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { isNotFound, classifyKubernetesError } from '../../runtime/errors.ts';
import { readClusterState, type ClusterState } from '../../scripts/controlplane/cluster.ts';
import type { SchedulerProfile } from '../../scripts/controlplane/flags.ts';
import { defaultStateDir } from '../../scripts/controlplane/layout.ts';
import { startScheduler, type RunningScheduler } from '../../scripts/controlplane/scheduler.ts';

export type { SchedulerExtender, SchedulerProfile } from '../../scripts/controlplane/flags.ts';
export type { RunningScheduler } from '../../scripts/controlplane/scheduler.ts';

/** The state directory of the cluster the tests use; set by the global setup. */
export const CLUSTER_ENV = 'ACI_BURST_TEST_CLUSTER';
/** The id of the current test run; namespaces carry it so the global teardown can sweep them. */
export const TEST_RUN_ENV = 'ACI_BURST_TEST_RUN';
export const TEST_RUN_LABEL = 'aci-burst.test/run';

export interface TestCluster {
  /** Admin credentials (group system:masters) for @kubernetes/client-node. */
  kubeConfig: KubeConfig;
  kubeconfigPath: string;
  /** `https://127.0.0.1:<port>`. */
  apiServerUrl: string;
  kubernetesVersion: string;
  /** The cluster CA: it signed the apiserver's serving certificate and the client certificates. */
  caPem: string;
  /**
   * The CA that signed the client certificate the apiserver presents to kubelets (kubectl logs/exec):
   * a virtual node's kubelet API verifies the apiserver with it.
   */
  kubeletClientCaPem: string;
  /** The same two CAs as files, for a process started with a path (for example the connector). */
  caPath: string;
  kubeletClientCaPath: string;
  /** kubectl of the same Kubernetes release. */
  kubectlPath: string;
  /**
   * Creates a namespace named `<prefix>-<random>` and waits for its `default` service account
   * (pods are rejected without it). Deleted when this test file's process ends.
   */
  createNamespace(prefix: string, labels?: Readonly<Record<string, string>>): Promise<string>;
  /** Deletes a namespace now, without waiting for it to be gone; NotFound is fine. */
  deleteNamespace(name: string): Promise<void>;
  /** Runs an extra kube-scheduler with its own configuration (leader election off); stop it when done. */
  startScheduler(profile: SchedulerProfile): Promise<RunningScheduler>;
}

let shared: Promise<TestCluster> | undefined;

/** The cluster for this test file (one per process; every call returns the same one). */
export function useTestCluster(): Promise<TestCluster> {
  // A rejection (no cluster) rather than a throw, so `await` reports it inside the test.
  shared ??= Promise.resolve().then(connect);
  return shared;
}

function locateCluster(): ClusterState {
  const stateDir = process.env[CLUSTER_ENV] ?? defaultStateDir(process.env, userInfo().uid);
  const state = readClusterState(stateDir);
  if (state === undefined) {
    throw new Error(
      `no local cluster in ${stateDir}: run the tests through \`npm test\` (its global setup starts one), ` +
        'or start one with `npm run cluster -- up`',
    );
  }
  return state;
}

const NAMESPACE_PREFIX = /^[a-z0-9]([a-z0-9-]{0,48}[a-z0-9])?$/;

function connect(): TestCluster {
  const state = locateCluster();
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(state.kubeconfigPath);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const runLabel = process.env[TEST_RUN_ENV];
  const namespaces = new Set<string>();
  const schedulers = new Set<RunningScheduler>();

  const deleteNamespace = async (name: string): Promise<void> => {
    namespaces.delete(name);
    try {
      await core.deleteNamespace({ name });
    } catch (error) {
      if (!isNotFound(classifyKubernetesError(error))) throw classifyKubernetesError(error);
    }
  };

  const createNamespace = async (
    prefix: string,
    labels: Readonly<Record<string, string>> = {},
  ): Promise<string> => {
    if (!NAMESPACE_PREFIX.test(prefix)) {
      throw new Error(`namespace prefix "${prefix}" must be a DNS label of at most 50 characters`);
    }
    const name = `${prefix}-${randomBytes(3).toString('hex')}`;
    await core.createNamespace({
      body: {
        metadata: {
          name,
          labels: { ...labels, ...(runLabel !== undefined && { [TEST_RUN_LABEL]: runLabel }) },
        },
      },
    });
    namespaces.add(name);
    await waitForDefaultServiceAccount(core, name);
    return name;
  };

  // A test file's process ends when its tests are done: clean up what it made, once.
  process.once('beforeExit', () => {
    void Promise.allSettled([
      ...[...namespaces].map(deleteNamespace),
      ...[...schedulers].map((scheduler) => scheduler.stop()),
    ]);
  });

  return {
    kubeConfig,
    kubeconfigPath: state.kubeconfigPath,
    apiServerUrl: state.apiServerUrl,
    kubernetesVersion: state.kubernetesVersion,
    caPem: readFileSync(state.caCertPath, 'utf8'),
    kubeletClientCaPem: readFileSync(state.kubeletClientCaPath, 'utf8'),
    caPath: state.caCertPath,
    kubeletClientCaPath: state.kubeletClientCaPath,
    kubectlPath: state.binaries.kubectl,
    createNamespace,
    deleteNamespace,
    startScheduler: async (profile) => {
      const scheduler = await startScheduler(state, profile);
      schedulers.add(scheduler);
      return {
        ...scheduler,
        stop: async () => {
          schedulers.delete(scheduler);
          await scheduler.stop();
        },
      };
    },
  };
}

export async function waitForDefaultServiceAccount(core: CoreV1Api, namespace: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await core.readNamespacedServiceAccount({ name: 'default', namespace });
      return;
    } catch (error) {
      const classified = classifyKubernetesError(error);
      if (!isNotFound(classified)) throw classified;
      if (Date.now() > deadline) {
        throw new Error(`namespace ${namespace} got no default service account in 30s`, {
          cause: error,
        });
      }
    }
    await sleep(100);
  }
}
