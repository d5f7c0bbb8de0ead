// Container group -> pod status: a pure function of what ACI reported. It reports only what ACI
// says (a container is ready when ACI says it runs, a pod Succeeded only when every container exited 0),
// because status that lies is the first thing users of the predecessors complained about.
import type {
  Container,
  ContainerGroup,
  ContainerState,
  InitContainerDefinition,
} from '@azure/arm-containerinstance';
import type {
  V1ContainerState,
  V1ContainerStatus,
  V1Pod,
  V1PodCondition,
  V1PodStatus,
} from '@kubernetes/client-node';
import { isImagePullEvent } from '../runtime/errors.ts';
import { addressOf, countOf, integerOf, listOf, textOf, validDate } from './aci-shapes.ts';

export interface StatusContext {
  /** The virtual node's InternalIP, reported as hostIP. */
  hostIP: string;
  now: Date;
}

type AciContainer = Pick<Container, 'name' | 'image' | 'instanceView'> | InitContainerDefinition;

const PROVISIONING_IN_PROGRESS = new Set(['Accepted', 'Pending', 'Creating', 'Updating', 'Repairing']);

/** True while ACI is still provisioning the group: its containers have not been started yet. */
export function isProvisioning(group: ContainerGroup): boolean {
  return PROVISIONING_IN_PROGRESS.has(group.provisioningState ?? 'Pending');
}

/** How the pod should look, given its group as ACI last reported it. */
export function podStatusFromGroup(pod: V1Pod, group: ContainerGroup, context: StatusContext): V1PodStatus {
  const containers = listOf<AciContainer>(group.containers).map((c) => containerStatus(c, pod, 'containers'));
  const initContainers = listOf(group.initContainers).map((c) => containerStatus(c, pod, 'initContainers'));
  const phase = podPhase(group, containers, initContainers, pod.spec?.restartPolicy ?? 'Always');
  const startTime = pod.status?.startTime ?? earliestStart(group) ?? context.now;
  const initialized = initContainers.every((c) => c.state?.terminated?.exitCode === 0);
  const containersReady = phase === 'Running' && containers.every((c) => c.ready);
  const ip = addressOf(group.ipAddress?.ip);
  return {
    phase,
    ...(phase === 'Failed' && { reason: 'ProviderFailed', message: failureMessage(group) }),
    hostIP: context.hostIP,
    hostIPs: [{ ip: context.hostIP }],
    ...(ip !== undefined && { podIP: ip, podIPs: [{ ip }] }),
    startTime,
    conditions: podConditions(
      pod,
      { initialized, containersReady, started: !isProvisioning(group) },
      context.now,
    ),
    containerStatuses: containers,
    ...(initContainers.length > 0 && { initContainerStatuses: initContainers }),
    qosClass: pod.status?.qosClass ?? 'Burstable',
  };
}

/** The status of a pod whose group ACI is still waiting to create (paced, quota, transient errors). */
export function pendingPodStatus(
  pod: V1Pod,
  waiting: { reason: string; message: string },
  context: StatusContext,
): V1PodStatus {
  const waitingState: V1ContainerState = { waiting: { reason: waiting.reason, message: waiting.message } };
  const statuses = (list: { name: string; image?: string }[] | undefined): V1ContainerStatus[] =>
    (list ?? []).map((c) => ({
      name: c.name,
      image: c.image ?? '',
      imageID: '',
      ready: false,
      restartCount: 0,
      started: false,
      state: waitingState,
    }));
  const initContainerStatuses = statuses(pod.spec?.initContainers);
  return {
    phase: 'Pending',
    hostIP: context.hostIP,
    hostIPs: [{ ip: context.hostIP }],
    ...(pod.status?.startTime !== undefined && { startTime: pod.status.startTime }),
    conditions: podConditions(
      pod,
      { initialized: false, containersReady: false, started: false },
      context.now,
    ),
    containerStatuses: statuses(pod.spec?.containers),
    ...(initContainerStatuses.length > 0 && { initContainerStatuses }),
    qosClass: pod.status?.qosClass ?? 'Burstable',
  };
}

/** A terminal failure the pod cannot recover from (a spec ACI cannot run, a group deleted under Never). */
export function failedPodStatus(
  pod: V1Pod,
  failure: { reason: string; message: string },
  context: StatusContext,
): V1PodStatus {
  return {
    ...pendingPodStatus(pod, { reason: failure.reason, message: failure.message }, context),
    phase: 'Failed',
    reason: failure.reason,
    message: failure.message,
  };
}

function podPhase(
  group: ContainerGroup,
  containers: V1ContainerStatus[],
  initContainers: V1ContainerStatus[],
  restartPolicy: string,
): NonNullable<V1PodStatus['phase']> {
  if (group.provisioningState === 'Failed') return 'Failed';
  if (isProvisioning(group)) return 'Pending';
  const initFailed = initContainers.some((c) => (c.state?.terminated?.exitCode ?? 0) !== 0);
  if (initFailed && restartPolicy === 'Never') return 'Failed';
  if (!initContainers.every((c) => c.state?.terminated?.exitCode === 0)) return 'Pending';
  const terminated = containers.map((c) => c.state?.terminated).filter((t) => t !== undefined);
  if (containers.length > 0 && terminated.length === containers.length) {
    const allSucceeded = terminated.every((t) => t.exitCode === 0);
    if (allSucceeded && restartPolicy !== 'Always') return 'Succeeded';
    if (!allSucceeded && restartPolicy === 'Never') return 'Failed';
  }
  // Like a kubelet: Running once a container has started, whatever ACI says of the group as a whole.
  return containers.some((c) => c.state?.running || c.state?.terminated) ? 'Running' : 'Pending';
}

