// The pod <-> container group lifecycle. Informer events and group-list changes queue pod keys; one
// reconcile per key brings ACI and the pod's status in line with the pod spec:
//   no group          -> translate and create it (paced; reads image configurations from registries
//                        when the pod needs them; waits on missing references; fails on invalid specs)
//   group             -> report its status on the pod, forward ACI events as pod Events
//   pod being deleted -> delete the group, then remove the pod object
//   group without pod -> delete it (an orphan: billing for nothing)
// "The pod's group" is found by its tags (this cluster, this node, this pod's UID), never by its name
// alone: several clusters may share the resource group, and a group another cluster or node owns is
// never created over, deleted or read. A pod whose namespace did not opt in to bursting never gets one.
// Transient failures and throttling requeue the key with backoff (at least Retry-After); they never
// fail a pod, so no pod is left stuck Pending after a blip.
import type { ContainerGroup } from '@azure/arm-containerinstance';
import type { V1Pod, V1PodStatus } from '@kubernetes/client-node';
import {
  BURST_NAMESPACE_ENABLED,
  BURST_NAMESPACE_LABEL,
  containerGroupName,
  describeProblems,
  type GroupSettings,
  type ImageConfig,
  imageConfigRequests,
  podKey,
  pullSecretCredentials,
  type ReferencedObjects,
  toContainerGroup,
  type Translation,
} from '../contract/index.ts';
import {
  ClassifiedError,
  classifyAzureError,
  INACCESSIBLE_IMAGE,
  isNotFound,
  isSetupError,
} from '../runtime/errors.ts';
import type { Logger } from '../runtime/logger.ts';
import { forwardableEvents } from './aci-events.ts';
import { listOf, textOf } from './aci-shapes.ts';
import type { ConditionSource } from './health.ts';
import type { ConnectorMetrics } from './metrics.ts';
import { CreatePacer, retryDelay, type BackoffPolicy } from './pacing.ts';
import type {
  Clock,
  ContainerGroupApi,
  EventRecorder,
  ImageConfigSource,
  NamespacePolicy,
  PodApi,
  PodCache,
  PodEvent,
} from './ports.ts';
import { REGISTRY_UNAVAILABLE } from './registry/resolver.ts';
import { describeOwner, GroupTracker, isOwnedBy, podKeyOf, podUidOf, type TrackedGroup } from './groups.ts';
import { failedPodStatus, isProvisioning, pendingPodStatus, podStatusFromGroup } from './status.ts';
import { WorkQueue } from './workqueue.ts';

export interface PodControllerTiming {
  listIntervalMs: number;
  refreshIntervalMs: number;
  maxReadsPerMinute: number;
  /** How long a freshly created group may be missing from lists. */
  createGraceMs: number;
  /** How often every cached pod is reconciled even without events (the informer resync). */
  resyncIntervalMs: number;
  backoff: BackoffPolicy;
  /** How long a pod waiting on quota or a missing reference waits before the next try. */
  waitRetryMs: number;
  /** How long a group may stay provisioning before it is deleted and created again. */
  provisioningTimeoutMs: number;
}

export interface PodControllerDeps {
  groups: ContainerGroupApi;
  pods: PodApi;
  images: ImageConfigSource;
  events: EventRecorder;
  cache: PodCache;
  namespaces: NamespacePolicy;
  clock: Clock;
  logger: Logger;
  metrics: ConnectorMetrics;
  settings: GroupSettings;
  hostIP: string;
  timing: PodControllerTiming;
  pacer: CreatePacer;
  /** With ACI_SUBNET_ID: whether groups can go into the subnet; while not, pods wait Pending. */
  subnet?: ConditionSource | undefined;
  concurrency?: number;
  random?: () => number;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

const TERMINAL = new Set(['Succeeded', 'Failed']);

export class PodController {
  private readonly deps: PodControllerDeps;
  private readonly tracker: GroupTracker;
  private readonly queue: WorkQueue;
  private readonly attempts = new Map<string, number>();
  /** The status last written per pod key, to skip writes that change nothing. */
  private readonly written = new Map<string, string>();
  /** ACI events already forwarded, per group. */
  private readonly forwarded = new Map<string, Set<string>>();
  private timers: NodeJS.Timeout[] = [];
  private syncing: Promise<void> | undefined;

