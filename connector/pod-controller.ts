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
import { createHash } from 'node:crypto';
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
  TAGS,
  type ReferencedObjects,
  toContainerGroup,
  type Translation,
  usesWorkloadIdentity,
} from '../contract/index.ts';
import {
  ClassifiedError,
  classifyAzureError,
  classifyProvisioningFailure,
  IDENTITY_REFUSAL_FIX,
  isNotFound,
  TOKEN_UNAVAILABLE,
} from '../runtime/errors.ts';
import { stopOnAbort } from '../runtime/lifecycle.ts';
import type { Logger } from '../runtime/logger.ts';
import { forwardableEvents } from './aci-events.ts';
import { listOf, textOf } from './aci-shapes.ts';
import type { ConnectorConfig } from './config.ts';
import type { ConditionSource } from './health.ts';
import type { ConnectorMetrics } from './metrics.ts';
import { CreatePacer, retryDelay, type BackoffPolicy, type CreateTurn } from './pacing.ts';
import { anyInTransition, ArmReadBudget, planReads, RefreshAllowance } from './read-budget.ts';
import type { Cancel, Timers } from '../runtime/clock.ts';
import type {
  ContainerGroupApi,
  EventRecorder,
  ImageConfigSource,
  NamespacePolicy,
  PodApi,
  PodEvent,
  WatchedPods,
} from './ports.ts';
import { REGISTRY_UNAVAILABLE } from './registry/resolver.ts';
import { describeOwner, GroupTracker, isOwnedBy, podKeyOf, podUidOf, type TrackedGroup } from './groups.ts';
import { failedPodStatus, isProvisioning, pendingPodStatus, podStatusFromGroup } from './status.ts';
import { WorkQueue } from './workqueue.ts';

export interface PodControllerTiming {
  /** How often the resource group is listed while no group is in transition. */
  listIntervalMs: number;
  /** How often it is listed while some group is being created or starting (default 2 s). */
  transitionListIntervalMs?: number;
  /** How often a starting or failing group is read, which the lists cannot show (default 5 s). */
  transitionRefreshMs?: number;
  refreshIntervalMs: number;
  /** Refresh reads of running groups per minute: the steady-state cost (transitions are not capped by it). */
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

/** connector/hooks.ts LifecycleHooks, as the controller calls it. */
export interface PodHooks {
  preStop(pod: V1Pod, groupName: string, group: ContainerGroup | undefined, now: number): Promise<void>;
  postStart(pod: V1Pod, groupName: string, group: ContainerGroup): void;
  forget(pod: V1Pod): void;
}

/** The controller's timing from the connector's configuration (the benchmarks use it too, for default settings). */
export function podControllerTiming(timing: ConnectorConfig['timing']): PodControllerTiming {
  return {
    listIntervalMs: timing.listIntervalMs,
    refreshIntervalMs: timing.refreshIntervalMs,
    maxReadsPerMinute: timing.maxReadsPerMinute,
    createGraceMs: Math.max(30_000, 3 * timing.listIntervalMs),
    resyncIntervalMs: 60_000,
    backoff: { baseMs: 1000, maxMs: 300_000 },
    waitRetryMs: timing.waitRetryMs,
    provisioningTimeoutMs: timing.provisioningTimeoutMs,
  };
}

export interface PodControllerDeps {
  groups: ContainerGroupApi;
  pods: PodApi;
  images: ImageConfigSource;
  events: EventRecorder;
  cache: WatchedPods;
  namespaces: NamespacePolicy;
  /** Reads the time and runs the list, resync and retry timers. */
  clock: Timers;
  logger: Logger;
  metrics: ConnectorMetrics;
  settings: GroupSettings;
  hostIP: string;
  timing: PodControllerTiming;
  pacer: CreatePacer;
  /** What ARM has left of its read bucket; status reads take at most their share of it. */
  readBudget?: ArmReadBudget;
  /** With ACI_SUBNET_ID: whether groups can go into the subnet; while not, pods wait Pending. */
  subnet?: ConditionSource | undefined;
  /** Runs the pods' postStart and preStop hooks; without it, pods with hooks run without them. */
  hooks?: PodHooks | undefined;
  concurrency?: number;
  /** The backoff jitter (Math.random in main.ts). */
  random: () => number;
}

function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}

