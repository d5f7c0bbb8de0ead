// The one worker node the demo registers so bursting has somewhere "real" to fill first. The local
// control plane has no kubelet: this node is simulated, says so in its name, labels and annotation,
// and the demo process plays its kubelet in the smallest way that shows scheduling (pods bound to it
// are reported Running with a made-up IP). Pure functions here; the loop that applies them is
// SimulatedKubelet, whose Kubernetes calls sit behind SimulatedNodeApi.
import type { V1Node, V1NodeCondition, V1Pod, V1PodStatus } from '@kubernetes/client-node';

export const SIMULATED_NODE_NAME = 'demo-worker-simulated';
export const SIMULATED_LABEL = 'aci-burst.demo/simulated';
export const SIMULATED_CAPACITY = { cpu: '2', memory: '4Gi', pods: '10' } as const;
const DESCRIPTION_ANNOTATION = 'aci-burst.demo/description';
const DESCRIPTION =
  'Simulated by `npm run demo`: no kubelet and no containers; pods bound here are only reported Running.';

export function readyCondition(now: Date): V1NodeCondition {
  return {
    type: 'Ready',
    status: 'True',
    reason: 'SimulatedKubeletReady',
    message: DESCRIPTION,
    lastHeartbeatTime: now,
    lastTransitionTime: now,
  };
}

export function simulatedNode(now: Date): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: SIMULATED_NODE_NAME,
      labels: {
        [SIMULATED_LABEL]: 'true',
        'kubernetes.io/hostname': SIMULATED_NODE_NAME,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
      },
      annotations: { [DESCRIPTION_ANNOTATION]: DESCRIPTION },
    },
    status: {
      capacity: { ...SIMULATED_CAPACITY },
      allocatable: { ...SIMULATED_CAPACITY },
      conditions: [readyCondition(now)],
      nodeInfo: {
        architecture: 'amd64',
        operatingSystem: 'linux',
        kubeletVersion: 'simulated',
        kubeProxyVersion: '',
        containerRuntimeVersion: 'simulated://none',
        kernelVersion: '',
        osImage: 'simulated by npm run demo',
        bootID: '',
        machineID: '',
        systemUUID: '',
      },
    },
  };
}

/** A made-up pod IP from the documentation range 198.51.100.0/24, so nobody mistakes it for a real one. */
export function simulatedPodIp(index: number): string {
  return `198.51.100.${(index % 253) + 1}`;
}

/** What a kubelet would report once every container started: Running, Ready, with the pod IP. */
export function runningStatus(pod: V1Pod, ip: string, now: Date): V1PodStatus {
  const condition = (type: string): { type: string; status: string; lastTransitionTime: Date } => ({
    type,
    status: 'True',
    lastTransitionTime: now,
  });
  return {
    phase: 'Running',
    podIP: ip,
    podIPs: [{ ip }],
    startTime: now,
    conditions: ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready'].map(condition),
    containerStatuses: (pod.spec?.containers ?? []).map((container) => ({
      name: container.name,
      image: container.image ?? '',
      imageID: '',
      containerID: `simulated://${pod.metadata?.uid ?? ''}/${container.name}`,
      ready: true,
      started: true,
      restartCount: 0,
      state: { running: { startedAt: now } },
    })),
  };
}

export type PodAction = 'report-running' | 'delete-now' | 'none';

/** What the simulated kubelet does with a pod bound to it. */
export function podAction(pod: V1Pod): PodAction {
  // A kubelet confirms a graceful deletion once the containers stopped; there are none to stop.
  if (pod.metadata?.deletionTimestamp !== undefined) return 'delete-now';
  return pod.status?.phase === 'Running' ? 'none' : 'report-running';
}

/** The Kubernetes calls the simulated kubelet makes; the demo wires them to the API server. */
export interface SimulatedNodeApi {
  /** Creates the node, or replaces the status of one left by an earlier run. */
  register(node: V1Node): Promise<void>;
  heartbeat(name: string, condition: V1NodeCondition): Promise<void>;
  podsOnNode(name: string): Promise<V1Pod[]>;
  setStatus(pod: V1Pod, status: V1PodStatus): Promise<void>;
  deleteNow(pod: V1Pod): Promise<void>;
}

export class SimulatedKubelet {
  private readonly api: SimulatedNodeApi;
  private readonly ips = new Map<string, string>();

  constructor(api: SimulatedNodeApi) {
    this.api = api;
  }

  register(now: Date): Promise<void> {
    return this.api.register(simulatedNode(now));
  }

  heartbeat(now: Date): Promise<void> {
    return this.api.heartbeat(SIMULATED_NODE_NAME, readyCondition(now));
  }

  /** One pass over the pods bound to the node; returns how many it changed. */
  async sync(now: Date): Promise<number> {
    let changed = 0;
    for (const pod of await this.api.podsOnNode(SIMULATED_NODE_NAME)) {
      const action = podAction(pod);
      if (action === 'delete-now') await this.api.deleteNow(pod);
      if (action === 'report-running')
        await this.api.setStatus(pod, runningStatus(pod, this.ipFor(pod), now));
      if (action !== 'none') changed++;
    }
    return changed;
  }

  private ipFor(pod: V1Pod): string {
    const uid = pod.metadata?.uid ?? `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
    let ip = this.ips.get(uid);
    if (ip === undefined) {
      ip = simulatedPodIp(this.ips.size);
      this.ips.set(uid, ip);
    }
    return ip;
  }
}
