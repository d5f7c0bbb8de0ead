// The connector's configuration, parsed once from the environment by main.ts. Parsing is pure and
// lists every problem at once, so an operator fixes a manifest in one round instead of five.
import { isIP } from 'node:net';
import { DEFAULT_CLUSTER_DOMAIN, DEFAULT_NODE_NAME, parseQuantity } from '../contract/index.ts';
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
    /** Cap on instance-view GETs per minute, whatever the pod count. */
    maxReadsPerMinute: number;
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
  logLevel: string;
}

/** Every variable the connector reads, with its meaning: the README's table is generated from the same words. */
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
  NODE_PODS: 'Pod capacity advertised before the container-group quota bounds it (default 100).',
  ACI_LIST_INTERVAL_SECONDS: 'How often the resource group is listed for status (default 10).',
  ACI_REFRESH_INTERVAL_SECONDS: 'How often a running group’s instance view is re-read (default 60).',
  ACI_MAX_READS_PER_MINUTE: 'Cap on instance-view reads per minute (default 120).',
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
  LOG_LEVEL: 'pino level: debug, info, warn, error (default info).',
} as const;

type Env = Record<string, string | undefined>;

class Reader {
  readonly problems: string[] = [];
  private readonly env: Env;

  constructor(env: Env) {
    this.env = env;
  }

  optional(name: keyof typeof ENVIRONMENT): string | undefined {
    const value = this.env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  }

  required(name: keyof typeof ENVIRONMENT): string {
    const value = this.optional(name);
    if (value === undefined) this.problems.push(`${name} is required: ${ENVIRONMENT[name]}`);
    return value ?? '';
  }

  integer(name: keyof typeof ENVIRONMENT, fallback: number, min = 1): number {
    const text = this.optional(name);
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < min) {
      this.problems.push(`${name} must be a whole number >= ${min}, got "${text}"`);
      return fallback;
    }
    return value;
  }

  quantity(name: keyof typeof ENVIRONMENT, fallback: string): number {
    const text = this.optional(name) ?? fallback;
    const value = parseQuantity(text);
    if (value === undefined || value <= 0) {
      this.problems.push(`${name} must be a positive Kubernetes quantity (e.g. 100, 400Gi), got "${text}"`);
      return parseQuantity(fallback) ?? 0;
    }
    return value;
  }

  boolean(name: keyof typeof ENVIRONMENT, fallback: boolean): boolean {
    const text = this.optional(name)?.toLowerCase();
    if (text === undefined) return fallback;
    if (text === 'true' || text === 'false') return text === 'true';
    this.problems.push(`${name} must be true or false, got "${text}"`);
    return fallback;
  }

  /** `registry=https://mirror,...`: every pair checked, every problem reported. */
  mirrors(name: keyof typeof ENVIRONMENT): Map<string, URL> {
    const mirrors = new Map<string, URL>();
    for (const pair of (this.optional(name) ?? '').split(',').filter((text) => text.trim() !== '')) {
      const [registry = '', url = ''] = pair.split('=').map((text) => text.trim());
      const parsed = URL.canParse(url) ? new URL(url) : undefined;
      if (
        registry === '' ||
        parsed?.protocol !== 'https:' ||
        parsed.pathname !== '/' ||
        parsed.search !== ''
      ) {
        this.problems.push(`${name} must list registry=https://host[:port] pairs, got "${pair.trim()}"`);
      } else {
        mirrors.set(normalizeRegistry(registry), parsed);
      }
    }
    return mirrors;
  }

  /** An absolute path without spaces: it becomes the first word of a command line. */
  executable(name: keyof typeof ENVIRONMENT): string | undefined {
    const text = this.optional(name);
    if (text !== undefined && !/^\/\S+$/.test(text)) {
      this.problems.push(`${name} must be an absolute path such as /bin/sh, got "${text}"`);
      return undefined;
    }
    return text;
  }

  /** A comma-separated list of namespace names (DNS labels). */
  namespaces(name: keyof typeof ENVIRONMENT): string[] {
    const names = (this.optional(name) ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    const invalid = names.filter((entry) => !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(entry));
    if (invalid.length > 0) {
      this.problems.push(
        `${name} must list namespace names separated by commas, got ${invalid.map((e) => `"${e}"`).join(', ')}`,
      );
    }
    return names;
  }

  subnet(name: keyof typeof ENVIRONMENT): SubnetRef | undefined {
    const text = this.optional(name);
    if (text === undefined) return undefined;
    const subnet = parseSubnetId(text);
    if (subnet === undefined) {
      this.problems.push(
        `${name} must be a subnet's ARM id, /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.Network/virtualNetworks/<network>/subnets/<subnet>, got "${text}"`,
      );
    }
    return subnet;
  }

  ip(name: keyof typeof ENVIRONMENT): string | undefined {
    const text = this.optional(name);
    if (text !== undefined && isIP(text) === 0)
      this.problems.push(`${name} must be an IP address, got "${text}"`);
    return text;
  }

  url(name: keyof typeof ENVIRONMENT): string | undefined {
    const text = this.optional(name);
    if (text !== undefined && !URL.canParse(text)) this.problems.push(`${name} must be a URL, got "${text}"`);
    return text;
  }
}