  constructor(deps: PodControllerDeps) {
    this.deps = deps;
    this.tracker = new GroupTracker({ nodeName: deps.settings.nodeName, clusterId: deps.settings.clusterId });
    this.queue = new WorkQueue({ concurrency: deps.concurrency ?? 8, process: (key) => this.reconcile(key) });
  }

  /**
   * Called by the informer on add, update and delete. A pod waiting out a backoff keeps waiting,
   * unless it is being deleted: deletion never waits.
   */
  enqueue(pod: V1Pod): void {
    const key = podKey(pod);
    const deleted =
      pod.metadata?.deletionTimestamp !== undefined || this.deps.cache.get(...splitKey(key)) === undefined;
    if (deleted) this.queue.add(key);
    else this.queue.addUnlessWaiting(key);
  }

  /** Resolves once no reconcile runs or waits to run (delayed retries excluded). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  get queueDepth(): number {
    return this.queue.depth;
  }

  get groupsSynced(): boolean {
    return this.tracker.synced;
  }

  /** Lists groups at once, then on an interval; resyncs every cached pod on another. */
  start(): void {
    this.queue.start();
    // syncGroups catches and logs its own failures, so these promises never reject.
    void this.triggerSync();
    this.timers = [
      setInterval(() => {
        void this.triggerSync();
      }, this.deps.timing.listIntervalMs),
      setInterval(() => {
        for (const pod of this.deps.cache.list()) this.enqueue(pod);
      }, this.deps.timing.resyncIntervalMs),
    ];
  }

  /** Stops the timers and waits for in-flight reconciles; container groups are left running. */
  async shutdown(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
    await this.syncing;
    await this.queue.shutdown();
  }

