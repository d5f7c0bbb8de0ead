// The Kubernetes edge: the pod informer (a watch, not polling), pod status and deletion, events,
// the objects a pod references, and the node and lease calls, over @kubernetes/client-node.
import {
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Lease,
  type V1Node,
  type V1Pod,
  type V1PodStatus,
} from '@kubernetes/client-node';
import {
  MAX_POD_REFERENCES,
  podReferences,
  referenceCount,
  type ReferencedObjects,
  serviceAccountTokenRequests,
} from '../contract/index.ts';
import { ClassifiedError, classifyKubernetesError } from '../runtime/errors.ts';
import { watchResource, withoutManagedFields } from '../runtime/informer.ts';
import { unlessKind } from '../runtime/kubernetes-calls.ts';
import {
  kubernetesReferenceReader,
  readReferencedObjects,
  type ReferenceReader,
} from '../runtime/references.ts';
import type { Logger } from '../runtime/logger.ts';
import { LEASE_NAMESPACE, type NodeApi } from './node.ts';
import type { KubeletAuthorizer } from './kubelet-auth.ts';
import type { Clock, Timers } from '../runtime/clock.ts';
import type { EventRecorder, PodApi, PodEvent, WatchedPods } from './ports.ts';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** Runs a client-node call, turning its errors into ClassifiedErrors. */
async function kube<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw classifyKubernetesError(error);
  }
}

/** Watches the pods bound to `nodeName` in all namespaces (runtime/informer.ts keeps the watch alive). */
export function watchNodePods(
  kubeConfig: KubeConfig,
  nodeName: string,
  options: { logger: Logger; signal: AbortSignal; timers: Timers },
): WatchedPods {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const fieldSelector = `spec.nodeName=${nodeName}`;
  const cache = watchResource<V1Pod>(
    kubeConfig,
    {
      name: 'pods',
      path: '/api/v1/pods',
      list: () => core.listPodForAllNamespaces({ fieldSelector }),
      fieldSelector,
      // Nothing here reads them, and they are nearly half a pod's heap (3.2 of 7.0 KiB for a
      // one-container pod whose status this connector wrote).
      keep: withoutManagedFields,
    },
    options,
  );
  return {
    get synced() {
      return cache.synced();
    },
    get: (namespace, name) => cache.get(name, namespace),
    list: () => cache.list(),
    subscribe: (listener) => cache.subscribe(listener),
  };
}

export class KubePodApi implements PodApi {
  private readonly core: CoreV1Api;
  private readonly clusterCaPem: string | undefined;

  private readonly references: ReferenceReader;

  constructor(kubeConfig: KubeConfig, clusterCaPem: string | undefined) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.clusterCaPem = clusterCaPem;
    const reader = kubernetesReferenceReader(this.core, { secretValues: 'keep' });
    this.references = {
      ...reader,
      // The Node authorizer lets a node read its pods' ServiceAccounts from Kubernetes 1.34 on
      // (KubeletServiceAccountTokenForCredentialProviders); before, a refusal (403) says nothing about
      // whether it exists, so it is taken as existing with no automount preference and the TokenRequest
      // decides (it is refused too when the node's own credentials are).
      serviceAccount: async (namespace, name) => {
        try {
          return await reader.serviceAccount(namespace, name);
        } catch (error) {
          if (error instanceof ClassifiedError && error.reaction === 'fix-credentials')
            return { metadata: { name, namespace } };
          throw error;
        }
      },
    };
  }

  async updateStatus(pod: V1Pod, status: V1PodStatus): Promise<void> {
    const { name, namespace } = podName(pod);
    await kube(() => this.core.patchNamespacedPodStatus({ name, namespace, body: { status } }, MERGE_PATCH));
  }

  async forceDelete(pod: V1Pod): Promise<void> {
    const { name, namespace } = podName(pod);
    await kube(() =>
      this.core.deleteNamespacedPod({
        name,
        namespace,
        gracePeriodSeconds: 0,
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid ?? '' } },
      }),
    );
  }

  async fetchReferences(pod: V1Pod): Promise<ReferencedObjects> {
    const { namespace } = podName(pod);
    const references = podReferences(pod);
    // Past the bound nothing is read or requested: the translation refuses the pod, naming the bound.
    if (referenceCount(pod, references) > MAX_POD_REFERENCES) {
      return { configMaps: new Map(), secrets: new Map(), serviceAccount: undefined };
    }
    const objects = await readReferencedObjects(this.references, namespace, references);
    const serviceAccountTokens = new Map<string, string>();
    if (objects.serviceAccount !== undefined) {
      for (const request of serviceAccountTokenRequests(pod, objects.serviceAccount)) {
        const token = await kube(() =>
          this.core.createNamespacedServiceAccountToken({
            name: request.serviceAccountName,
            namespace,
            body: {
              spec: {
                audiences: request.audience === undefined ? [] : [request.audience],
                expirationSeconds: request.expirationSeconds,
                boundObjectRef: {
                  apiVersion: 'v1',
                  kind: 'Pod',
                  name: pod.metadata?.name ?? '',
                  uid: pod.metadata?.uid ?? '',
                },
              },
            },
          }),
        );
        if (token.status?.token) serviceAccountTokens.set(request.key, token.status.token);
      }
    }
    return {
      ...objects,
      serviceAccountTokens,
      ...(this.clusterCaPem !== undefined && { clusterCaPem: this.clusterCaPem }),
    };
  }
}