export type ParsedConfig = { ok: true; config: ConnectorConfig } | { ok: false; problems: string[] };

export function parseConfig(env: Env): ParsedConfig {
  const read = new Reader(env);
  const clientSecret = read.optional('AZURE_CLIENT_SECRET') ?? read.optional('AZURE_CLIENT_KEY');
  const config: ConnectorConfig = {
    nodeName: read.optional('NODE_NAME') ?? DEFAULT_NODE_NAME,
    allowedNamespaces: read.namespaces('ACI_ALLOWED_NAMESPACES'),
    clusterId: read.optional('ACI_CLUSTER_ID'),
    azure: {
      subscriptionId: read.required('AZURE_SUBSCRIPTION_ID'),
      resourceGroup: read.required('ACI_RESOURCE_GROUP'),
      region: read.optional('ACI_REGION') ?? 'westus',
      tenantId: read.optional('AZURE_TENANT_ID'),
      clientId: read.optional('AZURE_CLIENT_ID'),
      clientSecret,
      authorityHost: read.url('AZURE_AUTHORITY_HOST'),
      resourceManagerEndpoint: read.url('AZURE_RESOURCE_MANAGER_ENDPOINT'),
      caFile: read.optional('ACI_CA_FILE'),
    },
    node: {
      internalIP: read.optional('NODE_INTERNAL_IP') ?? env.POD_IP ?? '127.0.0.1',
      kubeletPort: read.integer('KUBELET_PORT', 10250),
      capacity: {
        cpu: read.quantity('NODE_CPU', '100'),
        memoryBytes: read.quantity('NODE_MEMORY', '400Gi'),
        pods: read.integer('NODE_PODS', 100),
      },
    },
    kubelet: {
      certFile: read.optional('KUBELET_TLS_CERT_FILE'),
      keyFile: read.optional('KUBELET_TLS_KEY_FILE'),
      clientCaFile: read.optional('KUBELET_CLIENT_CA_FILE'),
      declareWebSockets: read.boolean('KUBELET_WEBSOCKETS', true),
      streamingIdleTimeoutMs: read.integer('KUBELET_STREAMING_IDLE_TIMEOUT_SECONDS', 14_400) * 1000,
    },
    opsPort: read.integer('OPS_PORT', 10255, 0),
    timing: {
      listIntervalMs: read.integer('ACI_LIST_INTERVAL_SECONDS', 10) * 1000,
      refreshIntervalMs: read.integer('ACI_REFRESH_INTERVAL_SECONDS', 60) * 1000,
      maxReadsPerMinute: read.integer('ACI_MAX_READS_PER_MINUTE', 120),
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
      refreshIntervalMs: read.integer('ACI_METRICS_REFRESH_SECONDS', 60, 0) * 1000,
      maxReadsPerMinute: read.integer('ACI_METRICS_MAX_READS_PER_MINUTE', 300),
    },
    registry: {
      mirrors: read.mirrors('REGISTRY_MIRRORS'),
      caFile: read.optional('REGISTRY_CA_FILE'),
      waitMs: read.integer('REGISTRY_TIMEOUT_SECONDS', 10) * 1000,
      cacheTtlMs: read.integer('REGISTRY_CACHE_SECONDS', 60, 0) * 1000,
    },
    network: {
      subnet: read.subnet('ACI_SUBNET_ID'),
      exposePortsPublicly: read.boolean('ACI_EXPOSE_PORTS_PUBLICLY', false),
      clusterDnsIP: read.ip('KUBE_DNS_IP'),
      clusterDomain: read.optional('CLUSTER_DOMAIN') ?? DEFAULT_CLUSTER_DOMAIN,
    },
    workingDirShell: read.executable('ACI_WORKING_DIR_SHELL'),
    logLevel: read.optional('LOG_LEVEL') ?? 'info',
  };
  if (
    clientSecret !== undefined &&
    (config.azure.tenantId === undefined || config.azure.clientId === undefined)
  ) {
    read.problems.push('a client secret needs AZURE_TENANT_ID and AZURE_CLIENT_ID too');
  }
  if ((config.kubelet.certFile === undefined) !== (config.kubelet.keyFile === undefined)) {
    read.problems.push('KUBELET_TLS_CERT_FILE and KUBELET_TLS_KEY_FILE go together');
  }
  return read.problems.length > 0 ? { ok: false, problems: read.problems } : { ok: true, config };
}
