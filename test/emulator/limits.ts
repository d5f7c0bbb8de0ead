// Throttling and quota accounting, pure: each function takes the current state and `now` and returns
// the new state with the decision. ARM's own limits are token buckets (how ARM throttles since 2024);
// ACI's create/delete limits are counts per sliding window (300 per hour, 100 per 5 minutes).

export interface TokenBucket {
  capacity: number;
  refillPerSecond: number;
  tokens: number;
  updatedAt: number;
}

export interface Decision<State> {
  state: State;
  allowed: boolean;
  /** What is left after this request; the x-ms-ratelimit-remaining-* header value. */
  remaining: number;
  /** When refused: whole seconds until a retry can succeed (at least 1). */
  retryAfterSeconds: number;
}

export function newBucket(capacity: number, refillPerSecond: number, now: number): TokenBucket {
  return { capacity, refillPerSecond, tokens: capacity, updatedAt: now };
}

export function takeToken(bucket: TokenBucket, now: number): Decision<TokenBucket> {
  const elapsedSeconds = Math.max(0, now - bucket.updatedAt) / 1000;
  const tokens = Math.min(bucket.capacity, bucket.tokens + elapsedSeconds * bucket.refillPerSecond);
  if (tokens >= 1) {
    const state = { ...bucket, tokens: tokens - 1, updatedAt: now };
    return { state, allowed: true, remaining: Math.floor(state.tokens), retryAfterSeconds: 0 };
  }
  const retryAfterSeconds =
    bucket.refillPerSecond > 0 ? Math.max(1, Math.ceil((1 - tokens) / bucket.refillPerSecond)) : 3600;
  return { state: { ...bucket, tokens, updatedAt: now }, allowed: false, remaining: 0, retryAfterSeconds };
}

export interface SlidingWindow {
  limit: number;
  windowMs: number;
  /** Times of the requests still inside the window, oldest first. */
  hits: number[];
}

export function newWindow(limit: number, windowMs: number): SlidingWindow {
  return { limit, windowMs, hits: [] };
}

export function hitWindow(window: SlidingWindow, now: number): Decision<SlidingWindow> {
  const hits = window.hits.filter((at) => at > now - window.windowMs);
  if (hits.length < window.limit) {
    const state = { ...window, hits: [...hits, now] };
    return { state, allowed: true, remaining: window.limit - state.hits.length, retryAfterSeconds: 0 };
  }
  const oldest = hits[0] ?? now;
  const retryAfterSeconds = Math.max(1, Math.ceil((oldest + window.windowMs - now) / 1000));
  return { state: { ...window, hits }, allowed: false, remaining: 0, retryAfterSeconds };
}

export interface Quotas {
  /** Standard container groups per region. */
  containerGroups: number;
  /** Standard cores per region. */
  standardCores: number;
}

/** Azure's documented defaults for a new subscription. */
export const DEFAULT_QUOTAS: Quotas = { containerGroups: 100, standardCores: 100 };

export interface RegionUsage {
  containerGroups: number;
  /** Cores in use; each group counts its CPU rounded up to whole cores (unconfirmed, plausible). */
  standardCores: number;
}

export function coresOf(cpu: number): number {
  return Math.ceil(cpu);
}

export type QuotaName = 'ContainerGroups' | 'StandardCores';

/** The quota a new group of `cpu` cores would exceed, if any. */
export function exceededQuota(
  usage: RegionUsage,
  quotas: Quotas,
  cpu: number,
): { name: QuotaName; limit: number; usage: number; requested: number } | undefined {
  if (usage.containerGroups + 1 > quotas.containerGroups) {
    return {
      name: 'ContainerGroups',
      limit: quotas.containerGroups,
      usage: usage.containerGroups,
      requested: 1,
    };
  }
  const requested = coresOf(cpu);
  if (usage.standardCores + requested > quotas.standardCores) {
    return { name: 'StandardCores', limit: quotas.standardCores, usage: usage.standardCores, requested };
  }
  return undefined;
}

export interface RateLimits {
  /** ARM token buckets per subscription: capacity and refill per second. */
  armReads: { capacity: number; refillPerSecond: number };
  armWrites: { capacity: number; refillPerSecond: number };
  armDeletes: { capacity: number; refillPerSecond: number };
  /** ACI creates and deletes per region: per hour and per 5 minutes. */
  aciCreatesPerHour: number;
  aciCreatesPer5Minutes: number;
  aciDeletesPerHour: number;
  aciDeletesPer5Minutes: number;
}

/** ARM's documented token buckets and ACI's documented create/delete limits. */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  armReads: { capacity: 250, refillPerSecond: 25 },
  armWrites: { capacity: 200, refillPerSecond: 10 },
  armDeletes: { capacity: 200, refillPerSecond: 10 },
  aciCreatesPerHour: 300,
  aciCreatesPer5Minutes: 100,
  aciDeletesPerHour: 300,
  aciDeletesPer5Minutes: 100,
};
