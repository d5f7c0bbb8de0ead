// A container group's network: its IP address (a private one in the cluster's delegated subnet, a
// public one only when asked for, or none) and its DNS. Pure. What is refused here never depends on
// the connector's settings, so the webhook and the extender, which know none of them, refuse exactly
// what the connector would; the settings only choose among valid groups, and every choice a user
// might not expect is returned as a notice the connector records as a pod event.
import type {
  Container,
  ContainerGroupProperties,
  DnsConfiguration,
  Port,
} from '@azure/arm-containerinstance';
import type { V1Pod, V1PodDNSConfig } from '@kubernetes/client-node';
import { type Context, namespaceOf, refuse } from './context.ts';
import { ACI_ANNOTATIONS } from './names.ts';

/** The connector's network settings (connector/config.ts reads them). */
export interface NetworkSettings {
  /** The ARM id of the subnet delegated to ACI: groups get a private IP there and never a public one. */
  subnetId: string | undefined;
  /** Without a subnet: give every pod's declared ports a public IP, the behaviour before issue 14. */
  exposePortsPublicly: boolean;
  clusterDomain: string;
  /** The cluster DNS Service's IP, for `dnsPolicy: ClusterFirst`; unknown: Azure's resolver is used. */
  clusterDnsIP: string | undefined;
}

export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

/** The connector's defaults: no subnet, public IPs only for pods that ask, no cluster DNS known. */
export const DEFAULT_NETWORK_SETTINGS: NetworkSettings = {
  subnetId: undefined,
  exposePortsPublicly: false,
  clusterDomain: DEFAULT_CLUSTER_DOMAIN,
  clusterDnsIP: undefined,
};

/**
 * ACI's bounds on `dnsConfig` (unconfirmed: Azure documents none; these are the resolver's, which the
 * AKS virtual-node provider applies too: glibc reads 3 name servers, and 6 search domains in 256
 * characters). Beyond them a pod is refused, never silently cut.
 */
export const ACI_DNS_LIMITS: AciDnsLimits = { nameServers: 3, searchDomains: 6, searchLineLength: 256 };

export interface AciDnsLimits {
  nameServers: number;
  searchDomains: number;
  /** Characters of the search domains joined by spaces. */
  searchLineLength: number;
}

/**
 * ACI refuses an IP address without ports (MissingIpAddressPorts) and wants each port on a container.
 * A pod in the subnet that declares none still needs its private IP, so its first container gets this
 * one: port 80/TCP, the default of `az container create --ports`. It opens nothing that was closed,
 * because ACI does not filter ports on a subnet's private IPs (the subnet's network security group does).
 */
export const PRIVATE_IP_PORT: Port = { port: 80, protocol: 'TCP' };

/** The resolver option kubelets give ClusterFirst pods, so `svc` and `svc.ns` names go through the search list. */
const CLUSTER_FIRST_OPTIONS = ['ndots:5'];

