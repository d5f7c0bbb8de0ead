// The extender's Deployment mode against the real API server: `node extender/main.ts` with
// TLS_SECRET_NAME, running as a ServiceAccount that has only the Role shipped in
// manifests/extender/extender.yaml, creates the Secret; a second replica serves the same chain; a
// serving certificate that no longer fits is renewed in the Secret and swapped into both running
// servers, the CA kept. With CLIENT_AUTH=require, as shipped, a real kube-scheduler that presents the
// client certificate the extender keeps in the same Secret schedules through it; a caller without one
// is refused.
import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import {
  CoreV1Api,
  RbacAuthorizationV1Api,
  loadAllYaml,
  type V1Role,
  type V1RoleBinding,
  type V1Secret,
} from '@kubernetes/client-node';
import { issueCertificate } from '../../runtime/tls.ts';
import { baseEnvironment, startNodeProcess, type NodeProcess } from '../../scripts/local/node-process.ts';
import { useTestCluster } from '../support/cluster.ts';
import { eventually } from '../support/eventually.ts';

const SECRET_NAME = 'aci-burst-extender-tls';
const SERVICE_ACCOUNT = 'aci-burst-extender';

const cluster = await useTestCluster();
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
const rbac = cluster.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
const scratch = mkdtempSync(join(tmpdir(), 'aci-burst-extender-certificate-'));

/** The shipped Role and RoleBinding, moved into `namespace`. */
function shippedRbac(namespace: string): { role: V1Role; binding: V1RoleBinding } {
  const objects = loadAllYaml(
    readFileSync(new URL('../../manifests/extender/extender.yaml', import.meta.url), 'utf8'),
  ) as (V1Role | V1RoleBinding)[];
  const role = objects.find((object) => object.kind === 'Role') as V1Role;
  const binding = objects.find((object) => object.kind === 'RoleBinding') as V1RoleBinding;
  return {
    role: { ...role, metadata: { ...role.metadata, namespace } },
    binding: {
      ...binding,
      metadata: { ...binding.metadata, namespace },
      subjects: (binding.subjects ?? []).map((subject) => ({ ...subject, namespace })),
    },
  };
}

/** A kubeconfig that authenticates as the ServiceAccount, so the shipped Role is what is tested. */
async function serviceAccountKubeconfig(namespace: string): Promise<string> {
  const request = await core.createNamespacedServiceAccountToken({
    name: SERVICE_ACCOUNT,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const token = request.status?.token;
  assert.ok(token, 'a ServiceAccount token');
  const path = join(scratch, `${namespace}.kubeconfig`);
  const kubeconfig = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'test', cluster: { server: cluster.apiServerUrl, 'certificate-authority': cluster.caPath } },
    ],
    users: [{ name: SERVICE_ACCOUNT, user: { token } }],
    contexts: [{ name: 'test', context: { cluster: 'test', user: SERVICE_ACCOUNT, namespace } }],
    'current-context': 'test',
  };
  writeFileSync(path, JSON.stringify(kubeconfig), { mode: 0o600 });
  return path;
}

function secretText(secret: V1Secret, key: string): string {
  return Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
}

/** The leaf certificate a server presents, verified against `caPem` for `servername`. */
async function servedCertificate(port: number, caPem: string, servername: string): Promise<X509Certificate> {
  const socket = connect({ host: '127.0.0.1', port, ca: caPem, servername });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    return new X509Certificate(socket.getPeerX509Certificate()?.raw ?? Buffer.alloc(0));
  } finally {
    socket.destroy();
  }
}

