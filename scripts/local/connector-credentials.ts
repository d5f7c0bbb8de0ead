// The credential a local connector starts with, made the way an install makes it: a ServiceAccount
// bound to the connector's shipped ClusterRole (manifests/connector/connector.yaml, read from the file
// so local runs prove the shipped rules suffice), and a kubeconfig with a token of that ServiceAccount.
// The connector then obtains its node identity through the certificates API; it never sees the admin
// credential. One ServiceAccount and ClusterRole per node name, so parallel runs stay apart.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CoreV1Api,
  KubeConfig,
  loadAllYaml,
  RbacAuthorizationV1Api,
  type V1ClusterRole,
} from '@kubernetes/client-node';
import { classifyKubernetesError } from '../../runtime/errors.ts';
import { unlessKind } from '../../runtime/kubernetes-calls.ts';
import { REPO_ROOT } from './node-process.ts';

/** Where local connectors' ServiceAccounts live (an install uses aci-burst-system). */
export const LOCAL_CONNECTOR_NAMESPACE = 'aci-burst-local';
const SHIPPED_ROLE = 'aci-burst-connector';
/** Long enough for a demo left running for days; the API server may shorten it. */
const TOKEN_SECONDS = 30 * 86_400;

export interface BootstrapCredential {
  kubeconfigPath: string;
  /** `system:serviceaccount:<namespace>:<name>`. */
  user: string;
  /** Deletes the ServiceAccount, its ClusterRole and binding. */
  remove(): Promise<void>;
}

/** The ClusterRole the manifests give the connector's ServiceAccount. */
export function shippedConnectorRole(): V1ClusterRole {
  const objects = loadAllYaml(
    readFileSync(join(REPO_ROOT, 'manifests', 'connector', 'connector.yaml'), 'utf8'),
  ) as V1ClusterRole[];
  const role = objects.find(
    (object) => object.kind === 'ClusterRole' && object.metadata?.name === SHIPPED_ROLE,
  );
  if (role === undefined)
    throw new Error(`manifests/connector/connector.yaml has no ClusterRole ${SHIPPED_ROLE}`);
  return role;
}

async function ignoreConflict(call: Promise<unknown>): Promise<void> {
  await unlessKind(call, 'Conflict');
}

/** Creates (or reuses) the ServiceAccount and its rights, and writes a kubeconfig with its token into `dir`. */
export async function createBootstrapCredential(options: {
  adminKubeconfigPath: string;
  nodeName: string;
  dir: string;
}): Promise<BootstrapCredential> {
  const admin = new KubeConfig();
  admin.loadFromFile(options.adminKubeconfigPath);
  const core = admin.makeApiClient(CoreV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const namespace = LOCAL_CONNECTOR_NAMESPACE;
  const name = `connector-${options.nodeName}`.slice(0, 63).replace(/-+$/, '');
  const roleName = `${SHIPPED_ROLE}:${options.nodeName}`;
  const labels = { 'app.kubernetes.io/part-of': 'aci-burst', 'aci-burst.local/node': options.nodeName };
  try {
    await ignoreConflict(core.createNamespace({ body: { metadata: { name: namespace, labels } } }));
    await ignoreConflict(
      core.createNamespacedServiceAccount({ namespace, body: { metadata: { name, labels } } }),
    );
    const shipped = shippedConnectorRole();
    await ignoreConflict(
      rbac.createClusterRole({ body: { metadata: { name: roleName, labels }, rules: shipped.rules ?? [] } }),
    );
    await ignoreConflict(
      rbac.createClusterRoleBinding({
        body: {
          metadata: { name: roleName, labels },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: roleName },
          subjects: [{ kind: 'ServiceAccount', name, namespace }],
        },
      }),
    );
    const token = await core.createNamespacedServiceAccountToken({
      name,
      namespace,
      body: { spec: { audiences: [], expirationSeconds: TOKEN_SECONDS } },
    });
    const cluster = admin.getCurrentCluster();
    if (cluster === null) throw new Error(`${options.adminKubeconfigPath} names no cluster`);
    const kubeconfigPath = join(options.dir, `bootstrap-${options.nodeName}.kubeconfig`);
    const bootstrap = new KubeConfig();
    bootstrap.loadFromClusterAndUser(cluster, { name, token: token.status?.token ?? '' });
    writeFileSync(kubeconfigPath, bootstrap.exportConfig(), { mode: 0o600 });
    chmodSync(kubeconfigPath, 0o600);
    return {
      kubeconfigPath,
      user: `system:serviceaccount:${namespace}:${name}`,
      remove: async () => {
        await Promise.all([
          unlessKind(rbac.deleteClusterRoleBinding({ name: roleName }), 'NotFound'),
          unlessKind(rbac.deleteClusterRole({ name: roleName }), 'NotFound'),
          unlessKind(core.deleteNamespacedServiceAccount({ name, namespace }), 'NotFound'),
        ]);
      },
    };
  } catch (error) {
    throw classifyKubernetesError(error);
  }
}
