// "Can this pod run on ACI, and if not, why?" answered once, here, for all three processes:
// the webhook rejects with these problems, the extender filters the virtual node with them, and the
// connector fails the pod with them. They can therefore never disagree.
import type { V1Pod } from '@kubernetes/client-node';
import { claimedShare } from './claims.ts';
import { newContext } from './context.ts';
import { analysePod } from './translate.ts';
import type { AciLimits, ClaimedVolumes, Problem, ReferencedObjects } from './types.ts';

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

/**
 * What keeps the pod's claims off ACI, judged from the claims and their volumes alone (not their
 * Secrets): the webhook asks this for a pod its namespace steers, which it checks from the spec
 * otherwise, so a pod whose claim is not on Azure Files (or not bound yet) stays on real nodes.
 */
export function claimProblems(pod: V1Pod, claimed: ClaimedVolumes): Problem[] {
  const context = newContext(pod, undefined, { limits: DEFAULT_ACI_LIMITS });
  (pod.spec?.volumes ?? []).forEach((volume, index) => {
    claimedShare(context, claimed, volume, `spec.volumes[${index}]`);
  });
  return context.problems;
}
