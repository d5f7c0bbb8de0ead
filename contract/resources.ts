// Container resources in ACI's units. Kubernetes asks per container with requests and limits in its
// quantities; ACI wants cores and decimal gigabytes, rounded to its granularity, and caps the group.
import type { GpuResource, ResourceRequirements } from '@azure/arm-containerinstance';
import type { V1Container } from '@kubernetes/client-node';
import { type Context, refuse } from './context.ts';
import {
  bytesToGb,
  containerResources,
  DEFAULT_CONTAINER_RESOURCES,
  parseQuantity,
  roundUp,
} from './quantity.ts';

export const GPU_RESOURCE = 'nvidia.com/gpu';
const CPU_STEP = 0.01;
const MEMORY_STEP_GB = 0.1;
/** Resource names ACI can honour: cpu and memory map to fields, GPUs to `gpu`, storage fits its 50 GB. */
const SUPPORTED_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage', GPU_RESOURCE]);

export interface AciAmounts {
  cpu: number;
  memoryInGB: number;
}

/** What ACI reserves for the container: its request, else its limit, else 1 core / 1.5 GB, rounded up. */
export function requestedAmounts(container: V1Container): AciAmounts {
  const { cpu, memoryGb } = containerResources(container.resources, DEFAULT_CONTAINER_RESOURCES);
  return { cpu: roundUp(cpu, CPU_STEP), memoryInGB: roundUp(memoryGb, MEMORY_STEP_GB) };
}

/** The container's ceilings: its limits, rounded up; ACI caps a container without one at its request. */
export function limitAmounts(container: V1Container): Partial<AciAmounts> {
  const cpu = parseQuantity(container.resources?.limits?.cpu);
  const memory = parseQuantity(container.resources?.limits?.memory);
  return {
    ...(cpu === undefined ? {} : { cpu: roundUp(cpu, CPU_STEP) }),
    ...(memory === undefined ? {} : { memoryInGB: roundUp(bytesToGb(memory), MEMORY_STEP_GB) }),
  };
}

/** The GPU count the container asks for (`nvidia.com/gpu`, a limit that equals its request). */
export function gpuCount(container: V1Container): number {
  const resources = container.resources;
  return parseQuantity(resources?.limits?.[GPU_RESOURCE] ?? resources?.requests?.[GPU_RESOURCE]) ?? 0;
}

function refuseUnknownResources(context: Context, container: V1Container, path: string): void {
  for (const kind of ['requests', 'limits'] as const) {
    for (const name of Object.keys(container.resources?.[kind] ?? {})) {
      if (SUPPORTED_RESOURCES.has(name)) continue;
      refuse(
        context,
        `${path}.resources.${kind}['${name}']`,
        `ACI has no resource named "${name}"; it offers cpu, memory and ${GPU_RESOURCE} only`,
        `remove "${name}" from the container's resources`,
      );
    }
  }
  if ((container.resources?.claims ?? []).length > 0) {
    refuse(
      context,
      `${path}.resources.claims`,
      'ACI cannot attach dynamically allocated devices (resource claims)',
      'remove the resource claims, or keep the pod on a real node',
    );
  }
}

function refuseOverGroupMaximum(context: Context, path: string, limits: Partial<AciAmounts>): void {
  if (limits.cpu !== undefined && limits.cpu > context.limits.maxCpuPerGroup) {
    refuse(
      context,
      `${path}.resources.limits.cpu`,
      `the CPU limit of ${limits.cpu} cores is above the ${context.limits.maxCpuPerGroup} cores an ACI container group can have`,
      `lower the limit to at most ${context.limits.maxCpuPerGroup}`,
    );
  }
  if (limits.memoryInGB !== undefined && limits.memoryInGB > context.limits.maxMemoryGbPerGroup) {
    refuse(
      context,
      `${path}.resources.limits.memory`,
      `the memory limit of ${limits.memoryInGB} GB is above the ${context.limits.maxMemoryGbPerGroup} GB an ACI container group can have`,
      `lower the limit to at most ${context.limits.maxMemoryGbPerGroup}G`,
    );
  }
}

export function translateResources(
  context: Context,
  container: V1Container,
  path: string,
  gpu: GpuResource | undefined,
): ResourceRequirements {
  refuseUnknownResources(context, container, path);
  const limits = limitAmounts(container);
  refuseOverGroupMaximum(context, path, limits);
  return {
    requests: { ...requestedAmounts(container), ...(gpu ? { gpu } : {}) },
    ...(Object.keys(limits).length > 0 ? { limits } : {}),
  };
}

/**
 * The group's totals against ACI's per-group maximums. Init containers run inside the app
 * containers' allocation (ACI has no resources field for them), so each must fit in the sum.
 */
export function checkGroupTotals(context: Context): void {
  const spec = context.pod.spec;
  const total = (spec?.containers ?? [])
    .map(requestedAmounts)
    .reduce(
      (sum, amounts) => ({ cpu: sum.cpu + amounts.cpu, memoryInGB: sum.memoryInGB + amounts.memoryInGB }),
      { cpu: 0, memoryInGB: 0 },
    );
  const { maxCpuPerGroup, maxMemoryGbPerGroup } = context.limits;
  if (total.cpu > maxCpuPerGroup + 1e-9 || total.memoryInGB > maxMemoryGbPerGroup + 1e-9) {
    refuse(
      context,
      'spec.containers',
      `the containers ask for ${total.cpu.toFixed(2)} cores and ${total.memoryInGB.toFixed(1)} GB in total; an ACI container group has at most ${maxCpuPerGroup} cores and ${maxMemoryGbPerGroup} GB`,
      "lower the containers' requests (a container without one gets 1 core and 1.5 GB), or split the pod",
    );
  }
  (spec?.initContainers ?? []).forEach((container, index) => {
    if (!container.resources?.requests && !container.resources?.limits) return;
    const needs = requestedAmounts(container);
    if (needs.cpu <= total.cpu + 1e-9 && needs.memoryInGB <= total.memoryInGB + 1e-9) return;
    refuse(
      context,
      `spec.initContainers[${index}].resources`,
      `the init container asks for ${needs.cpu} cores and ${needs.memoryInGB} GB, more than the app containers' ${total.cpu.toFixed(2)} cores and ${total.memoryInGB.toFixed(1)} GB, and ACI runs init containers within the app containers' resources`,
      "raise the app containers' requests to cover the init container, or lower its request",
    );
  });
}
