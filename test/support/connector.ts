/**
 * Runs the real connector (connector/main.ts) as a child process against the shared test cluster and
 * an ACI emulator, configured only through its environment, exactly as an operator would run it.
 *
 *   const emulator = await startEmulator();
 *   const connector = await startConnector({ cluster, emulator, nodeName: 'aci-e2e' });
 *   after(() => connector.stop());
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freeLoopbackPorts } from '../../scripts/controlplane/processes.ts';
import type { RunningEmulator } from '../emulator/server.ts';
import type { TestCluster } from './cluster.ts';

export interface RunningConnector {
  nodeName: string;
  opsUrl: string;
  kubeletPort: number;
  /** The connector's JSON log lines so far (all runs of this handle). */
  logText(): string;
  /** SIGTERM, and waits for a clean exit. */
  stop(): Promise<void>;
  /** SIGKILL: no chance to tidy up. */
  kill(): Promise<void>;
  /** Starts the process again with the same environment and waits until it is ready. */
  restart(): Promise<void>;
}

const REPO_ROOT = new URL('../../', import.meta.url).pathname;

export async function startConnector(options: {
  cluster: TestCluster;
  emulator: RunningEmulator;
  nodeName: string;
  env?: Record<string, string>;
}): Promise<RunningConnector> {
  const { cluster, emulator, nodeName } = options;
  const dir = mkdtempSync(join(tmpdir(), `aci-connector-${nodeName}-`));
  const caFile = join(dir, 'emulator-ca.pem');
  writeFileSync(caFile, emulator.caPem);
  const logPath = join(dir, 'connector.log');
  const [opsPort = 0, kubeletPort = 0] = await freeLoopbackPorts(2);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    KUBECONFIG: cluster.kubeconfigPath,
    NODE_NAME: nodeName,
    AZURE_SUBSCRIPTION_ID: emulator.subscriptionId,
    AZURE_TENANT_ID: emulator.tenantId,
    AZURE_CLIENT_ID: emulator.clientId,
    AZURE_CLIENT_KEY: emulator.clientSecret,
    AZURE_AUTHORITY_HOST: emulator.authorityHost,
    AZURE_RESOURCE_MANAGER_ENDPOINT: emulator.endpoint,
    ACI_CA_FILE: caFile,
    ACI_RESOURCE_GROUP: emulator.resourceGroup,
    ACI_REGION: emulator.region,
    NODE_INTERNAL_IP: '127.0.0.1',
    KUBELET_PORT: String(kubeletPort),
    KUBELET_CLIENT_CA_FILE: cluster.kubeletClientCaPath,
    OPS_PORT: String(opsPort),
    ACI_LIST_INTERVAL_SECONDS: '1',
    ACI_REFRESH_INTERVAL_SECONDS: '5',
    LOG_LEVEL: 'debug',
    ...options.env,
  };
  const opsUrl = `http://127.0.0.1:${opsPort}`;
  const log = createWriteStream(logPath, { flags: 'a' });
  let child: ChildProcess | undefined;

  const launch = async (): Promise<void> => {
    const started = spawn(process.execPath, [join(REPO_ROOT, 'connector/main.ts')], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.stdout.pipe(log, { end: false });
    started.stderr.pipe(log, { end: false });
    child = started;
    await waitReady(opsUrl, started, logPath);
  };
  const exited = (): Promise<void> =>
    new Promise((resolve) => {
      if (!child || child.exitCode !== null || child.signalCode !== null) resolve();
      else
        child.once('exit', () => {
          resolve();
        });
    });

  await launch();
  return {
    nodeName,
    opsUrl,
    kubeletPort,
    logText: () => readFileSync(logPath, 'utf8'),
    stop: async () => {
      child?.kill('SIGTERM');
      await exited();
    },
    kill: async () => {
      child?.kill('SIGKILL');
      await exited();
    },
    restart: launch,
  };
}

/** Polls /readyz until the connector is ready (bounded), failing with its log when it exits. */
async function waitReady(opsUrl: string, child: ChildProcess, logPath: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `the connector exited with ${child.exitCode}:\n${readFileSync(logPath, 'utf8').slice(-4000)}`,
      );
    }
    const status = await fetch(`${opsUrl}/readyz`).then(
      (response) => response.status,
      () => undefined,
    );
    if (status === 200) return;
    await sleep(200);
  }
  throw new Error(`the connector was not ready within 60 s:\n${readFileSync(logPath, 'utf8').slice(-4000)}`);
}