const TERMINAL = new Set(['Succeeded', 'Failed']);
/**
 * How long before a workload identity token expires its group is recreated: more than the 60 s
 * resync that reconciles every pod, and than a create takes.
 */
const TOKEN_RECREATE_MARGIN_MS = 10 * 60_000;

export class PodController {
  private readonly deps: PodControllerDeps;
  private readonly tracker: GroupTracker;
  private readonly queue: WorkQueue;
  private readonly attempts = new Map<string, number>();
  /** The status last written per pod key, to skip writes that change nothing. */
  private readonly written = new Map<string, string>();
  /**
   * ACI events already forwarded, per group: their ids as one JSON array, unpacked only when the
   * group's status is made again (0.2 KiB of heap per group against 0.4 KiB as a Set of three ids).
   */
  private readonly forwarded = new Map<string, string>();
  private cancels: Cancel[] = [];
  private stopped = false;
  private syncing: Promise<void> | undefined;
  private unsubscribe: (() => void) | undefined;
  /** Settles once the controller stopped after its start signal aborted. */
  done: Promise<void> = Promise.resolve();
  private readonly timers: Timers;
  private readonly readBudget: ArmReadBudget;
  private readonly refreshAllowance: RefreshAllowance;

  constructor(deps: PodControllerDeps) {
    this.deps = deps;
    this.readBudget = deps.readBudget ?? new ArmReadBudget({ clock: deps.clock, share: 1 });
    this.refreshAllowance = new RefreshAllowance(deps.timing.maxReadsPerMinute, deps.clock.now());
    this.tracker = new GroupTracker({ nodeName: deps.settings.nodeName, clusterId: deps.settings.clusterId });
    this.timers = deps.clock;
    this.queue = new WorkQueue({
      concurrency: deps.concurrency ?? 8,
      process: (key) => this.reconcile(key),
      timers: this.timers,
    });
  }

  /**
   * Called for every pod the watch adds, updates or deletes. A pod waiting out a backoff keeps
   * waiting, unless it is being deleted: deletion never waits.
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

  /**
   * Follows the pod watch (every pod known, then every change) until `signal` aborts. Lists groups at
   * once, then again after each list: soon while some group is in transition (its start shows in the
   * list first), at the list interval otherwise. Resyncs every cached pod on an interval of its own.
   */
  start(signal: AbortSignal): void {
    this.queue.start();
    this.unsubscribe = this.deps.cache.subscribe((pod) => {
      this.enqueue(pod);
    });
    this.done = stopOnAbort(
      signal,
      () => this.shutdown(),
      (error) => {
        this.deps.logger.warn({ err: error }, 'stopping the pod controller failed');
      },
    );
    this.listLoop();
    this.cancels.push(
      this.timers.every(this.deps.timing.resyncIntervalMs, () => {
        for (const pod of this.deps.cache.list()) this.enqueue(pod);
      }),
    );
  }

  private listLoop(): void {
    // syncGroups catches and logs its own failures, so this promise never rejects.
    void this.triggerSync().then(() => {
      if (this.stopped) return;
      const { timing } = this.deps;
      const delay = anyInTransition(this.tracker.all())
        ? (timing.transitionListIntervalMs ?? 2000)
        : timing.listIntervalMs;
      const cancel = this.timers.after(delay, () => {
        this.cancels = this.cancels.filter((c) => c !== cancel);
        this.listLoop();
      });
      this.cancels.push(cancel);
    });
  }

