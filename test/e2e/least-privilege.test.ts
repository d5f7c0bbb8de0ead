// The connector's credentials on a real API server with the Node authorizer and NodeRestriction: its
// ServiceAccount (bound to the shipped ClusterRole) can only request node certificates and read
// namespaces; the node identity it obtains (system:node:<node>) reaches only its own node, the pods
// bound to it and what those pods reference. Each refusal below is one a compromised connector would
// otherwise use to take the cluster: another namespace's Secret, a token of a ServiceAccount no pod of
// the node uses, a pod of another node.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CertificatesV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Lease,
  type V1Pod,
} from '@kubernetes/client-node';
import { sleepUnlessAborted, systemTimers } from '../../runtime/clock.ts';
import { ACI_TOLERATION, BURST_NAMESPACE_ENABLED, BURST_NAMESPACE_LABEL } from '../../contract/index.ts';
import {
  KUBELET_CLIENT_SIGNER,
  kubeCsrApi,
  nodeUserName,
  requestNodeCredential,
} from '../../connector/node-identity.ts';
import { classifyKubernetesError } from '../../runtime/errors.ts';
import { LOCAL_CONNECTOR_NAMESPACE } from '../../scripts/local/connector-credentials.ts';
import { startEmulator, type RunningEmulator } from '../emulator/server.ts';
import { useTestCluster } from '../support/cluster.ts';
import { startConnector, type RunningConnector } from '../support/connector.ts';
import { eventually } from '../support/eventually.ts';

const cluster = await useTestCluster();
const admin = cluster.kubeConfig.makeApiClient(CoreV1Api);
const suffix = randomBytes(3).toString('hex');
const nodeName = `aci-priv-${suffix}`;
const otherNode = `aci-priv-other-${suffix}`;
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** Where the local connector's ServiceAccount, and so its leader-election Lease, lives. */
const ownNamespace = LOCAL_CONNECTOR_NAMESPACE;
const electionLease = (name: string): V1Lease => ({
  metadata: { name },
  spec: { holderIdentity: 'least-privilege-test', leaseDurationSeconds: 1 },
});
const STRATEGIC_PATCH = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

/** The HTTP status a call ends with: 2xx when allowed, 403 when refused. */
async function statusOf(call: () => Promise<unknown>): Promise<number> {
  try {
    await call();
    return 200;
  } catch (error) {
    return classifyKubernetesError(error).statusCode ?? 0;
  }
}

function pod(name: string, node: string, spec: Partial<V1Pod['spec']> = {}): V1Pod {
  return {
    metadata: { name },
    spec: {
      nodeName: node,
      tolerations: [ACI_TOLERATION],
      containers: [{ name: 'app', image: 'aci-burst/run?log=ready' }],
      ...spec,
    },
  };
}

