// The burst policy as pure functions: which nodes a pod may use (filter) and which it should prefer
// (score). Real nodes first, ACI when they are full, ACI always for pods that require it, never for
// pods ACI cannot run. No I/O here: the HTTP layer looks nodes and namespaces up and passes them in.
import type { V1Namespace, V1Node, V1Pod } from '@kubernetes/client-node';
import {
  DEFAULT_CONTAINER_RESOURCES,
  describeProblems,
  isVirtualNode,
  PLACEMENT_LABEL,
  podPlacement,
  podResources,
  PREFER_ACI,
  PREFERENCE_ANNOTATION,
  type Problem,
  REMAINING_CORES_ANNOTATION,
  REMAINING_GROUPS_ANNOTATION,
} from '../contract/index.ts';

/** Why a node was removed; also the `verdict` label of the filter metric. */
export type RejectionCode =
  'unsupported' | 'quota-cores' | 'quota-groups' | 'requires-aci' | 'refuses-aci' | 'unknown-node';

export type Verdict =
  | { pass: true }
  | {
      pass: false;
      code: RejectionCode;
      /** What the user reads in the pod's FailedScheduling event. */
      reason: string;
      /**
       * Whether evicting other pods could make room (quota) or not (the pod itself is the problem).
       * The scheduler skips preemption for unresolvable nodes.
       */
      resolvable: boolean;
    };

const PASS: Verdict = { pass: true };

function reject(code: RejectionCode, reason: string, resolvable: boolean): Verdict {
  return { pass: false, code, reason, resolvable };
}

/** What the filter learns about a pod once per request rather than once per node. */
export interface PodContext {
  placement: ReturnType<typeof podPlacement>;
  /** Why ACI cannot run the pod, or undefined when it can (missing references do not count). */
  unsupported: string | undefined;
  /** The cores the pod needs, for the quota filter. */
  cores: number;
}

/**
 * The filter's reason names this many problems and counts the rest: the scheduler repeats it for
 * every virtual node, in its answer and in the pod's FailedScheduling event.
 */
export const MAX_REASON_PROBLEMS = 5;

/** `problems`: the capability check's answer for the pod spec alone (contract/capability.ts `checkPod(pod)`). */
export function podContext(pod: V1Pod, problems: readonly Problem[]): PodContext {
  // Missing references (a Secret not created yet) are the connector's to wait for, not a reason to
  // keep the pod off ACI; checkPod without objects reports none anyway.
  const unsupported = problems.filter((problem) => problem.kind === 'unsupported');
  return {
    placement: podPlacement(pod),
    unsupported:
      unsupported.length > 0
        ? `ACI cannot run this pod: ${describeProblems(unsupported, MAX_REASON_PROBLEMS)}`
        : undefined,
    cores: podResources(pod, DEFAULT_CONTAINER_RESOURCES).cpu,
  };
}

/** Whether the pod may be placed on `node`, and if not, why. */
export function filterNode(pod: PodContext, node: V1Node): Verdict {
  const { placement } = pod;
  if (!isVirtualNode(node)) {
    return placement === 'required'
      ? reject('requires-aci', `the pod is labelled ${PLACEMENT_LABEL}=required and runs only on ACI`, false)
      : PASS;
  }
  if (placement === 'never') {
    return reject(
      'refuses-aci',
      `the pod is labelled ${PLACEMENT_LABEL}=never and must not run on ACI`,
      false,
    );
  }
  if (pod.unsupported !== undefined) return reject('unsupported', pod.unsupported, false);
  return quotaVerdict(pod.cores, node);
}

/** A node name the scheduler sent that the extender's node cache does not know (yet). */
export function unknownNodeVerdict(name: string): Verdict {
  // A node name is at most 253 characters; a longer one was not sent by a scheduler, and is not repeated.
  const shown = name.length <= 253 ? name : `${name.slice(0, 252)}…`;
  return reject('unknown-node', `node "${shown}" is not in the scheduler extender's node cache yet`, true);
}

// Binary noise (0.1 + 0.2 cores) must not reject a pod that fits the quota exactly.
const CORES_EPSILON = 1e-9;

function quotaVerdict(needed: number, node: V1Node): Verdict {
  const groups = remainingQuota(node, REMAINING_GROUPS_ANNOTATION);
  if (groups !== undefined && groups < 1) {
    return reject('quota-groups', 'the ACI container group quota of the region is used up', true);
  }
  const cores = remainingQuota(node, REMAINING_CORES_ANNOTATION);
  if (cores !== undefined && needed > cores + CORES_EPSILON) {
    return reject(
      'quota-cores',
      `the pod needs ${formatCores(needed)} cores and the ACI core quota of the region has ${formatCores(cores)} left`,
      true,
    );
  }
  return PASS;
}

/** The connector's published remaining quota; undefined (no quota filter) when absent or unreadable. */
function remainingQuota(node: V1Node, annotation: string): number | undefined {
  const value = node.metadata?.annotations?.[annotation]?.trim();
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  return Number.isFinite(number) ? number : undefined;
}

function formatCores(cores: number): string {
  return String(Math.round(cores * 1000) / 1000);
}

export type Preference = 'real-first' | 'prefer-aci';

/**
 * The pod's annotation when it has one, else its namespace's: `prefer` puts ACI first, any other
 * value (or none) keeps real nodes first. A pod can therefore opt out of its namespace's preference.
 */
export function podPreference(pod: V1Pod, namespace: V1Namespace | undefined): Preference {
  const value =
    pod.metadata?.annotations?.[PREFERENCE_ANNOTATION] ??
    namespace?.metadata?.annotations?.[PREFERENCE_ANNOTATION];
  return value === PREFER_ACI ? 'prefer-aci' : 'real-first';
}

/** The scheduler's MaxExtenderPriority. */
export const MAX_SCORE = 10;

/** Preferred kind of node 10, the other 0: the policy only orders real against virtual nodes. */
export function scoreNode(node: V1Node, preference: Preference): number {
  return isVirtualNode(node) === (preference === 'prefer-aci') ? MAX_SCORE : 0;
}