describe('the extender with TLS_SECRET_NAME (the Deployment mode) on a real API server', () => {
  let namespace: string;
  let serviceHost: string;
  const replicas: { child: NodeProcess; port: number }[] = [];

  async function startReplica(kubeconfigPath: string): Promise<{ child: NodeProcess; port: number }> {
    const child = startNodeProcess({
      name: `extender-${String(replicas.length)}`,
      entry: 'extender/main.ts',
      env: {
        ...baseEnvironment(process.env),
        KUBECONFIG: kubeconfigPath,
        PORT: '0',
        BIND_ADDRESS: '127.0.0.1',
        POD_NAMESPACE: namespace,
        TLS_SECRET_NAME: SECRET_NAME,
        CLIENT_AUTH: 'require',
        CERT_REFRESH_SECONDS: '1',
        LOG_LEVEL: 'info',
      },
      logPath: join(scratch, `extender-${String(replicas.length)}.log`),
    });
    const replica = { child, port: 0 };
    replicas.push(replica);
    const listening = await child.waitForLog('listening', (entry) => entry.msg === 'listening', 30_000);
    replica.port = Number(listening.port);
    assert.equal(listening.tls, 'secret');
    return replica;
  }

  async function readSecret(): Promise<V1Secret> {
    return core.readNamespacedSecret({ name: SECRET_NAME, namespace });
  }

  let kubeconfigPath: string;

  before(async () => {
    namespace = await cluster.createNamespace('extender-tls');
    serviceHost = `aci-burst-extender.${namespace}.svc`;
    await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: SERVICE_ACCOUNT } } });
    const { role, binding } = shippedRbac(namespace);
    await rbac.createNamespacedRole({ namespace, body: role });
    await rbac.createNamespacedRoleBinding({ namespace, body: binding });
    kubeconfigPath = await serviceAccountKubeconfig(namespace);
  });

  after(async () => {
    await Promise.all(replicas.map((replica) => replica.child.stop()));
    rmSync(scratch, { recursive: true, force: true });
  });

  it('creates the Secret with a CA and a serving certificate for the Service, and serves it', async () => {
    const { port } = await startReplica(kubeconfigPath);
    const secret = await readSecret();
    assert.equal(secret.type, 'kubernetes.io/tls');
    assert.deepEqual(Object.keys(secret.data ?? {}).sort(), [
      'ca.crt',
      'ca.key',
      'client.crt',
      'client.key',
      'tls.crt',
      'tls.key',
    ]);
    const client = new X509Certificate(secretText(secret, 'client.crt'));
    assert.ok(client.verify(new X509Certificate(secretText(secret, 'ca.crt')).publicKey));
    assert.match(client.subject, /CN=aci-burst-scheduler/);
    assert.equal(secret.metadata?.labels?.['app.kubernetes.io/name'], 'aci-burst-extender');
    const ca = new X509Certificate(secretText(secret, 'ca.crt'));
    const leaf = new X509Certificate(secretText(secret, 'tls.crt'));
    assert.ok(leaf.verify(ca.publicKey));
    assert.equal(leaf.checkHost(serviceHost), serviceHost);
    const served = await servedCertificate(port, secretText(secret, 'ca.crt'), serviceHost);
    assert.equal(served.fingerprint256, leaf.fingerprint256);
  });

  it('a second replica reuses the chain instead of replacing it', async () => {
    const first = await readSecret();
    const { port } = await startReplica(kubeconfigPath);
    const second = await readSecret();
    assert.equal(second.metadata?.resourceVersion, first.metadata?.resourceVersion);
    const served = await servedCertificate(port, secretText(second, 'ca.crt'), serviceHost);
    assert.equal(served.fingerprint256, new X509Certificate(secretText(second, 'tls.crt')).fingerprint256);
  });

  it('a real kube-scheduler presenting the Secret’s client certificate schedules through it; a caller without one is refused', async () => {
    const secret = await readSecret();
    const data = (key: string): string => secret.data?.[key] ?? '';
    const [replica] = replicas;
    assert.ok(replica);
    const suffix = randomBytes(3).toString('hex');
    const nodeName = `extender-mtls-${suffix}`;
    const taint = { key: 'aci-burst.test/dedicated', value: nodeName, effect: 'NoSchedule' };
    await core.createNode({
      body: {
        metadata: { name: nodeName, labels: { 'kubernetes.io/hostname': nodeName } },
        spec: { taints: [taint] },
        status: {
          capacity: { cpu: '4', memory: '8Gi', pods: '20' },
          allocatable: { cpu: '4', memory: '8Gi', pods: '20' },
          conditions: [
            { type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: new Date() },
          ],
        },
      },
    });
    const schedulerName = `aci-burst-mtls-${suffix}`;
    const scheduler = await cluster.startScheduler({
      schedulerName,
      extenders: [
        {
          urlPrefix: `https://127.0.0.1:${String(replica.port)}`,
          filterVerb: 'filter',
          enableHTTPS: true,
          tlsConfig: { caData: data('ca.crt'), certData: data('client.crt'), keyData: data('client.key') },
          // The ServiceAccount here has only the Secret Role, so the extender gets whole nodes.
          nodeCacheCapable: false,
          // A refused call would fail scheduling instead of being skipped.
          ignorable: false,
        },
      ],
    });
    try {
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: 'through-the-extender' },
          spec: {
            schedulerName,
            nodeSelector: { 'kubernetes.io/hostname': nodeName },
            tolerations: [{ ...taint, operator: 'Equal' }],
            containers: [{ name: 'app', image: 'app:1' }],
          },
        },
      });
      await eventually('the pod to be bound through the extender', async () => {
        const pod = await core.readNamespacedPod({ namespace, name: 'through-the-extender' });
        return pod.spec?.nodeName === nodeName ? true : undefined;
      });
    } finally {
      await scheduler.stop();
      await core.deleteNode({ name: nodeName }).catch(() => undefined);
    }
    const anonymous = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: replica.port,
          method: 'POST',
          path: '/filter',
          ca: secretText(secret, 'ca.crt'),
          servername: serviceHost,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    assert.equal(anonymous, 403);
  });

  it('renews a serving certificate that no longer names the Service, in the Secret and in both servers', async () => {
    const original = await readSecret();
    const caPem = secretText(original, 'ca.crt');
    // Signed by the same CA but for another name: what a renamed Service leaves behind.
    const stale = issueCertificate(
      { certPem: caPem, keyPem: secretText(original, 'ca.key') },
      { commonName: 'elsewhere', hosts: ['elsewhere.example'], now: new Date() },
      'server',
    );
    await core.replaceNamespacedSecret({
      name: SECRET_NAME,
      namespace,
      body: {
        ...original,
        data: {
          ...original.data,
          'tls.crt': Buffer.from(stale.certPem).toString('base64'),
          'tls.key': Buffer.from(stale.keyPem).toString('base64'),
        },
      },
    });
    const renewed = await eventually('the Secret renewed for the Service', async () => {
      const secret = await readSecret();
      const leaf = new X509Certificate(secretText(secret, 'tls.crt'));
      return leaf.checkHost(serviceHost) === serviceHost ? leaf : undefined;
    });
    const current = await readSecret();
    assert.equal(secretText(current, 'ca.crt'), caPem, 'the CA the scheduler trusts is kept');
    for (const { port } of replicas) {
      await eventually(`the replica on ${String(port)} serving the renewed certificate`, async () => {
        const served = await servedCertificate(port, caPem, serviceHost);
        return served.fingerprint256 === renewed.fingerprint256 ? served : undefined;
      });
    }
  });
});