describe('least privilege: the connector’s credentials on a Node,RBAC + NodeRestriction API server', () => {
  let emulator: RunningEmulator;
  let connector: RunningConnector;
  let namespace: string;
  /** The connector's bootstrap credential: its ServiceAccount's token. */
  let bootstrap: KubeConfig;
  /** The identity the connector acts as: a certificate for system:node:<nodeName>. */
  let asNode: CoreV1Api;
  let asBootstrap: CoreV1Api;

  before(async () => {
    emulator = await startEmulator();
    connector = await startConnector({ cluster, emulator, nodeName });
    namespace = await cluster.createNamespace('least-privilege', {
      [BURST_NAMESPACE_LABEL]: BURST_NAMESPACE_ENABLED,
    });
    for (const name of ['used', 'unused']) {
      await admin.createNamespacedSecret({
        namespace,
        body: { metadata: { name }, stringData: { password: `${name}-${suffix}` } },
      });
    }
    await admin.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'site' }, data: { a: 'b' } },
    });
    for (const name of ['runner', 'idle']) {
      await admin.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } });
    }
    // What the connector needs works: a pod with a Secret, a ConfigMap and its ServiceAccount's token.
    await admin.createNamespacedPod({
      namespace,
      body: pod('app', nodeName, {
        serviceAccountName: 'runner',
        containers: [
          {
            name: 'app',
            image: 'aci-burst/run?log=ready',
            env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'used', key: 'password' } } }],
            volumeMounts: [{ name: 'site', mountPath: '/site' }],
          },
        ],
        volumes: [{ name: 'site', configMap: { name: 'site' } }],
      }),
    });
    // A pod of another node (registered, so the pod garbage collector leaves its pod alone): the
    // connector must not be able to touch either.
    await admin.createNode({
      body: {
        metadata: { name: otherNode },
        spec: { taints: [{ key: 'aci-burst.test/dedicated', value: otherNode, effect: 'NoSchedule' }] },
      },
    });
    await admin.createNamespacedPod({ namespace, body: pod('elsewhere', otherNode) });

    bootstrap = new KubeConfig();
    bootstrap.loadFromFile(connector.bootstrapKubeconfigPath);
    asBootstrap = bootstrap.makeApiClient(CoreV1Api);
    // The same flow the connector ran: a node certificate requested with its ServiceAccount's token.
    const credential = await requestNodeCredential({
      api: kubeCsrApi(bootstrap),
      nodeName,
      clock: { now: () => Date.now() },
      sleep: (ms, signal) => sleepUnlessAborted(systemTimers, ms, signal),
      signal: new AbortController().signal,
      timeoutMs: 60_000,
      pollMs: 200,
    });
    const node = new KubeConfig();
    const server = bootstrap.getCurrentCluster();
    assert.ok(server);
    node.loadFromClusterAndUser(server, {
      name: nodeUserName(nodeName),
      certData: Buffer.from(credential.certPem).toString('base64'),
      keyData: Buffer.from(credential.keyPem).toString('base64'),
    });
    asNode = node.makeApiClient(CoreV1Api);
  });

  after(async () => {
    await connector.stop();
    await cluster.kubeConfig
      .makeApiClient(CoordinationV1Api)
      .deleteNamespacedLease({ namespace: ownNamespace, name: nodeName })
      .catch(() => undefined);
    await admin.deleteNode({ name: nodeName }).catch(() => undefined);
    await admin.deleteNode({ name: otherNode }).catch(() => undefined);
    await emulator.close();
  });

  it('the connector runs a pod that uses a Secret, a ConfigMap and a ServiceAccount token, as its node', async () => {
    const running = await eventually(
      'the pod to be Running',
      async () => {
        const found = await admin.readNamespacedPod({ namespace, name: 'app' });
        return found.status?.phase === 'Running' ? found : undefined;
      },
      60_000,
    );
    assert.equal(running.spec?.nodeName, nodeName);
    assert.match(connector.logText(), new RegExp(`"user":"${nodeUserName(nodeName)}".*acting as the node`));
  });

  it('obtained its certificate through a CSR the controller-manager approved for its ServiceAccount', async () => {
    const certificates = cluster.kubeConfig.makeApiClient(CertificatesV1Api);
    const requests = (await certificates.listCertificateSigningRequest()).items.filter(
      (csr) => csr.spec.username === connector.bootstrapUser,
    );
    assert.ok(requests.length >= 1, 'a CSR by the connector’s ServiceAccount');
    for (const csr of requests) {
      assert.equal(csr.spec.signerName, KUBELET_CLIENT_SIGNER);
      const approved = csr.status?.conditions?.find((condition) => condition.type === 'Approved');
      assert.equal(approved?.reason, 'AutoApproved');
    }
  });

  describe('as its node, system:node:<node>', () => {
    const table: { what: string; expected: number; call: () => Promise<unknown> }[] = [
      {
        what: 'reads a Secret its pod references',
        expected: 200,
        call: () => asNode.readNamespacedSecret({ namespace, name: 'used' }),
      },
      {
        what: 'reads a Secret no pod on the node references',
        expected: 403,
        call: () => asNode.readNamespacedSecret({ namespace, name: 'unused' }),
      },
      {
        what: 'reads a kube-system Secret',
        expected: 403,
        call: () => asNode.listNamespacedSecret({ namespace: 'kube-system' }),
      },
      {
        what: 'reads a ConfigMap its pod references',
        expected: 200,
        call: () => asNode.readNamespacedConfigMap({ namespace, name: 'site' }),
      },
      {
        what: 'creates a token for its pod’s ServiceAccount, bound to the pod',
        expected: 200,
        call: () => tokenFor('runner', 'app'),
      },
      {
        what: 'creates a token for a ServiceAccount no pod on the node uses',
        expected: 403,
        call: () => tokenFor('idle', 'app'),
      },
      {
        what: 'creates a token for its pod’s ServiceAccount bound to nothing',
        expected: 403,
        call: () => tokenFor('runner', undefined),
      },
      {
        what: 'creates a token for a kube-system ServiceAccount',
        expected: 403,
        call: () =>
          asNode.createNamespacedServiceAccountToken({
            namespace: 'kube-system',
            name: 'default',
            body: { spec: { audiences: [] } },
          }),
      },
      {
        what: 'patches the status of its own pod',
        expected: 200,
        call: () => patchStatus('app'),
      },
      {
        what: 'patches the status of a pod on another node',
        expected: 403,
        call: () => patchStatus('elsewhere'),
      },
      {
        what: 'deletes a pod on another node',
        expected: 403,
        call: () => asNode.deleteNamespacedPod({ namespace, name: 'elsewhere' }),
      },
      {
        what: 'lists its own pods (field selector spec.nodeName)',
        expected: 200,
        call: () => asNode.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` }),
      },
      {
        what: 'lists every pod',
        expected: 403,
        call: () => asNode.listPodForAllNamespaces(),
      },
      {
        what: 'reads another node',
        expected: 403,
        call: () => asNode.readNode({ name: otherNode }),
      },
    ];
    for (const { what, expected, call } of table) {
      it(`${expected === 200 ? 'may' : 'may not'}: ${what}`, async () => {
        assert.equal(await statusOf(call), expected);
      });
    }
  });

  describe('as its ServiceAccount (the bootstrap credential)', () => {
    const table: { what: string; expected: number; call: () => Promise<unknown> }[] = [
      {
        what: 'reads a Secret its pod references',
        expected: 403,
        call: () => asBootstrap.readNamespacedSecret({ namespace, name: 'used' }),
      },
      {
        what: 'creates a token for its pod’s ServiceAccount',
        expected: 403,
        call: () =>
          asBootstrap.createNamespacedServiceAccountToken({
            namespace,
            name: 'runner',
            body: { spec: { audiences: [] } },
          }),
      },
      {
        what: 'patches the status of its own pod',
        expected: 403,
        call: () =>
          asBootstrap.patchNamespacedPodStatus({ namespace, name: 'app', body: { status: {} } }, MERGE_PATCH),
      },
      { what: 'lists pods', expected: 403, call: () => asBootstrap.listPodForAllNamespaces() },
      { what: 'reads its node', expected: 403, call: () => asBootstrap.readNode({ name: nodeName }) },
      { what: 'lists namespaces (opt-in labels)', expected: 200, call: () => asBootstrap.listNamespace() },
      {
        what: 'creates its node’s leader-election Lease in its own namespace',
        expected: 200,
        call: () =>
          electionLeases().createNamespacedLease({ namespace: ownNamespace, body: electionLease(nodeName) }),
      },
      {
        what: 'reads its node’s leader-election Lease',
        expected: 200,
        call: () => electionLeases().readNamespacedLease({ namespace: ownNamespace, name: nodeName }),
      },
      {
        what: 'reads another node’s Lease in its own namespace',
        expected: 403,
        call: () => electionLeases().readNamespacedLease({ namespace: ownNamespace, name: otherNode }),
      },
      {
        what: 'creates a Lease in another namespace (a node heartbeat in kube-node-lease)',
        expected: 403,
        call: () =>
          electionLeases().createNamespacedLease({
            namespace: 'kube-node-lease',
            body: electionLease(otherNode),
          }),
      },
    ];
    for (const { what, expected, call } of table) {
      it(`${expected === 200 ? 'may' : 'may not'}: ${what}`, async () => {
        assert.equal(await statusOf(call), expected);
      });
    }
  });

  /** The Lease calls of the bootstrap credential, which alone holds the leader-election Role. */
  function electionLeases(): CoordinationV1Api {
    return bootstrap.makeApiClient(CoordinationV1Api);
  }

  async function tokenFor(serviceAccount: string, boundPod: string | undefined): Promise<unknown> {
    const bound =
      boundPod === undefined ? undefined : await admin.readNamespacedPod({ namespace, name: boundPod });
    return asNode.createNamespacedServiceAccountToken({
      namespace,
      name: serviceAccount,
      body: {
        spec: {
          audiences: [],
          ...(bound !== undefined && {
            boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: boundPod, uid: bound.metadata?.uid },
          }),
        },
      },
    });
  }

  function patchStatus(name: string): Promise<unknown> {
    const condition = { type: 'aci-burst.test/Touched', status: 'True', lastTransitionTime: new Date() };
    return asNode.patchNamespacedPodStatus(
      { namespace, name, body: { status: { conditions: [condition] } } },
      STRATEGIC_PATCH,
    );
  }
});
