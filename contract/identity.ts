// Azure identities of a container group: the user-assigned managed identities a pod names with the
// annotation `azure.com/aci-identities`, and the identity ACI pulls images with from registries the
// pod's pull secrets do not cover (the pod's `azure.com/aci-registry-identity`, else the node's
// default for the registries it lists). ACI refuses a registry credential whose identity the group
// does not carry, so every pull identity joins the group's identity list.
import type { ContainerGroupIdentity, ImageRegistryCredential } from '@azure/arm-containerinstance';
import { type Context, refuse } from './context.ts';
import { ACI_ANNOTATIONS } from './names.ts';

/** The node's default pull identity (ACI_REGISTRY_IDENTITY) and the registries it serves. */
export interface RegistryIdentitySettings {
  /** A user-assigned identity's ARM id. */
  identity: string;
  /** Registry servers (`myacr.azurecr.io`), or `*.azurecr.io` for every registry under a domain. */
  servers: readonly string[];
}

const IDENTITY_SHAPE =
  '/subscriptions/<subscription id>/resourceGroups/<group>/providers/Microsoft.ManagedIdentity/userAssignedIdentities/<name>';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Azure's rules: resource group 1-90 of letters, digits, `-_.()` not ending in `.`; identity 3-128 of letters, digits, `-_`, from a letter or digit. */
const RESOURCE_GROUP = /^[-\w.()]{0,89}[-\w()]$/;
const IDENTITY_NAME = /^[a-zA-Z0-9][-\w]{2,127}$/;
/** The id's segments in order: a fixed word (compared case-insensitively, as ARM does) or a pattern. */
const SEGMENTS: readonly (string | RegExp)[] = [
  '',
  'subscriptions',
  GUID,
  'resourcegroups',
  RESOURCE_GROUP,
  'providers',
  'microsoft.managedidentity',
  'userassignedidentities',
  IDENTITY_NAME,
];
/** Longer than any valid id (4 fixed segments, a GUID, 90 + 128 characters of names): refused before splitting. */
const MAX_IDENTITY_ID_LENGTH = 400;

/**
 * Whether `text` is a user-assigned identity's ARM id. Each pattern is anchored over one segment of
 * bounded length, so the check is linear in the text.
 */
export function isUserAssignedIdentityId(text: string): boolean {
  if (text.length > MAX_IDENTITY_ID_LENGTH) return false;
  const parts = text.split('/');
  return (
    parts.length === SEGMENTS.length &&
    SEGMENTS.every((segment, index) => {
      const part = parts[index] ?? '';
      return typeof segment === 'string' ? part.toLowerCase() === segment : segment.test(part);
    })
  );
}

const annotationPath = (name: string): string => `metadata.annotations['${name}']`;

/** The identities a comma-separated annotation names, each checked; `[]` when it is absent. */
function annotatedIdentities(context: Context, annotation: string, single: boolean): string[] {
  const value = context.pod.metadata?.annotations?.[annotation];
  if (value === undefined) return [];
  const entries = value.split(',').map((entry) => entry.trim());
  const path = annotationPath(annotation);
  if (single && entries.length !== 1) {
    refuse(context, path, 'names more than one identity', `name one identity, ${IDENTITY_SHAPE}`);
    return [];
  }
  const valid: string[] = [];
  entries.forEach((entry, index) => {
    if (isUserAssignedIdentityId(entry)) valid.push(entry);
    else {
      refuse(
        context,
        path,
        `entry ${index + 1} ("${entry}") is not a user-assigned managed identity's resource ID`,
        `write each identity as ${IDENTITY_SHAPE}, separated by commas`,
      );
    }
  });
  return valid;
}

/** Whether `server` is one of `servers` (`*.domain` covering every registry under the domain). */
function covers(servers: readonly string[], server: string): boolean {
  return servers.some((pattern) =>
    pattern.startsWith('*.') ? server.endsWith(pattern.slice(1)) : pattern === server,
  );
}

export interface GroupIdentities {
  /** The group's `identity`, when it carries any. */
  identity: ContainerGroupIdentity | undefined;
  /** Identity-based credentials for the registries in `uncovered` that an identity serves. */
  credentials: ImageRegistryCredential[];
}

/** Docker Hub takes no Azure identity: a pod-wide pull identity never applies to it. */
const DOCKER_HUB = 'index.docker.io';

/**
 * The group's identities and the identity-based credentials for `uncovered`: the registries of the
 * pod's images that its pull secrets do not cover. `registryDefault` undefined: the spec alone.
 */
export function groupIdentities(
  context: Context,
  uncovered: readonly string[],
  registryDefault: RegistryIdentitySettings | undefined,
): GroupIdentities {
  const named = annotatedIdentities(context, ACI_ANNOTATIONS.identities, false);
  const [podPull] = annotatedIdentities(context, ACI_ANNOTATIONS.registryIdentity, true);
  const credentials: ImageRegistryCredential[] = [];
  for (const server of uncovered) {
    if (podPull !== undefined && server !== DOCKER_HUB) credentials.push({ server, identity: podPull });
    else if (registryDefault && covers(registryDefault.servers, server))
      credentials.push({ server, identity: registryDefault.identity });
  }
  // ARM ids compare case-insensitively: one entry per identity, as first written.
  const identities = new Map<string, string>();
  for (const id of [...named, ...credentials.map((credential) => credential.identity ?? '')]) {
    if (!identities.has(id.toLowerCase())) identities.set(id.toLowerCase(), id);
  }
  if (identities.size === 0) return { identity: undefined, credentials };
  return {
    identity: {
      type: 'UserAssigned',
      userAssignedIdentities: Object.fromEntries([...identities.values()].map((id) => [id, {}])),
    },
    credentials,
  };
}
