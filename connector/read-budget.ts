// ARM's read budget as the connector spends it. ARM throttles reads with a token bucket per principal
// (250 tokens, refilled at 25 a second) and reports what is left on every response in
// `x-ms-ratelimit-remaining-subscription-reads`. Every read the connector sends is counted here, every
// answer corrects the estimate, and the status reads ask how many they may send: never more than a
// configured share of what is left, so kubectl users, Monitor reads and other clients of the same
// principal keep the rest. Which groups get those reads is decided by planReads: groups in transition
// (just created, starting, failing) first, running groups at the refresh interval with what remains.
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import type { Clock } from '../runtime/clock.ts';
import type { PipelineOwner } from './ports.ts';
import type { TrackedGroup } from './groups.ts';

/** ARM's documented read bucket per principal (Azure Resource Manager throttling, 2024). */
export const ARM_READ_BUCKET = { capacity: 250, refillPerSecond: 25 } as const;

export const REMAINING_READS_HEADER = 'x-ms-ratelimit-remaining-subscription-reads';

export class ArmReadBudget {
  private readonly clock: Clock;
  private readonly share: number;
  private readonly bucket: { capacity: number; refillPerSecond: number };
  /** The last figure ARM reported and when; before any answer the bucket is taken to be full. */
  private reported: number;
  private reportedAt: number;
  /** Reads sent since that report: ARM has counted them, or will. */
  private sentSince = 0;

  constructor(options: {
    clock: Clock;
    /** The largest share (0-1] of the remaining reads the status reads may take. */
    share: number;
    bucket?: { capacity: number; refillPerSecond: number };
  }) {
    this.clock = options.clock;
    this.share = options.share;
    this.bucket = options.bucket ?? ARM_READ_BUCKET;
    this.reported = this.bucket.capacity;
    this.reportedAt = this.clock.now();
  }

  /** A read left for ARM. */
  sent(): void {
    this.sentSince += 1;
  }

  /** ARM's answer to a read: what it says is left (the header), or 0 after a 429. */
  observe(remaining: number): void {
    this.reported = Math.max(0, remaining);
    this.reportedAt = this.clock.now();
    this.sentSince = 0;
  }

  /** What ARM has left by now, as far as the connector can tell. */
  estimate(): number {
    const elapsedSeconds = Math.max(0, this.clock.now() - this.reportedAt) / 1000;
    const refilled = this.reported - this.sentSince + elapsedSeconds * this.bucket.refillPerSecond;
    return Math.max(0, Math.min(this.bucket.capacity, refilled));
  }

  /** How many reads the status reads may send now. */
  available(): number {
    return Math.floor(this.estimate() * this.share);
  }
}

/**
 * Counts every GET the client sends and reads ARM's figure from every answer. Added to the
 * container-instance and Monitor clients: they spend the same principal's bucket.
 */
export function readBudgetPolicy(budget: ArmReadBudget): PipelinePolicy {
  return {
    name: 'aciBurstReadBudget',
    async sendRequest(request, next) {
      if (request.method !== 'GET') return next(request);
      budget.sent();
      const response = await next(request);
      const header = response.headers.get(REMAINING_READS_HEADER);
      const remaining = header === undefined ? Number.NaN : Number(header);
      if (response.status === 429) budget.observe(0);
      else if (Number.isFinite(remaining)) budget.observe(remaining);
      return response;
    },
  };
}

/** One budget for every client of the connector's identity: each counts its reads into it. */
export function watchReadBudget(
  clients: readonly PipelineOwner[],
  clock: Clock,
  share: number,
): ArmReadBudget {
  const budget = new ArmReadBudget({ clock, share });
  // Below the SDK's retry policy: each attempt spends a read.
  for (const client of clients) client.pipeline.addPolicy(readBudgetPolicy(budget), { afterPhase: 'Retry' });
  return budget;
}

export interface ReadPlanOptions {
  now: number;
  /** Reads the budget allows now. */
  allowed: number;
  /** Of those, how many may go to running groups that are merely due a refresh. */
  refreshAllowed: number;
  /** How often a group in transition (starting, failing) is read while the lists cannot show its change. */
  transitionRefreshMs: number;
  refreshIntervalMs: number;
}

