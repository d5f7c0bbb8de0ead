// Pod -> container group: a pure function. Everything it needs (referenced objects, the service
// account tokens, settings) is passed in; it never reads the API server or the clock. The same walk
// yields the problems `checkPod` reports, so the check and the translation cannot disagree.
import { createHash } from 'node:crypto';
import type {
  Container,
  ContainerGroup,
  ContainerGroupIdentity,
  ContainerGroupProperties,
  Port,
} from '@azure/arm-containerinstance';
import type { V1Pod } from '@kubernetes/client-node';
import { aciFeatures, gpuResource } from './aci-features.ts';
import { translateContainer, translateInitContainer } from './containers.ts';
import { type Context, namespaceOf, newContext, refuse } from './context.ts';
import { TAGS } from './names.ts';
import { groupIdentities, type RegistryIdentitySettings } from './identity.ts';
import { groupNetwork, type NetworkNotice, type NetworkSettings } from './network.ts';
import { applyRefusals, POD_REFUSALS } from './pod-fields.ts';
import { MAX_POD_REFERENCES, referenceCount } from './references.ts';
import { registryCredentials } from './registry.ts';
import { checkGroupTotals, gpuCount } from './resources.ts';
import type { AciLimits, ImageConfig, Problem, ReferencedObjects } from './types.ts';
import { planVolumes, translateMounts } from './volumes.ts';
import {
  checkWorkloadIdentity,
  tokenExpiry,
  usesWorkloadIdentity,
  WORKLOAD_IDENTITY,
  WORKLOAD_IDENTITY_TOKEN_EXPIRATION_SECONDS,
  withWorkloadIdentity,
  workloadIdentityNotice,
  workloadIdentityValues,
  type WorkloadIdentitySettings,
} from './workload-identity.ts';
import { serviceAccountName, tokenKey } from './service-account.ts';

/** The node's identity settings (connector configuration); the webhook and extender have none. */
export interface IdentitySettings {
  workloadIdentity: WorkloadIdentitySettings;
  /** The default pull identity and its registries; `undefined`: none. */
  registryIdentity: RegistryIdentitySettings | undefined;
}

export interface GroupSettings {
  region: string;
  nodeName: string;
  /** Tags every group so that several clusters can share one resource group. */
  clusterId: string;
  limits: AciLimits;
  /**
   * A shell in the images (e.g. /bin/sh) through which a container's workingDir is honoured when it
   * differs from the image's WORKDIR; unset, such containers are refused (ACI has no such setting).
   */
  workingDirShell?: string | undefined;
  network: NetworkSettings;
  identity?: IdentitySettings | undefined;
}

/** What the walk needs besides the pod and its objects. */
export interface AnalysisSettings {
  limits: AciLimits;
  workingDirShell: string | undefined;
  /** Undefined: a check of the spec alone, whose verdict never depends on the network settings. */
  network: NetworkSettings | undefined;
  /** Undefined: a check of the spec alone (no node defaults). */
  identity?: IdentitySettings | undefined;
}

export type Translation =
  /** `notices`: what the settings chose that the spec alone does not say, for pod events. */
  | { kind: 'ready'; name: string; group: ContainerGroup; notices: NetworkNotice[] }
  /** A referenced object is missing: wait (like a kubelet) and say why in an event. */
  | { kind: 'waiting'; problems: Problem[] }
  /** ACI can never run the pod as written: fail it with these problems. */
  | { kind: 'invalid'; problems: Problem[] };

export interface Analysis {
  /** The group without what depends on settings (location, tags). */
  properties: ContainerGroupProperties;
  /** The group's managed identities, when it carries any. */
  identity: ContainerGroupIdentity | undefined;
  problems: Problem[];
  notices: NetworkNotice[];
}

const MAX_NAME_LENGTH = 63;
const HASH_LENGTH = 10;
const CLUSTER_TAG_LENGTH = 8;
const PLAIN_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** 8 hex digits of SHA-256 of the cluster id: the part of every group name that differs between clusters. */
export function clusterTag(clusterId: string): string {
  return createHash('sha256').update(clusterId).digest('hex').slice(0, CLUSTER_TAG_LENGTH);
}

