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
  type V1Role,
} from '@kubernetes/client-node';
import { classifyKubernetesError } from '../../runtime/errors.ts';
import { unlessKind } from '../../runtime/kubernetes-calls.ts';
import { REPO_ROOT } from './node-process.ts';

/** Where local connectors' ServiceAccounts live (an install uses aci-burst-system). */
export const LOCAL_CONNECTOR_NAMESPACE = 'aci-burst-local';
const SHIPPED_ROLE = 'aci-burst-connector';
const SHIPPED_ELECTION_ROLE = 'aci-burst-connector-leader-election';
/** Long enough for a demo left running for days; the API server may shorten it. */
const TOKEN_SECONDS = 30 * 86_400;

export interface BootstrapCredential {
  kubeconfigPath: string;
  /** `system:serviceaccount:<namespace>:<name>`. */
  user: string;
  /** Deletes the ServiceAccount, its ClusterRole, its election Role and their bindings. */
  remove(): Promise<void>;
}

/** The ClusterRole the manifests give the connector's ServiceAccount. */
export function shippedConnectorRole(): V1ClusterRole {
  return shippedRole('ClusterRole', SHIPPED_ROLE);
}

/**
 * The namespaced Role of the leader election, its Lease names (the shipped node's) replaced by
 * `nodeName`: the local run gets the same rights for its own node.
 */
export function shippedElectionRole(nodeName: string): V1Role {
  const role = shippedRole('Role', SHIPPED_ELECTION_ROLE);
  const rules = (role.rules ?? []).map((rule) =>
    rule.resourceNames === undefined ? rule : { ...rule, resourceNames: [nodeName] },
  );
  return { ...role, rules };
}

function shippedRole(kind: 'ClusterRole' | 'Role', name: string): V1ClusterRole {
  const objects = loadAllYaml(
    readFileSync(join(REPO_ROOT, 'manifests', 'connector', 'connector.yaml'), 'utf8'),
  ) as V1ClusterRole[];
  const role = objects.find((object) => object.kind === kind && object.metadata?.name === name);
  if (role === undefined) throw new Error(`manifests/connector/connector.yaml has no ${kind} ${name}`);
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
    // The leader election's Lease, named after the node, in the ServiceAccount's own namespace.
    const electionRole = `${SHIPPED_ELECTION_ROLE}-${options.nodeName}`.slice(0, 253);
    await ignoreConflict(
      rbac.createNamespacedRole({
        namespace,
        body: {
          metadata: { name: electionRole, labels },
          rules: shippedElectionRole(options.nodeName).rules ?? [],
        },
      }),
    );
    await ignoreConflict(
      rbac.createNamespacedRoleBinding({
        namespace,
        body: {
          metadata: { name: electionRole, labels },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: electionRole },
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
          unlessKind(rbac.deleteNamespacedRoleBinding({ name: electionRole, namespace }), 'NotFound'),
          unlessKind(rbac.deleteNamespacedRole({ name: electionRole, namespace }), 'NotFound'),
          unlessKind(core.deleteNamespacedServiceAccount({ name, namespace }), 'NotFound'),
        ]);
      },
    };
  } catch (error) {
    throw classifyKubernetesError(error);
  }
}
