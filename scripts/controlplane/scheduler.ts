// An extra kube-scheduler against a running local cluster, with its own KubeSchedulerConfiguration
// (its own schedulerName and extenders, leader election off): what the extender tests and the demo
// run beside the cluster's default scheduler.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterState } from './cluster.ts';
import { loopbackUrl, schedulerArgs, schedulerConfiguration, type SchedulerProfile } from './flags.ts';
import { stateFiles } from './layout.ts';
import { freeLoopbackPorts, httpsStatus, launch, stopProcesses, waitUntilReady } from './processes.ts';

export interface RunningScheduler {
  schedulerName: string;
  configPath: string;
  logPath: string;
  pid: number;
  /** Stops the process and removes its files; safe to call twice. */
  stop(): Promise<void>;
}

export async function startScheduler(
  cluster: ClusterState,
  profile: SchedulerProfile,
): Promise<RunningScheduler> {
  const id = `${profile.schedulerName}-${randomBytes(3).toString('hex')}`;
  const dir = join(stateFiles(cluster.stateDir).schedulers, id);
  mkdirSync(dir, { recursive: true });
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, schedulerConfiguration(cluster.schedulerKubeconfigPath, profile));
  const [port] = await freeLoopbackPorts(1);
  if (port === undefined) throw new Error('could not reserve a loopback port');
  const args = schedulerArgs(port, { kubeconfig: cluster.schedulerKubeconfigPath, certDir: dir }, configPath);
  const launched = launch(
    `kube-scheduler ${profile.schedulerName}`,
    cluster.binaries['kube-scheduler'],
    args,
    join(dir, 'kube-scheduler.log'),
  );
  // Recorded so `npm run cluster -- down` stops it even if the test that started it crashed.
  writeFileSync(join(dir, 'process.json'), JSON.stringify(launched.process));
  const stop = async (): Promise<void> => {
    await stopProcesses([launched.process]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(
      launched,
      async () => (await httpsStatus(`${loopbackUrl('https', port)}/healthz`, {})) === 200,
      60_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    schedulerName: profile.schedulerName,
    configPath,
    logPath: launched.process.logPath,
    pid: launched.process.pid,
    stop,
  };
}
