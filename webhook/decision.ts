// The admission decision, pure: which webhook entry called (so whether the namespace opted in), the pod's
// placement label and what the capability check says, to a verdict. No I/O and no clock, so the whole
// table is tested without a server; the HTTP layer only gathers inputs and serialises the verdict.
import type { V1Pod, V1Toleration } from '@kubernetes/client-node';
import type { Operation } from 'fast-json-patch';
import {
  ACI_TOLERATION,
  describeProblems,
  type ExposureSettings,
  exposesPublicly,
  PLACEMENT_LABEL,
  podPlacement,
  type Problem,
  type ReferencedObjects,
  serviceAccountTokenRequests,
} from '../contract/index.ts';

/**
 * The MutatingWebhookConfiguration has one entry per reason a pod is sent to us, each with its own path:
 * `burst` is selected by the namespace label (so no namespace lookup is needed here), `required` by the
 * pod label in any namespace.
 */
export type WebhookEntry = 'burst' | 'required';

/** `contract/capability.ts` checkPod, passed in so the table tests can name the problems they want. */
export type PodChecker = (pod: V1Pod, objects?: ReferencedObjects) => Problem[];

export interface AdmissionInput {
  entry: WebhookEntry;
  pod: V1Pod;
  /** The objects a `required` pod references, read from the API server; omitted for other pods. */
  objects?: ReferencedObjects;
  /** The second scheduler (the extender's) that opted-in pods should use, when one is configured. */
  schedulerName?: string | undefined;
  /**
   * Why the claims of a pod its namespace steers keep it off ACI (contract claimProblems), read by the
   * server for such pods only: their spec alone says nothing about what a claim is bound to.
   */
  claimProblems?: Problem[];
  /** The connector's exposure settings, so a pod that would get a public IP is warned about. */
  exposure?: ExposureSettings | undefined;
}

export type Outcome = 'steered' | 'not-steered' | 'ignored' | 'denied';

export type Verdict =
  | { allowed: true; outcome: Exclude<Outcome, 'denied'>; patch: Operation[]; warnings: string[] }
  | { allowed: false; outcome: 'denied'; message: string };

/** The API server passes warnings to kubectl as HTTP headers and asks for under 120 characters each. */
export const MAX_WARNING_LENGTH = 119;
/** More warnings than this would bury the command's output; the rest are counted in one line. */
const MAX_PROBLEM_WARNINGS = 3;
const DEFAULT_SCHEDULER = 'default-scheduler';

/** Only `required` pods are validated against their ConfigMaps, Secrets and ServiceAccount. */
export function needsReferencedObjects(pod: V1Pod): boolean {
  return podPlacement(pod) === 'required';
}

export function decide(input: AdmissionInput, check: PodChecker): Verdict {
  const placement = podPlacement(input.pod);
  if (placement === 'never') return ignored();
  if (placement === 'required') {
    const problems = check(input.pod, input.objects && withConnectorSuppliedValues(input.pod, input.objects));
    if (problems.length > 0) return { allowed: false, outcome: 'denied', message: denialMessage(problems) };
    return steered(input);
  }
  // An unlabelled pod reaching the `required` entry means the selectors were edited: do nothing rather
  // than steer a pod whose namespace never opted in.
  if (input.entry === 'required') return ignored();
  const problems = [...check(input.pod), ...(input.claimProblems ?? [])];
  if (problems.length > 0) {
    return { allowed: true, outcome: 'not-steered', patch: [], warnings: notBurstingWarnings(problems) };
  }
  return steered(input);
}

/** Stands in for values only the connector obtains; never sent anywhere. */
const CONNECTOR_SUPPLIED = 'supplied by the connector when it creates the container group';

/**
 * The objects as the connector will have them. It requests the service-account tokens and reads the
 * cluster CA itself just before creating the container group, so their absence now is nothing the user
 * must fix. The contract would skip tokens altogether if the map were omitted, but then a missing
 * ServiceAccount would go unreported too; so a stand-in is given for each token the ServiceAccount can
 * issue, and none when it does not exist, which the check then reports.
 */
export function withConnectorSuppliedValues(pod: V1Pod, objects: ReferencedObjects): ReferencedObjects {
  const tokens = objects.serviceAccount
    ? serviceAccountTokenRequests(pod, objects.serviceAccount).map(
        (request) => [request.key, CONNECTOR_SUPPLIED] as const,
      )
    : [];
  return { ...objects, serviceAccountTokens: new Map(tokens), clusterCaPem: CONNECTOR_SUPPLIED };
}

