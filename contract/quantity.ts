// Kubernetes resource quantities (`250m`, `1.5Gi`, `2e3`) as numbers, and the two units ACI speaks:
// CPU cores and decimal gigabytes. Kubernetes `Gi` is 2^30 bytes, ACI's GB is 10^9: mixing them up
// is the bug users report most about resources, so the conversion lives only here.
import type { V1Pod } from '@kubernetes/client-node';

const SUFFIXES: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

// Unambiguous, so it fails in one pass: `\d+\.?\d*` could split a run of digits between its two
// halves in every way, and a 40,000-digit value that does not match took seconds.
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/;

/** The quantity's value in base units (cores, bytes), or undefined when it is not a valid quantity. */
export function parseQuantity(quantity: string | number | undefined): number | undefined {
  if (quantity === undefined) return undefined;
  if (typeof quantity === 'number') return quantity;
  const match = QUANTITY.exec(quantity.trim());
  if (!match) return undefined;
  const [, digits = '', exponent, suffix = ''] = match;
  const value = Number(digits) * (exponent ? 10 ** Number(exponent.slice(1)) : (SUFFIXES[suffix] ?? 1));
  return Number.isFinite(value) ? value : undefined;
}

/** Bytes as ACI's decimal gigabytes. */
export function bytesToGb(bytes: number): number {
  return bytes / 1e9;
}

/** Rounds up to ACI's granularity (0.01 core, 0.1 GB) so a container never gets less than it asked for. */
export function roundUp(value: number, step: number): number {
  // The epsilon absorbs binary noise such as 0.1 + 0.2, which would otherwise round one step too far;
  // dividing by the steps per unit (not multiplying by the step) keeps 11 * 0.1 from becoming 1.1000000000000001.
  const stepsPerUnit = Math.round(1 / step);
  return Math.ceil(value * stepsPerUnit - 1e-9) / stepsPerUnit;
}

export interface PodResources {
  /** Cores. */
  cpu: number;
  /** Decimal gigabytes. */
  memoryGb: number;
}

type ResourceMap = Record<string, string | number> | undefined;

function amount(requests: ResourceMap, limits: ResourceMap, name: 'cpu' | 'memory'): number | undefined {
  return parseQuantity(requests?.[name] ?? limits?.[name]);
}

/**
 * What one container asks for: its request, else its limit (as the scheduler defaults it), else the
 * given default. Used by the translation and by the extender's quota filter, so both count alike.
 */
export function containerResources(
  resources: { requests?: ResourceMap; limits?: ResourceMap } | undefined,
  defaults: PodResources,
): PodResources {
  const cpu = amount(resources?.requests, resources?.limits, 'cpu');
  const memory = amount(resources?.requests, resources?.limits, 'memory');
  return { cpu: cpu ?? defaults.cpu, memoryGb: memory === undefined ? defaults.memoryGb : bytesToGb(memory) };
}

/**
 * What the whole pod asks for, as Kubernetes counts it: the sum over app containers, or the largest
 * init container when that is more (init containers run one at a time, before the app containers).
 */
export function podResources(pod: V1Pod, defaults: PodResources): PodResources {
  const sum = (pod.spec?.containers ?? [])
    .map((container) => containerResources(container.resources, defaults))
    .reduce((total, r) => ({ cpu: total.cpu + r.cpu, memoryGb: total.memoryGb + r.memoryGb }), {
      cpu: 0,
      memoryGb: 0,
    });
  return (pod.spec?.initContainers ?? [])
    .map((container) => containerResources(container.resources, defaults))
    .reduce(
      (max, r) => ({ cpu: Math.max(max.cpu, r.cpu), memoryGb: Math.max(max.memoryGb, r.memoryGb) }),
      sum,
    );
}

/** What ACI assumes for a container that names no resources, as Virtual Kubelet does (1 core, 1.5 GB). */
export const DEFAULT_CONTAINER_RESOURCES: PodResources = { cpu: 1, memoryGb: 1.5 };
