// The connector's configuration, parsed once from the environment by main.ts. Parsing is pure and
// lists every problem at once, so an operator fixes a manifest in one round instead of five.
import { isIP } from 'node:net';
import type { V1Taint } from '@kubernetes/client-node';
import {
  DEFAULT_AUTHORITY_HOST,
  DEFAULT_CLUSTER_DOMAIN,
  DEFAULT_NODE_NAME,
  type IdentitySettings,
  isUserAssignedIdentityId,
  parseQuantity,
  registryServer,
} from '../contract/index.ts';
import {
  type ConfigResult,
  type Environment,
  EnvironmentReader,
  LOG_LEVELS,
} from '../runtime/environment.ts';
import { nodeMaySetLabel } from './node.ts';
import { normalizeRegistry } from './registry/reference.ts';
import { parseSubnetId, type SubnetRef } from './subnet.ts';

export interface ConnectorConfig {
  nodeName: string;
  /** Namespaces whose pods may run on ACI without the burst label. */
  allowedNamespaces: string[];
  /** Distinguishes this cluster's groups from another's in a shared resource group; resolved at start when empty. */
  clusterId: string | undefined;
  azure: {
    subscriptionId: string;
    resourceGroup: string;
    region: string;
    tenantId: string | undefined;
    clientId: string | undefined;
    clientSecret: string | undefined;
    authorityHost: string | undefined;
    resourceManagerEndpoint: string | undefined;
    caFile: string | undefined;
  };
  node: {
    internalIP: string;
    kubeletPort: number;
    capacity: { cpu: number; memoryBytes: number; pods: number };
    /** Added to the node's own labels. */
    labels: Record<string, string>;
    /** Added to azure.com/aci:NoSchedule. */
    taints: V1Taint[];
  };
  kubelet: {
    certFile: string | undefined;
    keyFile: string | undefined;
    clientCaFile: string | undefined;
    /** Declare the WebSocket streaming feature to the API server (both protocols are served anyway). */
    declareWebSockets: boolean;
    /** exec, attach and port-forward sessions with no traffic for this long are closed. */
    streamingIdleTimeoutMs: number;
  };
  opsPort: number;
  timing: {
    /** How often the resource group is listed. */
    listIntervalMs: number;
    /** How often a live group's instance view is re-read when nothing else triggers it. */
    refreshIntervalMs: number;
    /** Cap on refresh GETs of running groups per minute, whatever the pod count (transitions are not capped by it). */
    maxReadsPerMinute: number;
    /** The largest share (0-1] of ARM's remaining read budget that status reads take. */
    readBudgetShare: number;
    /** Log reads per minute (kubectl logs, followed logs), a budget apart from every other call. */
    logReadsPerMinute: number;
    leaseDurationSeconds: number;
    nodeStatusIntervalMs: number;
    quotaIntervalMs: number;
    /** How long a pod waiting on quota or on a missing reference waits before the next try. */
    waitRetryMs: number;
    provisioningTimeoutMs: number;
  };
  createLimits: { limit: number; windowMs: number }[];
  /** CPU and memory from Azure Monitor for the kubelet's resource-metrics routes. */
  metrics: {
    /** How often a Running group is read again; 0 turns the reads off. */
    refreshIntervalMs: number;
    /** Cap on Monitor reads per minute, whatever the pod count. */
    maxReadsPerMinute: number;
  };
  registry: {
    /** Registry (`docker.io`, `quay.io`, `host:port`) -> the https base URL to read its images from. */
    mirrors: Map<string, URL>;
    caFile: string | undefined;
    /** How long a reconcile waits for a registry. */
    waitMs: number;
    /** How long a tag's configuration is reused. */
    cacheTtlMs: number;
  };
  network: {
    /** The delegated subnet: private IPs, never public ones. */
    subnet: SubnetRef | undefined;
    /** Without a subnet: every pod's declared ports on a public IP (the default before issue 14). */
    exposePortsPublicly: boolean;
    /** The cluster DNS Service IP; unset: read from the kube-dns Service at start. */
    clusterDnsIP: string | undefined;
    clusterDomain: string;
  };
  /** The shell through which a workingDir other than the image's is honoured; unset: refused. */
  workingDirShell: string | undefined;
  /** Workload identity defaults and the default registry pull identity (docs/azure-identity.md). */
  identity: IdentitySettings;
  /** Replicas elect one leader that acts; unset namespace: this process acts at once (one replica). */
  leaderElection: {
    namespace: string | undefined;
    leaseSeconds: number;
    /** This replica's name in the Lease (a random suffix is added at start: a restarted pod is a new candidate). */
    identity: string;
  };
  logLevel: string;
}

