// The clusters a chaos run uses: the shared local one (`npm run cluster -- up`), or a private one the
// run starts and stops itself, for the scenario that stops its API server.
import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { classifyKubernetesError, isNotFound } from '../../runtime/errors.ts';
import { waitForDefaultServiceAccount } from '../../test/support/cluster.ts';
import { buildControlPlane } from '../controlplane/build.ts';
import { readClusterState, startCluster, stopCluster, type ClusterState } from '../controlplane/cluster.ts';
import type { ChaosCluster } from './harness.ts';

/** Namespaces on the cluster, created opted in and removed on request. */
export function clusterAccess(state: ClusterState): ChaosCluster {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(state.kubeconfigPath);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  return {
    kubeconfigPath: state.kubeconfigPath,
    kubeletClientCaPath: state.kubeletClientCaPath,
    createNamespace: async (prefix, labels) => {
      const name = `${prefix}-${randomBytes(3).toString('hex')}`;
      await core.createNamespace({ body: { metadata: { name, labels } } });
      await waitForDefaultServiceAccount(core, name);
      return name;
    },
    deleteNamespace: async (name) => {
      try {
        await core.deleteNamespace({ name });
      } catch (error) {
        if (!isNotFound(classifyKubernetesError(error))) throw classifyKubernetesError(error);
      }
    },
  };
}

export function sharedCluster(stateDir: string): ClusterState {
  const state = readClusterState(stateDir);
  if (state === undefined) {
    throw new Error(`no local cluster in ${stateDir}: start one with \`npm run cluster -- up\``);
  }
  return state;
}

export interface PrivateCluster {
  state: ClusterState;
  stop(): Promise<void>;
}

/** A cluster of its own in `stateDir` (binaries from the shared cache); stop() stops it by its pids. */
export async function startPrivateCluster(
  stateDir: string,
  env: Readonly<Record<string, string | undefined>>,
  report: (line: string) => void,
): Promise<PrivateCluster> {
  const binaries = await buildControlPlane({
    repoRoot: dirname(dirname(import.meta.dirname)),
    env,
    home: homedir(),
    report,
  });
  const state = await startCluster({
    stateDir,
    binaries: binaries.paths,
    kubernetesVersion: binaries.versions.kubernetes,
    owner: 'test-run',
    report,
    now: new Date(),
  });
  return {
    state,
    stop: async () => {
      await stopCluster(stateDir);
    },
  };
}
