/**
 * Runs the real metrics-server (built from its Go module, scripts/metrics-server/) as a local process
 * against the test cluster, registered as the aggregated API v1beta1.metrics.k8s.io, configured as
 * a cluster operator would for the virtual node:
 *
 * - Identity: a client certificate issued through the CSR API (signer
 *   kubernetes.io/kube-apiserver-client, so the cluster CA signs it: the CA the connector verifies
 *   kubelet API callers with), user `metrics-server-<id>`, bound to what metrics-server's own
 *   manifest grants (nodes/metrics get; pods and nodes read; system:auth-delegator; the
 *   extension-apiserver-authentication-reader Role). metrics-server presents the same certificate to
 *   the API server and to the node's kubelet API, whose SubjectAccessReview checks `get nodes/metrics`.
 * - The node: `--kubelet-preferred-address-types=InternalIP`, `--kubelet-use-node-status-port` (the
 *   port comes from each node's daemonEndpoints), `--kubelet-certificate-authority` (the CA of the
 *   connector's serving certificate) instead of `--kubelet-insecure-tls`.
 * - Reaching it: an ExternalName Service (`localhost`) in kube-system and the APIService with the CA
 *   of its serving certificate; the API server proxies to it with its front-proxy client certificate.
 *
 *   const metricsServer = await startMetricsServer({ cluster, binary, nodeName, kubeletCaPath });
 *   after(() => metricsServer.stop());
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ApiregistrationV1Api,
  CertificatesV1Api,
  CoreV1Api,
  RbacAuthorizationV1Api,
  type V1CertificateSigningRequest,
} from '@kubernetes/client-node';
import forge from 'node-forge';
import { classifyKubernetesError, isNotFound } from '../../runtime/errors.ts';
import { createCertificateAuthority, issueCertificate } from '../../runtime/tls.ts';
import {
  freeLoopbackPorts,
  httpsStatus,
  launch,
  stopProcesses,
  waitUntilReady,
} from '../../scripts/controlplane/processes.ts';
import type { TestCluster } from './cluster.ts';
import { eventually } from './eventually.ts';

export const METRICS_API_SERVICE = 'v1beta1.metrics.k8s.io';
const NAMESPACE = 'kube-system';

export interface RunningMetricsServer {
  user: string;
  logPath: string;
  pid: number;
  /** Unregisters the API (so discovery stays healthy), stops the process, removes the RBAC objects. */
  stop(): Promise<void>;
}

export interface MetricsServerOptions {
  cluster: TestCluster;
  binary: string;
  /** Only this node is scraped: other tests' virtual nodes on the shared cluster are not its business. */
  nodeName: string;
  /** The CA of the node's kubelet serving certificate. */
  kubeletCaPath: string;
  /** How often nodes are scraped (metrics-server's minimum is 10 s). */
  resolution?: string;
}

/** A client certificate for `user`, requested, approved and issued through the CSR API. */
async function issueClientCertificate(
  cluster: TestCluster,
  user: string,
): Promise<{ certPem: string; keyPem: string }> {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const key = forge.pki.privateKeyFromPem(privateKey);
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  csr.setSubject([{ shortName: 'CN', value: user }]);
  csr.sign(key, forge.md.sha256.create());
  const certificates = cluster.kubeConfig.makeApiClient(CertificatesV1Api);
  const body: V1CertificateSigningRequest = {
    metadata: { name: user },
    spec: {
      request: Buffer.from(forge.pki.certificationRequestToPem(csr)).toString('base64'),
      signerName: 'kubernetes.io/kube-apiserver-client',
      usages: ['client auth'],
      expirationSeconds: 3600,
    },
  };
  const created = await certificates.createCertificateSigningRequest({ body });
  await certificates.replaceCertificateSigningRequestApproval({
    name: user,
    body: {
      ...created,
      status: {
        conditions: [
          { type: 'Approved', status: 'True', reason: 'E2E', message: 'metrics-server for the e2e test' },
        ],
      },
    },
  });
  const issued = await eventually('the CSR to be signed', async () => {
    const csrNow = await certificates.readCertificateSigningRequest({ name: user });
    return csrNow.status?.certificate;
  });
  return { certPem: Buffer.from(issued, 'base64').toString('utf8'), keyPem: privateKey };
}

async function grantMetricsServerRoles(cluster: TestCluster, user: string): Promise<void> {
  const rbac = cluster.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  const subjects = [{ kind: 'User', name: user, apiGroup: 'rbac.authorization.k8s.io' }];
  await rbac.createClusterRole({
    body: {
      metadata: { name: user },
      rules: [
        { apiGroups: [''], resources: ['nodes/metrics'], verbs: ['get'] },
        { apiGroups: [''], resources: ['pods', 'nodes'], verbs: ['get', 'list', 'watch'] },
      ],
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: user },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: user },
      subjects,
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: `${user}:auth-delegator` },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects,
    },
  });
  await rbac.createNamespacedRoleBinding({
    namespace: NAMESPACE,
    body: {
      metadata: { name: `${user}:auth-reader` },
      roleRef: {
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'extension-apiserver-authentication-reader',
      },
      subjects,
    },
  });
}

