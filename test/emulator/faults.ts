// Injected faults, seeded so a run repeats: the same seed and the same request sequence give the
// same faults. Pure: the decision takes the injector state and returns the next one.

/**
 * `drop` closes the connection before the request is handled; `drop-after-apply` handles it (a create
 * happens) and closes the connection before the answer, so the client cannot know; `stall` accepts a
 * container-group PUT whose provisioning then never finishes; `hang` reads the request and never
 * answers it, the connection left open until the client gives up (a token endpoint that times out).
 */
export type FaultKind =
  'throttle' | 'internal-error' | 'unavailable' | 'drop' | 'drop-after-apply' | 'stall' | 'hang' | 'latency';

export const FAULT_KINDS: readonly FaultKind[] = [
  'throttle',
  'internal-error',
  'unavailable',
  'drop',
  'drop-after-apply',
  'stall',
  'hang',
  'latency',
];

/** Which of the emulator's services a rule applies to: Resource Manager, or Entra ID (the token endpoint). */
export type FaultService = 'arm' | 'entra';

/**
 * What Entra ID's routes can do: an answer there is OAuth's, not ARM's, so ARM's error answers
 * (throttle, internal-error, unavailable) and its group faults (stall, drop-after-apply) do not apply.
 */
export const ENTRA_FAULT_KINDS: readonly FaultKind[] = ['hang', 'drop', 'latency'];

export interface FaultRule {
  fault: FaultKind;
  /** The service whose requests the rule applies to; `arm` when omitted. */
  service?: FaultService;
  /** Probability per matching request, 0..1; 1 when omitted. */
  rate?: number;
  /** Apply to at most this many requests, then the rule is spent. */
  times?: number;
  /** Only requests with this method (GET, PUT...). */
  method?: string;
  /** Only requests whose path contains this (case-insensitive). */
  pathContains?: string;
  /** For throttle and unavailable: the Retry-After header in seconds (throttle defaults to 1). */
  retryAfterSeconds?: number;
  /** For latency: the delay added before the request is handled. */
  latencyMs?: number;
}

export interface FaultInjector {
  rules: { rule: FaultRule; applied: number }[];
  /** mulberry32 state. */
  random: number;
}

export interface Fault {
  kind: FaultKind;
  retryAfterSeconds?: number;
  latencyMs?: number;
}

export function newInjector(rules: readonly FaultRule[], seed: number): FaultInjector {
  return { rules: rules.map((rule) => ({ rule, applied: 0 })), random: seed >>> 0 };
}

/** mulberry32: a tiny, good-enough PRNG whose whole state is one 32-bit number. */
export function nextRandom(state: number): { value: number; state: number } {
  const next = (state + 0x6d2b79f5) >>> 0;
  let t = next;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return { value: ((t ^ (t >>> 14)) >>> 0) / 4294967296, state: next };
}

export interface FaultRequest {
  service: FaultService;
  method: string;
  path: string;
}

function matches(rule: FaultRule, request: FaultRequest): boolean {
  return (
    (rule.service ?? 'arm') === request.service &&
    (rule.method === undefined || rule.method.toUpperCase() === request.method.toUpperCase()) &&
    (rule.pathContains === undefined || request.path.toLowerCase().includes(rule.pathContains.toLowerCase()))
  );
}

/** The faults for one request (latency may combine with one other fault), in rule order. */
export function decideFaults(
  injector: FaultInjector,
  request: FaultRequest,
): { injector: FaultInjector; faults: Fault[] } {
  let random = injector.random;
  let failing = false;
  const faults: Fault[] = [];
  const rules = injector.rules.map((entry) => {
    const { rule } = entry;
    const spent = rule.times !== undefined && entry.applied >= rule.times;
    if (spent || !matches(rule, request) || (failing && rule.fault !== 'latency')) return entry;
    const draw = nextRandom(random);
    random = draw.state;
    if (draw.value >= (rule.rate ?? 1)) return entry;
    failing ||= rule.fault !== 'latency';
    faults.push({
      kind: rule.fault,
      ...(rule.retryAfterSeconds !== undefined && { retryAfterSeconds: rule.retryAfterSeconds }),
      ...(rule.latencyMs !== undefined && { latencyMs: rule.latencyMs }),
    });
    return { rule, applied: entry.applied + 1 };
  });
  return { injector: { rules, random }, faults };
}
