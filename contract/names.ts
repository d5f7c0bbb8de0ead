// The contract the webhook, the extender and the connector share: every name one of them writes
// and another reads. Change a value here and all three processes move together.
import type { V1Node, V1Pod, V1Taint, V1Toleration } from '@kubernetes/client-node';

export const PROJECT_NAME = 'aci-burst';
export const PROJECT_VERSION = '0.1.0';

/** The virtual node's default name, the same as the 2017 connector's. */
export const DEFAULT_NODE_NAME = 'aci-connector';

/** The taint on the virtual node: only pods that tolerate it may land on ACI. */
export const ACI_TAINT_KEY = 'azure.com/aci';
export const ACI_TAINT: V1Taint = { key: ACI_TAINT_KEY, effect: 'NoSchedule' };
export const ACI_TOLERATION: V1Toleration = { key: ACI_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' };

/** Namespace label: `enabled` opts the namespace's pods into bursting onto ACI. */
export const BURST_NAMESPACE_LABEL = 'azure.com/aci-burst';
export const BURST_NAMESPACE_ENABLED = 'enabled';

/**
 * Whether pods of a namespace may run on ACI at all: it is labelled for bursting, or the operator
 * named it in an allow-list. The ValidatingAdmissionPolicy `aci-burst-opt-in` (manifests/connector/)
 * states the same rule in CEL, and the connector checks it again before it creates a group.
 */
export function namespaceOptedIn(
  name: string,
  labels: Readonly<Record<string, string>> | undefined,
  allowList: readonly string[],
): boolean {
  return labels?.[BURST_NAMESPACE_LABEL] === BURST_NAMESPACE_ENABLED || allowList.includes(name);
}

/** Pod label: `required` (must run on ACI) or `never` (must not). Absent: follow the namespace. */
export const PLACEMENT_LABEL = 'azure.com/aci';
export type Placement = 'required' | 'never' | 'default';

/** `namespace/name`: how logs, queues and caches name a pod. */
export function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

export function podPlacement(pod: V1Pod): Placement {
  const value = pod.metadata?.labels?.[PLACEMENT_LABEL];
  return value === 'required' || value === 'never' ? value : 'default';
}

/**
 * Pod or namespace annotation `azure.com/aci-preference`: `prefer` scores the virtual node above
 * real nodes; anything else (or absent) keeps real nodes first.
 */
export const PREFERENCE_ANNOTATION = 'azure.com/aci-preference';
export const PREFER_ACI = 'prefer';

/** The label that marks a virtual node (shared with Virtual Kubelet), and ours beside it. */
export const VIRTUAL_NODE_TYPE_LABEL = 'type';
export const VIRTUAL_NODE_TYPE = 'virtual-kubelet';
export const PROVIDER_LABEL = 'azure.com/aci-provider';
export const PROVIDER = PROJECT_NAME;

export function isVirtualNode(node: V1Node): boolean {
  const labels = node.metadata?.labels ?? {};
  return labels[VIRTUAL_NODE_TYPE_LABEL] === VIRTUAL_NODE_TYPE && labels[PROVIDER_LABEL] === PROVIDER;
}

/**
 * Node annotations the connector publishes from the ACI usages API, read by the extender:
 * what the subscription's regional quota still allows. Values are decimal strings.
 */
export const REMAINING_CORES_ANNOTATION = 'azure.com/aci-remaining-cores';
export const REMAINING_GROUPS_ANNOTATION = 'azure.com/aci-remaining-container-groups';

/** Tags on every container group, so a restarted connector adopts what exists. */
export const TAGS = {
  podUid: 'k8s-pod-uid',
  namespace: 'k8s-namespace',
  podName: 'k8s-pod-name',
  nodeName: 'k8s-node-name',
  clusterId: 'k8s-cluster-id',
  /** When a workload identity pod's token expires (ISO 8601): the connector may recreate the group before. */
  tokenExpiry: 'k8s-token-expiry',
} as const;

/** Pod annotations for ACI features Kubernetes has no field for (docs/pod-fields.md; contract/aci-features.ts describes each). */
export const ACI_ANNOTATIONS = {
  dnsNameLabel: 'azure.com/aci-dns-name-label',
  /** `"true"`: expose the pod's declared ports on a public IP address (never with a subnet). */
  publicIP: 'azure.com/aci-public-ip',
  gpuSku: 'azure.com/aci-gpu-sku',
  priority: 'azure.com/aci-priority',
  sku: 'azure.com/aci-sku',
  /** User-assigned managed identities (ARM ids, comma-separated) the group carries (contract/identity.ts). */
  identities: 'azure.com/aci-identities',
  /** The identity ACI pulls images with from registries the pull secrets do not cover. */
  registryIdentity: 'azure.com/aci-registry-identity',
} as const;
