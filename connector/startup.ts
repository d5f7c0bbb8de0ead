// What the connector reads or makes once at start, before its parts run: the cluster's identity and CA,
// the groups' network settings, the kubelet API's certificate and the Azure SDK clients' settings.
import { existsSync, readFileSync } from 'node:fs';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { NetworkSettings } from '../contract/index.ts';
import { classifyKubernetesError, isNotFound } from '../runtime/errors.ts';
import type { Logger } from '../runtime/logger.ts';
import { createCertificateAuthority, issueCertificate } from '../runtime/tls.ts';
import type { createAzureClients } from './azure-client.ts';
import type { ConnectorConfig } from './config.ts';

const IN_CLUSTER_CA = '/var/run/secrets/kubernetes.io/serviceaccount/ca.crt';
export function readOptional(path: string | undefined): string | undefined {
  return path === undefined ? undefined : readFileSync(path, 'utf8');
}

/** The cluster's CA, for the ca.crt file mounted beside service-account tokens. */
export function clusterCaPem(kubeConfig: KubeConfig): string | undefined {
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster?.caData) return Buffer.from(cluster.caData, 'base64').toString('utf8');
  if (cluster?.caFile) return readFileSync(cluster.caFile, 'utf8');
  return undefined;
}

/**
 * The kube-system namespace's UID identifies the cluster unless ACI_CLUSTER_ID names it (read with
 * the `list` the namespace informer needs anyway, so no separate `get` is granted).
 */
export async function resolveClusterId(config: ConnectorConfig, bootstrap: KubeConfig): Promise<string> {
  if (config.clusterId !== undefined) return config.clusterId;
  const found = await bootstrap
    .makeApiClient(CoreV1Api)
    .listNamespace({ fieldSelector: 'metadata.name=kube-system' });
  const uid = found.items[0]?.metadata?.uid;
  if (uid === undefined) throw new Error('the kube-system namespace has no UID: set ACI_CLUSTER_ID');
  return uid;
}

/**
 * The network settings of the groups. In the subnet, ClusterFirst needs the cluster DNS Service's IP:
 * KUBE_DNS_IP, else the kube-dns Service's clusterIP (read once, at start).
 */
export async function networkSettings(
  config: ConnectorConfig,
  kubeConfig: KubeConfig,
  logger: Logger,
): Promise<NetworkSettings> {
  const { subnet, exposePortsPublicly, clusterDomain } = config.network;
  const settings = { subnetId: subnet?.id, exposePortsPublicly, clusterDomain };
  if (subnet === undefined || config.network.clusterDnsIP !== undefined) {
    return { ...settings, clusterDnsIP: config.network.clusterDnsIP };
  }
  try {
    const service = await kubeConfig
      .makeApiClient(CoreV1Api)
      .readNamespacedService({ name: 'kube-dns', namespace: 'kube-system' });
    const ip = service.spec?.clusterIP;
    if (ip !== undefined && ip !== '' && ip !== 'None') return { ...settings, clusterDnsIP: ip };
  } catch (error) {
    const classified = classifyKubernetesError(error);
    if (!isNotFound(classified)) logger.warn({ err: classified }, 'reading the kube-dns Service failed');
  }
  logger.warn(
    'no kube-dns Service in kube-system and no KUBE_DNS_IP: ClusterFirst pods use Azure’s resolver (set KUBE_DNS_IP, or restart once the Service exists)',
  );
  return { ...settings, clusterDnsIP: undefined };
}

export function kubeletTls(
  config: ConnectorConfig,
  now: Date,
): {
  certPem: string;
  keyPem: string;
  clientCaPem: string;
} {
  const clientCaFile = config.kubelet.clientCaFile ?? (existsSync(IN_CLUSTER_CA) ? IN_CLUSTER_CA : undefined);
  const clientCaPem = readOptional(clientCaFile);
  if (clientCaPem === undefined) {
    throw new Error(
      'KUBELET_CLIENT_CA_FILE is required outside a cluster: the kubelet API serves pod logs and must verify its callers',
    );
  }
  if (config.kubelet.certFile !== undefined && config.kubelet.keyFile !== undefined) {
    return {
      certPem: readFileSync(config.kubelet.certFile, 'utf8'),
      keyPem: readFileSync(config.kubelet.keyFile, 'utf8'),
      clientCaPem,
    };
  }
  // The API server does not verify kubelet serving certificates unless told to, so a self-signed one serves.
  const ca = createCertificateAuthority({ commonName: `${config.nodeName}-kubelet-ca`, now });
  const serving = issueCertificate(
    ca,
    { commonName: config.nodeName, hosts: [config.node.internalIP, config.nodeName], now },
    'server',
  );
  return { ...serving, clientCaPem };
}

/** The Azure SDK clients' settings: only what the configuration names, the SDK's defaults otherwise. */
export function azureClientSettings(
  config: ConnectorConfig,
  caPem: string | undefined,
): Parameters<typeof createAzureClients>[0] {
  const { azure } = config;
  return {
    subscriptionId: azure.subscriptionId,
    ...(azure.tenantId !== undefined && { tenantId: azure.tenantId }),
    ...(azure.clientId !== undefined && { clientId: azure.clientId }),
    ...(azure.clientSecret !== undefined && { clientSecret: azure.clientSecret }),
    ...(azure.authorityHost !== undefined && { authorityHost: azure.authorityHost }),
    ...(azure.resourceManagerEndpoint !== undefined && {
      resourceManagerEndpoint: azure.resourceManagerEndpoint,
    }),
    ...(caPem !== undefined && { caPem }),
  };
}