function kubeconfigFor(
  cluster: TestCluster,
  user: string,
  client: { certPem: string; keyPem: string },
): string {
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'local',
        cluster: { server: cluster.apiServerUrl, 'certificate-authority-data': b64(cluster.caPem) },
      },
    ],
    users: [
      {
        name: user,
        user: { 'client-certificate-data': b64(client.certPem), 'client-key-data': b64(client.keyPem) },
      },
    ],
    contexts: [{ name: 'local', context: { cluster: 'local', user } }],
    'current-context': 'local',
  });
}

/** Ignores NotFound: cleaning up what may not exist. */
async function removing(call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
  } catch (error) {
    if (!isNotFound(classifyKubernetesError(error))) throw classifyKubernetesError(error);
  }
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<RunningMetricsServer> {
  const { cluster } = options;
  const user = `metrics-server-${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), `${user}-`));
  const apiRegistration = cluster.kubeConfig.makeApiClient(ApiregistrationV1Api);
  const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  const rbac = cluster.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  const certificates = cluster.kubeConfig.makeApiClient(CertificatesV1Api);

  await grantMetricsServerRoles(cluster, user);
  const client = await issueClientCertificate(cluster, user);
  const kubeconfig = join(dir, 'kubeconfig.json');
  writeFileSync(kubeconfig, kubeconfigFor(cluster, user, client));
  // The API server dials https://localhost:<port> with ServerName <service>.<namespace>.svc.
  const servingCa = createCertificateAuthority({ commonName: `${user}-serving-ca`, now: new Date() });
  const serving = issueCertificate(
    servingCa,
    { commonName: user, hosts: [`${user}.${NAMESPACE}.svc`, 'localhost', '127.0.0.1'], now: new Date() },
    'server',
  );
  writeFileSync(join(dir, 'tls.crt'), serving.certPem);
  writeFileSync(join(dir, 'tls.key'), serving.keyPem);
  const [port] = await freeLoopbackPorts(1);
  if (port === undefined) throw new Error('could not reserve a loopback port');
  const launched = launch(
    'metrics-server',
    options.binary,
    [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--tls-cert-file=${join(dir, 'tls.crt')}`,
      `--tls-private-key-file=${join(dir, 'tls.key')}`,
      '--kubelet-preferred-address-types=InternalIP',
      '--kubelet-use-node-status-port',
      `--kubelet-certificate-authority=${options.kubeletCaPath}`,
      `--node-selector=kubernetes.io/hostname=${options.nodeName}`,
      `--metric-resolution=${options.resolution ?? '10s'}`,
      '--kubelet-request-timeout=5s',
      '--v=2',
    ],
    join(dir, 'metrics-server.log'),
  );

  const stop = async (): Promise<void> => {
    await removing(() => apiRegistration.deleteAPIService({ name: METRICS_API_SERVICE }));
    await removing(() => core.deleteNamespacedService({ name: user, namespace: NAMESPACE }));
    await stopProcesses([launched.process]);
    await removing(() => rbac.deleteClusterRoleBinding({ name: user }));
    await removing(() => rbac.deleteClusterRoleBinding({ name: `${user}:auth-delegator` }));
    await removing(() =>
      rbac.deleteNamespacedRoleBinding({ name: `${user}:auth-reader`, namespace: NAMESPACE }),
    );
    await removing(() => rbac.deleteClusterRole({ name: user }));
    await removing(() => certificates.deleteCertificateSigningRequest({ name: user }));
  };
  try {
    await waitUntilReady(
      launched,
      async () => (await httpsStatus(`https://127.0.0.1:${port}/livez`, { ca: servingCa.certPem })) === 200,
      60_000,
    );
    await core.createNamespacedService({
      namespace: NAMESPACE,
      body: {
        metadata: { name: user },
        spec: { type: 'ExternalName', externalName: 'localhost', ports: [{ port, protocol: 'TCP' }] },
      },
    });
    // One metrics API per cluster: a registration left by a killed run is replaced.
    await removing(() => apiRegistration.deleteAPIService({ name: METRICS_API_SERVICE }));
    await apiRegistration.createAPIService({
      body: {
        metadata: { name: METRICS_API_SERVICE },
        spec: {
          group: 'metrics.k8s.io',
          version: 'v1beta1',
          service: { namespace: NAMESPACE, name: user, port },
          caBundle: Buffer.from(servingCa.certPem).toString('base64'),
          groupPriorityMinimum: 100,
          versionPriority: 100,
        },
      },
    });
    await eventually(
      'the metrics API to be Available',
      async () => {
        const service = await apiRegistration.readAPIService({ name: METRICS_API_SERVICE });
        const available = service.status?.conditions?.find((c) => c.type === 'Available');
        if (available?.status === 'True') return true;
        await sleep(300);
        return undefined;
      },
      60_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { user, logPath: launched.process.logPath, pid: launched.process.pid, stop };
}
