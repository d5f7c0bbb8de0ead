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

/**
 * Scores the bands of a preference: the preferred kind of node above the other, always. Virtual nodes
 * spread over their band by remaining quota; real-first keeps that band at most 2, so with the extender
 * weight of 20 (x10 by the scheduler: 400) no default plugin score (at most ~1,200) lifts a virtual node
 * over a real one scored 10 (2,000).
 */
const VIRTUAL_BAND: Record<Preference, { low: number; high: number }> = {
  'real-first': { low: 0, high: 2 },
  'prefer-aci': { low: 5, high: MAX_SCORE },
};

/**
 * One score per node (undefined: not in the cache, 0). Real nodes: the preferred kind 10, else 0.
 * Virtual nodes: within their band, by the quota each has left (the connector publishes it in the
 * node's annotations) relative to the virtual node with the most left, so a burst spreads over regions
 * or subscriptions in proportion to what each can still take. A node without the annotations counts as
 * having the most left (unknown is not empty: the filter rejects a used-up node).
 */
export function scoreNodes(nodes: readonly (V1Node | undefined)[], preference: Preference): number[] {
  const headroom = nodes.map((node) =>
    node !== undefined && isVirtualNode(node) ? quotaLeft(node) : undefined,
  );
  const most = {
    groups: Math.max(0, ...headroom.map((left) => left?.groups ?? 0)),
    cores: Math.max(0, ...headroom.map((left) => left?.cores ?? 0)),
  };
  const band = VIRTUAL_BAND[preference];
  return nodes.map((node, index) => {
    if (node === undefined) return 0;
    if (!isVirtualNode(node)) return preference === 'real-first' ? MAX_SCORE : 0;
    const left = headroom[index];
    const share = Math.min(shareOf(left?.groups, most.groups), shareOf(left?.cores, most.cores));
    return band.low + Math.round((band.high - band.low) * share);
  });
}

function quotaLeft(node: V1Node): { groups: number | undefined; cores: number | undefined } {
  return {
    groups: remainingQuota(node, REMAINING_GROUPS_ANNOTATION),
    cores: remainingQuota(node, REMAINING_CORES_ANNOTATION),
  };
}

/** This node's part of the most any node has left, 0..1; 1 when unknown. */
function shareOf(left: number | undefined, most: number): number {
  if (left === undefined || most <= 0) return 1;
  return Math.max(0, Math.min(1, left / most));
}
