// `npm run cluster -- up | down | status`: the local Kubernetes control plane (real etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler built from Go modules) on loopback.
// `up` and `status` end with `export KUBECONFIG=<path>`, so
// `eval "$(npm run -s cluster -- up | tail -n 1)"` points kubectl at it. Progress goes to stderr.
import { homedir, userInfo } from 'node:os';
import { dirname } from 'node:path';
import { BuildError, buildControlPlane } from './controlplane/build.ts';
import {
  clusterStatus,
  readClusterState,
  startCluster,
  stopCluster,
  type ClusterState,
} from './controlplane/cluster.ts';
import { defaultStateDir } from './controlplane/layout.ts';
import { StartupError } from './controlplane/processes.ts';

const USAGE = 'usage: npm run cluster -- up | down | status';

function exportLine(state: ClusterState): string {
  return `export KUBECONFIG=${state.kubeconfigPath}`;
}

async function printStatus(state: ClusterState): Promise<boolean> {
  const status = await clusterStatus(state);
  console.log(
    `cluster in ${state.stateDir} (Kubernetes ${state.kubernetesVersion}, started ${state.startedAt})`,
  );
  console.log(`apiserver ${state.apiServerUrl}: ${status.ready ? 'ready' : 'NOT ready'}`);
  for (const process of state.processes) {
    const running = status.running.includes(process.name) ? 'running' : 'STOPPED';
    console.log(
      `  ${process.name.padEnd(24)} pid ${String(process.pid).padEnd(8)} ${running.padEnd(8)} log ${process.logPath}`,
    );
  }
  console.log(`kubectl: ${state.binaries.kubectl}`);
  const healthy = status.ready && status.stopped.length === 0;
  if (healthy) console.log(exportLine(state));
  return healthy;
}

async function up(stateDir: string): Promise<number> {
  const existing = readClusterState(stateDir);
  if (existing !== undefined && (await clusterStatus(existing)).ready) {
    console.error('the cluster is already up');
    return (await printStatus(existing)) ? 0 : 1;
  }
  if (existing !== undefined) await stopCluster(stateDir);
  const report = (line: string): void => {
    console.error(line);
  };
  const binaries = await buildControlPlane({
    repoRoot: dirname(import.meta.dirname),
    env: process.env,
    home: homedir(),
    report,
  });
  const started = Date.now();
  const state = await startCluster({
    stateDir,
    binaries: binaries.paths,
    kubernetesVersion: binaries.versions.kubernetes,
    owner: 'cli',
    report,
    now: new Date(),
  });
  console.error(
    `control plane up in ${((Date.now() - started) / 1000).toFixed(1)}s; stop it with: npm run cluster -- down`,
  );
  return (await printStatus(state)) ? 0 : 1;
}

async function main(command: string | undefined): Promise<number> {
  const stateDir = defaultStateDir(process.env, userInfo().uid);
  switch (command) {
    case 'up':
      return up(stateDir);
    case 'down': {
      const stopped = await stopCluster(stateDir);
      console.log(
        stopped.length > 0
          ? `stopped ${stopped.join(', ')}; removed ${stateDir}`
          : `nothing was running; removed ${stateDir}`,
      );
      return 0;
    }
    case 'status': {
      const state = readClusterState(stateDir);
      if (state === undefined) {
        console.log(`no cluster (state directory ${stateDir}); start one with: npm run cluster -- up`);
        return 1;
      }
      return (await printStatus(state)) ? 0 : 1;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv[2]);
} catch (error) {
  if (error instanceof BuildError || error instanceof StartupError) {
    console.error(`cluster: ${error.message}`);
    process.exitCode = 1;
  } else {
    throw error;
  }
}
