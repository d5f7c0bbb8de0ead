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
    // The end-to-end files written before private networking (issue 14) test exec, port-forward,
    // metrics and the 2017 examples on pods with an IP, as an operator migrating from the old default
    // runs them: the setting that restores it. test/e2e/networking.test.ts overrides it.
    env: { ACI_EXPOSE_PORTS_PUBLICLY: 'true', ...options.env },
  });
}
