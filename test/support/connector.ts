/**
 * Runs the real connector (connector/main.ts) as a child process against the shared test cluster and
 * an ACI emulator (scripts/local/connector-process.ts, which `npm run demo` uses too).
 *
 *   const emulator = await startEmulator();
 *   const connector = await startConnector({ cluster, emulator, nodeName: 'aci-e2e' });
 *   after(() => connector.stop());
 */
import { startConnectorProcess, type RunningConnector } from '../../scripts/local/connector-process.ts';
import type { RunningEmulator } from '../emulator/server.ts';
import type { TestCluster } from './cluster.ts';

export type { RunningConnector } from '../../scripts/local/connector-process.ts';

export function startConnector(options: {
  cluster: TestCluster;
  emulator: RunningEmulator;
  nodeName: string;
  env?: Record<string, string>;
}): Promise<RunningConnector> {
  return startConnectorProcess({
    adminKubeconfigPath: options.cluster.kubeconfigPath,
    kubeletClientCaPath: options.cluster.kubeletClientCaPath,
    azure: options.emulator,
    nodeName: options.nodeName,
    parentEnv: process.env,
    ...(options.env !== undefined && { env: options.env }),
  });
}
