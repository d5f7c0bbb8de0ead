// Fakes of the connector's two edges, Azure Resource Manager (ContainerGroupApi) and the Kubernetes
// API (PodApi, EventRecorder), that write every call into ONE ordered log: a test asserts what was
// called, how often and in which order across both sides (the group deleted before the pod object,
// one status write per change, one event per ACI event). For tests only.
import type { ContainerGroup } from '@azure/arm-containerinstance';
import type { V1Pod, V1PodStatus, V1Secret } from '@kubernetes/client-node';
import type { ReferencedObjects } from '../../contract/index.ts';
import type { ClassifiedError } from '../../runtime/errors.ts';
import type { ContainerGroupApi, EventRecorder, PodApi, PodEvent } from '../ports.ts';

/**
 * Calls in the order they were made, as `<side> <verb> <object>` lines:
 * `arm list`, `arm get <group>`, `arm create <group>`, `arm delete <group>`,
 * `kube references <ns/pod>`, `kube status <ns/pod> <phase>`, `kube delete <ns/pod>`,
 * `kube event <ns/pod> <reason>`.
 */
export class CallLog {
  readonly entries: string[] = [];

  record(entry: string): void {
    this.entries.push(entry);
  }

  /** The entries of one side (`arm`, `kube`), without the side's prefix. */
  of(side: 'arm' | 'kube'): string[] {
    const prefix = `${side} `;
    return this.entries.filter((e) => e.startsWith(prefix)).map((e) => e.slice(prefix.length));
  }

  /** How many entries start with `prefix` (`kube status default/web`, `arm create`). */
  count(prefix: string): number {
    return this.entries.filter((e) => e === prefix || e.startsWith(`${prefix} `)).length;
  }

  /** Position of the first entry equal to `entry`, -1 when it was never made. */
  indexOf(entry: string): number {
    return this.entries.indexOf(entry);
  }
}

export function podKeyOf(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

/** An in-memory resource group with the ARM semantics the controllers rely on. */
export class FakeArm implements ContainerGroupApi {
  readonly groups = new Map<string, ContainerGroup>();
  readonly log: CallLog;
  /** The next create is refused with this error (once). */
  failNextCreate: ClassifiedError | undefined;

  constructor(log: CallLog) {
    this.log = log;
  }

  /** This side's calls, without the `arm` prefix. */
  get calls(): string[] {
    return this.log.of('arm');
  }

  list(): Promise<ContainerGroup[]> {
    this.log.record('arm list');
    // Lists carry no instance views.
    return Promise.resolve(
      [...this.groups.values()].map((g) => ({
        ...g,
        containers: g.containers.map(({ instanceView: _, ...c }) => c),
      })),
    );
  }

  get(name: string): Promise<ContainerGroup | undefined> {
    this.log.record(`arm get ${name}`);
    return Promise.resolve(this.groups.get(name));
  }

  create(name: string, group: ContainerGroup): Promise<void> {
    this.log.record(`arm create ${name}`);
    const failure = this.failNextCreate;
    this.failNextCreate = undefined;
    if (failure) return Promise.reject(failure);
    this.groups.set(name, { ...group, name, provisioningState: 'Pending' });
    return Promise.resolve();
  }

  remove(name: string): Promise<void> {
    this.log.record(`arm delete ${name}`);
    this.groups.delete(name);
    return Promise.resolve();
  }
}

/** The pods of an API server, the status writes, deletions and Events made on them. */
export class FakeKube implements PodApi, EventRecorder {
  readonly pods = new Map<string, V1Pod>();
  readonly log: CallLog;
  readonly referenceReads: string[] = [];
  readonly statuses: { pod: string; status: V1PodStatus }[] = [];
  readonly deleted: string[] = [];
  readonly events: { pod: string; event: PodEvent }[] = [];
  secrets = new Map<string, V1Secret>();

  constructor(log: CallLog) {
    this.log = log;
  }

  add(pod: V1Pod): void {
    this.pods.set(podKeyOf(pod), pod);
  }

  updateStatus(pod: V1Pod, status: V1PodStatus): Promise<void> {
    const key = podKeyOf(pod);
    this.log.record(`kube status ${key} ${status.phase ?? ''}`);
    this.statuses.push({ pod: key, status });
    const stored = this.pods.get(key);
    if (stored) stored.status = status;
    return Promise.resolve();
  }

  forceDelete(pod: V1Pod): Promise<void> {
    const key = podKeyOf(pod);
    this.log.record(`kube delete ${key}`);
    this.deleted.push(key);
    this.pods.delete(key);
    return Promise.resolve();
  }

  fetchReferences(pod: V1Pod): Promise<ReferencedObjects> {
    const key = podKeyOf(pod);
    this.log.record(`kube references ${key}`);
    this.referenceReads.push(key);
    return Promise.resolve({ configMaps: new Map(), secrets: this.secrets, serviceAccount: undefined });
  }

  record(pod: V1Pod, event: PodEvent): void {
    const key = podKeyOf(pod);
    this.log.record(`kube event ${key} ${event.reason}`);
    this.events.push({ pod: key, event });
  }

  lastStatus(key: string): V1PodStatus | undefined {
    return this.statuses.filter((s) => s.pod === key).at(-1)?.status;
  }

  reasons(key: string): string[] {
    return this.events.filter((e) => e.pod === key).map((e) => e.event.reason);
  }
}