/**
 * A clone of the pod that tolerates the virtual node's taint and, when configured, uses the second
 * scheduler. Applied to its own output it changes nothing: a pod already steered (say by the other
 * entry) keeps exactly one toleration.
 */
export function steerToAci(pod: V1Pod, schedulerName: string | undefined): V1Pod {
  const steered = structuredClone(pod);
  const spec = (steered.spec ??= { containers: [] });
  const tolerations = spec.tolerations ?? [];
  if (!tolerations.some(isAciToleration)) spec.tolerations = [...tolerations, { ...ACI_TOLERATION }];
  const scheduler = steeredSchedulerName(spec.schedulerName, schedulerName);
  if (scheduler !== undefined) spec.schedulerName = scheduler;
  return steered;
}

export function denialMessage(problems: readonly Problem[]): string {
  return (
    `the pod is labelled ${PLACEMENT_LABEL}=required but Azure Container Instances cannot run it ` +
    `(${problems.length} ${problems.length === 1 ? 'problem' : 'problems'}):\n${describeProblems(problems)}`
  );
}

export function notBurstingWarnings(problems: readonly Problem[]): string[] {
  const shown = problems
    .slice(0, MAX_PROBLEM_WARNINGS)
    .map((problem) => truncate(`will not burst to ACI: ${problem.path}: ${problem.message}`));
  const hidden = problems.length - shown.length;
  return hidden > 0 ? [...shown, `will not burst to ACI: ${hidden} more problems`] : shown;
}

function steered(input: AdmissionInput): Verdict {
  return {
    allowed: true,
    outcome: 'steered',
    patch: steeringPatch(input.pod, input.schedulerName),
    warnings: publicIPWarnings(input),
  };
}

/**
 * The JSON patch from the pod to steerToAci's pod, written directly: the two fields it touches, in
 * constant time, instead of cloning and diffing the whole pod (as much work as the capability check).
 */
export function steeringPatch(pod: V1Pod, schedulerName: string | undefined): Operation[] {
  const spec = pod.spec;
  if (spec === undefined) return [{ op: 'add', path: '/spec', value: steerToAci(pod, schedulerName).spec }];
  const patch: Operation[] = [];
  const { tolerations } = spec;
  if (!(tolerations ?? []).some(isAciToleration)) {
    patch.push(
      tolerations === undefined
        ? { op: 'add', path: '/spec/tolerations', value: [{ ...ACI_TOLERATION }] }
        : {
            op: 'add',
            path: `/spec/tolerations/${String(tolerations.length)}`,
            value: { ...ACI_TOLERATION },
          },
    );
  }
  const scheduler = steeredSchedulerName(spec.schedulerName, schedulerName);
  if (scheduler !== spec.schedulerName) {
    const op = spec.schedulerName === undefined ? 'add' : 'replace';
    patch.push({ op, path: '/spec/schedulerName', value: scheduler });
  }
  return patch;
}

/** A scheduler the user chose themselves is theirs; only the API server's default is replaced. */
function steeredSchedulerName(
  current: string | undefined,
  configured: string | undefined,
): string | undefined {
  return configured !== undefined && (current ?? DEFAULT_SCHEDULER) === DEFAULT_SCHEDULER
    ? configured
    : current;
}

export function publicIPWarnings(input: Pick<AdmissionInput, 'pod' | 'exposure'>): string[] {
  const ports = [
    ...new Set(
      (input.pod.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => p.containerPort)),
    ),
  ];
  const exposure = input.exposure ?? { subnet: false, exposePortsPublicly: false };
  if (!exposesPublicly(input.pod, ports.length > 0, exposure)) return [];
  return [
    truncate(`on ACI this pod gets a public IP: ports ${ports.join(', ')} are reachable from the internet`),
  ];
}

function ignored(): Verdict {
  return { allowed: true, outcome: 'ignored', patch: [], warnings: [] };
}

function isAciToleration(toleration: V1Toleration): boolean {
  return (
    toleration.key === ACI_TOLERATION.key &&
    toleration.operator === ACI_TOLERATION.operator &&
    toleration.effect === ACI_TOLERATION.effect
  );
}

function truncate(text: string): string {
  return text.length <= MAX_WARNING_LENGTH ? text : `${text.slice(0, MAX_WARNING_LENGTH - 3)}...`;
}