  /** Stops the timers and waits for in-flight reconciles; container groups are left running. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const cancel of this.cancels) cancel();
    this.cancels = [];
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
    // Out of budget: the list waits for its next turn rather than earn a 429 (the first list never waits).
    if (this.tracker.synced && this.readBudget.available() < 1) return;
    let listed: ContainerGroup[];
    try {
      listed = await this.deps.groups.list();
    } catch (error) {
      const classified = classifyAzureError(error);
      this.deps.logger.warn({ err: classified, kind: classified.kind }, 'listing container groups failed');
      return;
    }
    const outcome = this.tracker.applyList(listed, { now: started, createGraceMs: timing.createGraceMs });
    metrics.trackedGroups.set(this.tracker.all().length);
    for (const gone of outcome.vanished) {
      this.forwarded.delete(gone.name);
      this.requeueOwner(gone);
    }
    await Promise.all(this.planReads(new Set(outcome.changed)).map((name) => this.readGroup(name)));
    this.deleteOrphans();
  }

  /** The reads this list cycle may send, by urgency, within the share of ARM's budget. */
  private planReads(changed: ReadonlySet<string>): string[] {
    const { timing, clock } = this.deps;
    const now = clock.now();
    const plan = planReads(this.tracker.all(), changed, {
      now,
      allowed: this.readBudget.available(),
      refreshAllowed: this.refreshAllowance.available(now),
      transitionRefreshMs: timing.transitionRefreshMs ?? 5000,
      refreshIntervalMs: timing.refreshIntervalMs,
    });
    this.refreshAllowance.spend(plan.refreshes);
    return plan.names;
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
    if (pod === undefined) {
      this.deps.pacer.leave(key);
      return;
    }
    if (pod.metadata?.deletionTimestamp) {
      this.deps.pacer.leave(key);
      await this.deletePod(pod, current, log);
      return;
    }
    if (current && this.tokenExpiring(pod, current)) await this.recreateForToken(pod, current, log);
    else if (current) await this.reportStatus(pod, current, log.child({ group: current.name }));
    else await this.createGroup(pod, log);
  }

  /**
   * With ACI_WORKLOAD_IDENTITY_RECREATE: whether a workload identity pod's group must be recreated, its
   * token (tagged on the group) expiring within TOKEN_RECREATE_MARGIN_MS. Never for restartPolicy
   * Never: a pod whose group went away cannot start again.
   */
  private tokenExpiring(pod: V1Pod, tracked: TrackedGroup): boolean {
    if (!this.deps.settings.identity?.workloadIdentity.recreateBeforeExpiry) return false;
    if (!usesWorkloadIdentity(pod) || pod.spec?.restartPolicy === 'Never') return false;
    const expiry = Date.parse(tracked.listed.tags?.[TAGS.tokenExpiry] ?? '');
    return !Number.isNaN(expiry) && this.deps.clock.now() >= expiry - TOKEN_RECREATE_MARGIN_MS;
  }

