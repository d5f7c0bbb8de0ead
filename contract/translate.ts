// Pod -> container group: a pure function. Everything it needs (referenced objects, the service
// account token, settings) is passed in; it never reads the API server or the clock.
import type { ContainerGroup } from '@azure/arm-containerinstance';
import type { V1Pod } from '@kubernetes/client-node';
import { checkPod, type AciLimits, type Problem, type ReferencedObjects } from './capability.ts';

export interface GroupSettings {
  region: string;
  nodeName: string;
  /** Tags every group so that several clusters can share one resource group. */
  clusterId: string;
  limits: AciLimits;
}

export type Translation =
  | { kind: 'ready'; name: string; group: ContainerGroup }
  /** A referenced object is missing: wait (like a kubelet) and say why in an event. */
  | { kind: 'waiting'; problems: Problem[] }
  /** ACI can never run the pod as written: fail it with these problems. */
  | { kind: 'invalid'; problems: Problem[] };

export function toContainerGroup(
  pod: V1Pod,
  objects: ReferencedObjects,
  settings: GroupSettings,
): Translation {
  const problems = checkPod(pod, objects, settings.limits);
  if (problems.some((problem) => problem.kind === 'unsupported')) return { kind: 'invalid', problems };
  if (problems.length > 0) return { kind: 'waiting', problems };
  throw new Error('not implemented yet');
}