/**
 * The container group's name. Several clusters may share one resource group, so the name always
 * carries the cluster: `<namespace>-<pod>-<cluster tag>` when that is valid, fits in 63 characters and
 * the namespace has no hyphen (so the split is unambiguous); otherwise a readable prefix and 10 hex
 * digits of SHA-256 of `<cluster id>/<namespace>/<pod>`. The two forms never overlap (the 9th
 * character from the end is a hyphen in the first, a hex digit in the second), neither collides across
 * namespaces, and two clusters meet only if 32 (or 40) bits of a hash do; the tags decide ownership
 * anyway (pod-controller.ts refuses a name another cluster holds).
 */
export function containerGroupName(namespace: string, podName: string, clusterId: string): string {
  const plain = `${namespace}-${podName}-${clusterTag(clusterId)}`;
  if (!namespace.includes('-') && plain.length <= MAX_NAME_LENGTH && PLAIN_NAME.test(plain)) return plain;
  const hash = createHash('sha256')
    .update(`${clusterId}/${namespace}/${podName}`)
    .digest('hex')
    .slice(0, HASH_LENGTH);
  const readable = `${namespace}-${podName}`
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/-+/g, '-')
    .slice(0, MAX_NAME_LENGTH - HASH_LENGTH - 1)
    .replace(/^-+|-+$/g, '');
  return readable ? `${readable}-${hash}` : `pod-${hash}`;
}

/** The ports on the group's IP address: every container port, once, up to ACI's per-group maximum. */
function groupPorts(context: Context, containers: readonly Container[]): Port[] {
  const ports = new Map<string, Port>();
  containers.forEach((container, containerIndex) => {
    (container.ports ?? []).forEach((port, portIndex) => {
      const key = `${port.port}/${port.protocol ?? 'TCP'}`;
      if (ports.has(key)) return;
      if (ports.size === context.limits.maxPortsPerGroup) {
        refuse(
          context,
          `spec.containers[${containerIndex}].ports[${portIndex}]`,
          `an ACI container group exposes at most ${context.limits.maxPortsPerGroup} ports`,
          'remove ports that need not be reachable from outside (containers of a pod reach each other on localhost)',
        );
      }
      ports.set(key, { port: port.port, protocol: port.protocol ?? 'TCP' });
    });
  });
  return [...ports.values()];
}

