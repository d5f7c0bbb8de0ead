// Leader election among the connector's replicas, on a coordination.k8s.io Lease in the connector's own
// namespace (named after the node): one replica leads and writes (container groups, pod status, the
// node, events); the others keep their informer caches warm and take over when the leader stops
// renewing. The protocol is client-go's: a holder renews every retry period; a candidate takes the
// Lease when the holder has not renewed for the lease duration *as measured on the candidate's own
// clock* (from the moment it last saw the record change), so clock skew between machines never
// shortens a lease; every write carries the resourceVersion read, so two candidates never both win.
// A leader that cannot renew for the renew deadline (shorter than the lease) stops leading before
// anyone may take over. @kubernetes/client-node 1.x has no leader election, hence this small one.
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import { classifyKubernetesError } from '../runtime/errors.ts';
import type { Cancel, Timers } from '../runtime/clock.ts';
import type { Logger } from '../runtime/logger.ts';
import { unlessKind } from '../runtime/kubernetes-calls.ts';

/** The election Lease's calls. Errors are ClassifiedErrors; a lost race is `Conflict`. */
export interface LeaseApi {
  read(): Promise<V1Lease | undefined>;
  /** Conflict when the Lease exists already. */
  create(lease: V1Lease): Promise<V1Lease>;
  /** Conflict when the Lease changed since it was read (its resourceVersion). */
  replace(lease: V1Lease): Promise<V1Lease>;
}

export interface ElectionTiming {
  /** How long a holder's claim lasts without renewal. */
  leaseDurationMs: number;
  /** A leader that has not renewed for this long stops leading; below leaseDurationMs - retryPeriodMs. */
  renewDeadlineMs: number;
  /** How often the holder renews and candidates try. */
  retryPeriodMs: number;
}

/** How often replicas try and renew: client-go's default. */
export const RETRY_PERIOD_MS = 2000;

/**
 * The timing for a lease of `leaseSeconds`: the leader gives up two retry periods before its lease
 * ends, so it has stopped before a standby (which also polls every retry period) can take over.
 */
export function electionTiming(leaseSeconds: number): ElectionTiming {
  const leaseDurationMs = leaseSeconds * 1000;
  return {
    leaseDurationMs,
    renewDeadlineMs: leaseDurationMs - 2 * RETRY_PERIOD_MS,
    retryPeriodMs: RETRY_PERIOD_MS,
  };
}

/** The last change of the Lease this replica saw, and when by its own clock. */
interface Observation {
  record: string;
  at: number;
}

/** What a candidate does with the Lease as read: pure, so every case is a table row in the tests. */
export function nextStep(
  lease: V1Lease | undefined,
  identity: string,
  observed: Observation | undefined,
  now: number,
): { step: 'create' } | { step: 'claim'; transition: boolean } | { step: 'wait'; holder: string } {
  if (lease === undefined) return { step: 'create' };
  const holder = lease.spec?.holderIdentity ?? '';
  if (holder === identity) return { step: 'claim', transition: false };
  if (holder === '') return { step: 'claim', transition: true };
  const durationMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  const since = observed?.record === recordOf(lease) ? observed.at : now;
  return now - since >= durationMs ? { step: 'claim', transition: true } : { step: 'wait', holder };
}

/** What identifies one renewal: a holder renewing changes renewTime, so a live lease never looks still. */
function recordOf(lease: V1Lease): string {
  const spec = lease.spec;
  const renew = spec?.renewTime === undefined ? '' : new Date(spec.renewTime).toISOString();
  return `${spec?.holderIdentity ?? ''}|${renew}|${String(spec?.leaseTransitions ?? 0)}`;
}

export interface LeaderElectorDeps {
  api: LeaseApi;
  timers: Timers;
  logger: Logger;
  identity: string;
  leaseName: string;
  namespace: string;
  timing: ElectionTiming;
  /** Called once, when this replica becomes the leader. */
  onStartedLeading: () => void;
  /** Called once, when a leader can no longer be sure it leads: it must stop writing at once. */
  onStoppedLeading: () => void;
}

export class LeaderElector {
  private readonly deps: LeaderElectorDeps;
  private observed: Observation | undefined;
  private lastRenewedAt = 0;
  private attempt: Promise<void> | undefined;
  private cancelTicks: Cancel | undefined;
  private state: 'standby' | 'leading' | 'stopped' = 'standby';

  constructor(deps: LeaderElectorDeps) {
    this.deps = deps;
  }

  get leading(): boolean {
    return this.state === 'leading';
  }

  /** Tries at once, then every retry period. */
  start(): void {
    this.tick();
    this.cancelTicks = this.deps.timers.every(this.deps.timing.retryPeriodMs, () => {
      this.tick();
    });
  }

  /**
   * Stops trying; a leader hands the Lease back (holder cleared), so a standby takes over within one
   * retry period instead of waiting out the lease. Call after the writers stopped.
   */
  async stop(): Promise<void> {
    this.cancelTicks?.();
    const wasLeading = this.state === 'leading';
    this.state = 'stopped';
    await this.attempt;
    if (wasLeading) await this.release();
  }

