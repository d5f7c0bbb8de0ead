// ACI features Kubernetes has no field for, chosen with pod annotations (contract/names.ts
// ACI_ANNOTATIONS): a public IP and its DNS name label, the GPU SKU, Spot priority and the
// Confidential SKU (the address itself is contract/network.ts's). Combinations ACI does not offer are refused here, before Azure would.
import type { ContainerGroup, GpuResource } from '@azure/arm-containerinstance';
import { type Context, refuse } from './context.ts';
import { ACI_ANNOTATIONS } from './names.ts';
import { GPU_RESOURCE } from './resources.ts';

const GPU_SKUS = ['K80', 'P100', 'V100'];
const PRIORITIES = ['Regular', 'Spot'];
const SKUS = ['Standard', 'Confidential'];
const BOOLEANS = ['true', 'false'];
/** Azure's rule for DNS name labels: 3-63 lowercase letters, digits and hyphens, starting with a letter. */
const DNS_NAME_LABEL = /^[a-z][a-z0-9-]{1,61}[a-z0-9]$/;

export interface AciFeatures {
  group: Pick<ContainerGroup, 'sku' | 'priority'>;
  dnsNameLabel: string | undefined;
  /** The SKU for containers that ask for `nvidia.com/gpu`. */
  gpuSku: string | undefined;
}

const annotationPath = (name: string): string => `metadata.annotations['${name}']`;

/** What the pod asks for, annotations and containers together. */
interface Requested {
  gpuCount: number;
  hasPorts: boolean;
  annotations: Record<string, string>;
}

const {
  publicIP: PUBLIC_IP_ANNOTATION,
  dnsNameLabel: DNS_ANNOTATION,
  gpuSku: GPU_ANNOTATION,
  priority: PRIORITY_ANNOTATION,
  sku: SKU_ANNOTATION,
} = ACI_ANNOTATIONS;

/** Combinations ACI does not offer, each reported on the annotation that asks for it. */
const COMBINATIONS: readonly {
  annotation: string;
  refused: (pod: Requested) => boolean;
  message: string;
  fix: string;
}[] = [
  {
    annotation: PUBLIC_IP_ANNOTATION,
    refused: (pod) => pod.annotations[PUBLIC_IP_ANNOTATION] === 'true' && !pod.hasPorts,
    message: 'a public IP address exposes declared container ports, and the pod declares none',
    fix: 'declare the container ports to expose, or remove the annotation',
  },
  {
    annotation: DNS_ANNOTATION,
    refused: (pod) => DNS_ANNOTATION in pod.annotations && !pod.hasPorts,
    message: 'a DNS name label needs a public IP address, and the pod exposes no port',
    fix: 'declare the container ports to expose, or remove the annotation',
  },
  {
    annotation: GPU_ANNOTATION,
    refused: (pod) => pod.gpuCount > 0 && !(GPU_ANNOTATION in pod.annotations),
    message: `the pod asks for ${GPU_RESOURCE} but names no GPU SKU`,
    fix: `add the annotation with one of ${GPU_SKUS.join(', ')}`,
  },
  {
    annotation: GPU_ANNOTATION,
    refused: (pod) => pod.gpuCount === 0 && GPU_ANNOTATION in pod.annotations,
    message: `the pod names a GPU SKU but no container asks for ${GPU_RESOURCE}`,
    fix: `set resources.limits["${GPU_RESOURCE}"] on the containers that need GPUs`,
  },
  {
    annotation: PRIORITY_ANNOTATION,
    refused: (pod) =>
      pod.annotations[PRIORITY_ANNOTATION] === 'Spot' &&
      (pod.gpuCount > 0 || pod.hasPorts || pod.annotations[SKU_ANNOTATION] === 'Confidential'),
    message: 'Spot container groups cannot have GPUs, a public IP address or the Confidential SKU',
    fix: 'remove the Spot priority, or the GPUs, ports and Confidential SKU',
  },
  {
    annotation: SKU_ANNOTATION,
    refused: (pod) => pod.annotations[SKU_ANNOTATION] === 'Confidential' && pod.gpuCount > 0,
    message: 'Confidential container groups cannot have GPUs',
    fix: 'remove the GPUs or the Confidential SKU',
  },
];

function oneOf(context: Context, name: string, allowed: readonly string[]): string | undefined {
  const value = context.pod.metadata?.annotations?.[name];
  if (value === undefined || allowed.includes(value)) return value;
  refuse(
    context,
    annotationPath(name),
    `"${value}" is not one of ${allowed.join(', ')}`,
    `set it to one of ${allowed.join(', ')}`,
  );
  return undefined;
}

/** Reads the annotations; `gpuCount` and `hasPorts` are what the containers ask for. */
export function aciFeatures(context: Context, gpuCount: number, hasPorts: boolean): AciFeatures {
  const annotations = context.pod.metadata?.annotations ?? {};
  const priority = oneOf(context, PRIORITY_ANNOTATION, PRIORITIES);
  const sku = oneOf(context, SKU_ANNOTATION, SKUS);
  const gpuSku = oneOf(context, GPU_ANNOTATION, GPU_SKUS);
  oneOf(context, PUBLIC_IP_ANNOTATION, BOOLEANS);
  const dnsNameLabel = annotations[DNS_ANNOTATION];
  if (dnsNameLabel !== undefined && !DNS_NAME_LABEL.test(dnsNameLabel)) {
    refuse(
      context,
      annotationPath(DNS_ANNOTATION),
      `"${dnsNameLabel}" is not a valid DNS name label`,
      'use 3-63 lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen',
    );
  }
  const requested: Requested = { gpuCount, hasPorts, annotations };
  for (const combination of COMBINATIONS) {
    if (combination.refused(requested)) {
      refuse(context, annotationPath(combination.annotation), combination.message, combination.fix);
    }
  }
  return {
    group: { ...(sku ? { sku } : {}), ...(priority ? { priority } : {}) },
    dnsNameLabel,
    gpuSku,
  };
}

export function gpuResource(features: AciFeatures, count: number): GpuResource | undefined {
  return count > 0 && features.gpuSku ? { count, sku: features.gpuSku } : undefined;
}
