// The clusters a chaos run uses: the shared local one (`npm run cluster -- up`), or a private one the
// run starts and stops itself, for the scenario that stops its API server.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { classifyKubernetesError, isNotFound } from '../../runtime/errors.ts';
import { waitForDefaultServiceAccount } from '../../test/support/cluster.ts';
import { buildControlPlane } from '../controlplane/build.ts';
import {
  extraSchedulerProcesses,
  readClusterState,
  startCluster,
  stopCluster,
  type ClusterState,
} from '../controlplane/cluster.ts';
import { isRunning, stopProcesses, type ManagedProcess } from '../controlplane/processes.ts';
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

/**
 * A private cluster's state directory, in `parent` (the temp dir): `aci-chaos-<pid>-<random>`, the pid
 * this process's. A run killed before it stopped its cluster leaves the directory and the cluster's
 * processes (detached, they outlive it); the next run sweeps them (sweepAbandonedClusters).
 */
export function privateClusterDir(parent: string): string {
  return mkdtempSync(join(parent, `${PRIVATE_CLUSTER_PREFIX}${process.pid}-`));
}

const PRIVATE_CLUSTER_PREFIX = 'aci-chaos-';
const PRIVATE_CLUSTER_NAME = /^aci-chaos-(\d+)-[^/]+$/;

export interface SweepDependencies {
  /** Whether a process with this pid exists (a recycled pid counts as alive: the safe side). */
  alive: (pid: number) => boolean;
  /** Stops the processes a dead run recorded in `stateDir`, each only if it is still that run's. */
  stop: (stateDir: string, processes: readonly ManagedProcess[]) => Promise<string[]>;
}

/**
 * Removes the private clusters that killed runs left in `parent`: directories named by
 * privateClusterDir whose owner process is gone. Their recorded processes are stopped first (see
 * stopIfStillOwned). A directory whose owner lives is another run's, whatever state it is in, and is
 * never touched; nor is anything not named like a private cluster's directory.
 */
export async function sweepAbandonedClusters(
  parent: string,
  deps: SweepDependencies = { alive: (pid) => existsSync(`/proc/${pid}`), stop: stopIfStillOwned },
): Promise<{ removed: string[]; stopped: string[] }> {
  const removed: string[] = [];
  const stopped: string[] = [];
  for (const name of readdirSync(parent)) {
    const owner = PRIVATE_CLUSTER_NAME.exec(name)?.[1];
    if (owner === undefined || deps.alive(Number(owner))) continue;
    const stateDir = join(parent, name);
    const processes = [
      ...extraSchedulerProcesses(stateDir),
      ...(readStateQuietly(stateDir)?.processes ?? []),
    ];
    stopped.push(...(await deps.stop(stateDir, processes)));
    rmSync(stateDir, { recursive: true, force: true });
    removed.push(stateDir);
  }
  return { removed, stopped };
}

/** A state file half-written by a run killed mid-write reads as no state. */
function readStateQuietly(stateDir: string): ClusterState | undefined {
  try {
    return readClusterState(stateDir);
  } catch {
    return undefined;
  }
}

/**
 * Stops the recorded processes still running as recorded: the same binary (isRunning) and a command
 * line that names `stateDir`. A pid recycled since, even by another run's etcd, is never signalled.
 */
export async function stopIfStillOwned(
  stateDir: string,
  processes: readonly ManagedProcess[],
): Promise<string[]> {
  return stopProcesses(processes.filter((p) => isRunning(p) && namesDirectory(p.pid, stateDir)));
}

function namesDirectory(pid: number, dir: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      .split('\0')
      .some((arg) => arg.includes(`${dir}/`));
  } catch {
    return false;
  }
}
