// Starts, inspects and stops the local control plane: etcd, kube-apiserver, kube-controller-manager
// and kube-scheduler on free loopback ports, with the state (certificates, kubeconfigs, pids, etcd
// data, logs) in one directory outside the repository, described by its state.json.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  apiserverArgs,
  controllerManagerArgs,
  DEFAULT_SCHEDULER_NAME,
  etcdArgs,
  loopbackUrl,
  schedulerArgs,
  schedulerConfiguration,
  type ClusterPorts,
  type ComponentPaths,
  type SchedulerExtender,
} from './flags.ts';
import { stateFiles, type BinaryPaths } from './layout.ts';
import { createClusterPki, renderKubeconfig, writePki, type ClusterPki, type PkiFiles } from './pki.ts';
import {
  freeLoopbackPorts,
  httpsStatus,
  httpStatus,
  isRunning,
  launch,
  stopProcesses,
  StartupError,
  waitUntilReady,
  type LaunchedProcess,
  type ManagedProcess,
} from './processes.ts';

export interface ClusterState {
  stateDir: string;
  kubernetesVersion: string;
  apiServerUrl: string;
  /** Admin kubeconfig (group system:masters). */
  kubeconfigPath: string;
  /** Kubeconfig of the kube-scheduler identity, for extra schedulers. */
  schedulerKubeconfigPath: string;
  /** The CA of the apiserver's serving certificate and of every client certificate. */
  caCertPath: string;
  /** The CA that signed the client certificate the apiserver presents to kubelets. */
  kubeletClientCaPath: string;
  binaries: BinaryPaths;
  processes: ManagedProcess[];
  /** Who started it: `cli` clusters outlive test runs, a test run stops only its own. */
  owner: 'cli' | 'test-run';
  /** The process that started it; a test-run cluster whose owner died is stale. */
  ownerPid: number;
  startedAt: string;
}

export interface StartClusterOptions {
  stateDir: string;
  binaries: BinaryPaths;
  kubernetesVersion: string;
  owner: ClusterState['owner'];
  report: (line: string) => void;
  now: Date;
  /** Extenders for the cluster's own scheduler (`default-scheduler`). */
  schedulerExtenders?: readonly SchedulerExtender[];
  /** Per process; generous because a cold disk cache slows the first start. */
  readyTimeoutMs?: number;
}

export function readClusterState(stateDir: string): ClusterState | undefined {
  const path = stateFiles(stateDir).state;
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as ClusterState;
}

function writeClusterState(state: ClusterState): void {
  writeFileSync(stateFiles(state.stateDir).state, `${JSON.stringify(state, null, 2)}\n`);
}

export interface ClusterStatus {
  running: string[];
  stopped: string[];
  /** The apiserver answered /readyz with 200. */
  ready: boolean;
}

export async function clusterStatus(state: ClusterState): Promise<ClusterStatus> {
  const running = state.processes.filter(isRunning).map((p) => p.name);
  const stopped = state.processes.map((p) => p.name).filter((name) => !running.includes(name));
  const admin = loadAdminCredentials(state);
  const ready = (await httpsStatus(`${state.apiServerUrl}/readyz`, admin)) === 200;
  return { running, stopped, ready };
}

function loadAdminCredentials(state: ClusterState): { ca: string; cert: string; key: string } {
  const kubeconfig = JSON.parse(readFileSync(state.kubeconfigPath, 'utf8')) as {
    users: { user: Record<string, string> }[];
  };
  const user = kubeconfig.users[0]?.user ?? {};
  const decode = (value: string | undefined): string => Buffer.from(value ?? '', 'base64').toString('utf8');
  return {
    ca: readFileSync(state.caCertPath, 'utf8'),
    cert: decode(user['client-certificate-data']),
    key: decode(user['client-key-data']),
  };
}

