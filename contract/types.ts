// The shapes the contract's modules and its callers share, in a module that imports none of them:
// every other contract/ module may depend on these without a cycle back through capability.ts.
import type {
  V1ConfigMap,
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1Secret,
  V1ServiceAccount,
} from '@kubernetes/client-node';

export interface Problem {
  /** The field at fault, as kubectl users read it: `spec.volumes[2].hostPath`. */
  path: string;
  /** What is wrong, in words a user understands. */
  message: string;
  /** What to do instead. */
  fix: string;
  /**
   * `unsupported`: ACI can never run this as written: reject or fail the pod.
   * `missing-reference`: a ConfigMap, Secret, key or ServiceAccount the pod needs does not exist (yet):
   * a kubelet would wait for it, and so does the connector.
   */
  kind: 'unsupported' | 'missing-reference';
}

/**
 * The objects a pod references, as read from the API server. A map lacks a name when the object does
 * not exist. Omit the whole argument to check only what the pod spec itself says (the extender does).
 */
export interface ReferencedObjects {
  configMaps: ReadonlyMap<string, V1ConfigMap>;
  secrets: ReadonlyMap<string, V1Secret>;
  /** The pod's service account; `undefined` when it does not exist. */
  serviceAccount: V1ServiceAccount | undefined;
  /**
   * The tokens the connector obtained from the TokenRequest API for
   * `serviceAccountTokenRequests(pod, serviceAccount)`, by each request's `key`. Omitted (the webhook),
   * tokens and the cluster CA are left out of the check; given, a missing one makes the pod wait.
   */
  serviceAccountTokens?: ReadonlyMap<string, string>;
  /** The cluster CA (PEM), for the ca.crt beside a token volume the connector adds itself. */
  clusterCaPem?: string;
  /**
   * The configurations of `imageConfigRequests(pod)`, by image as the pod names it, which the connector
   * read from the registries. Omitted (the webhook, the extender: they never call registries), `args`
   * without `command` and `workingDir` are accepted and left to the connector; given, a missing one
   * makes the pod wait.
   */
  images?: ReadonlyMap<string, ImageConfig>;
  /**
   * The pod's PersistentVolumeClaims, the volumes they are bound to and those volumes' Secrets.
   * Omitted, claims are neither resolved nor reported (the pod is checked as if each were an Azure
   * Files share); given, a claim ACI cannot mount or that is not bound makes the pod wait.
   */
  claimed?: ClaimedVolumes;
}

/** What `podReferences(pod).claims` led to, as read from the API server; absent names do not exist. */
export interface ClaimedVolumes {
  /** In the pod's namespace, by claim name. */
  claims: ReadonlyMap<string, V1PersistentVolumeClaim>;
  /** By PersistentVolume name. */
  volumes: ReadonlyMap<string, V1PersistentVolume>;
  /** The Secrets the volumes name for their storage account, by `namespace/name`. */
  secrets: ReadonlyMap<string, V1Secret>;
}

/** Per-group maximums; they differ per region and subscription, so they are settings. */
export interface AciLimits {
  maxCpuPerGroup: number;
  maxMemoryGbPerGroup: number;
  maxContainersPerGroup: number;
  maxVolumesPerGroup: number;
  maxPortsPerGroup: number;
}

/** The names of the objects `checkPod` and the translation need, so a caller can fetch exactly those. */
export interface PodReferences {
  configMaps: string[];
  /** Including imagePullSecrets and the Secrets of Azure Files volumes. */
  secrets: string[];
  /** The pod's ServiceAccount (`default` when it names none). */
  serviceAccountName: string;
  /** Those of `configMaps` that every reference marks optional: their absence is no problem. */
  optionalConfigMaps: string[];
  /** Those of `secrets` that every reference marks optional (imagePullSecrets always are, as for a kubelet). */
  optionalSecrets: string[];
  /** The PersistentVolumeClaims the pod's volumes name (their volumes and Secrets are read after them). */
  claims: string[];
}

/** What a container runtime reads from an image's configuration (the OCI image config's `config`). */
export interface ImageConfig {
  /** ENTRYPOINT; empty when the image has none. */
  entrypoint: string[];
  /** CMD; empty when the image has none. */
  cmd: string[];
  /** WORKDIR; empty when the image has none (the runtime starts in `/`). */
  workingDir: string;
}