  /** Deletes the group; the next reconcile creates it again with a new token. */
  private async recreateForToken(pod: V1Pod, tracked: TrackedGroup, log: Logger): Promise<void> {
    this.deps.events.record(pod, {
      type: 'Normal',
      reason: 'WorkloadIdentityTokenRefresh',
      message: `recreating container group ${tracked.name}: its workload identity token expires at ${tracked.listed.tags?.[TAGS.tokenExpiry] ?? ''} and ACI cannot refresh it`,
    });
    await this.removeGroup(
      tracked.name,
      log.child({ group: tracked.name }),
      'workload identity token expiring',
    );
    this.queue.add(podKey(pod));
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
    if (current) {
      // preStop hooks run before the group goes, within the pod's grace period.
      await this.deps.hooks?.preStop(pod, current.name, current.detail, this.deps.clock.now());
      await this.removeGroup(current.name, log.child({ group: current.name }), 'pod deleted');
    } else {
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
    this.deps.hooks?.forget(pod);
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
    const key = podKey(pod);
    // The pod's turn for ACI's create window comes first: a pod waiting for it costs no reads, of ARM
    // or of the cluster. Any other reason not to create now gives its place up; it queues again.
    const turn = this.deps.pacer.turn(key, this.deps.clock.now(), { take: false });
    if (turn.waitMs > 0) {
      await this.wait(pod, this.pacedReason(turn), turn.waitMs);
      return;
    }
    try {
      await this.createInTurn(pod, groupName, log);
    } finally {
      this.deps.pacer.leave(key);
    }
  }

  private async createInTurn(pod: V1Pod, groupName: string, log: Logger): Promise<void> {
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
    const turn = this.deps.pacer.turn(podKey(pod), now, { take: true });
    if (turn.waitMs > 0) {
      await this.wait(pod, this.pacedReason(turn), turn.waitMs);
      return;
    }
    try {
      await this.deps.groups.create(groupName, translation.group);
    } catch (error) {
      const classified = classifyAzureError(error);
      // A refused request never counted against ACI's create limit; after a 5xx or a dropped
      // connection ACI may have accepted it, so the slot stays used.
      if (classified.refused) this.deps.pacer.release(now);
      if (classified.reaction === 'fail') {
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

  /** What a pod waiting for ACI's create window shows: how many wait before it, and when it will be created. */
  private pacedReason(turn: CreateTurn): { reason: string; message: string } {
    const limits = this.deps.pacer.describeLimits();
    const ahead = turn.ahead === 1 ? '1 pod' : `${String(turn.ahead)} pods`;
    return {
      reason: 'CreatePaced',
      message:
        `waiting for ACI's container-group create limit (${limits}): ${ahead} ahead, ` +
        `created at about ${new Date(turn.at).toISOString()} (in ${Math.ceil(turn.waitMs / 1000)}s)`,
    };
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
    this.deps.hooks?.postStart(pod, tracked.name, group);
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
    const before = new Set(JSON.parse(this.forwarded.get(groupName) ?? '[]') as string[]);
    const current = forwardableEvents(group);
    for (const { id, event } of current) if (!before.has(id)) this.deps.events.record(pod, event);
    // Only the latest read's ids are kept, so a crash-looping group's set does not grow for ever.
    this.forwarded.set(groupName, JSON.stringify(current.map((e) => e.id)));
  }

  private async wait(pod: V1Pod, why: { reason: string; message: string }, retryMs: number): Promise<void> {
    this.deps.events.record(pod, { type: 'Warning', reason: why.reason, message: why.message });
    this.queue.addAfter(podKey(pod), retryMs);
    await this.writeStatus(pod, pendingPodStatus(pod, why, this.context()));
  }

  private async writeStatus(pod: V1Pod, status: V1PodStatus): Promise<void> {
    const key = podKey(pod);
    // A digest, not the JSON itself: kept per pod, it would cost kilobytes each at 10,000 pods.
    const fingerprint = digest(status);
    if (this.written.get(key) === fingerprint || digest(pod.status) === fingerprint) return;
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
      error.reaction === 'wait-for-capacity'
        ? Math.max(timing.waitRetryMs, error.retryAfterMs ?? 0)
        : retryDelay(attempt, timing.backoff, error.retryAfterMs, this.deps.random);
    this.deps.metrics.retries.inc({ kind: error.kind });
    log.warn(
      { kind: error.kind, code: error.code, attempt, retryInMs: delay, err: error.message },
      'will retry',
    );
    this.queue.addAfter(key, delay);
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

function digest(status: V1PodStatus | undefined): string {
  return createHash('sha256')
    .update(status === undefined ? '' : JSON.stringify(status))
    .digest('base64');
}

function provisioningFailure(group: ContainerGroup): ClassifiedError {
  const events = [
    ...listOf(group.instanceView?.events),
    ...listOf(group.containers).flatMap((c) => listOf(c.instanceView?.events)),
  ];
  const warning = events.findLast((e) => e.type === 'Warning');
  return classifyProvisioningFailure({ name: textOf(warning?.name), message: textOf(warning?.message) });
}

function retryEvent(error: ClassifiedError, delayMs: number, attempt: number): PodEvent {
  const seconds = Math.ceil(delayMs / 1000);
  if (error.code === TOKEN_UNAVAILABLE) {
    // Not ACI's doing: the connector had no token to ask ACI with (Microsoft Entra ID did not answer).
    return {
      type: 'Warning',
      reason: 'AzureCredentialsUnavailable',
      message: `${error.message} (retrying in ${seconds}s)`,
    };
  }
  if (error.code === REGISTRY_UNAVAILABLE) {
    // A registry that did not answer is not the image's fault: the pod waits, as a pull in progress.
    return {
      type: 'Warning',
      reason: 'RegistryUnavailable',
      message: `${error.message} (retrying in ${seconds}s)`,
    };
  }
  switch (error.reaction) {
    case 'fix-identity':
      // The operator's to fix: the event says how, and the pod waits as long as it takes.
      return {
        type: 'Warning',
        reason: 'ManagedIdentityRefused',
        message: `${error.message}; ${IDENTITY_REFUSAL_FIX} (retrying in ${seconds}s)`,
      };
    case 'wait-for-capacity':
      return {
        type: 'Warning',
        reason: 'ACIQuotaExceeded',
        message: `${error.message} (retrying in ${seconds}s)`,
      };
    case 'slow-down':
      return {
        type: 'Warning',
        reason: 'ACIThrottled',
        message: `Azure asked to slow down; retrying in ${seconds}s`,
      };
    case 'retry-pull': {
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
