// User-assigned managed identities as the emulator knows them: fixtures a test adds through the control
// API (an identity, whether the connector's principal may assign it, and which registries it may pull
// from). A group naming an identity it may not assign is refused as ARM refuses it; one naming an
// identity that does not exist, as the identity resource provider answers (code unconfirmed for ACI).
import { randomUUID } from 'node:crypto';
import { ArmError, invalidContent } from './arm-error.ts';
import type { RegistryLogin } from './registry.ts';

export interface ManagedIdentityFixture {
  /** The ARM id, as the test wrote it (compared case-insensitively, as ARM does). */
  id: string;
  clientId: string;
  principalId: string;
  /** Whether the connector's principal holds Managed Identity Operator (…/assign/action) on it. */
  assignable: boolean;
  /** Registry servers the identity holds AcrPull on. */
  registries: string[];
}

const IDENTITY_ID =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities\/[^/]+$/i;

/** Control API body `{id, assignable?, registries?, clientId?}` -> a fixture (ids made up where not given). */
export function parseManagedIdentity(body: unknown): ManagedIdentityFixture {
  const value = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const { id, assignable, registries, clientId } = value;
  if (
    typeof id !== 'string' ||
    !IDENTITY_ID.test(id) ||
    (assignable !== undefined && typeof assignable !== 'boolean') ||
    (registries !== undefined &&
      (!Array.isArray(registries) || registries.some((r) => typeof r !== 'string'))) ||
    (clientId !== undefined && typeof clientId !== 'string')
  ) {
    throw invalidContent(
      'Expected {"id": a user-assigned identity\'s ARM id, "assignable"?: boolean, "registries"?: [server], "clientId"?: string}',
    );
  }
  return {
    id,
    clientId: clientId ?? randomUUID(),
    principalId: randomUUID(),
    assignable: assignable ?? true,
    registries: (registries as string[] | undefined) ?? [],
  };
}

export type IdentityLookup = (id: string) => ManagedIdentityFixture | undefined;

/**
 * ARM's linked-authorization check first (403 for every identity the caller may not assign, as one
 * error), then the identity provider's (400 for one that does not exist).
 */
export function checkGroupIdentities(
  groupId: string,
  ids: readonly string[],
  lookup: IdentityLookup,
  callerClientId: string,
): void {
  const refused = ids.filter((id) => lookup(id)?.assignable === false);
  if (refused.length > 0) {
    throw new ArmError(
      403,
      'LinkedAuthorizationFailed',
      `The client '${callerClientId}' with object id '${callerClientId}' has permission to perform action ` +
        `'Microsoft.ContainerInstance/containerGroups/write' on scope '${groupId}'; however, it does not have permission ` +
        `to perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/assign/action' on the linked scope(s) ` +
        `'${refused.join(',')}' or the linked scope(s) are invalid.`,
    );
  }
  const missing = ids.find((id) => lookup(id) === undefined);
  if (missing !== undefined) {
    // Code and wording unconfirmed for ACI: ARM's answer for an identity that cannot be found.
    throw new ArmError(
      400,
      'FailedIdentityOperation',
      `Identity operation for resource '${groupId}' failed with error 'Failed to perform resource identity operation. ` +
        `Status: 'NotFound'. Response: 'The user-assigned identity '${missing}' was not found.''.`,
    );
  }
}

/** The group's `identity` as ARM returns it: each identity with its principal and client ids. */
export function identityView(
  identity: Record<string, unknown>,
  ids: readonly string[],
  lookup: IdentityLookup,
  tenantId: string,
): Record<string, unknown> {
  return {
    ...identity,
    tenantId,
    ...(ids.length > 0 && {
      userAssignedIdentities: Object.fromEntries(
        ids.map((id) => [id, { principalId: lookup(id)?.principalId, clientId: lookup(id)?.clientId }]),
      ),
    }),
  };
}

/**
 * An identity-based registry credential as the registry sees it: the registry's own login when the
 * identity may pull from that server (AcrPull), an empty one otherwise.
 */
export function identityLogin(
  login: RegistryLogin,
  lookup: IdentityLookup,
  registryLogin: { username: string; password: string },
): RegistryLogin {
  if (login.identity === undefined) return login;
  const allowed = lookup(login.identity)?.registries.includes(login.server) === true;
  return { server: login.server, ...(allowed ? registryLogin : { username: '', password: '' }) };
}