/** Every variable the connector reads, with its meaning: docs/configuration.md is generated from these words. */
export const ENVIRONMENT = {
  NODE_NAME: 'Name of the virtual node (default aci-connector).',
  ACI_CLUSTER_ID:
    'Tag value that marks this cluster’s container groups, and part of their names (default: the kube-system namespace UID); unique per cluster sharing a resource group.',
  ACI_ALLOWED_NAMESPACES:
    'Namespaces whose pods may run on ACI without the label azure.com/aci-burst=enabled, comma-separated (default none); the ValidatingAdmissionPolicy aci-burst-opt-in must list the same.',
  AZURE_SUBSCRIPTION_ID: 'Azure subscription that holds the container groups (required).',
  ACI_RESOURCE_GROUP: 'Resource group for the container groups (required).',
  ACI_REGION: 'Azure region of the container groups (default westus).',
  AZURE_TENANT_ID: 'Entra ID tenant of the service principal or workload identity.',
  AZURE_CLIENT_ID: 'Client ID of the service principal, workload identity or user-assigned managed identity.',
  AZURE_CLIENT_SECRET: 'Client secret of the service principal.',
  AZURE_CLIENT_KEY: 'The 2017 connector’s name for AZURE_CLIENT_SECRET; accepted as an alias.',
  AZURE_AUTHORITY_HOST: 'Entra ID authority host (sovereign clouds, or the local emulator).',
  AZURE_RESOURCE_MANAGER_ENDPOINT: 'Resource Manager endpoint (default https://management.azure.com).',
  ACI_CA_FILE: 'Extra CA certificate (PEM) to trust for Azure endpoints, e.g. the emulator’s.',
  NODE_INTERNAL_IP:
    'InternalIP the node advertises; the API server dials its kubelet API there (default: POD_IP, else 127.0.0.1).',
  KUBELET_PORT: 'Port of the kubelet API (logs, exec, attach, port-forward); default 10250.',
  KUBELET_TLS_CERT_FILE: 'Serving certificate of the kubelet API (default: self-signed at start).',
  KUBELET_TLS_KEY_FILE: 'Key of KUBELET_TLS_CERT_FILE.',
  KUBELET_CLIENT_CA_FILE:
    'CA that signed the API server’s kubelet client certificate (default: the in-cluster CA; required outside a cluster).',
  KUBELET_WEBSOCKETS:
    'true (default): declare ExtendWebSocketsToKubelet so 1.36+ API servers send exec/attach/port-forward WebSockets straight to the node; false: they translate to SPDY.',
  KUBELET_STREAMING_IDLE_TIMEOUT_SECONDS:
    'exec, attach and port-forward sessions idle this long are closed (default 14400, the kubelet’s 4 h).',
  OPS_PORT: 'Port of /healthz, /readyz and /metrics (default 10255).',
  NODE_CPU: 'CPU capacity advertised before the ACI quota bounds it (default 100).',
  NODE_MEMORY: 'Memory capacity advertised (Kubernetes quantity, default 400Gi).',
  NODE_LABELS:
    'Labels added to the node’s own, as key=value, comma-separated (e.g. team=batch,example.com/pool=east); only labels a node may set on itself (none under kubernetes.io or k8s.io but the kubelet’s own and node.kubernetes.io/).',
  NODE_TAINTS:
    'Taints added to azure.com/aci:NoSchedule when the node is registered, as key[=value]:Effect, comma-separated (e.g. example.com/region=eastus:NoSchedule): only pods that tolerate them run there.',
  NODE_PODS: 'Pod capacity advertised before the container-group quota bounds it (default 100).',
  ACI_LIST_INTERVAL_SECONDS: 'How often the resource group is listed for status (default 10).',
  ACI_REFRESH_INTERVAL_SECONDS: 'How often a running group’s instance view is re-read (default 60).',
  ACI_MAX_READS_PER_MINUTE:
    'Cap on instance-view re-reads of running groups per minute, the steady-state cost (default 120); groups being created, starting or failing are read as soon as ARM’s budget allows, whatever this cap.',
  ACI_READ_BUDGET_PERCENT:
    'The largest share, in percent, of the reads ARM reports left (x-ms-ratelimit-remaining-subscription-reads) that status reads take at once (default 50); the rest stays for kubectl logs, metrics and other clients of the same identity.',
  ACI_LOG_READS_PER_MINUTE:
    'Log reads per minute, apart from other ARM calls; a followed container costs one per 2 s (default 60).',
  ACI_WAIT_RETRY_SECONDS:
    'How long a pod waiting for quota or for a missing ConfigMap, Secret or ServiceAccount waits between tries (default 30).',
  ACI_PROVISIONING_TIMEOUT_SECONDS:
    'How long a container group may stay Pending or Creating before it is deleted and created again, with a Warning event on the pod saying so (default 900).',
  ACI_QUOTA_INTERVAL_SECONDS:
    'How often the regional ACI quota is read to bound the node’s capacity (default 300).',
  NODE_STATUS_INTERVAL_SECONDS:
    'How often the node status is written; a deleted node returns within this (default 30).',
  ACI_CREATES_PER_5_MINUTES: 'Create pacing, short window (default 100, ACI’s default limit).',
  ACI_CREATES_PER_HOUR: 'Create pacing, long window (default 300, ACI’s default limit).',
  ACI_METRICS_REFRESH_SECONDS:
    'How often a Running pod’s CPU and memory are read again from Azure Monitor for kubectl top and autoscaling (default 60, Monitor’s grain; 0 turns the reads off).',
  ACI_METRICS_MAX_READS_PER_MINUTE:
    'Cap on Azure Monitor metric reads per minute, whatever the pod count (default 300).',
  REGISTRY_MIRRORS:
    'Registries to read image configurations from a mirror instead, as registry=https://mirror, comma-separated (e.g. docker.io=https://mirror.example:5000); for air-gapped clusters and tests.',
  REGISTRY_CA_FILE: 'Extra CA certificate (PEM) to trust for registries and mirrors, e.g. the emulator’s.',
  REGISTRY_TIMEOUT_SECONDS:
    'How long a pod’s reconcile waits for a registry before the pod waits with a RegistryUnavailable event and is retried (default 10).',
  REGISTRY_CACHE_SECONDS:
    'How long an image tag’s configuration read from its registry is reused (default 60).',
  ACI_SUBNET_ID:
    'ARM id of a subnet delegated to Microsoft.ContainerInstance/containerGroups in ACI_REGION (/subscriptions/…/resourceGroups/…/providers/Microsoft.Network/virtualNetworks/…/subnets/…): container groups get a private IP there, pods get it as their IP, and no group ever gets a public IP. Unset (default): no subnet.',
  ACI_EXPOSE_PORTS_PUBLICLY:
    'Without ACI_SUBNET_ID: true gives every pod’s declared ports a public IP, as before private networking; false (default): only pods annotated azure.com/aci-public-ip: "true" (or with a DNS name label) get one.',
  KUBE_DNS_IP:
    'Cluster DNS Service IP for dnsPolicy ClusterFirst in the subnet (default: the clusterIP of the kube-dns Service in kube-system, read at start).',
  CLUSTER_DOMAIN: 'Cluster DNS domain for the ClusterFirst search list (default cluster.local).',
  ACI_WORKING_DIR_SHELL:
    'Shell in the images (e.g. /bin/sh) through which a container’s workingDir is honoured when it differs from the image’s WORKDIR; unset (default): such pods fail.',
  ACI_REGISTRY_IDENTITY:
    'Resource ID of a user-assigned managed identity (/subscriptions/…/resourceGroups/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/…) that ACI pulls images with from the registries of ACI_REGISTRY_IDENTITY_SERVERS when a pod’s pull secrets do not cover them; it needs AcrPull on the registry, and the connector’s principal Managed Identity Operator on it. Unset (default): none.',
  ACI_REGISTRY_IDENTITY_SERVERS:
    'Registries ACI_REGISTRY_IDENTITY pulls from, comma-separated; *.domain covers every registry under the domain (default *.azurecr.io).',
  ACI_WORKLOAD_IDENTITY_TENANT_ID:
    'AZURE_TENANT_ID given to workload identity pods whose ServiceAccount has no azure.workload.identity/tenant-id annotation (default: AZURE_TENANT_ID).',
  ACI_WORKLOAD_IDENTITY_AUTHORITY_HOST:
    'AZURE_AUTHORITY_HOST given to workload identity pods (default https://login.microsoftonline.com/, as the Azure Workload Identity webhook).',
  ACI_WORKLOAD_IDENTITY_RECREATE:
    'true: recreate a workload identity pod’s container group before its token expires (ACI cannot refresh the file); false (default): the pod keeps the token it started with.',
  LEADER_ELECTION_NAMESPACE:
    'Namespace of the Lease (named after NODE_NAME) through which the connector’s replicas elect the one that acts; the others stand by with warm caches (the manifests set it to the pod’s namespace). Unset: no election, the process acts at once: run one replica only.',
  LEADER_ELECTION_LEASE_SECONDS:
    'How long the leader’s Lease lasts without renewal; a standby takes over within this plus about 4 s of the leader’s death (default 10, at least 6).',
  POD_NAME:
    'This replica’s name in the leader election (the manifests set it to the pod’s name; default: HOSTNAME).',
  LOG_LEVEL: 'pino level: debug, info, warn, error (default info).',
} as const;

