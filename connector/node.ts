// The virtual node: how it looks (a pure function of configuration, ACI quota and Azure health) and
// the controller that keeps it registered, heartbeating through a coordination.k8s.io Lease, its
// status fresh, its capacity bounded by the subscription's quota, and recreates it if it is deleted.
import {
  V1MicroTime,
  type V1Lease,
  type V1Node,
  type V1NodeCondition,
  type V1Taint,
} from '@kubernetes/client-node';
import {
  ACI_TAINT,
  PROJECT_NAME,
  PROJECT_VERSION,
  PROVIDER,
  PROVIDER_LABEL,
  REMAINING_CORES_ANNOTATION,
  REMAINING_GROUPS_ANNOTATION,
  VIRTUAL_NODE_TYPE,
  VIRTUAL_NODE_TYPE_LABEL,
} from '../contract/index.ts';
import { isNotFound } from '../runtime/errors.ts';
import { stopOnAbort } from '../runtime/lifecycle.ts';
import type { Logger } from '../runtime/logger.ts';
import type { QuotaApi, QuotaUsage } from './aci.ts';
import type { AzureCondition, ConditionSource } from './health.ts';
import type { Cancel, Timers } from '../runtime/clock.ts';

export interface NodeSettings {
  nodeName: string;
  region: string;
  internalIP: string;
  kubeletPort: number;
  capacity: { cpu: number; memoryBytes: number; pods: number };
  /**
   * Declare ExtendWebSocketsToKubelet, so a 1.36+ API server sends exec, attach and port-forward
   * WebSockets straight here instead of translating them to SPDY (both are served).
   */
  declareWebSockets: boolean;
  /** Labels added to the node's own (which win): a region, a team, what a nodeSelector picks. */
  labels: Record<string, string>;
  /** Taints added to azure.com/aci:NoSchedule when the node is created (only then may a node set them). */
  taints: V1Taint[];
}

/** The node feature by which a kubelet tells the API server it speaks the streaming WebSockets itself. */
export const WEBSOCKETS_FEATURE = 'ExtendWebSocketsToKubelet';

/** Capacity as advertised: the configured amount, bounded by what the ACI quota still allows. */
export function boundedCapacity(
  settings: NodeSettings,
  quota: QuotaUsage | undefined,
): NodeSettings['capacity'] {
  const { cpu, memoryBytes, pods } = settings.capacity;
  return {
    cpu: quota?.cores ? Math.min(cpu, quota.cores.limit) : cpu,
    memoryBytes,
    pods: quota?.containerGroups ? Math.min(pods, quota.containerGroups.limit) : pods,
  };
}

function remainingAnnotations(quota: QuotaUsage | undefined): Record<string, string> {
  const annotations: Record<string, string> = {};
  if (quota?.cores)
    annotations[REMAINING_CORES_ANNOTATION] = String(Math.max(0, quota.cores.limit - quota.cores.used));
  if (quota?.containerGroups) {
    annotations[REMAINING_GROUPS_ANNOTATION] = String(
      Math.max(0, quota.containerGroups.limit - quota.containerGroups.used),
    );
  }
  return annotations;
}

/**
 * The labels the node gives itself: only those NodeRestriction lets a node set (not the 2017
 * connector's `kubernetes.io/role`, nor any `node-role.kubernetes.io/`; an administrator may add them).
 */
export function nodeLabels(settings: NodeSettings): Record<string, string> {
  return {
    ...settings.labels,
    [VIRTUAL_NODE_TYPE_LABEL]: VIRTUAL_NODE_TYPE,
    [PROVIDER_LABEL]: PROVIDER,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'kubernetes.io/hostname': settings.nodeName,
    'topology.kubernetes.io/region': settings.region,
    'node.kubernetes.io/exclude-from-external-load-balancers': 'true',
  };
}

/** The kubelet's own labels in the kubernetes.io and k8s.io namespaces (k8s.io/kubelet IsKubeletLabel). */
const KUBELET_LABELS = new Set([
  'kubernetes.io/hostname',
  'kubernetes.io/os',
  'kubernetes.io/arch',
  'topology.kubernetes.io/region',
  'topology.kubernetes.io/zone',
  'node.kubernetes.io/instance-type',
]);

/**
 * Whether NodeRestriction lets a node set this label on itself: any label outside the kubernetes.io and
 * k8s.io namespaces, and in them only the kubelet's own and those under kubelet.kubernetes.io or
 * node.kubernetes.io (plugin/pkg/admission/noderestriction).
 */