export type GroupPhase = 'unread' | 'provisioning' | 'transition' | 'running' | 'done';

/**
 * Where a group is, by its latest read: `provisioning` groups are followed through the lists (their
 * provisioningState changes there), `transition` ones need reads (the lists omit container states),
 * `running` ones a refresh now and then, `done` ones none.
 */
export function groupPhase(tracked: TrackedGroup): GroupPhase {
  const detail = tracked.detail;
  if (detail === undefined)
    return tracked.listed.provisioningState === 'Succeeded' ? 'unread' : 'provisioning';
  const state = detail.instanceView?.state;
  if (state === 'Succeeded' || state === 'Failed' || state === 'Stopped') return 'done';
  if (detail.provisioningState === 'Failed') return 'done';
  if (detail.provisioningState !== 'Succeeded') return 'provisioning';
  const containers = detail.containers;
  const allRunning =
    containers.length > 0 && containers.every((c) => c.instanceView?.currentState?.state === 'Running');
  return allRunning ? 'running' : 'transition';
}

/** True while some group needs watching closely (the lists run at their fast interval meanwhile). */
export function anyInTransition(groups: Iterable<TrackedGroup>): boolean {
  for (const tracked of groups) {
    const phase = groupPhase(tracked);
    if (phase === 'unread' || phase === 'provisioning' || phase === 'transition') return true;
  }
  return false;
}

/**
 * The groups to read now, most urgent first: those whose list entry changed, then groups in transition
 * whose last read is older than the transition interval, then running groups due a refresh (oldest
 * first, within `refreshAllowed`). Never more than `allowed`.
 */
export function planReads(
  groups: Iterable<TrackedGroup>,
  changed: ReadonlySet<string>,
  options: ReadPlanOptions,
): { names: string[]; refreshes: number } {
  const urgent: string[] = [];
  const transition: TrackedGroup[] = [];
  const refresh: TrackedGroup[] = [];
  for (const tracked of groups) {
    if (changed.has(tracked.name)) {
      urgent.push(tracked.name);
      continue;
    }
    const phase = groupPhase(tracked);
    const age = options.now - (tracked.detailReadAt ?? Number.NEGATIVE_INFINITY);
    if (phase === 'unread' || (phase === 'transition' && age >= options.transitionRefreshMs))
      transition.push(tracked);
    else if (phase === 'running' && age >= options.refreshIntervalMs) refresh.push(tracked);
  }
  const oldestFirst = (a: TrackedGroup, b: TrackedGroup): number =>
    (a.detailReadAt ?? 0) - (b.detailReadAt ?? 0);
  const allowed = Math.max(0, options.allowed);
  const first = [...urgent, ...transition.sort(oldestFirst).map((t) => t.name)].slice(0, allowed);
  const refreshCount = Math.max(0, Math.min(allowed - first.length, options.refreshAllowed));
  const refreshed = refresh
    .sort(oldestFirst)
    .slice(0, refreshCount)
    .map((t) => t.name);
  return { names: [...first, ...refreshed], refreshes: refreshed.length };
}

/**
 * Refresh reads for running groups, as a rate: the steady-state cost the operator chose
 * (ACI_MAX_READS_PER_MINUTE), spread evenly, so a thousand running groups do not spend the budget in
 * one burst every refresh interval.
 */
export class RefreshAllowance {
  private readonly perMinute: number;
  private tokens: number;
  private updatedAt: number;

  constructor(perMinute: number, now: number) {
    this.perMinute = perMinute;
    this.tokens = 0;
    this.updatedAt = now;
  }

  /** Refresh reads allowed now (whole reads; fractions carry over). */
  available(now: number): number {
    const elapsedMinutes = Math.max(0, now - this.updatedAt) / 60_000;
    // At most a minute's worth is saved up: a quiet spell never buys a burst larger than that.
    this.tokens = Math.min(this.perMinute, this.tokens + elapsedMinutes * this.perMinute);
    this.updatedAt = now;
    return Math.floor(this.tokens);
  }

  spend(count: number): void {
    this.tokens = Math.max(0, this.tokens - count);
  }
}