function podName(pod: V1Pod): { name: string; namespace: string } {
  return { name: pod.metadata?.name ?? '', namespace: pod.metadata?.namespace ?? '' };
}

/**
 * core/v1 Events on pods, as `kubectl describe pod` shows them. The same event for the same pod is
 * written at most once per `dedupeWindowMs`, so a retry loop does not flood the API server.
 */
export class KubeEventRecorder implements EventRecorder {
  private readonly core: CoreV1Api;
  private readonly component: { component: string; host: string };
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly recent = new Map<string, number>();
  private readonly dedupeWindowMs = 60_000;

  constructor(options: { kubeConfig: KubeConfig; nodeName: string; clock: Clock; logger: Logger }) {
    this.core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.component = { component: 'aci-connector', host: options.nodeName };
    this.clock = options.clock;
    this.logger = options.logger;
  }

  record(pod: V1Pod, event: PodEvent): void {
    const { name, namespace } = podName(pod);
    const now = this.clock.now();
    const key = `${pod.metadata?.uid ?? ''}|${event.reason}|${event.message}`;
    const last = this.recent.get(key);
    if (last !== undefined && now - last < this.dedupeWindowMs) return;
    this.recent.set(key, now);
    if (this.recent.size > 10_000) this.forgetBefore(now - this.dedupeWindowMs);
    const time = new Date(now);
    this.core
      .createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${name}.`, namespace },
          involvedObject: { apiVersion: 'v1', kind: 'Pod', name, namespace, uid: pod.metadata?.uid ?? '' },
          type: event.type,
          reason: event.reason,
          message: event.message.slice(0, 1024),
          source: this.component,
          reportingComponent: 'aci-burst.azure.com/connector',
          reportingInstance: this.component.host,
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        },
      })
      .catch((error: unknown) => {
        this.logger.debug({ err: classifyKubernetesError(error).message }, 'could not record an event');
      });
  }

  private forgetBefore(time: number): void {
    for (const [key, at] of this.recent) if (at < time) this.recent.delete(key);
  }
}

export class KubeNodeApi implements NodeApi {
  private readonly core: CoreV1Api;
  private readonly coordination: CoordinationV1Api;

  constructor(kubeConfig: KubeConfig) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  }

  readNode(name: string): Promise<V1Node | undefined> {
    return unlessKind(this.core.readNode({ name }), 'NotFound');
  }

  createNode(node: V1Node): Promise<V1Node> {
    return kube(() => this.core.createNode({ body: node }));
  }

  async patchNode(name: string, patch: { metadata: V1Node['metadata'] }): Promise<void> {
    await kube(() => this.core.patchNode({ name, body: patch }, MERGE_PATCH));
  }

  async patchNodeStatus(name: string, status: V1Node['status']): Promise<void> {
    await kube(() => this.core.patchNodeStatus({ name, body: { status } }, MERGE_PATCH));
  }

  readLease(name: string): Promise<V1Lease | undefined> {
    return unlessKind(
      this.coordination.readNamespacedLease({ name, namespace: LEASE_NAMESPACE }),
      'NotFound',
    );
  }

  async createLease(lease: V1Lease): Promise<void> {
    await kube(() => this.coordination.createNamespacedLease({ namespace: LEASE_NAMESPACE, body: lease }));
  }

  async replaceLease(lease: V1Lease): Promise<void> {
    const name = lease.metadata?.name ?? '';
    await kube(() =>
      this.coordination.replaceNamespacedLease({ name, namespace: LEASE_NAMESPACE, body: lease }),
    );
  }
}

/**
 * Authorizes kubelet API callers through the API server (SubjectAccessReview), as a kubelet does.
 * Answers are cached briefly: `kubectl logs -f` and the API server's repeated calls need not each cost a review.
 */
export class SubjectAccessReviewAuthorizer implements KubeletAuthorizer {
  private readonly authorization: AuthorizationV1Api;
  private readonly nodeName: string;
  private readonly clock: Clock;
  private readonly cache = new Map<string, { allowed: boolean; until: number }>();
  private readonly ttlMs = 60_000;

  constructor(options: { kubeConfig: KubeConfig; nodeName: string; clock: Clock }) {
    this.authorization = options.kubeConfig.makeApiClient(AuthorizationV1Api);
    this.nodeName = options.nodeName;
    this.clock = options.clock;
  }

  async allowed(
    caller: { user: string; groups: string[] },
    attributes: { verb: string; subresource: string },
  ): Promise<boolean> {
    const key = JSON.stringify([caller.user, caller.groups, attributes.verb, attributes.subresource]);
    const now = this.clock.now();
    const cached = this.cache.get(key);
    if (cached && cached.until > now) return cached.allowed;
    const review = await kube(() =>
      this.authorization.createSubjectAccessReview({
        body: {
          spec: {
            user: caller.user,
            groups: caller.groups,
            resourceAttributes: {
              verb: attributes.verb,
              resource: 'nodes',
              subresource: attributes.subresource,
              name: this.nodeName,
            },
          },
        },
      }),
    );
    const allowed = review.status?.allowed === true;
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(key, { allowed, until: now + this.ttlMs });
    return allowed;
  }
}