/** Starts the whole control plane and waits until it serves; on failure stops what it started. */
export async function startCluster(options: StartClusterOptions): Promise<ClusterState> {
  const previous = readClusterState(options.stateDir);
  if (previous !== undefined && previous.processes.some(isRunning)) {
    throw new StartupError(
      `a cluster is already running from ${options.stateDir}: stop it first (npm run cluster -- down)`,
    );
  }
  rmSync(options.stateDir, { recursive: true, force: true });
  const files = stateFiles(options.stateDir);
  for (const dir of [options.stateDir, files.logs, files.etcdData, files.schedulers]) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  const pki = createClusterPki(options.now);
  const pkiFiles = writePki(files.pki, pki);
  const [etcdClient, etcdPeer, apiserver, controllerManager, scheduler] = await freeLoopbackPorts(5);
  if (
    etcdClient === undefined ||
    etcdPeer === undefined ||
    apiserver === undefined ||
    controllerManager === undefined ||
    scheduler === undefined
  ) {
    throw new StartupError('could not reserve loopback ports');
  }
  const ports: ClusterPorts = { etcdClient, etcdPeer, apiserver, controllerManager, scheduler };
  const apiServerUrl = loopbackUrl('https', ports.apiserver);
  const kubeconfigs = writeKubeconfigs(options.stateDir, apiServerUrl, pki);
  const state: ClusterState = {
    stateDir: options.stateDir,
    kubernetesVersion: options.kubernetesVersion,
    apiServerUrl,
    kubeconfigPath: files.kubeconfig,
    schedulerKubeconfigPath: kubeconfigs.scheduler,
    caCertPath: pkiFiles.caCert,
    kubeletClientCaPath: pkiFiles.caCert,
    binaries: options.binaries,
    processes: [],
    owner: options.owner,
    ownerPid: process.pid,
    startedAt: options.now.toISOString(),
  };
  try {
    await startProcesses(state, { ports, pki, pkiFiles, kubeconfigs, options });
  } catch (error) {
    await stopProcesses(state.processes);
    throw error;
  }
  return state;
}

interface ComponentKubeconfigs {
  controllerManager: string;
  scheduler: string;
}

function writeKubeconfigs(stateDir: string, server: string, pki: ClusterPki): ComponentKubeconfigs {
  const files = stateFiles(stateDir);
  const write = (path: string, user: string, client: ClusterPki['admin']): string => {
    writeFileSync(path, renderKubeconfig({ server, caPem: pki.ca.certPem, user, client }), { mode: 0o600 });
    return path;
  };
  write(files.kubeconfig, 'aci-burst-admin', pki.admin);
  return {
    controllerManager: write(
      join(files.pki, 'controller-manager.kubeconfig'),
      'system:kube-controller-manager',
      pki.controllerManager,
    ),
    scheduler: write(join(files.pki, 'scheduler.kubeconfig'), 'system:kube-scheduler', pki.scheduler),
  };
}

interface StartContext {
  ports: ClusterPorts;
  pki: ClusterPki;
  pkiFiles: PkiFiles;
  kubeconfigs: ComponentKubeconfigs;
  options: StartClusterOptions;
}

