// Resource metrics end to end: the real connector serves its kubelet routes from the emulator's Azure
// Monitor figures, the real metrics-server (built from its Go module) scrapes them as an aggregated
// API of the shared control plane, and kubectl top and a HorizontalPodAutoscaler read them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { AppsV1Api, AutoscalingV2Api, CoreV1Api, type V1PodSpec } from '@kubernetes/client-node';
import {
  ACI_TAINT_KEY,
  BURST_NAMESPACE_ENABLED,
  BURST_NAMESPACE_LABEL,
  parseQuantity,
} from '../../contract/index.ts';
import { createCertificateAuthority, issueCertificate } from '../../runtime/tls.ts';
import { buildMetricsServer } from '../../scripts/metrics-server/build.ts';
import type { UsageRule } from '../emulator/monitor.ts';
import { startEmulator, type RunningEmulator } from '../emulator/server.ts';
import { useTestCluster } from '../support/cluster.ts';
import { startConnector, type RunningConnector } from '../support/connector.ts';
import { eventually } from '../support/eventually.ts';
import { startMetricsServer, type RunningMetricsServer } from '../support/metrics-server.ts';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const cluster = await useTestCluster();
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
const apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
const autoscaling = cluster.kubeConfig.makeApiClient(AutoscalingV2Api);
const nodeName = `aci-metrics-${randomBytes(3).toString('hex')}`;
const Mi = 1024 * 1024;
/** How often the connector reads each group from Monitor (the emulator's grain is a second). */
const REFRESH_SECONDS = 2;

/** The node's serving certificate, from a CA metrics-server is given instead of skipping verification. */
function kubeletServingFiles(dir: string): { cert: string; key: string; ca: string } {
  const ca = createCertificateAuthority({ commonName: `${nodeName}-kubelet-ca`, now: new Date() });
  const serving = issueCertificate(
    ca,
    { commonName: nodeName, hosts: ['127.0.0.1', nodeName], now: new Date() },
    'server',
  );
  const files = {
    cert: join(dir, 'kubelet.crt'),
    key: join(dir, 'kubelet.key'),
    ca: join(dir, 'kubelet-ca.crt'),
  };
  writeFileSync(files.cert, serving.certPem);
  writeFileSync(files.key, serving.keyPem);
  writeFileSync(files.ca, ca.certPem);
  return files;
}

