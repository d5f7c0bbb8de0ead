// "Can this pod run on ACI, and if not, why?" answered once, here, for all three processes:
// the webhook rejects with these problems, the extender filters the virtual node with them, and the
// connector fails the pod with them. They can therefore never disagree.
import type { V1ConfigMap, V1Pod, V1Secret, V1ServiceAccount } from '@kubernetes/client-node';
import type { ImageConfig } from './image-config.ts';
import { analysePod } from './translate.ts';

export { imageConfigRequests, type ImageConfig } from './image-config.ts';
export { podReferences } from './references.ts';
export { serviceAccountTokenRequests, type ServiceAccountTokenRequest } from './service-account.ts';

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
}

/** Per-group maximums; they differ per region and subscription, so they are settings. */
export interface AciLimits {
  maxCpuPerGroup: number;
  maxMemoryGbPerGroup: number;
  maxContainersPerGroup: number;
  maxVolumesPerGroup: number;
  maxPortsPerGroup: number;
}

export const DEFAULT_ACI_LIMITS: AciLimits = {
  maxCpuPerGroup: 4,
  maxMemoryGbPerGroup: 16,
  maxContainersPerGroup: 60,
  maxVolumesPerGroup: 20,
  maxPortsPerGroup: 5,
};

/**
 * Every problem that keeps ACI from running the pod; empty when it can. Without `objects` only the
 * spec is checked (cheap: nothing is decoded or encoded), which is what the extender needs on every
 * scheduling cycle; with them, missing ConfigMaps, Secrets, keys and tokens are reported too.
 */
export function checkPod(
  pod: V1Pod,
  objects?: ReferencedObjects,
  limits: AciLimits = DEFAULT_ACI_LIMITS,
): Problem[] {
  return analysePod(pod, objects, { limits, workingDirShell: undefined, network: undefined }).problems;
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
}

/**
 * More problems than this are counted, not listed: a hostile pod can have hundreds of thousands, and
 * every denial, event and scheduling failure carries the text.
 */
export const MAX_DESCRIBED_PROBLEMS = 50;

/** One line per problem, the form users see in a denial, an event or a scheduling failure. */
export function describeProblems(problems: readonly Problem[], max = MAX_DESCRIBED_PROBLEMS): string {
  const lines = problems
    .slice(0, max)
    .map((problem) => `${problem.path}: ${problem.message}; ${problem.fix}`);
  const more = problems.length - lines.length;
  return more > 0
    ? [...lines, `... and ${more} more ${more === 1 ? 'problem' : 'problems'}`].join('\n')
    : lines.join('\n');
}