  private tick(): void {
    const { timers, timing } = this.deps;
    // Checked on every tick, whether or not a renewal hangs: a leader cut off from the API server
    // stops by its own clock, before its lease can end on a standby's.
    if (this.state === 'leading' && timers.now() - this.lastRenewedAt > timing.renewDeadlineMs) {
      this.lose(`the Lease was not renewed for ${timing.renewDeadlineMs} ms`);
      return;
    }
    if (this.state === 'stopped' || this.attempt !== undefined) return;
    this.attempt = this.tryAcquireOrRenew()
      .catch((error: unknown) => {
        const level = this.state === 'leading' ? 'warn' : 'debug';
        this.deps.logger[level](
          { err: classifyKubernetesError(error) },
          'leader election: Lease call failed',
        );
      })
      .finally(() => {
        this.attempt = undefined;
      });
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const { api, timers, identity } = this.deps;
    const lease = await api.read();
    const now = timers.now();
    const step = nextStep(lease, identity, this.observed, now);
    if (lease !== undefined && this.observed?.record !== recordOf(lease)) {
      this.observed = { record: recordOf(lease), at: now };
    }
    if (step.step === 'wait') {
      if (this.state === 'leading') this.lose(`${step.holder} holds the Lease`);
      return;
    }
    const written =
      step.step === 'create' ? await this.create(now) : await this.claim(lease, step.transition, now);
    if (written === undefined || this.state === 'stopped') return;
    this.observed = { record: recordOf(written), at: now };
    this.lastRenewedAt = now;
    if (this.state === 'standby') {
      this.state = 'leading';
      this.deps.logger.info({ identity, lease: this.deps.leaseName }, 'leader election: leading');
      this.deps.onStartedLeading();
    }
  }

  private spec(now: number, acquired: Date | undefined, transitions: number): V1Lease['spec'] {
    return {
      holderIdentity: this.deps.identity,
      leaseDurationSeconds: Math.ceil(this.deps.timing.leaseDurationMs / 1000),
      acquireTime: acquired ?? new V1MicroTime(now),
      renewTime: new V1MicroTime(now),
      leaseTransitions: transitions,
    };
  }

  /** undefined when another replica created it first. */
  private create(now: number): Promise<V1Lease | undefined> {
    const { leaseName: name, namespace } = this.deps;
    return unlessKind(
      this.deps.api.create({ metadata: { name, namespace }, spec: this.spec(now, undefined, 0) }),
      'Conflict',
    );
  }

  /** undefined when another replica wrote it since it was read. */
  private claim(lease: V1Lease | undefined, transition: boolean, now: number): Promise<V1Lease | undefined> {
    const transitions = lease?.spec?.leaseTransitions ?? 0;
    const spec = transition
      ? this.spec(now, undefined, transitions + 1)
      : this.spec(now, lease?.spec?.acquireTime, transitions);
    return unlessKind(this.deps.api.replace({ ...lease, spec }), 'Conflict');
  }

  private lose(why: string): void {
    this.state = 'stopped';
    this.cancelTicks?.();
    this.deps.logger.error({ identity: this.deps.identity, why }, 'leader election: lost the lead');
    this.deps.onStoppedLeading();
  }

  /** Hands the Lease back if this replica still holds it. */
  private async release(): Promise<void> {
    try {
      const lease = await this.deps.api.read();
      if (lease?.spec?.holderIdentity !== this.deps.identity) return;
      await this.deps.api.replace({
        ...lease,
        spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1 },
      });
      this.deps.logger.info('leader election: released the Lease');
    } catch (error) {
      this.deps.logger.warn({ err: classifyKubernetesError(error) }, 'leader election: release failed');
    }
  }
}

/** The election Lease through the connector's bootstrap credential (a node may not write other Leases). */
export function kubeLeaseApi(kubeConfig: KubeConfig, namespace: string, name: string): LeaseApi {
  const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  const classified = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      throw classifyKubernetesError(error);
    }
  };
  return {
    read: () => unlessKind(coordination.readNamespacedLease({ name, namespace }), 'NotFound'),
    create: (lease) => classified(() => coordination.createNamespacedLease({ namespace, body: lease })),
    replace: (lease) =>
      classified(() => coordination.replaceNamespacedLease({ name, namespace, body: lease })),
  };
}

/** Whether this replica leads, and how to step down. */
export interface Leadership {
  readonly leading: boolean;
  /** Stops trying; a leader hands the Lease back. Call after the writers stopped. */
  stop(): Promise<void>;
}

/**
 * Starts the writers (`lead`) at once when no election is configured, else when this replica is
 * elected. `lost` must stop every write at once: another replica may lead a moment later.
 */
export function startLeadership(options: {
  election: { namespace: string | undefined; leaseSeconds: number; identity: string };
  leaseName: string;
  kubeConfig: KubeConfig;
  timers: Timers;
  logger: Logger;
  /** Makes two replicas of one pod name (a restart) two candidates. */
  suffix: string;
  lead: () => void;
  lost: () => void;
}): Leadership {
  const { election, logger } = options;
  if (election.namespace === undefined) {
    options.lead();
    return { leading: true, stop: () => Promise.resolve() };
  }
  const identity = `${election.identity}_${options.suffix}`;
  const elector = new LeaderElector({
    api: kubeLeaseApi(options.kubeConfig, election.namespace, options.leaseName),
    timers: options.timers,
    logger,
    identity,
    leaseName: options.leaseName,
    namespace: election.namespace,
    timing: electionTiming(election.leaseSeconds),
    onStartedLeading: options.lead,
    onStoppedLeading: options.lost,
  });
  logger.info(
    { identity, lease: `${election.namespace}/${options.leaseName}` },
    'leader election: standing by until elected',
  );
  elector.start();
  return {
    get leading() {
      return elector.leading;
    },
    stop: () => elector.stop(),
  };
}
