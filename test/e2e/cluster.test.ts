// The local control plane, end to end on the real binaries: it serves, its controllers run
// (Deployments, service-account tokens, namespace deletion), the real scheduler places pods on a
// node a test registers (the cluster's own scheduler and an extra one), and kubectl works with the
// written kubeconfig.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, request, type RequestOptions } from 'node:https';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  AppsV1Api,
  AuthenticationV1Api,
  CoreV1Api,
  KubeConfig,
  type V1Node,
  type V1Pod,
} from '@kubernetes/client-node';
import { classifyKubernetesError, isNotFound } from '../../runtime/errors.ts';
import { createCertificateAuthority, issueCertificate } from '../../runtime/tls.ts';
import { useTestCluster, type TestCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';

const run = promisify(execFile);

async function httpsGet(kubeConfig: KubeConfig, url: string): Promise<{ status: number; body: string }> {
  const options: RequestOptions = {};
  await kubeConfig.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    const req = request(url, { ...options, method: 'GET' }, (response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** A node with capacity, as a kubelet would register it; the taint keeps other tests' pods off it. */
function testNode(name: string): V1Node {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
    spec: { taints: [{ key: 'aci-burst.test/dedicated', value: name, effect: 'NoSchedule' }] },
    status: {
      capacity: { cpu: '4', memory: '8Gi', pods: '20' },
      allocatable: { cpu: '4', memory: '8Gi', pods: '20' },
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'KubeletReady',
          message: 'registered by the test',
          lastHeartbeatTime: new Date(),
          lastTransitionTime: new Date(),
        },
      ],
      addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    },
  };
}

function podFor(node: string, schedulerName?: string): V1Pod {
  return {
    metadata: { generateName: 'placed-' },
    spec: {
      ...(schedulerName !== undefined && { schedulerName }),
      nodeSelector: { 'kubernetes.io/hostname': node },
      tolerations: [
        { key: 'aci-burst.test/dedicated', operator: 'Equal', value: node, effect: 'NoSchedule' },
      ],
      containers: [
        { name: 'app', image: 'nginx:1.27', resources: { requests: { cpu: '100m', memory: '64Mi' } } },
      ],
    },
  };
}

/**
 * A scheduler extender over HTTPS that passes every node and records the filter calls: it proves
 * the extra scheduler's configuration (urlPrefix, enableHTTPS, tlsConfig.caData, nodeCacheCapable).
 */
async function startRecordingExtender(): Promise<{
  urlPrefix: string;
  caPem: string;
  filterCalls: { pod: string | undefined; nodeNames: string[] }[];
  close: () => Promise<void>;
}> {
  const ca = createCertificateAuthority({ commonName: 'e2e-extender-ca', now: new Date() });
  const serving = issueCertificate(
    ca,
    { commonName: 'extender', hosts: ['127.0.0.1'], now: new Date() },
    'server',
  );
  const filterCalls: { pod: string | undefined; nodeNames: string[] }[] = [];
  const server = createServer({ cert: serving.certPem, key: serving.keyPem }, (req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      // The extender protocol's JSON keys are Go field names (no json tags): Pod, NodeNames.
      const args = JSON.parse(body) as { Pod?: V1Pod; NodeNames?: string[] };
      if (req.url === '/scheduler/filter') {
        filterCalls.push({ pod: args.Pod?.metadata?.name, nodeNames: args.NodeNames ?? [] });
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ NodeNames: args.NodeNames ?? [], FailedNodes: {}, Error: '' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    urlPrefix: `https://127.0.0.1:${port}/scheduler`,
    caPem: ca.certPem,
    filterCalls,
    close: () =>
      new Promise((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  };
}

describe('the local control plane', () => {
  let cluster: TestCluster;
  let core: CoreV1Api;
  let apps: AppsV1Api;

  before(async () => {
    cluster = await useTestCluster();
    core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
  });

  it('is ready and serves the pinned Kubernetes release over TLS with the cluster CA', async () => {
    const readyz = await httpsGet(cluster.kubeConfig, `${cluster.apiServerUrl}/readyz?verbose`);
    assert.equal(readyz.status, 200, readyz.body);
    assert.match(readyz.body, /\[\+\]etcd ok/);
    assert.match(readyz.body, /readyz check passed/);
    const version = await httpsGet(cluster.kubeConfig, `${cluster.apiServerUrl}/version`);
    assert.equal((JSON.parse(version.body) as { gitVersion: string }).gitVersion, cluster.kubernetesVersion);
    assert.match(cluster.caPem, /^-----BEGIN CERTIFICATE-----/);
    assert.match(cluster.kubeletClientCaPem, /^-----BEGIN CERTIFICATE-----/);
  });

  it('issues service-account tokens the apiserver accepts (token controller and issuer wired)', async () => {
    const namespace = await cluster.createNamespace('e2e-tokens');
    const tokenRequest = await core.createNamespacedServiceAccountToken({
      name: 'default',
      namespace,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = tokenRequest.status?.token;
    assert.ok(token !== undefined && token.length > 0);
    const asServiceAccount = new KubeConfig();
    asServiceAccount.loadFromOptions({
      clusters: [
        {
          name: 'local',
          server: cluster.apiServerUrl,
          caData: Buffer.from(cluster.caPem).toString('base64'),
        },
      ],
      users: [{ name: 'sa', token }],
      contexts: [{ name: 'local', cluster: 'local', user: 'sa' }],
      currentContext: 'local',
    });
    const review = await asServiceAccount
      .makeApiClient(AuthenticationV1Api)
      .createSelfSubjectReview({ body: {} });
    assert.equal(review.status?.userInfo?.username, `system:serviceaccount:${namespace}:default`);
  });

  it('turns a Deployment into a ReplicaSet and its pods (controller-manager)', async () => {
    const namespace = await cluster.createNamespace('e2e-deploy');
    const labels = { app: 'web' };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            // No scheduler has this name: the pods stay Pending and land on no other test's node.
            spec: {
              schedulerName: 'aci-burst-e2e-unscheduled',
              containers: [{ name: 'web', image: 'nginx:1.27' }],
            },
          },
        },
      },
    });
    const replicaSet = await eventually('a ReplicaSet owned by the Deployment', async () => {
      const list = await apps.listNamespacedReplicaSet({ namespace });
      return list.items.find((rs) =>
        rs.metadata?.ownerReferences?.some((o) => o.kind === 'Deployment' && o.name === 'web'),
      );
    });
    const pods = await eventually('two pods owned by the ReplicaSet', async () => {
      const list = await core.listNamespacedPod({ namespace });
      const owned = list.items.filter((pod) =>
        pod.metadata?.ownerReferences?.some((o) => o.uid === replicaSet.metadata?.uid),
      );
      return owned.length === 2 ? owned : undefined;
    });
    assert.deepEqual(
      pods.map((pod) => pod.status?.phase),
      ['Pending', 'Pending'],
    );
  });

  describe('with a node registered by the test', () => {
    const nodeName = `e2e-node-${randomBytes(3).toString('hex')}`;
    let namespace: string;

    before(async () => {
      await core.createNode({ body: testNode(nodeName) });
      namespace = await cluster.createNamespace('e2e-sched');
    });

    after(async () => {
      await core.deleteCollectionNamespacedPod({ namespace, gracePeriodSeconds: 0 });
      await core.deleteNode({ name: nodeName });
    });

    async function boundNode(podName: string): Promise<string> {
      return eventually(`pod ${podName} to be bound`, async () => {
        const pod = await core.readNamespacedPod({ name: podName, namespace });
        return pod.spec?.nodeName;
      });
    }

    it('receives a pod from the cluster scheduler', async () => {
      const pod = await core.createNamespacedPod({ namespace, body: podFor(nodeName) });
      assert.equal(await boundNode(pod.metadata?.name ?? ''), nodeName);
    });

    it('receives a pod from an extra scheduler whose configuration calls an HTTPS extender', async () => {
      const extender = await startRecordingExtender();
      const scheduler = await cluster.startScheduler({
        schedulerName: 'aci-burst-e2e-second',
        extenders: [
          {
            urlPrefix: extender.urlPrefix,
            filterVerb: 'filter',
            enableHTTPS: true,
            tlsConfig: { caData: Buffer.from(extender.caPem).toString('base64') },
            nodeCacheCapable: true,
            httpTimeout: '5s',
          },
        ],
      });
      try {
        const pod = await core.createNamespacedPod({
          namespace,
          body: podFor(nodeName, 'aci-burst-e2e-second'),
        });
        assert.equal(await boundNode(pod.metadata?.name ?? ''), nodeName);
        const scheduled = await eventually('the Scheduled event', async () => {
          const list = await core.listNamespacedEvent({
            namespace,
            fieldSelector: `involvedObject.name=${pod.metadata?.name ?? ''},reason=Scheduled`,
          });
          return list.items[0];
        });
        assert.equal(scheduled.reportingComponent, 'aci-burst-e2e-second');
        assert.deepEqual(extender.filterCalls, [{ pod: pod.metadata?.name, nodeNames: [nodeName] }]);
      } finally {
        await scheduler.stop();
        await extender.close();
      }
    });
  });

  it('completes namespace deletion (namespace controller and garbage collector)', async () => {
    const namespace = await cluster.createNamespace('e2e-delete');
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'settings' }, data: { a: 'b' } },
    });
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'pending' },
        spec: {
          schedulerName: 'aci-burst-e2e-unscheduled',
          containers: [{ name: 'app', image: 'nginx:1.27' }],
        },
      },
    });
    await cluster.deleteNamespace(namespace);
    await eventually('the namespace to be gone', async () => {
      try {
        await core.readNamespace({ name: namespace });
        return undefined;
      } catch (error) {
        if (isNotFound(classifyKubernetesError(error))) return true;
        throw error;
      }
    });
  });

  it('works with kubectl and the written kubeconfig', async () => {
    const readyz = await run(cluster.kubectlPath, [
      '--kubeconfig',
      cluster.kubeconfigPath,
      'get',
      '--raw',
      '/readyz',
    ]);
    assert.equal(readyz.stdout.trim(), 'ok');
    const namespace = await cluster.createNamespace('e2e-kubectl');
    const phase = await run(cluster.kubectlPath, [
      '--kubeconfig',
      cluster.kubeconfigPath,
      'get',
      'namespace',
      namespace,
      '-o',
      'jsonpath={.status.phase}',
    ]);
    assert.equal(phase.stdout, 'Active');
  });
});
