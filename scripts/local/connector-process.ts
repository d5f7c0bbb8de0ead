// Runs the real connector (connector/main.ts) as a child process against a local cluster and an ACI
// emulator, configured only through its environment, exactly as an operator would run it: with the
// credential of a ServiceAccount bound to the shipped ClusterRole (connector-credentials.ts), from
// which it obtains its node identity, never with the admin credential. The end-to-end tests and
// `npm run demo` both start it through here.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freeLoopbackPorts } from '../controlplane/processes.ts';
import { createBootstrapCredential } from './connector-credentials.ts';
import { shippedConnectorNodeFlags } from './connector-flags.ts';
import { baseEnvironment, startNodeProcess, type NodeProcess } from './node-process.ts';

/** Where the connector finds Azure: the emulator's endpoints, identity and CA. */
export interface AzureTarget {
  endpoint: string;
  authorityHost: string;
  caPem: string;
  subscriptionId: string;
  tenantId: string;
  clientId: string;
  clientSecret: string;
  resourceGroup: string;
  region: string;
}

export interface ConnectorProcessOptions {
  /** The cluster administrator's kubeconfig: used here to create the connector's ServiceAccount, never passed on. */
  adminKubeconfigPath: string;
  /** The CA of the apiserver's kubelet client certificate (kubectl logs reach the node with it). */
  kubeletClientCaPath: string;
  azure: AzureTarget;
  nodeName: string;
  /** Overrides of the environment below (for example LOG_LEVEL or the list interval). */
  env?: Readonly<Record<string, string>>;
  /** Where its log and the emulator's CA file go (default: a new temporary directory). */
  workDir?: string;
  /** Inherited variables (PATH, HOME); defaults to none but those two from process.env. */
  parentEnv?: Readonly<Record<string, string | undefined>>;
}

export interface RunningConnector {
  nodeName: string;
  /** The credential the connector starts with (its ServiceAccount's token), and that user's name. */
  bootstrapKubeconfigPath: string;
  bootstrapUser: string;
  opsUrl: string;
  kubeletPort: number;
  logPath: string;
  /** The pid of the current run. */
  pid(): number;
  /** The connector's JSON log lines so far (all runs of this handle). */
  logText(): string;
  /** SIGTERM, waits for a clean exit, and deletes the ServiceAccount and its rights. */
  stop(): Promise<void>;
  /** SIGKILL: no chance to tidy up. */
  kill(): Promise<void>;
  /** Starts the process again with the same environment and waits until it is ready. */
  restart(): Promise<void>;
}

const READY_TIMEOUT_MS = 60_000;

export async function startConnectorProcess(options: ConnectorProcessOptions): Promise<RunningConnector> {
  const { azure, nodeName } = options;
  const dir = options.workDir ?? mkdtempSync(join(tmpdir(), `aci-connector-${nodeName}-`));
  const caFile = join(dir, 'emulator-ca.pem');
  writeFileSync(caFile, azure.caPem);
  const logPath = join(dir, 'connector.log');
  const [opsPort = 0, kubeletPort = 0] = await freeLoopbackPorts(2);
  const bootstrap = await createBootstrapCredential({
    adminKubeconfigPath: options.adminKubeconfigPath,
    nodeName,
    dir,
  });
  const env: Record<string, string> = {
    ...baseEnvironment(options.parentEnv ?? {}),
    KUBECONFIG: bootstrap.kubeconfigPath,
    NODE_NAME: nodeName,
    AZURE_SUBSCRIPTION_ID: azure.subscriptionId,
    AZURE_TENANT_ID: azure.tenantId,
    AZURE_CLIENT_ID: azure.clientId,
    AZURE_CLIENT_KEY: azure.clientSecret,
    AZURE_AUTHORITY_HOST: azure.authorityHost,
    AZURE_RESOURCE_MANAGER_ENDPOINT: azure.endpoint,
    ACI_CA_FILE: caFile,
    ACI_RESOURCE_GROUP: azure.resourceGroup,
    ACI_REGION: azure.region,
    NODE_INTERNAL_IP: '127.0.0.1',
    KUBELET_PORT: String(kubeletPort),
    KUBELET_CLIENT_CA_FILE: options.kubeletClientCaPath,
    OPS_PORT: String(opsPort),
    ACI_LIST_INTERVAL_SECONDS: '1',
    ACI_REFRESH_INTERVAL_SECONDS: '5',
    LOG_LEVEL: 'debug',
    ...options.env,
  };
  const opsUrl = `http://127.0.0.1:${opsPort}`;
  let current: NodeProcess | undefined;

  const launch = async (): Promise<void> => {
    const started = startNodeProcess({
      name: `connector ${nodeName}`,
      entry: 'connector/main.ts',
      nodeFlags: shippedConnectorNodeFlags(),
      env,
      logPath,
    });
    current = started;
    await waitReady(opsUrl, started);
  };

  try {
    await launch();
  } catch (error) {
    await bootstrap.remove().catch(() => undefined);
    throw error;
  }
  return {
    nodeName,
    bootstrapKubeconfigPath: bootstrap.kubeconfigPath,
    bootstrapUser: bootstrap.user,
    opsUrl,
    kubeletPort,
    logPath,
    pid: () => current?.pid ?? 0,
    logText: () => current?.logText() ?? '',
    stop: async () => {
      await current?.stop();
      await bootstrap.remove();
    },
    kill: async () => {
      await current?.kill();
    },
    restart: launch,
  };
}

/** Polls /readyz until the connector is ready (bounded), failing with its log when it exits. */
async function waitReady(opsUrl: string, connector: NodeProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (connector.hasExited()) {
      throw new Error(
        `the connector exited with ${String(await connector.exited)}:\n${connector.logText().slice(-4000)}`,
      );
    }
    const status = await fetch(`${opsUrl}/readyz`).then(
      (response) => response.status,
      () => undefined,
    );
    if (status === 200) return;
    await sleep(200);
  }
  await connector.stop();
  throw new Error(
    `the connector was not ready within ${READY_TIMEOUT_MS / 1000} s:\n${connector.logText().slice(-4000)}`,
  );
}
