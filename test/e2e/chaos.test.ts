// The chaos suite, small and seeded (`npm run chaos` runs the full sizes): every scenario of
// scripts/chaos against the real connector process and the emulator, judged by the same goals.
// The scenarios run side by side: each has its own namespace, node and emulator (and apiserver-outage
// its own control plane, started here and stopped by its pids, whatever happens; one a killed run
// left behind is swept by the next run).
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { SCENARIOS, SMALL_SIZES, type ScenarioName } from '../../scripts/chaos/catalogue.ts';
import {
  clusterAccess,
  privateClusterDir,
  startPrivateCluster,
  sweepAbandonedClusters,
  type PrivateCluster,
} from '../../scripts/chaos/clusters.ts';
import type { ChaosCluster } from '../../scripts/chaos/harness.ts';
import { useTestCluster } from '../support/cluster.ts';

const SEED = 17;
const TIMEOUT_SECONDS = 150;
const cluster = await useTestCluster();
const shared: ChaosCluster = {
  kubeconfigPath: cluster.kubeconfigPath,
  kubeletClientCaPath: cluster.kubeletClientCaPath,
  createNamespace: (prefix, labels) => cluster.createNamespace(prefix, labels),
  deleteNamespace: (name) => cluster.deleteNamespace(name),
};

async function runSmall(name: ScenarioName, target: ChaosCluster, privateClusterDir?: string): Promise<void> {
  const report = await SCENARIOS[name]({
    ...SMALL_SIZES[name],
    seed: SEED,
    timeoutSeconds: TIMEOUT_SECONDS,
    cluster: target,
    ...(privateClusterDir !== undefined && { privateClusterDir }),
  });
  assert.deepEqual(report.missed, [], JSON.stringify(report));
}

describe('chaos (small, seeded)', { concurrency: true }, () => {
  let outageCluster: PrivateCluster | undefined;
  let outageDir = '';

  before(async () => {
    // What an earlier run, killed before its after(), left behind (its owner is gone).
    await sweepAbandonedClusters(tmpdir());
    outageDir = privateClusterDir(tmpdir());
    outageCluster = await startPrivateCluster(outageDir, process.env, () => undefined);
  });
  after(async () => {
    await outageCluster?.stop();
  });

  for (const name of ['connector-kills', 'azure-faults', 'foreign-hands', 'slow-and-stuck'] as const) {
    it(`${name}: meets its goals`, () => runSmall(name, shared));
  }

  it('apiserver-outage: meets its goals on a private control plane', async () => {
    assert.ok(outageCluster, 'the private control plane started');
    await runSmall('apiserver-outage', clusterAccess(outageCluster.state), outageDir);
  });
});