function uniqueProblems(problems: readonly Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.path}\n${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Walks the whole pod once. `objects` undefined checks the spec only: references are not resolved,
 * and only what the spec itself says can be a problem.
 */
export function analysePod(
  requested: V1Pod,
  objects: ReferencedObjects | undefined,
  settings: AnalysisSettings,
): Analysis {
  // Past the bound, no reader fetched the objects (runtime/references.ts), so none are resolved.
  const references = referenceCount(requested);
  const withinBound = references <= MAX_POD_REFERENCES;
  const identityValues = workloadIdentityValues(objects?.serviceAccount, settings.identity?.workloadIdentity);
  // What the Azure Workload Identity webhook would have added is part of the pod from here on.
  const pod = withWorkloadIdentity(requested, identityValues);
  const context = newContext(pod, withinBound ? objects : undefined, settings);
  checkWorkloadIdentity(context, identityValues);
  if (!withinBound) {
    refuse(
      context,
      'spec',
      `the pod references ${references} ConfigMaps, Secrets and service-account tokens, and at most ${MAX_POD_REFERENCES} are read for one pod`,
      'gather the values into fewer ConfigMaps and Secrets (one object holds many keys), or split the pod',
    );
  }
  const spec = pod.spec ?? { containers: [] };
  if (spec.containers.length === 0)
    refuse(context, 'spec.containers', 'the pod has no containers', 'add a container');
  const { limits } = settings;
  if (spec.containers.length > limits.maxContainersPerGroup) {
    refuse(
      context,
      'spec.containers',
      `an ACI container group has at most ${limits.maxContainersPerGroup} containers`,
      'split the pod',
    );
  }
  applyRefusals(context, POD_REFUSALS, spec, 'spec');
  const plan = planVolumes(context);
  const gpuCounts = spec.containers.map(gpuCount);
  const hasPorts = spec.containers.some((container) => (container.ports ?? []).length > 0);
  const features = aciFeatures(
    context,
    gpuCounts.reduce((sum, count) => sum + count, 0),
    hasPorts,
  );
  const containers = spec.containers.map((container, index) => {
    const path = `spec.containers[${index}]`;
    const mounts = translateMounts(context, plan, container, path);
    return translateContainer(context, container, {
      path,
      mounts,
      gpu: gpuResource(features, gpuCounts[index] ?? 0),
    });
  });
  const initContainers = (spec.initContainers ?? []).map((container, index) => {
    const path = `spec.initContainers[${index}]`;
    return translateInitContainer(context, container, {
      path,
      mounts: translateMounts(context, plan, container, path),
      gpu: undefined,
    });
  });
  checkGroupTotals(context);
  const ports = groupPorts(context, containers);
  const network = groupNetwork(
    context,
    { containers, ports, dnsNameLabel: features.dnsNameLabel },
    settings.network,
  );
  const registries = registryCredentials(context);
  const identities = groupIdentities(context, registries.uncovered, settings.identity?.registryIdentity);
  const credentials = [...registries.credentials, ...identities.credentials];
  const properties: ContainerGroupProperties = {
    osType: 'Linux',
    restartPolicy: spec.restartPolicy ?? 'Always',
    ...features.group,
    containers: network.containers,
    ...(initContainers.length > 0 ? { initContainers } : {}),
    ...network.properties,
    ...(plan.volumes.length > 0 ? { volumes: plan.volumes } : {}),
    ...(credentials.length > 0 ? { imageRegistryCredentials: credentials } : {}),
  };
  return {
    properties,
    identity: identities.identity,
    problems: uniqueProblems(context.problems),
    notices: network.notices,
  };
}

/** A workload identity pod's token: the event saying it is not refreshed, and the tag of its expiry. */
function workloadIdentityToken(
  pod: V1Pod,
  objects: ReferencedObjects,
  settings: GroupSettings,
): { notices: NetworkNotice[]; tags: Record<string, string> } {
  if (!usesWorkloadIdentity(pod)) return { notices: [], tags: {} };
  const key = tokenKey(
    serviceAccountName(pod),
    WORKLOAD_IDENTITY.audience,
    WORKLOAD_IDENTITY_TOKEN_EXPIRATION_SECONDS,
  );
  const token = objects.serviceAccountTokens?.get(key);
  const expiry = token === undefined ? undefined : tokenExpiry(token);
  return {
    notices: [workloadIdentityNotice(token, settings.identity?.workloadIdentity)],
    tags: expiry === undefined ? {} : { [TAGS.tokenExpiry]: new Date(expiry).toISOString() },
  };
}

export function toContainerGroup(
  pod: V1Pod,
  objects: ReferencedObjects,
  settings: GroupSettings,
): Translation {
  // The group needs every token, image configuration and claim: without the maps, each is reported as awaited.
  const supplied = {
    ...objects,
    serviceAccountTokens: objects.serviceAccountTokens ?? new Map<string, string>(),
    images: objects.images ?? new Map<string, ImageConfig>(),
    claimed: objects.claimed ?? { claims: new Map(), volumes: new Map(), secrets: new Map() },
  };
  const { properties, identity, problems, notices } = analysePod(pod, supplied, {
    limits: settings.limits,
    workingDirShell: settings.workingDirShell,
    network: settings.network,
    identity: settings.identity,
  });
  if (problems.some((problem) => problem.kind === 'unsupported')) return { kind: 'invalid', problems };
  if (problems.length > 0) return { kind: 'waiting', problems };
  const namespace = namespaceOf(pod);
  const podName = pod.metadata?.name ?? '';
  const token = workloadIdentityToken(pod, supplied, settings);
  return {
    kind: 'ready',
    name: containerGroupName(namespace, podName, settings.clusterId),
    group: {
      location: settings.region,
      tags: {
        [TAGS.podUid]: pod.metadata?.uid ?? '',
        [TAGS.namespace]: namespace,
        [TAGS.podName]: podName,
        [TAGS.nodeName]: settings.nodeName,
        [TAGS.clusterId]: settings.clusterId,
        ...token.tags,
      },
      ...(identity !== undefined && { identity }),
      ...properties,
    },
    notices: [...notices, ...token.notices],
  };
}