type Variable = keyof typeof ENVIRONMENT;
type Reader = EnvironmentReader<Variable>;

function quantity(read: Reader, name: Variable, fallback: string): number {
  const value = read.parsed(
    name,
    (text) => {
      const parsed = parseQuantity(text);
      return parsed !== undefined && parsed > 0 ? parsed : undefined;
    },
    'a positive Kubernetes quantity (e.g. 100, 400Gi)',
  );
  return value ?? parseQuantity(fallback) ?? 0;
}

/** A user-assigned managed identity's ARM id. */
function identity(read: Reader, name: Variable): string | undefined {
  return read.parsed(
    name,
    (text) => (isUserAssignedIdentityId(text) ? text : undefined),
    "a user-assigned managed identity's resource ID, /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>",
  );
}

/** A label key: an optional DNS-subdomain prefix and a name of at most 63 characters. */
const LABEL_KEY =
  /^(?:[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^(?:[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** `key=value,...` labels, each one a node may set on itself. */
function labels(read: Reader, name: Variable): Record<string, string> {
  const found: Record<string, string> = {};
  for (const pair of read.list(name)) {
    const [key = '', value = '', ...rest] = pair.split('=');
    if (!pair.includes('=') || rest.length > 0 || !LABEL_KEY.test(key) || !LABEL_VALUE.test(value)) {
      read.invalid(name, 'a list of key=value labels (Kubernetes label syntax)', pair);
    } else if (!nodeMaySetLabel(key)) {
      read.problem(
        `${name}: a node may not set the label ${key} on itself (NodeRestriction); use another prefix, e.g. example.com/`,
      );
    } else found[key] = value;
  }
  return found;
}

/** `key[=value]:Effect,...` taints. */
function taints(read: Reader, name: Variable): V1Taint[] {
  const found: V1Taint[] = [];
  for (const entry of read.list(name)) {
    const match = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(entry);
    const [, key = '', value = ''] = match ?? [];
    if (match === null || !LABEL_KEY.test(key) || !LABEL_VALUE.test(value)) {
      read.invalid(name, 'a list of taints as key[=value]:NoSchedule|PreferNoSchedule|NoExecute', entry);
    } else found.push({ key, ...(value !== '' && { value }), effect: match[3] ?? '' });
  }
  return found;
}

/** `registry=https://mirror,...`: every pair checked, every problem reported. */
function mirrors(read: Reader, name: Variable): Map<string, URL> {
  const found = new Map<string, URL>();
  for (const pair of read.list(name)) {
    const [registry = '', url = ''] = pair.split('=').map((text) => text.trim());
    const parsed = URL.canParse(url) ? new URL(url) : undefined;
    if (registry === '' || parsed?.protocol !== 'https:' || parsed.pathname !== '/' || parsed.search !== '') {
      read.problem(`${name} must list registry=https://host[:port] pairs, got "${pair}"`);
    } else {
      found.set(normalizeRegistry(registry), parsed);
    }
  }
  return found;
}

/** Registry servers, comma-separated; `*.domain` for every registry under a domain. */
function registries(read: Reader, name: Variable, fallback: string[]): string[] {
  const text = read.optional(name);
  if (text === undefined) return fallback;
  const servers = read.list(name);
  const invalid = servers.filter(
    (entry) => !/^(\*\.)?[a-z0-9]([-a-z0-9.]*[a-z0-9])?(:\d{1,5})?$/.test(entry),
  );
  if (invalid.length > 0 || servers.length === 0) {
    read.invalid(name, 'registry hosts (myacr.azurecr.io, *.azurecr.io) separated by commas', text);
  }
  return servers.map(registryServer);
}

function identitySettings(read: Reader): IdentitySettings {
  const registryIdentity = identity(read, 'ACI_REGISTRY_IDENTITY');
  const servers = registries(read, 'ACI_REGISTRY_IDENTITY_SERVERS', ['*.azurecr.io']);
  return {
    workloadIdentity: {
      tenantId: read.optional('ACI_WORKLOAD_IDENTITY_TENANT_ID') ?? read.optional('AZURE_TENANT_ID'),
      authorityHost:
        read.parsed(
          'ACI_WORKLOAD_IDENTITY_AUTHORITY_HOST',
          (text) => (URL.canParse(text) ? text : undefined),
          'a URL',
        ) ?? DEFAULT_AUTHORITY_HOST,
      recreateBeforeExpiry: read.boolean('ACI_WORKLOAD_IDENTITY_RECREATE', false),
    },
    registryIdentity: registryIdentity === undefined ? undefined : { identity: registryIdentity, servers },
  };
}

/** A comma-separated list of namespace names (DNS labels). */
function namespaces(read: Reader, name: Variable): string[] {
  const names = read.list(name);
  const invalid = names.filter((entry) => !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(entry));
  if (invalid.length > 0) {
    read.problem(
      `${name} must list namespace names separated by commas, got ${invalid.map((e) => `"${e}"`).join(', ')}`,
    );
  }
  return names;
}

export function readConfig(env: Environment): ConfigResult<ConnectorConfig> {
  const read = new EnvironmentReader(env, ENVIRONMENT);
  const clientSecret = read.optional('AZURE_CLIENT_SECRET') ?? read.optional('AZURE_CLIENT_KEY');
  const config: ConnectorConfig = {
    nodeName: read.optional('NODE_NAME') ?? DEFAULT_NODE_NAME,
    allowedNamespaces: namespaces(read, 'ACI_ALLOWED_NAMESPACES'),
    clusterId: read.optional('ACI_CLUSTER_ID'),
    azure: {
      subscriptionId: read.required('AZURE_SUBSCRIPTION_ID'),
      resourceGroup: read.required('ACI_RESOURCE_GROUP'),
      region: read.optional('ACI_REGION') ?? 'westus',
      tenantId: read.optional('AZURE_TENANT_ID'),
      clientId: read.optional('AZURE_CLIENT_ID'),
      clientSecret,
      authorityHost: read.parsed('AZURE_AUTHORITY_HOST', acceptUrl, 'a URL'),
      resourceManagerEndpoint: read.parsed('AZURE_RESOURCE_MANAGER_ENDPOINT', acceptUrl, 'a URL'),
      caFile: read.optional('ACI_CA_FILE'),
    },
    node: {
      internalIP: read.optional('NODE_INTERNAL_IP') ?? env.POD_IP ?? '127.0.0.1',
      kubeletPort: read.integer('KUBELET_PORT', 10250),
      capacity: {
        cpu: quantity(read, 'NODE_CPU', '100'),
        memoryBytes: quantity(read, 'NODE_MEMORY', '400Gi'),
        pods: read.integer('NODE_PODS', 100),
      },
      labels: labels(read, 'NODE_LABELS'),
      taints: taints(read, 'NODE_TAINTS'),
    },
    kubelet: {
      certFile: read.optional('KUBELET_TLS_CERT_FILE'),
      keyFile: read.optional('KUBELET_TLS_KEY_FILE'),
      clientCaFile: read.optional('KUBELET_CLIENT_CA_FILE'),
      declareWebSockets: read.boolean('KUBELET_WEBSOCKETS', true),
      streamingIdleTimeoutMs: read.integer('KUBELET_STREAMING_IDLE_TIMEOUT_SECONDS', 14_400) * 1000,
    },
    opsPort: read.integer('OPS_PORT', 10255, { min: 0 }),
    timing: {
      listIntervalMs: read.integer('ACI_LIST_INTERVAL_SECONDS', 10) * 1000,
      refreshIntervalMs: read.integer('ACI_REFRESH_INTERVAL_SECONDS', 60) * 1000,
      maxReadsPerMinute: read.integer('ACI_MAX_READS_PER_MINUTE', 120),
      readBudgetShare: read.integer('ACI_READ_BUDGET_PERCENT', 50, { min: 1, max: 100 }) / 100,
      logReadsPerMinute: read.integer('ACI_LOG_READS_PER_MINUTE', 60),
      leaseDurationSeconds: 40,
      nodeStatusIntervalMs: read.integer('NODE_STATUS_INTERVAL_SECONDS', 30) * 1000,
      quotaIntervalMs: read.integer('ACI_QUOTA_INTERVAL_SECONDS', 300) * 1000,
      waitRetryMs: read.integer('ACI_WAIT_RETRY_SECONDS', 30) * 1000,
      provisioningTimeoutMs: read.integer('ACI_PROVISIONING_TIMEOUT_SECONDS', 900) * 1000,
    },
    createLimits: [
      { limit: read.integer('ACI_CREATES_PER_5_MINUTES', 100), windowMs: 300_000 },
      { limit: read.integer('ACI_CREATES_PER_HOUR', 300), windowMs: 3_600_000 },
    ],
    metrics: {
      refreshIntervalMs: read.integer('ACI_METRICS_REFRESH_SECONDS', 60, { min: 0 }) * 1000,
      maxReadsPerMinute: read.integer('ACI_METRICS_MAX_READS_PER_MINUTE', 300),
    },
    registry: {
      mirrors: mirrors(read, 'REGISTRY_MIRRORS'),
      caFile: read.optional('REGISTRY_CA_FILE'),
      waitMs: read.integer('REGISTRY_TIMEOUT_SECONDS', 10) * 1000,
      cacheTtlMs: read.integer('REGISTRY_CACHE_SECONDS', 60, { min: 0 }) * 1000,
    },
    network: {
      subnet: read.parsed(
        'ACI_SUBNET_ID',
        parseSubnetId,
        "a subnet's ARM id, /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<network>/subnets/<subnet>",
      ),
      exposePortsPublicly: read.boolean('ACI_EXPOSE_PORTS_PUBLICLY', false),
      clusterDnsIP: read.parsed(
        'KUBE_DNS_IP',
        (text) => (isIP(text) === 0 ? undefined : text),
        'an IP address',
      ),
      clusterDomain: read.optional('CLUSTER_DOMAIN') ?? DEFAULT_CLUSTER_DOMAIN,
    },
    // An absolute path without spaces: it becomes the first word of a command line.
    workingDirShell: read.parsed(
      'ACI_WORKING_DIR_SHELL',
      (text) => (/^\/\S+$/.test(text) ? text : undefined),
      'an absolute path such as /bin/sh',
    ),
    identity: identitySettings(read),
    leaderElection: {
      namespace: read.optional('LEADER_ELECTION_NAMESPACE'),
      leaseSeconds: read.integer('LEADER_ELECTION_LEASE_SECONDS', 10, { min: 6 }),
      identity: read.optional('POD_NAME') ?? env.HOSTNAME ?? 'connector',
    },
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
  };
  if (
    clientSecret !== undefined &&
    (config.azure.tenantId === undefined || config.azure.clientId === undefined)
  ) {
    read.problem('a client secret needs AZURE_TENANT_ID and AZURE_CLIENT_ID too');
  }
  if ((config.kubelet.certFile === undefined) !== (config.kubelet.keyFile === undefined)) {
    read.problem('KUBELET_TLS_CERT_FILE and KUBELET_TLS_KEY_FILE go together');
  }
  return read.result(config);
}

function acceptUrl(text: string): string | undefined {
  return URL.canParse(text) ? text : undefined;
}