export function nodeMaySetLabel(label: string): boolean {
  const prefix = label.includes('/') ? (label.split('/')[0] ?? '') : '';
  const inNamespace = (namespace: string): boolean =>
    prefix === namespace || prefix.endsWith(`.${namespace}`);
  if (!inNamespace('kubernetes.io') && !inNamespace('k8s.io')) return true;
  return (
    KUBELET_LABELS.has(label) || inNamespace('kubelet.kubernetes.io') || inNamespace('node.kubernetes.io')
  );
}

/** The node's conditions: Ready follows Azure's health; ACI has no memory, disk or PID pressure. */
export function nodeConditions(
  azure: AzureCondition,
  now: Date,
  previous: V1NodeCondition[] = [],
): V1NodeCondition[] {
  const before = new Map(previous.map((c) => [c.type, c]));
  const condition = (
    type: string,
    status: 'True' | 'False',
    reason: string,
    message: string,
  ): V1NodeCondition => {
    const prior = before.get(type);
    return {
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: now,
      lastTransitionTime:
        prior?.status === status && prior.lastTransitionTime ? prior.lastTransitionTime : now,
    };
  };
  return [
    azure.ok
      ? condition('Ready', 'True', 'KubeletReady', `${PROJECT_NAME} is ready; ${azure.message}`)
      : condition('Ready', 'False', azure.reason, azure.message),
    condition('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'ACI has no node memory to exhaust'),
    condition('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'ACI has no node disk to fill'),
    condition('PIDPressure', 'False', 'KubeletHasSufficientPID', 'ACI has no node PID space to exhaust'),
    condition('NetworkUnavailable', 'False', 'RouteCreated', 'container groups get their own IPs'),
  ];
}

export function buildNode(
  settings: NodeSettings,
  inputs: { quota: QuotaUsage | undefined; azure: AzureCondition; now: Date; previous?: V1Node | undefined },
): V1Node {
  const capacity = boundedCapacity(settings, inputs.quota);
  const resources = {
    cpu: String(capacity.cpu),
    memory: String(capacity.memoryBytes),
    pods: String(capacity.pods),
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: settings.nodeName,
      labels: nodeLabels(settings),
      annotations: remainingAnnotations(inputs.quota),
    },
    spec: { taints: [ACI_TAINT, ...settings.taints] },
    status: {
      capacity: resources,
      allocatable: resources,
      conditions: nodeConditions(inputs.azure, inputs.now, inputs.previous?.status?.conditions),
      addresses: [
        { type: 'InternalIP', address: settings.internalIP },
        { type: 'Hostname', address: settings.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: settings.kubeletPort } },
      declaredFeatures: settings.declareWebSockets ? [WEBSOCKETS_FEATURE] : [],
      nodeInfo: {
        kubeletVersion: `v${PROJECT_VERSION}-${PROJECT_NAME}`,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
        osImage: 'Azure Container Instances',
        kernelVersion: '',
        containerRuntimeVersion: `aci://${settings.region}`,
        machineID: '',
        systemUUID: '',
        bootID: '',
      },
    },
  };
}

/** What the node controller needs from Kubernetes. Errors are ClassifiedErrors. */
export interface NodeApi {
  readNode(name: string): Promise<V1Node | undefined>;
  createNode(node: V1Node): Promise<V1Node>;
  /** Merge-patches labels and annotations. */
  patchNode(name: string, patch: { metadata: V1Node['metadata'] }): Promise<void>;
  /** Merge-patches the status; NotFound when the node was deleted. */
  patchNodeStatus(name: string, status: V1Node['status']): Promise<void>;
  readLease(name: string): Promise<V1Lease | undefined>;
  createLease(lease: V1Lease): Promise<void>;
  replaceLease(lease: V1Lease): Promise<void>;
}

export interface NodeControllerDeps {
  api: NodeApi;
  quota: QuotaApi;
  /** Azure's health and, with ACI_SUBNET_ID, the subnet's: the node is Ready when all are. */
  health: ConditionSource;
  /** Reads the time and runs the lease, status and quota timers. */
  clock: Timers;
  logger: Logger;
  settings: NodeSettings;
  timing: { leaseDurationSeconds: number; nodeStatusIntervalMs: number; quotaIntervalMs: number };
}

export const LEASE_NAMESPACE = 'kube-node-lease';

export class NodeController {
  private readonly deps: NodeControllerDeps;
  private quota: QuotaUsage | undefined;
  private last: V1Node | undefined;
  private registered = false;
  private timers: Cancel[] = [];

  constructor(deps: NodeControllerDeps) {
    this.deps = deps;
  }

  /** True once the node exists in the API server. */
  get ready(): boolean {
    return this.registered;
  }

  /** Settles once the upkeep stopped after the start signal aborted. */
  done: Promise<void> = Promise.resolve();

  /** Registers the node, then keeps it fresh on timers until `signal` aborts. */
  async start(signal: AbortSignal): Promise<void> {
    await this.refreshQuota();
    await this.register();
    await this.renewLease();
    const { timing } = this.deps;
    const every = (ms: number, task: () => Promise<void>): Cancel =>
      this.deps.clock.every(ms, () => {
        task().catch((error: unknown) => {
          this.deps.logger.warn({ err: error }, 'node upkeep failed; will retry');
        });
      });
    this.timers = [
      every((timing.leaseDurationSeconds * 1000) / 4, () => this.renewLease()),
      every(timing.nodeStatusIntervalMs, () => this.updateStatus()),
      every(timing.quotaIntervalMs, () => this.refreshQuota()),
    ];
    this.done = stopOnAbort(
      signal,
      () => {
        this.stop();
      },
      (error) => {
        this.deps.logger.warn({ err: error }, 'stopping the node upkeep failed');
      },
    );
  }

  stop(): void {
    for (const cancel of this.timers) cancel();
    this.timers = [];
  }

  /** Reads the ACI quota; a failure keeps the last known quota and marks Azure unhealthy. */
  async refreshQuota(): Promise<void> {
    try {
      this.quota = await this.deps.quota.usage();
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'reading ACI quota failed; capacity keeps its last bound');
    }
  }

  private desired(): V1Node {
    return buildNode(this.deps.settings, {
      quota: this.quota,
      azure: this.deps.health.condition,
      now: new Date(this.deps.clock.now()),
      previous: this.last,
    });
  }

  /** Creates the node, or adopts an existing one and brings its labels, taints and status in line. */
  async register(): Promise<void> {
    const { api, settings, logger } = this.deps;
    const desired = this.desired();
    const existing = await api.readNode(settings.nodeName);
    if (existing === undefined) {
      this.last = await api.createNode(desired);
      logger.info({ node: settings.nodeName }, 'registered the virtual node');
    } else {
      // Taints others set (cordon, the lifecycle controller's not-ready/unreachable) stay. Ours comes
      // with the node when it is created: NodeRestriction lets a node set taints only then.
      const taints = existing.spec?.taints ?? [];
      if (!taints.some((t) => t.key === ACI_TAINT.key && t.effect === ACI_TAINT.effect)) {
        throw new Error(
          `the node ${settings.nodeName} exists without the taint ${ACI_TAINT.key}:${ACI_TAINT.effect}, so any pod ` +
            'could be scheduled onto ACI, and a node may not add taints to itself: add it ' +
            `(kubectl taint node ${settings.nodeName} ${ACI_TAINT.key}=:${ACI_TAINT.effect}) or delete the node ` +
            '(kubectl delete node ...) so that the connector registers it again with the taint',
        );
      }
      await api.patchNode(settings.nodeName, { metadata: desired.metadata });
      this.last = existing;
      logger.info({ node: settings.nodeName }, 'adopted the existing virtual node');
    }
    await api.patchNodeStatus(settings.nodeName, desired.status);
    this.registered = true;
  }

  /** Writes status (and the quota annotations); recreates the node if someone deleted it. */
  async updateStatus(): Promise<void> {
    const desired = this.desired();
    try {
      await this.deps.api.patchNode(this.deps.settings.nodeName, { metadata: desired.metadata });
      await this.deps.api.patchNodeStatus(this.deps.settings.nodeName, desired.status);
      this.last = desired;
    } catch (error) {
      if (!isNotFound(error)) throw error;
      this.deps.logger.warn(
        { node: this.deps.settings.nodeName },
        'the virtual node was deleted; registering it again',
      );
      this.registered = false;
      await this.register();
    }
  }

  async renewLease(): Promise<void> {
    const { api, settings, timing, clock } = this.deps;
    const now = new Date(clock.now());
    const existing = await api.readLease(settings.nodeName);
    const spec = {
      holderIdentity: settings.nodeName,
      leaseDurationSeconds: timing.leaseDurationSeconds,
      // MicroTime: the API server wants six fractional digits, which a plain Date does not print.
      renewTime: new V1MicroTime(now.getTime()),
    };
    if (existing === undefined) {
      await api.createLease({
        metadata: { name: settings.nodeName, namespace: LEASE_NAMESPACE },
        spec,
      });
      return;
    }
    await api.replaceLease({ ...existing, spec: { ...existing.spec, ...spec } });
  }
}
