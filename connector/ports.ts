// The connector's edges as small interfaces: what the controllers need from Azure and from Kubernetes.
// The real implementations wrap the SDKs (aci.ts, kube.ts); tests pass plain objects.
import type { ContainerGroup } from '@azure/arm-containerinstance';
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import type { ImageConfig, ReferencedObjects } from '../contract/index.ts';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { RegistryCredential } from './registry/client.ts';

/** An Azure SDK client, as far as adding a policy to its pipeline goes. */
export interface PipelineOwner {
  pipeline: { addPolicy(policy: PipelinePolicy, options?: { afterPhase?: 'Retry' }): void };
}

/** The container groups of the connector's resource group. Errors are ClassifiedErrors. */
export interface ContainerGroupApi {
  /**
   * Every group of the resource group, all pages, each cut to its list entry (groups.ts listEntry):
   * the tracker keeps them as they come.
   */
  list(): Promise<ContainerGroup[]>;
  /** One group with its instance view; undefined when it does not exist. */
  get(name: string): Promise<ContainerGroup | undefined>;
  /** Sends the create and returns once ACI accepted it; provisioning goes on and is seen by list/get. */
  create(name: string, group: ContainerGroup): Promise<void>;
  /** Deletes the group; a group that does not exist counts as deleted. */
  remove(name: string): Promise<void>;
}

export interface ContainerLogsApi {
  /** The container's log with a timestamp per line; `tail` limits it to the last lines. */
  logs(groupName: string, container: string, tail: number | undefined): Promise<string>;
}

/** What the pod controller writes to Kubernetes. Errors are ClassifiedErrors. */
export interface PodApi {
  /** Replaces the pod's status (a merge patch of /status). */
  updateStatus(pod: V1Pod, status: V1PodStatus): Promise<void>;
  /** Removes the pod object at once, only if it is still the same pod (UID precondition). */
  forceDelete(pod: V1Pod): Promise<void>;
  /** Reads the ConfigMaps, Secrets, service account and tokens the pod references. */
  fetchReferences(pod: V1Pod): Promise<ReferencedObjects>;
}

/** Image configurations, read from the registries (connector/registry/). Errors are ClassifiedErrors. */
export interface ImageConfigSource {
  /**
   * The configuration of each image (as the pod names it) for `os` on amd64, read with the pod's
   * credentials (by registry server, as pull secrets name them).
   */
  resolve(
    images: readonly string[],
    credentials: ReadonlyMap<string, RegistryCredential>,
    os: string,
  ): Promise<Map<string, ImageConfig>>;
}

export interface PodEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

/** Kubernetes Events on pods; fire and forget (an event lost is not worth failing a reconcile). */
export interface EventRecorder {
  record(pod: V1Pod, event: PodEvent): void;
}

/** The informer's view of the pods bound to the virtual node. */
export interface PodCache {
  /** True once the first list of pods arrived: before it, a missing pod may simply not be known yet. */
  readonly synced: boolean;
  get(namespace: string, name: string): V1Pod | undefined;
  list(): V1Pod[];
}

/** The pods bound to this node as the watch delivers them. */
export interface WatchedPods extends PodCache {
  /**
   * Calls `listener` with every pod known now, then on every add, update and delete, until the
   * returned function is called.
   */
  subscribe(listener: (pod: V1Pod) => void): () => void;
}

/** Which namespaces opted in to bursting (the namespace label, or the allow-list). */
export interface NamespacePolicy {
  /** True once the namespaces are known: before it, "not opted in" may only mean "not seen yet". */
  readonly synced: boolean;
  optedIn(namespace: string): boolean;
}
