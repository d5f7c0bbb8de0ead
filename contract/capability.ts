// "Can this pod run on ACI, and if not, why?" answered once, here, for all three processes:
// the webhook rejects with these problems, the extender filters the virtual node with them, and the
// connector fails the pod with them. They can therefore never disagree.
import type { V1ConfigMap, V1Pod, V1Secret, V1ServiceAccount } from '@kubernetes/client-node';

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

/** Every problem that keeps ACI from running the pod; empty when it can. */
export function checkPod(
  pod: V1Pod,
  _objects?: ReferencedObjects,
  _limits: AciLimits = DEFAULT_ACI_LIMITS,
): Problem[] {
  return (pod.spec?.volumes ?? []).flatMap((volume, index) =>
    volume.hostPath
      ? [
          {
            path: `spec.volumes[${index}].hostPath`,
            message: `volume "${volume.name}" mounts a path of the host, and an ACI container group has no host to share`,
            fix: 'use an emptyDir, configMap, secret or azureFile volume instead',
            kind: 'unsupported' as const,
          },
        ]
      : [],
  );
}

/** The names of the objects `checkPod` and the translation need, so a caller can fetch exactly those. */
export interface PodReferences {
  configMaps: string[];
  secrets: string[];
  serviceAccountName: string | undefined;
}

/** One line per problem, the form users see in a denial, an event or a scheduling failure. */
export function describeProblems(problems: readonly Problem[]): string {
  return problems.map((problem) => `${problem.path}: ${problem.message}; ${problem.fix}`).join('\n');
}