  /** Runs one list of the resource group unless one is already running. */
  triggerSync(): Promise<void> {
    this.syncing ??= this.syncGroups().finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  private async syncGroups(): Promise<void> {
    const { clock, timing, metrics } = this.deps;
    const started = clock.now();
    let listed: ContainerGroup[];
    try {
      listed = await this.deps.groups.list();
    } catch (error) {
      const classified = classifyAzureError(error);
      this.deps.logger.warn({ err: classified, kind: classified.kind }, 'listing container groups failed');
      return;
    }
    const maxReads = Math.max(1, Math.floor((timing.maxReadsPerMinute * timing.listIntervalMs) / 60_000));
    const outcome = this.tracker.applyList(listed, {
      now: started,
      createGraceMs: timing.createGraceMs,
      refreshIntervalMs: timing.refreshIntervalMs,
      maxReads,
    });
    metrics.trackedGroups.set(this.tracker.all().length);
    for (const gone of outcome.vanished) {
      this.forwarded.delete(gone.name);
      this.requeueOwner(gone);
    }
    await Promise.all(outcome.toRead.map((name) => this.readGroup(name)));
    this.deleteOrphans();
  }

  private async readGroup(name: string): Promise<void> {
    try {
      const known = this.tracker.get(name);
      const detail = await this.deps.groups.get(name);
      this.tracker.applyDetail(name, detail, this.deps.clock.now());
      if (detail === undefined) this.forwarded.delete(name);
      const key = podKeyOf(detail ?? known?.listed ?? { containers: [], osType: 'Linux' });
      if (key !== undefined) this.queue.addUnlessWaiting(key);
    } catch (error) {
      this.deps.logger.warn(
        { group: name, err: classifyAzureError(error) },
        'reading container group failed',
      );
    }
  }

  private requeueOwner(tracked: TrackedGroup): void {
    const key = podKeyOf(tracked.listed);
    if (key !== undefined) this.queue.add(key);
  }

  /**
   * Groups this node owns whose pod is gone, or was replaced by a pod with another UID: the reconcile
   * of the pod key they are tagged with deletes them (a group without that tag, by its own name).
   */
  private deleteOrphans(): void {
    if (!this.deps.cache.synced) return;
    for (const tracked of this.tracker.all()) {
      const key = podKeyOf(tracked.listed);
      const pod = key === undefined ? undefined : this.deps.cache.get(...splitKey(key));
      if (pod !== undefined && pod.metadata?.uid === podUidOf(tracked.listed)) continue;
      if (key !== undefined) {
        this.queue.add(key);
        continue;
      }
      this.removeGroup(tracked.name, this.deps.logger.child({ group: tracked.name }), 'orphan').catch(
        (error: unknown) => {
          this.deps.logger.warn({ group: tracked.name, err: error }, 'deleting an orphan failed; will retry');
        },
      );
    }
  }

  /** The name of the container group of this pod (tagged with its UID) when this connector owns one. */
  ownedGroupFor(pod: V1Pod): string | undefined {
    return this.currentGroup(pod)?.name;
  }

  private currentGroup(pod: V1Pod): TrackedGroup | undefined {
    const uid = pod.metadata?.uid;
    return this.tracker.groupsOf(podKey(pod)).find((tracked) => podUidOf(tracked.listed) === uid);
  }

  private async reconcile(key: string): Promise<void> {
    const [namespace, name] = splitKey(key);
    const pod = this.deps.cache.get(namespace, name);
    const log = this.deps.logger.child({ pod: key });
    const timer = this.deps.metrics.reconcileSeconds.startTimer();
    try {
      // Until both sides are known, "no pod" or "no group" may only mean "not seen yet": acting on
      // it would delete running groups or create duplicates.
      if (!this.tracker.synced || !this.deps.cache.synced || !this.deps.namespaces.synced) {
        this.queue.addAfter(key, 1000);
        return;
      }
      await this.reconcilePod(key, pod, log);
      this.attempts.delete(key);
      if (pod === undefined) this.written.delete(key);
      timer({ outcome: 'ok' });
    } catch (error) {
      const classified = classifyAzureError(error);
      timer({ outcome: classified.kind });
      this.retryLater(key, pod, classified, log);
    }
  }

  private async reconcilePod(key: string, pod: V1Pod | undefined, log: Logger): Promise<void> {
    const uid = pod?.metadata?.uid;
    let current: TrackedGroup | undefined;
    for (const tracked of this.tracker.groupsOf(key)) {
      if (pod !== undefined && current === undefined && podUidOf(tracked.listed) === uid) {
        current = tracked;
        continue;
      }
      // The group of a deleted pod, of an earlier pod with this name (a StatefulSet replica), or a
      // second group of this pod: it goes first.
      const why =
        pod === undefined ? 'pod deleted' : podUidOf(tracked.listed) === uid ? 'duplicate' : 'pod replaced';
      await this.removeGroup(tracked.name, log.child({ group: tracked.name }), why);
    }
    if (pod === undefined) return;
    if (pod.metadata?.deletionTimestamp) {
      await this.deletePod(pod, current, log);
      return;
    }
    if (current) await this.reportStatus(pod, current, log.child({ group: current.name }));
    else await this.createGroup(pod, log);
  }

  private async removeGroup(groupName: string, log: Logger, why: string): Promise<void> {
    await this.deps.groups.remove(groupName);
    this.tracker.forget(groupName);
    this.forwarded.delete(groupName);
    this.deps.metrics.groupDeletes.inc({ reason: why });
    log.info({ why }, 'deleted container group');
  }

  /**
   * ACI has no graceful stop: deleting a group ends its containers at once. The pod object is removed
   * only after the group is gone, so a group is never left billing behind a deleted pod. A group the
   * lists have not shown yet (a create whose answer was lost) is looked up by name and deleted only if
   * its tags say it is this pod's.
   */
  private async deletePod(pod: V1Pod, current: TrackedGroup | undefined, log: Logger): Promise<void> {
    if (current) await this.removeGroup(current.name, log.child({ group: current.name }), 'pod deleted');
    else {
      const name = this.groupName(pod);
      const found = await this.deps.groups.get(name);
      if (found !== undefined && this.isThisPods(found, pod))
        await this.removeGroup(name, log, 'pod deleted');
    }
    try {
      await this.deps.pods.forceDelete(pod);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    this.written.delete(podKey(pod));
    log.info('pod deleted');
  }

  private groupName(pod: V1Pod): string {
    return containerGroupName(
      pod.metadata?.namespace ?? '',
      pod.metadata?.name ?? '',
      this.deps.settings.clusterId,
    );
  }

  private isThisPods(group: ContainerGroup, pod: V1Pod): boolean {
    const { nodeName, clusterId } = this.deps.settings;
    return isOwnedBy(group, { nodeName, clusterId }) && podUidOf(group) === pod.metadata?.uid;
  }

  /** Whether the pod should get a group now; if not, its status or an event says why. */
  private async mayCreate(pod: V1Pod, groupName: string): Promise<boolean> {
    const phase = pod.status?.phase;
    if (phase !== undefined && TERMINAL.has(phase)) return false;
    if (this.ranBefore(pod) && pod.spec?.restartPolicy === 'Never') {
      await this.writeStatus(
        pod,
        failedPodStatus(
          pod,
          { reason: 'ContainerGroupDeleted', message: 'the container group was deleted outside Kubernetes' },
          this.context(),
        ),
      );
      return false;
    }
    const refusal = this.refusal(pod, groupName);
    if (refusal === undefined) return true;
    await this.wait(pod, refusal, this.deps.timing.waitRetryMs);
    return false;
  }

  private async createGroup(pod: V1Pod, log: Logger): Promise<void> {
    const groupName = this.groupName(pod);
    if (!(await this.mayCreate(pod, groupName))) return;
    const translation = await this.translate(pod);
    if (translation.kind === 'invalid') {
      // The refusals are why; what the pod would also wait for (an image configuration not read,
      // since registries are not asked for a pod that cannot run) would only distract.
      const refusals = translation.problems.filter((problem) => problem.kind === 'unsupported');
      const message = `ACI cannot run this pod:\n${describeProblems(refusals)}`;
      this.deps.events.record(pod, { type: 'Warning', reason: 'ProviderCreateFailed', message });
      await this.writeStatus(
        pod,
        failedPodStatus(pod, { reason: 'ProviderCreateFailed', message }, this.context()),
      );
      log.info({ problems: translation.problems.length }, 'pod cannot run on ACI');
      return;
    }
    if (translation.kind === 'waiting') {
      const message = describeProblems(translation.problems);
      await this.wait(pod, { reason: 'CreateContainerConfigError', message }, this.deps.timing.waitRetryMs);
      return;
    }
    // Nothing is asked of ARM for a pod that cannot go into the subnet yet.
    const subnetHold = this.subnetHold();
    if (subnetHold !== undefined) {
      await this.wait(pod, subnetHold, subnetHold.retryMs);
      return;
    }
    if (await this.nameTakenNow(pod, groupName)) return;
    const now = this.deps.clock.now();
    const paced = this.pacing(now);
    if (paced !== undefined) {
      await this.wait(pod, paced, paced.retryMs);
      return;
    }
    try {
      await this.deps.groups.create(groupName, translation.group);
    } catch (error) {
      const classified = classifyAzureError(error);
      // A refused request (4xx, 429) never counted against ACI's create limit; after a 5xx or a
      // dropped connection ACI may have accepted it, so the slot stays used.
      const refused = classified.statusCode !== undefined && classified.statusCode < 500;
      if (refused) this.deps.pacer.release(now);
      if (isFinalRefusal(classified)) {
        await this.failPod(pod, classified);
        return;
      }
      throw classified;
    }
    this.tracker.applyCreate(groupName, translation.group, now);
    this.deps.metrics.groupCreates.inc();
    this.deps.events.record(pod, {
      type: 'Normal',
      reason: 'ContainerGroupCreated',
      message: `created ACI container group ${groupName}`,
    });
    for (const notice of translation.notices) this.deps.events.record(pod, notice);
    log.info({ group: groupName }, 'created container group');
    await this.writeStatus(
      pod,
      pendingPodStatus(pod, { reason: 'ContainerCreating', message: 'ACI is provisioning' }, this.context()),
    );
  }

  /** Why a pod ACI can run waits for the subnet, if it does: the operator's fix makes it runnable as it is. */
  private subnetHold(): { reason: string; message: string; retryMs: number } | undefined {
    const subnet = this.deps.subnet?.condition;
    if (subnet === undefined || subnet.ok) return undefined;
    const message = `waiting for the virtual node's subnet: ${subnet.message}`;
    return { reason: 'SubnetNotReady', message, retryMs: this.deps.timing.waitRetryMs };
  }

  /** Why the create waits for ACI's create limit, if it does; otherwise a slot is taken. */
  private pacing(now: number): { reason: string; message: string; retryMs: number } | undefined {
    const wait = this.deps.pacer.tryAcquire(now);
    if (wait <= 0) return undefined;
    const message = `waiting ${Math.ceil(wait / 1000)}s for ACI's container-group create limit`;
    return { reason: 'CreatePaced', message, retryMs: wait };
  }

  /**
   * The pod as a container group, with what it references. Registries are asked only for pods that
   * need an image's configuration and could otherwise run; their failures (ErrImagePull,
   * RegistryUnavailable) are thrown to retryLater, as a kubelet's pull failures are retried.
   */
  private async translate(pod: V1Pod): Promise<Translation> {
    const objects = await this.deps.pods.fetchReferences(pod);
    const translation = toContainerGroup(pod, objects, this.deps.settings);
    if (translation.kind === 'invalid' || imageConfigRequests(pod).length === 0) return translation;
    const images = await this.readImages(pod, objects);
    return toContainerGroup(pod, { ...objects, images }, this.deps.settings);
  }

  /** The configurations of the images the pod needs, read with its pull secrets' credentials. */
  private readImages(pod: V1Pod, objects: ReferencedObjects): Promise<Map<string, ImageConfig>> {
    const credentials = new Map(
      [...pullSecretCredentials(pod, objects.secrets)].map(([server, credential]) => [
        server,
        { username: credential.username ?? '', password: credential.password ?? '' },
      ]),
    );
    return this.deps.images.resolve(imageConfigRequests(pod), credentials, pod.spec?.os?.name ?? 'linux');
  }

  /**
   * Why this connector must not create the pod's group (the pod waits, and runs if that changes): its
   * namespace did not opt in, or another cluster or node holds the name. Checked before anything the
   * pod references is read, so a refused pod's Secrets never leave the cluster.
   */
  private refusal(pod: V1Pod, groupName: string): { reason: string; message: string } | undefined {
    const namespace = pod.metadata?.namespace ?? '';
    if (!this.deps.namespaces.optedIn(namespace)) {
      return {
        reason: 'NamespaceNotOptedIn',
        message:
          `namespace ${namespace} has not opted in to bursting (label ${BURST_NAMESPACE_LABEL}=${BURST_NAMESPACE_ENABLED}, ` +
          "or the connector's ACI_ALLOWED_NAMESPACES): its pods never run on ACI. Label the namespace, or " +
          'delete the pod and keep it off the virtual node',
      };
    }
    const other = this.tracker.foreignGroup(groupName);
    if (other === undefined) return undefined;
    return {
      reason: 'ContainerGroupNameConflict',
      message:
        `a container group named ${groupName} already exists in the resource group and belongs to ` +
        `${describeOwner(other)}; it is never created over. Give the pod another name, or check that ` +
        'every cluster sharing the resource group has its own ACI_CLUSTER_ID',
    };
  }

  /**
   * A create is a PUT, which replaces whatever has the name, and the last list may be a list interval
   * old: the name is read once more right before. Someone else's group makes the pod wait; one of this
   * connector's (a create whose answer was lost, or an older pod's) is handled by the next reconcile.
   */
  private async nameTakenNow(pod: V1Pod, groupName: string): Promise<boolean> {
    const existing = await this.deps.groups.get(groupName);
    if (existing === undefined) return false;
    this.tracker.applyDetail(groupName, existing, this.deps.clock.now());
    const refusal = this.refusal(pod, groupName);
    if (refusal !== undefined) await this.wait(pod, refusal, this.deps.timing.waitRetryMs);
    else this.queue.add(podKey(pod));
    return true;
  }

  /** True when this pod's containers were reported started before: its group existed once. */
  private ranBefore(pod: V1Pod): boolean {
    return (pod.status?.containerStatuses ?? []).some(
      (status) => status.state?.running !== undefined || status.state?.terminated !== undefined,
    );
  }

  private async reportStatus(pod: V1Pod, tracked: TrackedGroup, log: Logger): Promise<void> {
    const group = tracked.detail;
    const replacement = group && this.replacementCause(pod, tracked, group);
    if (group !== undefined && replacement !== undefined) {
      this.forwardEvents(pod, tracked.name, group);
      await this.removeGroup(tracked.name, log, replacement.why);
      throw replacement.error;
    }
    if (group === undefined) {
      await this.writeStatus(
        pod,
        pendingPodStatus(
          pod,
          { reason: 'ContainerCreating', message: 'ACI is provisioning' },
          this.context(),
        ),
      );
      return;
    }
    this.forwardEvents(pod, tracked.name, group);
    await this.writeStatus(pod, podStatusFromGroup(pod, group, this.context()));
  }

  /**
   * Why the pod's group must be deleted and created again (after a backoff, the error shown on the pod),
   * if it must: as a kubelet restarts what its restart policy says, and never waits for ever.
   */
  private replacementCause(
    pod: V1Pod,
    tracked: TrackedGroup,
    group: ContainerGroup,
  ): { why: string; error: ClassifiedError } | undefined {
    const restarts = pod.spec?.restartPolicy !== 'Never';
    if (group.provisioningState === 'Failed' && restarts) {
      // A failed provisioning (no capacity, an image not pulled).
      return { why: 'provisioning failed', error: provisioningFailure(group) };
    }
    if (group.instanceView?.state === 'Stopped' && restarts) {
      // Someone stopped the group in Azure: its containers were killed (a stop keeps nothing worth keeping).
      const message =
        `container group ${tracked.name} was stopped outside Kubernetes; deleted it, to create it again ` +
        `(restartPolicy ${pod.spec?.restartPolicy ?? 'Always'})`;
      return {
        why: 'stopped outside Kubernetes',
        error: new ClassifiedError('Transient', message, { code: 'ContainerGroupStopped' }),
      };
    }
    // The latest list may be newer than the latest read: both must still show the group provisioning.
    const since = isProvisioning(tracked.listed) ? tracked.provisioningSince : undefined;
    const stuckForMs = since === undefined ? 0 : this.deps.clock.now() - since;
    if (stuckForMs >= this.deps.timing.provisioningTimeoutMs) {
      // ACI accepted the create and never finished it: waiting longer helps nobody.
      const message =
        `ACI accepted container group ${tracked.name} but did not finish provisioning it in ` +
        `${Math.round(stuckForMs / 1000)}s (still ${group.provisioningState ?? 'Pending'}); deleted it, to create it again`;
      return {
        why: 'provisioning timed out',
        error: new ClassifiedError('Transient', message, { code: 'ProvisioningTimedOut' }),
      };
    }
    return undefined;
  }

  private forwardEvents(pod: V1Pod, groupName: string, group: ContainerGroup): void {
    const before = this.forwarded.get(groupName) ?? new Set<string>();
    const current = forwardableEvents(group);
    for (const { id, event } of current) if (!before.has(id)) this.deps.events.record(pod, event);
    // Only the latest read's ids are kept, so a crash-looping group's set does not grow for ever.
    this.forwarded.set(groupName, new Set(current.map((e) => e.id)));
  }

  private async wait(pod: V1Pod, why: { reason: string; message: string }, retryMs: number): Promise<void> {
    this.deps.events.record(pod, { type: 'Warning', reason: why.reason, message: why.message });
    this.queue.addAfter(podKey(pod), retryMs, this.deps.clock.now());
    await this.writeStatus(pod, pendingPodStatus(pod, why, this.context()));
  }

  private async writeStatus(pod: V1Pod, status: V1PodStatus): Promise<void> {
    const key = podKey(pod);
    const fingerprint = JSON.stringify(status);
    if (this.written.get(key) === fingerprint || JSON.stringify(pod.status) === fingerprint) return;
    await this.deps.pods.updateStatus(pod, status);
    this.written.set(key, fingerprint);
    this.deps.metrics.statusUpdates.inc();
  }

  private context(): { hostIP: string; now: Date } {
    return { hostIP: this.deps.hostIP, now: new Date(this.deps.clock.now()) };
  }

  /** Every failure is retried; the kind decides how soon and what the pod shows meanwhile. */
  private retryLater(key: string, pod: V1Pod | undefined, error: ClassifiedError, log: Logger): void {
    const attempt = this.attempts.get(key) ?? 0;
    this.attempts.set(key, attempt + 1);
    const { timing } = this.deps;
    const delay =
      error.kind === 'QuotaExceeded'
        ? Math.max(timing.waitRetryMs, error.retryAfterMs ?? 0)
        : retryDelay(attempt, timing.backoff, error.retryAfterMs, this.deps.random ?? Math.random);
    this.deps.metrics.retries.inc({ kind: error.kind });
    log.warn(
      { kind: error.kind, code: error.code, attempt, retryInMs: delay, err: error.message },
      'will retry',
    );
    this.queue.addAfter(key, delay, this.deps.clock.now());
    if (pod !== undefined && !pod.metadata?.deletionTimestamp)
      this.showRetry(pod, retryEvent(error, delay, attempt));
  }

  /** Azure refused the group as invalid: the same request would be refused again, so the pod fails. */
  private async failPod(pod: V1Pod, error: ClassifiedError): Promise<void> {
    const message = `ACI refused the container group: ${error.message}`;
    this.deps.events.record(pod, { type: 'Warning', reason: 'ProviderCreateFailed', message });
    await this.writeStatus(
      pod,
      failedPodStatus(pod, { reason: 'ProviderCreateFailed', message }, this.context()),
    );
  }

  /** Tells the user why the pod waits, on the pod itself: an event and the container's waiting reason. */
  private showRetry(pod: V1Pod, event: PodEvent): void {
    this.deps.events.record(pod, event);
    if (this.currentGroup(pod) !== undefined) return;
    this.writeStatus(pod, pendingPodStatus(pod, event, this.context())).catch((writeError: unknown) => {
      this.deps.logger.debug({ err: writeError }, 'could not show the retry on the pod');
    });
  }
}

function provisioningFailure(group: ContainerGroup): ClassifiedError {
  const events = [
    ...listOf(group.instanceView?.events),
    ...listOf(group.containers).flatMap((c) => listOf(c.instanceView?.events)),
  ];
  const warning = events.findLast((e) => e.type === 'Warning');
  const [name, reason] = [textOf(warning?.name), textOf(warning?.message)];
  const message = `ACI could not provision the container group: ${reason ?? 'no reason given'}`;
  return /InaccessibleImage|pull/i.test(`${name ?? ''} ${reason ?? ''}`)
    ? new ClassifiedError('ImagePullFailed', message, { code: INACCESSIBLE_IMAGE })
    : new ClassifiedError('Transient', message, { code: name ?? 'ProvisioningFailed' });
}

/**
 * An invalid request that no retry can fix (a missing image may yet appear: it is ImagePullFailed; a
 * missing resource group or subnet is the operator's to fix).
 */
function isFinalRefusal(error: ClassifiedError): boolean {
  return error.kind === 'InvalidInput' && !isSetupError(error);
}

function retryEvent(error: ClassifiedError, delayMs: number, attempt: number): PodEvent {
  const seconds = Math.ceil(delayMs / 1000);
  if (error.code === REGISTRY_UNAVAILABLE) {
    // A registry that did not answer is not the image's fault: the pod waits, as a pull in progress.
    return {
      type: 'Warning',
      reason: 'RegistryUnavailable',
      message: `${error.message} (retrying in ${seconds}s)`,
    };
  }
  switch (error.kind) {
    case 'QuotaExceeded':
      return {
        type: 'Warning',
        reason: 'ACIQuotaExceeded',
        message: `${error.message} (retrying in ${seconds}s)`,
      };
    case 'Throttled':
      return {
        type: 'Warning',
        reason: 'ACIThrottled',
        message: `Azure asked to slow down; retrying in ${seconds}s`,
      };
    case 'ImagePullFailed': {
      // As a kubelet says it: ErrImagePull on the first failure, ImagePullBackOff while backing off.
      const reason = attempt === 0 ? 'ErrImagePull' : 'ImagePullBackOff';
      return { type: 'Warning', reason, message: `${error.message} (retrying in ${seconds}s)` };
    }
    default:
      break;
  }
  return {
    type: 'Warning',
    reason: 'ProviderRetrying',
    message: `${error.kind}: ${error.message} (retrying in ${seconds}s)`,
  };
}
