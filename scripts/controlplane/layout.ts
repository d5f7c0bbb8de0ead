// Where the control plane lives on disk: the pinned versions (read from the Go wrapper modules, so
// the version is one setting: the `require` line of each go.mod), the binary cache keyed by those
// versions, and the state directory of a running cluster. Pure functions of their inputs.
import { join } from 'node:path';

export const KUBERNETES_MODULE = 'k8s.io/kubernetes';
export const ETCD_MODULE = 'go.etcd.io/etcd/server/v3';

export const KUBERNETES_COMMANDS = [
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubectl',
] as const;
export type KubernetesCommand = (typeof KUBERNETES_COMMANDS)[number];
export type ControlPlaneBinary = KubernetesCommand | 'etcd';

export type BinaryPaths = Record<ControlPlaneBinary, string>;

export interface Versions {
  kubernetes: string;
  etcd: string;
}

/** The version a go.mod requires of `module` (`require m v1.2.3` or inside a `require (...)` block). */
export function requiredVersion(goMod: string, module: string): string {
  const escaped = module.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\S+)`, 'm').exec(goMod);
  if (match?.[1] === undefined) throw new Error(`go.mod does not require ${module}`);
  return match[1];
}

/** The binary cache: `${XDG_CACHE_HOME:-$HOME/.cache}/aci-burst/bin`. */
export function binaryCacheRoot(env: Readonly<Record<string, string | undefined>>, home: string): string {
  const base =
    env['XDG_CACHE_HOME'] !== undefined && env['XDG_CACHE_HOME'] !== ''
      ? env['XDG_CACHE_HOME']
      : join(home, '.cache');
  return join(base, 'aci-burst', 'bin');
}

/** One directory per pinned version, so a version change never reuses a stale binary. */
export function binaryPaths(cacheRoot: string, versions: Versions): BinaryPaths {
  const kubernetesDir = join(cacheRoot, `kubernetes-${versions.kubernetes}`);
  const paths: Partial<BinaryPaths> = { etcd: join(cacheRoot, `etcd-${versions.etcd}`, 'etcd') };
  for (const command of KUBERNETES_COMMANDS) paths[command] = join(kubernetesDir, command);
  return paths as BinaryPaths;
}

/**
 * The state directory of the cluster `npm run cluster -- up` manages (certificates, kubeconfig,
 * pids, etcd data, logs): `$ACI_BURST_CLUSTER_DIR`, else `$XDG_RUNTIME_DIR/aci-burst-cluster`,
 * else `/tmp/aci-burst-cluster-<uid>`. Never inside the repository.
 */
export function defaultStateDir(env: Readonly<Record<string, string | undefined>>, uid: number): string {
  const explicit = env['ACI_BURST_CLUSTER_DIR'];
  if (explicit !== undefined && explicit !== '') return explicit;
  const runtimeDir = env['XDG_RUNTIME_DIR'];
  if (runtimeDir !== undefined && runtimeDir !== '') return join(runtimeDir, 'aci-burst-cluster');
  return `/tmp/aci-burst-cluster-${uid}`;
}

/** Files inside a state directory. */
export function stateFiles(stateDir: string): {
  state: string;
  kubeconfig: string;
  pki: string;
  etcdData: string;
  logs: string;
  schedulers: string;
} {
  return {
    state: join(stateDir, 'state.json'),
    kubeconfig: join(stateDir, 'admin.kubeconfig'),
    pki: join(stateDir, 'pki'),
    etcdData: join(stateDir, 'etcd-data'),
    logs: join(stateDir, 'logs'),
    schedulers: join(stateDir, 'schedulers'),
  };
}
