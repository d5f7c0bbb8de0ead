// Command lines of the four control-plane processes and the scheduler's configuration file: pure
// functions of ports and paths, so the flags that make webhooks, kubelet logs/exec and
// service-account tokens work are stated (and tested) in one place.
import { FRONT_PROXY_CLIENT, type PkiFiles } from './pki.ts';

export const SERVICE_CLUSTER_IP_RANGE = '10.0.0.0/24';
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

export interface ClusterPorts {
  etcdClient: number;
  etcdPeer: number;
  apiserver: number;
  controllerManager: number;
  scheduler: number;
}

export function loopbackUrl(scheme: 'http' | 'https', port: number): string {
  return `${scheme}://127.0.0.1:${port}`;
}

export function etcdArgs(ports: ClusterPorts, dataDir: string): string[] {
  const peer = loopbackUrl('http', ports.etcdPeer);
  const client = loopbackUrl('http', ports.etcdClient);
  return [
    '--name=aci-burst',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=aci-burst=${peer}`,
    // A throwaway test cluster: durability is not worth the fsync latency on a shared disk.
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ];
}

export function apiserverArgs(ports: ClusterPorts, pki: PkiFiles): string[] {
  return [
    `--etcd-servers=${loopbackUrl('http', ports.etcdClient)}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${ports.apiserver}`,
    `--tls-cert-file=${pki.apiserverCert}`,
    `--tls-private-key-file=${pki.apiserverKey}`,
    `--client-ca-file=${pki.caCert}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
    '--allow-privileged=true',
    // A node's credentials (user system:node:<name>, the connector's too) reach only that node's
    // pods and what they reference: the Node authorizer decides what a node may read, NodeRestriction
    // what it may write (its own Node and Lease, status of pods bound to it, pod-bound tokens).
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    // The apiserver presents a client certificate (signed by the cluster CA) to every admission
    // webhook, as an operator configures it for a webhook that authenticates its caller.
    `--admission-control-config-file=${pki.admissionControlConfig}`,
    // The `kubernetes` Service cannot have 127.0.0.1 as an endpoint (loopback is rejected); nothing
    // in this cluster needs its endpoints, so do not keep trying to publish them.
    '--endpoint-reconciler-type=none',
    // Service-account tokens: issued by this apiserver, signed with the key the controller-manager shares.
    `--service-account-issuer=${loopbackUrl('https', ports.apiserver)}`,
    `--service-account-key-file=${pki.serviceAccountCert}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    // kubectl logs/exec reach a virtual node's kubelet API on its InternalIP (127.0.0.1), presenting
    // this client certificate; the node's own serving certificate is not verified (no
    // --kubelet-certificate-authority), as a virtual node's is self-signed.
    '--kubelet-preferred-address-types=InternalIP',
    `--kubelet-client-certificate=${pki.kubeletClientCert}`,
    `--kubelet-client-key=${pki.kubeletClientKey}`,
    // The request-header (front-proxy) setup, as kubeadm's: aggregated APIs work and the components'
    // delegated authentication finds the CA it looks for.
    `--requestheader-client-ca-file=${pki.frontProxyCaCert}`,
    `--requestheader-allowed-names=${FRONT_PROXY_CLIENT}`,
    '--requestheader-username-headers=X-Remote-User',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    `--proxy-client-cert-file=${pki.frontProxyClientCert}`,
    `--proxy-client-key-file=${pki.frontProxyClientKey}`,
    '--profiling=false',
  ];
}

export interface ComponentPaths {
  kubeconfig: string;
  /** Where the component writes its self-signed serving certificate. */
  certDir: string;
}

/** Delegated authentication and authorization through the apiserver, as kubeadm configures them. */
function delegatedAuthArgs(paths: ComponentPaths, port: number): string[] {
  return [
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${paths.certDir}`,
    `--authentication-kubeconfig=${paths.kubeconfig}`,
    `--authorization-kubeconfig=${paths.kubeconfig}`,
  ];
}

export function controllerManagerArgs(port: number, paths: ComponentPaths, pki: PkiFiles): string[] {
  return [
    `--kubeconfig=${paths.kubeconfig}`,
    ...delegatedAuthArgs(paths, port),
    `--client-ca-file=${pki.caCert}`,
    // The service-account and token controllers: tokens for every namespace's `default` account.
    `--root-ca-file=${pki.caCert}`,
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    '--use-service-account-credentials=true',
    // CSRs approved by the csrapproving controller (a virtual node's kubelet client certificate) are
    // signed with the cluster CA, which the apiserver trusts for client certificates.
    `--cluster-signing-cert-file=${pki.caCert}`,
    `--cluster-signing-key-file=${pki.caKey}`,
    '--controllers=*',
    '--cluster-name=aci-burst-local',
    '--leader-elect=false',
  ];
}

export function schedulerArgs(port: number, paths: ComponentPaths, configPath: string): string[] {
  return [`--config=${configPath}`, ...delegatedAuthArgs(paths, port)];
}

/**
 * One extender of a KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1), field for field as
 * in the real file: `tlsConfig.caData` etc. are base64 of the PEM, `httpTimeout` a duration ("5s").
 */
export interface SchedulerExtender {
  urlPrefix: string;
  filterVerb?: string;
  prioritizeVerb?: string;
  preemptVerb?: string;
  bindVerb?: string;
  weight?: number;
  enableHTTPS?: boolean;
  tlsConfig?: {
    insecure?: boolean;
    serverName?: string;
    certData?: string;
    keyData?: string;
    caData?: string;
  };
  httpTimeout?: string;
  nodeCacheCapable?: boolean;
  managedResources?: { name: string; ignoredByScheduler?: boolean }[];
  ignorable?: boolean;
}

export interface SchedulerProfile {
  schedulerName: string;
  extenders?: readonly SchedulerExtender[];
}

/** The scheduler's configuration file content (JSON, which the scheduler decodes like YAML). */
export function schedulerConfiguration(kubeconfig: string, profile: SchedulerProfile): string {
  const config = {
    apiVersion: 'kubescheduler.config.k8s.io/v1',
    kind: 'KubeSchedulerConfiguration',
    clientConnection: { kubeconfig },
    // Several schedulers of different names run side by side; none needs a lease to act.
    leaderElection: { leaderElect: false },
    profiles: [{ schedulerName: profile.schedulerName }],
    ...(profile.extenders !== undefined && profile.extenders.length > 0 && { extenders: profile.extenders }),
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