/** Something the connector chose for the pod that its spec alone does not say: recorded as a pod event. */
export interface NetworkNotice {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export interface GroupNetwork {
  properties: Pick<ContainerGroupProperties, 'ipAddress' | 'subnetIds' | 'dnsConfig'>;
  /** The containers, the first with PRIVATE_IP_PORT added when the group needs a port for its IP. */
  containers: Container[];
  notices: NetworkNotice[];
}

/** What decides whether a pod's ports go on a public IP; the webhook knows these two as the connector does. */
export interface ExposureSettings {
  /** A subnet is configured (ACI_SUBNET_ID): never public. */
  subnet: boolean;
  exposePortsPublicly: boolean;
}

/**
 * Whether the pod's declared ports go on a public IP: never in a subnet nor without ports; else when
 * the pod asks, or by the operator's default unless the pod says `"false"`.
 */
export function exposesPublicly(pod: V1Pod, hasPorts: boolean, settings: ExposureSettings): boolean {
  if (settings.subnet || !hasPorts) return false;
  const declined = pod.metadata?.annotations?.[ACI_ANNOTATIONS.publicIP] === 'false';
  return asksForPublicIP(pod) || (settings.exposePortsPublicly && !declined);
}

/** The pod asks for a public IP: the annotation set to `true`, or a DNS name label (which only a public IP has). */
export function asksForPublicIP(pod: V1Pod): boolean {
  const annotations = pod.metadata?.annotations ?? {};
  return annotations[ACI_ANNOTATIONS.publicIP] === 'true' || ACI_ANNOTATIONS.dnsNameLabel in annotations;
}

const PUBLIC_IP_HOW_TO = `annotate the pod ${ACI_ANNOTATIONS.publicIP}: "true" to expose its declared ports on a public IP address`;

/**
 * The group's address and DNS under the connector's settings. Without settings (the webhook, the
 * extender) only the refusals are recorded.
 */
export function groupNetwork(
  context: Context,
  group: { containers: readonly Container[]; ports: readonly Port[]; dnsNameLabel: string | undefined },
  settings: NetworkSettings | undefined,
): GroupNetwork {
  const { containers, ports, dnsNameLabel } = group;
  const notices: NetworkNotice[] = [];
  const dns = dnsConfiguration(context, settings, notices);
  if (settings === undefined) return { properties: {}, containers: [...containers], notices };
  const dnsConfig = dns ? { dnsConfig: dns } : {};
  if (settings.subnetId !== undefined) {
    if (asksForPublicIP(context.pod)) {
      notices.push({
        type: 'Warning',
        reason: 'PublicIPNotAllowed',
        message:
          'the virtual node places container groups in a private subnet and never gives them a public IP address: ' +
          'the pod gets a private IP in the subnet only',
      });
    }
    const withPort =
      ports.length > 0
        ? [...containers]
        : containers.map((c, i) => (i === 0 ? { ...c, ports: [PRIVATE_IP_PORT] } : c));
    return {
      properties: {
        subnetIds: [{ id: settings.subnetId }],
        ipAddress: { type: 'Private', ports: ports.length > 0 ? [...ports] : [PRIVATE_IP_PORT] },
        ...dnsConfig,
      },
      containers: withPort,
      notices,
    };
  }
  const exposure = { subnet: false, exposePortsPublicly: settings.exposePortsPublicly };
  if (exposesPublicly(context.pod, ports.length > 0, exposure)) {
    return {
      properties: {
        ipAddress: { type: 'Public', ports: [...ports], ...(dnsNameLabel ? { dnsNameLabel } : {}) },
        ...dnsConfig,
      },
      containers: [...containers],
      notices,
    };
  }
  notices.push({
    type: 'Normal',
    reason: 'NoIPAddress',
    message:
      'the container group has no IP address, so the pod has none: the virtual node has no subnet (ACI_SUBNET_ID) ' +
      (ports.length > 0
        ? `and its declared ports are not exposed; ${PUBLIC_IP_HOW_TO}`
        : `and a public IP address needs declared ports; declare them and ${PUBLIC_IP_HOW_TO}`),
  });
  return { properties: { ...dnsConfig }, containers: [...containers], notices };
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

/** Pod options override the cluster's of the same name, as a kubelet merges them. */
function mergeOptions(base: readonly string[], pod: readonly string[]): string[] {
  const name = (option: string): string => option.split(':')[0] ?? option;
  const podNames = new Set(pod.map(name));
  return [...base.filter((option) => !podNames.has(name(option))), ...pod];
}

function podOptions(config: V1PodDNSConfig | undefined): string[] {
  return (config?.options ?? []).map((option) =>
    option.value ? `${option.name ?? ''}:${option.value}` : (option.name ?? ''),
  );
}

/** The search list a kubelet gives a ClusterFirst pod. */
export function clusterSearches(namespace: string, domain: string): string[] {
  return [`${namespace}.svc.${domain}`, `svc.${domain}`, domain];
}

/** Refuses what exceeds ACI's bounds, naming what the cluster adds when it adds something. */
function checkDnsLimits(
  context: Context,
  nameServers: readonly string[],
  searches: readonly string[],
  added: string,
): void {
  const limits = ACI_DNS_LIMITS;
  if (nameServers.length > limits.nameServers) {
    refuse(
      context,
      'spec.dnsConfig.nameservers',
      `ACI takes at most ${limits.nameServers} name servers and the pod would have ${nameServers.length}${added}`,
      'remove name servers',
    );
  }
  const line = searches.join(' ');
  if (searches.length > limits.searchDomains || line.length > limits.searchLineLength) {
    refuse(
      context,
      'spec.dnsConfig.searches',
      `ACI takes at most ${limits.searchDomains} search domains in ${limits.searchLineLength} characters and the pod would have ${searches.length} in ${line.length}${added}`,
      'remove search domains',
    );
  }
}

/** The pod's own DNS settings, without duplicates. */
interface PodDns {
  config: V1PodDNSConfig | undefined;
  nameServers: string[];
  searches: string[];
  options: string[];
}

/**
 * `dnsPolicy` and `dnsConfig` as ACI's dnsConfig (undefined: Azure's resolver). ClusterFirst pods are
 * checked with the cluster's entries added whatever the settings, so a verdict never depends on them.
 */
function dnsConfiguration(
  context: Context,
  settings: NetworkSettings | undefined,
  notices: NetworkNotice[],
): DnsConfiguration | undefined {
  const policy = context.pod.spec?.dnsPolicy ?? 'ClusterFirst';
  const config = context.pod.spec?.dnsConfig;
  const pod: PodDns = {
    config,
    nameServers: unique(config?.nameservers ?? []),
    searches: unique(config?.searches ?? []),
    options: podOptions(config),
  };
  if (policy === 'ClusterFirstWithHostNet') {
    refuse(
      context,
      'spec.dnsPolicy',
      'ClusterFirstWithHostNet is for pods on the host network, and an ACI container group has no host',
      'use ClusterFirst (the default)',
    );
    return undefined;
  }
  return policy === 'ClusterFirst' ? clusterFirstDns(context, pod, settings, notices) : ownDns(context, pod);
}

/**
 * Default and None: the pod's dnsConfig alone (for Default on top of Azure's resolver, which ACI
 * replaces as soon as name servers are given).
 */
function ownDns(context: Context, pod: PodDns): DnsConfiguration | undefined {
  checkDnsLimits(context, pod.nameServers, pod.searches, '');
  if (!pod.config) return undefined;
  if (pod.nameServers.length === 0) {
    refuse(
      context,
      'spec.dnsConfig.nameservers',
      'ACI applies DNS searches and options only together with name servers',
      'add nameservers, or remove dnsConfig',
    );
    return undefined;
  }
  return dnsFields(pod.nameServers, pod.searches, pod.options);
}

function clusterFirstDns(
  context: Context,
  pod: PodDns,
  settings: NetworkSettings | undefined,
  notices: NetworkNotice[],
): DnsConfiguration | undefined {
  const domain = settings?.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN;
  // Counted with the cluster's server even where it is not known yet, so the verdict stays the same.
  const nameServers = unique([settings?.clusterDnsIP ?? 'the cluster DNS Service', ...pod.nameServers]);
  const searches = unique([...clusterSearches(namespaceOf(context.pod), domain), ...pod.searches]);
  checkDnsLimits(
    context,
    nameServers,
    searches,
    ' with the cluster DNS server and search domains that ClusterFirst adds',
  );
  if (settings?.subnetId === undefined) {
    // Checked only, or without a subnet, where the cluster's DNS Service is out of the group's reach:
    // Azure's resolver, with the pod's own name servers when it gives some.
    return pod.nameServers.length > 0 ? dnsFields(pod.nameServers, pod.searches, pod.options) : undefined;
  }
  if (settings.clusterDnsIP !== undefined) {
    return dnsFields(nameServers, searches, mergeOptions(CLUSTER_FIRST_OPTIONS, pod.options));
  }
  // What a kubelet without --cluster-dns does, with the event it records.
  notices.push({
    type: 'Warning',
    reason: 'MissingClusterDNS',
    message:
      'the connector knows no cluster DNS Service IP (no kube-dns Service in kube-system, no KUBE_DNS_IP) and cannot use the "ClusterFirst" policy: falling back to "Default" (Azure\'s resolver)',
  });
  return pod.nameServers.length > 0 ? dnsFields(pod.nameServers, pod.searches, pod.options) : undefined;
}

function dnsFields(nameServers: string[], searches: string[], options: string[]): DnsConfiguration {
  return {
    nameServers,
    ...(searches.length > 0 ? { searchDomains: searches.join(' ') } : {}),
    ...(options.length > 0 ? { options: options.join(' ') } : {}),
  };
}