const onVirtualNode: Partial<V1PodSpec> = {
  nodeSelector: { 'kubernetes.io/hostname': nodeName },
  tolerations: [{ key: ACI_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' }],
};

/** `kubectl top ...` rows, split on whitespace. */
async function top(args: string[]): Promise<string[][]> {
  const { stdout } = await run(cluster.kubectlPath, [
    '--kubeconfig',
    cluster.kubeconfigPath,
    'top',
    ...args,
    '--no-headers',
  ]);
  return stdout
    .trim()
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.trim().split(/\s+/));
}

/** kubectl prints CPU in millicores rounded up from metrics-server's nanocores: within a millicore. */
function assertMillicores(shown: string | undefined, expected: number, what: string): void {
  const cores = parseQuantity(shown ?? '');
  assert.ok(
    cores !== undefined && Math.abs(cores * 1000 - expected) <= 1,
    `${what}: ${String(shown)}, expected ${expected}m`,
  );
}

describe('resource metrics: kubectl top and a HorizontalPodAutoscaler on the virtual node', () => {
  let emulator: RunningEmulator;
  let connector: RunningConnector;
  let metricsServer: RunningMetricsServer;
  let namespace: string;
  /** The pod `top`: 250m and 200Mi in `app`, 50m and 56Mi in `sidecar`. */
  const topPodUsage = (): UsageRule[] =>
    (
      [
        ['app', 250, 200],
        ['sidecar', 50, 56],
      ] as const
    ).map(([container, millicores, mebibytes]) => ({
      groupPrefix: `${namespace}-top`,
      container,
      cpuMillicores: { constant: millicores },
      memoryBytes: { constant: mebibytes * Mi },
    }));

  before(async () => {
    const binary = await buildMetricsServer({
      repoRoot,
      env: process.env,
      home: homedir(),
      report: (line) => process.stderr.write(`[metrics-server] ${line}\n`),
    });
    const files = kubeletServingFiles(mkdtempSync(join(tmpdir(), `${nodeName}-`)));
    emulator = await startEmulator();
    connector = await startConnector({
      cluster,
      emulator,
      nodeName,
      env: {
        KUBELET_TLS_CERT_FILE: files.cert,
        KUBELET_TLS_KEY_FILE: files.key,
        ACI_METRICS_REFRESH_SECONDS: String(REFRESH_SECONDS),
        NODE_STATUS_INTERVAL_SECONDS: '2',
      },
    });
    namespace = await cluster.createNamespace('metrics', {
      [BURST_NAMESPACE_LABEL]: BURST_NAMESPACE_ENABLED,
    });
    metricsServer = await startMetricsServer({ cluster, binary, nodeName, kubeletCaPath: files.ca });
  });

  after(async () => {
    await metricsServer.stop();
    await connector.stop();
    await core.deleteNode({ name: nodeName }).catch(() => undefined);
    await emulator.close();
  });

  it('kubectl top pod shows an ACI pod’s containers with the emulator’s figures', async () => {
    await emulator.control.setUsage(topPodUsage());
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'top' },
        spec: {
          ...onVirtualNode,
          containers: [
            { name: 'app', image: 'nginx', resources: { requests: { cpu: '500m', memory: '512Mi' } } },
            { name: 'sidecar', image: 'busybox', command: ['sleep', 'infinity'] },
          ],
        },
      },
    });
    const rows = await eventually(
      'kubectl top to show the pod’s containers',
      async () => {
        const found = await top(['pod', 'top', '-n', namespace, '--containers']).catch(() => []);
        return found.length === 2 ? found : undefined;
      },
      120_000,
    );
    const byContainer = new Map(rows.map(([, container, cpu, memory]) => [container, { cpu, memory }]));
    assertMillicores(byContainer.get('app')?.cpu, 250, 'app');
    assert.equal(byContainer.get('app')?.memory, '200Mi');
    assertMillicores(byContainer.get('sidecar')?.cpu, 50, 'sidecar');
    assert.equal(byContainer.get('sidecar')?.memory, '56Mi');
    const [[, podCpu, podMemory] = []] = await top(['pod', 'top', '-n', namespace]);
    assertMillicores(podCpu, 300, 'the pod');
    assert.equal(podMemory, '256Mi');
  });

  it('kubectl top node shows the virtual node’s pods summed', async () => {
    const [[name, cpu, , memory] = []] = await eventually(
      'kubectl top node to show the virtual node',
      async () => {
        const rows = await top(['node', nodeName]).catch(() => []);
        return rows[0]?.[1]?.endsWith('m') === true ? rows : undefined;
      },
      60_000,
    );
    assert.equal(name, nodeName);
    assertMillicores(cpu, 300, 'the node');
    assert.equal(memory, '256Mi');
  });

  it('an HPA at 50% CPU scales a Deployment on the virtual node up under load and back down when it drops', async () => {
    const groupPrefix = `${namespace}-web-`;
    // 180m of a 200m request: 90%, well over the 50% target.
    await emulator.control.setUsage([
      { groupPrefix, cpuMillicores: { constant: 180 }, memoryBytes: { constant: 64 * Mi } },
      ...topPodUsage(),
    ]);
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: {
              ...onVirtualNode,
              containers: [
                { name: 'app', image: 'nginx', resources: { requests: { cpu: '200m', memory: '128Mi' } } },
              ],
            },
          },
        },
      },
    });
    await autoscaling.createNamespacedHorizontalPodAutoscaler({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
          minReplicas: 1,
          maxReplicas: 3,
          metrics: [
            {
              type: 'Resource',
              resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } },
            },
          ],
          // The controller-manager's 5-minute downscale stabilization would make the test wait it out.
          behavior: { scaleDown: { stabilizationWindowSeconds: 0 } },
        },
      },
    });
    const replicas = async (): Promise<number> =>
      (await apps.readNamespacedDeployment({ name: 'web', namespace })).spec?.replicas ?? 0;
    const scaledUp = await eventually(
      'the HPA to scale the Deployment up',
      async () => {
        const count = await replicas();
        return count > 1 ? count : undefined;
      },
      150_000,
    );
    assert.ok(scaledUp >= 2);
    await eventually(
      'the new replicas to run on the virtual node',
      async () => {
        const pods = await core.listNamespacedPod({ namespace, labelSelector: 'app=web' });
        return pods.items.length >= 2 &&
          pods.items.every((p) => p.spec?.nodeName === nodeName && p.status?.phase === 'Running')
          ? true
          : undefined;
      },
      60_000,
    );

    // 20m of 200m: 10%, well under the target.
    await emulator.control.setUsage([
      { groupPrefix, cpuMillicores: { constant: 20 }, memoryBytes: { constant: 64 * Mi } },
    ]);
    await eventually(
      'the HPA to scale the Deployment back down',
      async () => ((await replicas()) === 1 ? true : undefined),
      150_000,
    );
  });

  it('read Monitor at most once per group per refresh, and never for a group that is not Running', async () => {
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'never-runs' },
        spec: { ...onVirtualNode, containers: [{ name: 'app', image: 'aci-burst/pull-fail' }] },
      },
    });
    await eventually('the failing pull to show', async () => {
      const pod = await core.readNamespacedPod({ name: 'never-runs', namespace });
      const reason = pod.status?.containerStatuses?.[0]?.state?.waiting?.reason ?? '';
      return ['ErrImagePull', 'ImagePullBackOff'].includes(reason) ? true : undefined;
    });
    const reads = (await emulator.control.requests()).filter((entry) =>
      entry.path.endsWith('/providers/Microsoft.Insights/metrics'),
    );
    const byGroup = new Map<string, number[]>();
    for (const entry of reads) {
      const group = entry.path.split('/containerGroups/')[1]?.split('/')[0] ?? '';
      byGroup.set(group, [...(byGroup.get(group) ?? []), Date.parse(entry.time)]);
    }
    assert.ok(
      byGroup.size >= 3,
      `the pod and the Deployment’s pods were read: ${[...byGroup.keys()].join(', ')}`,
    );
    assert.equal(byGroup.get(`${namespace}-never-runs`), undefined, 'a pod that never ran is never read');
    for (const [group, times] of byGroup) {
      const span = (times.at(-1) ?? 0) - (times[0] ?? 0);
      // One read per refresh interval over the span, plus the first (arrival times jitter by the request's latency).
      assert.ok(
        times.length <= span / (REFRESH_SECONDS * 1000) + 2,
        `${group}: ${times.length} reads in ${span} ms`,
      );
    }
  });
});