async function startProcesses(state: ClusterState, context: StartContext): Promise<void> {
  const { ports, pkiFiles, kubeconfigs, options } = context;
  const files = stateFiles(state.stateDir);
  const timeoutMs = options.readyTimeoutMs ?? 60_000;
  const started = Date.now();
  const start = (name: keyof BinaryPaths, args: string[]): LaunchedProcess => {
    const launched = launch(name, options.binaries[name], args, join(files.logs, `${name}.log`));
    state.processes.push(launched.process);
    // Recorded at once, so `down` finds every pid even if this command dies half-way.
    writeClusterState(state);
    return launched;
  };
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)}s`;

  const etcd = start('etcd', etcdArgs(ports, files.etcdData));
  await waitUntilReady(
    etcd,
    async () => (await httpStatus(`${loopbackUrl('http', ports.etcdClient)}/health`)) === 200,
    timeoutMs,
  );
  options.report(`etcd ready on ${loopbackUrl('http', ports.etcdClient)} (${elapsed()})`);

  const apiserver = start('kube-apiserver', apiserverArgs(ports, pkiFiles));
  const admin = loadAdminCredentials(state);
  await waitUntilReady(
    apiserver,
    async () => (await httpsStatus(`${state.apiServerUrl}/readyz`, admin)) === 200,
    timeoutMs,
  );
  options.report(`kube-apiserver ready on ${state.apiServerUrl} (${elapsed()})`);

  const componentPaths = (name: string, kubeconfig: string): ComponentPaths => ({
    kubeconfig,
    certDir: join(state.stateDir, name),
  });
  const schedulerPaths = componentPaths('kube-scheduler', kubeconfigs.scheduler);
  const schedulerConfig = join(state.stateDir, 'kube-scheduler', 'config.json');
  mkdirSync(schedulerPaths.certDir, { recursive: true });
  writeFileSync(
    schedulerConfig,
    schedulerConfiguration(kubeconfigs.scheduler, {
      schedulerName: DEFAULT_SCHEDULER_NAME,
      ...(options.schedulerExtenders !== undefined && { extenders: options.schedulerExtenders }),
    }),
  );
  const controllerManager = start(
    'kube-controller-manager',
    controllerManagerArgs(
      ports.controllerManager,
      componentPaths('kube-controller-manager', kubeconfigs.controllerManager),
      pkiFiles,
    ),
  );
  const scheduler = start('kube-scheduler', schedulerArgs(ports.scheduler, schedulerPaths, schedulerConfig));
  const healthz = (port: number) => async () =>
    (await httpsStatus(`${loopbackUrl('https', port)}/healthz`, {})) === 200;
  await Promise.all([
    waitUntilReady(controllerManager, healthz(ports.controllerManager), timeoutMs),
    waitUntilReady(scheduler, healthz(ports.scheduler), timeoutMs),
  ]);
  options.report(`kube-controller-manager and kube-scheduler healthy (${elapsed()})`);
  // The service-account controller has run once the default namespace has its `default` account:
  // from then on pods can be admitted in any new namespace that has its own.
  const defaultAccount = `${state.apiServerUrl}/api/v1/namespaces/default/serviceaccounts/default`;
  await waitUntilReady(
    controllerManager,
    async () => (await httpsStatus(defaultAccount, admin)) === 200,
    timeoutMs,
  );
  options.report(`service accounts issued; cluster ready (${elapsed()})`);
}

/** Stops the cluster's processes and any extra scheduler started against it, then removes the state. */
export async function stopCluster(stateDir: string): Promise<string[]> {
  const state = readClusterState(stateDir);
  const stopped = await stopProcesses([
    ...extraSchedulerProcesses(stateDir),
    ...(state?.processes ?? []).toReversed(),
  ]);
  rmSync(stateDir, { recursive: true, force: true });
  return stopped;
}

/** Extra schedulers record themselves under schedulers/<id>/process.json (see scheduler.ts). */
export function extraSchedulerProcesses(stateDir: string): ManagedProcess[] {
  const dir = stateFiles(stateDir).schedulers;
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((id) => join(dir, id, 'process.json'))
    .filter((path) => existsSync(path))
    .map((path) => JSON.parse(readFileSync(path, 'utf8')) as ManagedProcess);
}

function runningComponent(stateDir: string, name: string): { state: ClusterState; process: ManagedProcess } {
  const state = readClusterState(stateDir);
  const found = state?.processes.find((p) => p.name === name);
  if (state === undefined || found === undefined || !isRunning(found)) {
    throw new StartupError(`no running ${name} in the cluster of ${stateDir}`);
  }
  return { state, process: found };
}

/** The arguments a running process was started with (from /proc), to start it again the same way. */
function commandLine(process: ManagedProcess): string[] {
  return readFileSync(`/proc/${process.pid}/cmdline`, 'utf8').split('\0').slice(1, -1);
}

/**
 * Stops one component of a running cluster (SIGTERM by its recorded pid), runs `whileDown`, then starts
 * it again with the same command line and records its new pid, so `down` stops it. For outage tests
 * on a private cluster; returns once it is started (not necessarily ready).
 */
export async function restartComponent(
  stateDir: string,
  name: string,
  whileDown: () => Promise<void>,
): Promise<void> {
  const { state, process } = runningComponent(stateDir, name);
  const args = commandLine(process);
  await stopProcesses([process]);
  try {
    await whileDown();
  } finally {
    const launched = launch(name, process.binary, args, process.logPath);
    state.processes = state.processes.map((p) => (p.name === name ? launched.process : p));
    writeClusterState(state);
  }
}

/**
 * Compacts etcd's history up to its current revision: a watch that resumes from an older
 * resourceVersion is then answered 410 Gone, as after a long disconnection. Returns that revision.
 */
export async function compactEtcd(stateDir: string): Promise<number> {
  const { process } = runningComponent(stateDir, 'etcd');
  const flag = commandLine(process).find((arg) => arg.startsWith('--listen-client-urls='));
  const url = flag?.slice('--listen-client-urls='.length).split(',')[0];
  if (url === undefined) throw new StartupError('etcd runs without --listen-client-urls');
  const post = async (path: string, body: object): Promise<unknown> => {
    const response = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (!response.ok) throw new Error(`etcd ${path}: ${response.status} ${await response.text()}`);
    return response.json();
  };
  const range = (await post('/v3/kv/range', {
    key: Buffer.from('/').toString('base64'),
    count_only: true,
  })) as {
    header?: { revision?: string };
  };
  const revision = Number(range.header?.revision);
  if (!Number.isInteger(revision) || revision < 1) throw new Error('etcd reported no revision');
  await post('/v3/kv/compaction', { revision: String(revision), physical: true });
  return revision;
}