function containerStatus(
  container: AciContainer,
  pod: V1Pod,
  kind: 'containers' | 'initContainers',
): V1ContainerStatus {
  const view = container.instanceView;
  const state = kubernetesState(view?.currentState, listOf(view?.events));
  const lastState = view?.previousState ? kubernetesState(view.previousState, []) : {};
  const name = textOf(container.name) ?? '';
  const specImage = pod.spec?.[kind]?.find((c) => c.name === name)?.image;
  return {
    name,
    image: textOf(container.image) ?? specImage ?? '',
    imageID: '',
    // ACI does not report readiness-probe results; a running container is the best truth it offers.
    ready: state.running !== undefined,
    started: state.running !== undefined,
    restartCount: countOf(view?.restartCount) ?? 0,
    state,
    lastState,
  };
}

type AciEvent = NonNullable<NonNullable<Container['instanceView']>['events']>[number];

function kubernetesState(state: ContainerState | undefined, events: readonly AciEvent[]): V1ContainerState {
  switch (state?.state) {
    case 'Running': {
      const startedAt = validDate(state.startTime);
      return { running: { ...(startedAt && { startedAt }) } };
    }
    case 'Terminated': {
      const startedAt = validDate(state.startTime);
      const finishedAt = validDate(state.finishTime);
      const exitCode = integerOf(state.exitCode) ?? 0;
      return {
        terminated: {
          exitCode,
          reason: textOf(state.detailStatus) || (exitCode === 0 ? 'Completed' : 'Error'),
          ...(startedAt && { startedAt }),
          ...(finishedAt && { finishedAt }),
        },
      };
    }
    default:
      return { waiting: waitingReason(state, events) };
  }
}

function waitingReason(
  state: ContainerState | undefined,
  events: readonly AciEvent[],
): { reason: string; message?: string } {
  const lastWarning = events.findLast((e) => e.type === 'Warning');
  const message = textOf(lastWarning?.message);
  if (lastWarning && isImagePullEvent(textOf(lastWarning.name), message)) {
    // Kubernetes says ErrImagePull on the first failure and ImagePullBackOff once it keeps failing.
    const reason = (countOf(lastWarning.count) ?? 1) > 1 ? 'ImagePullBackOff' : 'ErrImagePull';
    return { reason, ...(message && { message }) };
  }
  if (lastWarning?.name === 'BackOff') return { reason: 'CrashLoopBackOff', message: message ?? '' };
  return { reason: textOf(state?.detailStatus) || 'ContainerCreating' };
}

function earliestStart(group: ContainerGroup): Date | undefined {
  const starts = listOf(group.containers)
    .map((c) =>
      validDate(c.instanceView?.currentState?.startTime ?? c.instanceView?.previousState?.startTime),
    )
    .filter((d): d is Date => d !== undefined)
    .map((d) => d.getTime());
  // A loop, not Math.min(...starts): spreading a long list overflows the stack.
  return starts.length > 0
    ? new Date(starts.reduce((earliest, time) => Math.min(earliest, time)))
    : undefined;
}

function failureMessage(group: ContainerGroup): string {
  const warning = listOf(group.instanceView?.events).findLast((e) => e.type === 'Warning');
  const message = textOf(warning?.message);
  if (message) return `ACI: ${message}`;
  if (group.provisioningState === 'Failed') return 'ACI could not provision the container group';
  return `ACI reports the container group as ${textOf(group.instanceView?.state) ?? 'failed'}`;
}

interface ConditionFacts {
  initialized: boolean;
  containersReady: boolean;
  started: boolean;
}

/** The standard pod conditions; transition times move only when a condition's status changes. */
function podConditions(pod: V1Pod, facts: ConditionFacts, now: Date): V1PodCondition[] {
  const previous = new Map((pod.status?.conditions ?? []).map((c) => [c.type, c]));
  const condition = (type: string, value: boolean): V1PodCondition => {
    const status = value ? 'True' : 'False';
    const before = previous.get(type);
    return {
      type,
      status,
      lastTransitionTime:
        before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : now,
    };
  };
  // As a kubelet: Ready also waits for every readiness gate's condition, which others set on the pod.
  const gatesPass = (pod.spec?.readinessGates ?? []).every(
    (gate) => previous.get(gate.conditionType)?.status === 'True',
  );
  const gateConditions = (pod.spec?.readinessGates ?? []).flatMap(
    (gate) => previous.get(gate.conditionType) ?? [],
  );
  return [
    condition('PodReadyToStartContainers', facts.started),
    condition('Initialized', facts.initialized),
    condition('Ready', facts.containersReady && gatesPass),
    condition('ContainersReady', facts.containersReady),
    condition('PodScheduled', true),
    ...gateConditions,
  ];
}
