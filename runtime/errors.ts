// Errors classified by how the caller must react, not by where they came from. Every SDK error
// (Azure and Kubernetes) is mapped here and nowhere else, so retry and failure policy stays in one place.
import { isRestError } from '@azure/core-rest-pipeline';
import { ApiException } from '@kubernetes/client-node';

export type FailureKind =
  /** The object does not exist: deletes treat it as success, reads as absence. */
  | 'NotFound'
  /** The request can never succeed as sent: tell the user, do not retry. */
  | 'InvalidInput'
  /** Someone else changed or holds the object: re-read and try again. */
  | 'Conflict'
  /** The server asked us to slow down: wait at least `retryAfterMs`. */
  | 'Throttled'
  /** A quota is used up: wait until capacity frees, then try again. */
  | 'QuotaExceeded'
  /** Credentials are missing, expired or lack permission: retrying will not help until they change. */
  | 'Unauthorized'
  /**
   * The image cannot be pulled (no such repository or tag, not authorised, not for this platform),
   * said by a registry or by ACI: the container waits with ErrImagePull, then ImagePullBackOff, and
   * the pull is retried with backoff as a kubelet retries it (the tag may be pushed, the secret fixed).
   */
  | 'ImagePullFailed'
  /** Network trouble, timeouts, 5xx: retry with backoff. */
  | 'Transient';

export class ClassifiedError extends Error {
  readonly kind: FailureKind;
  /** Azure's, Kubernetes' or a registry's machine-readable code, when the server sent one. */
  readonly code: string | undefined;
  readonly statusCode: number | undefined;
  /** Set for Throttled (and any kind whose server named a wait). */
  readonly retryAfterMs: number | undefined;

  constructor(
    kind: FailureKind,
    message: string,
    details: { code?: string; statusCode?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: details.cause });
    this.name = 'ClassifiedError';
    this.kind = kind;
    this.code = details.code;
    this.statusCode = details.statusCode;
    this.retryAfterMs = details.retryAfterMs;
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ClassifiedError && error.kind === 'NotFound';
}

/** ACI's code for an image it cannot pull, at create time (400) or while provisioning. */
export const INACCESSIBLE_IMAGE = 'InaccessibleImage';
// SubnetIsFull (unconfirmed for ACI: Azure networking's code): groups leaving the subnet free addresses.
const QUOTA_CODES = new Set([
  'ContainerGroupQuotaReached',
  'QuotaExceeded',
  'ResourceQuotaExceeded',
  'SubnetIsFull',
]);
/**
 * Azure refused a managed identity the group names: the connector's principal may not assign it
 * (LinkedAuthorizationFailed, 403: ARM's code, seen in real traffic for identities assigned to VMs),
 * or it does not exist (FailedIdentityOperation, 400, unconfirmed for ACI). A role or the identity,
 * not a change to the pod, makes the same request valid: the pod waits, never fails.
 */
const IDENTITY_CODES = new Set(['LinkedAuthorizationFailed', 'FailedIdentityOperation']);

/** What the operator does about an identity refusal, for the pod's event. */
export const IDENTITY_REFUSAL_FIX =
  "grant the connector's Azure principal the Managed Identity Operator role on each identity the pod uses " +
  '(azure.com/aci-identities, azure.com/aci-registry-identity, ACI_REGISTRY_IDENTITY) and check that each exists';

/**
 * LinkedAuthorizationFailed also refuses other linked resources (a subnet's join action): only the one
 * naming a managed identity's action is an identity refusal; any of them is the operator's setup to fix.
 */
export function isIdentityRefusal(error: ClassifiedError): boolean {
  if (error.code === 'LinkedAuthorizationFailed') return error.message.includes('Microsoft.ManagedIdentity/');
  return error.code !== undefined && IDENTITY_CODES.has(error.code);
}

/**
 * Refusals of the connector's Azure setup (the resource group, the subnet, the identities it may
 * assign), not of the pod: the operator's fix, not a change to the pod, makes the same request valid.
 * SubnetMissingRequiredDelegation is ACI's; SubnetNotFound and SubnetLocationMismatch are unconfirmed.
 */
const SETUP_CODES = new Set([
  'ResourceGroupNotFound',
  'SubnetNotFound',
  'SubnetMissingRequiredDelegation',
  'SubnetLocationMismatch',
  ...IDENTITY_CODES,
]);

/** Azure refused the connector's setup, not the request's content: the caller waits instead of failing. */
export function isSetupError(error: ClassifiedError): boolean {
  return error.code !== undefined && SETUP_CODES.has(error.code);
}
const TRANSIENT_AZURE_CODES = new Set([
  'ContainerGroupTransitioning',
  'ServiceUnavailable',
  'InternalServerError',
  'InsufficientCapacity',
  'RetryableError',
]);
const AUTH_CODES = new Set([
  'AuthenticationFailed',
  'InvalidAuthenticationToken',
  'AuthorizationFailed',
  'ExpiredAuthenticationToken',
]);

/**
 * Parses Retry-After (seconds or HTTP date) and Azure's millisecond variants. An HTTP date is the
 * server's clock, so it is measured against the same answer's Date header (no clock read here, no
 * skew between the two machines); without a Date header it gives no delay.
 */
export function retryAfterFromHeaders(get: (name: string) => string | undefined): number | undefined {
  const ms = get('retry-after-ms') ?? get('x-ms-retry-after-ms');
  if (ms !== undefined && /^\d+$/.test(ms.trim())) return Number(ms);
  const value = get('retry-after');
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  const sent = Date.parse(get('date') ?? '');
  return Number.isNaN(date) || Number.isNaN(sent) ? undefined : Math.max(0, date - sent);
}

function kindForStatus(statusCode: number | undefined): FailureKind {
  if (statusCode === undefined) return 'Transient';
  if (statusCode === 404 || statusCode === 410) return 'NotFound';
  if (statusCode === 409) return 'Conflict';
  if (statusCode === 429) return 'Throttled';
  if (statusCode === 401 || statusCode === 403) return 'Unauthorized';
  if (statusCode === 408 || statusCode >= 500) return 'Transient';
  return 'InvalidInput';
}

function kindForAzureCode(code: string | undefined, statusCode: number | undefined): FailureKind {
  if (code !== undefined) {
    if (code === INACCESSIBLE_IMAGE) return 'ImagePullFailed';
    if (QUOTA_CODES.has(code)) return 'QuotaExceeded';
    if (TRANSIENT_AZURE_CODES.has(code)) return 'Transient';
    if (AUTH_CODES.has(code)) return 'Unauthorized';
    if (code === 'ResourceGroupNotFound') return 'InvalidInput';
  }
  return kindForStatus(statusCode);
}

// The SDK's poller throws a plain Error for a failed long-running operation:
// "The long-running operation has failed. <code>. <message>" (see shared reference, section 5).
const LRO_FAILURE = /^The long-running operation has failed\.\s*([A-Za-z.]+?)\.\s*(.*)$/s;

/** Maps anything thrown by @azure/arm-containerinstance or @azure/identity to a ClassifiedError. */
export function classifyAzureError(error: unknown): ClassifiedError {
  if (error instanceof ClassifiedError) return error;
  if (isRestError(error)) {
    const headers = error.response?.headers;
    const retryAfterMs = headers ? retryAfterFromHeaders((name) => headers.get(name)) : undefined;
    const kind = kindForAzureCode(error.code, error.statusCode);
    return new ClassifiedError(kind, error.message, {
      ...(error.code !== undefined && { code: error.code }),
      ...(error.statusCode !== undefined && { statusCode: error.statusCode }),
      ...(retryAfterMs !== undefined && { retryAfterMs }),
      cause: error,
    });
  }
  if (error instanceof Error) return classifyPlainError(error);
  return new ClassifiedError('Transient', String(error), { cause: error });
}

function classifyPlainError(error: Error): ClassifiedError {
  const lro = LRO_FAILURE.exec(error.message);
  if (lro) {
    const code = lro[1]?.replace(/\.$/, '');
    const kind = kindForAzureCode(code, 500);
    return new ClassifiedError(kind, lro[2] ?? error.message, { ...(code && { code }), cause: error });
  }
  if (error.name === 'CredentialUnavailableError' || error.name === 'AuthenticationError') {
    return new ClassifiedError('Unauthorized', error.message, { cause: error });
  }
  return new ClassifiedError('Transient', error.message, { cause: error });
}

/**
 * A registry's answer (OCI distribution API) that ends a pull. Too many requests and server failures
 * are retried like any transient failure; anything else (no such repository or tag, not authorised,
 * denied, a bad request) means the image cannot be pulled as named.
 */
export function classifyRegistryAnswer(
  statusCode: number,
  message: string,
  details: { code?: string; retryAfterMs?: number } = {},
): ClassifiedError {
  const kind: FailureKind =
    statusCode === 429
      ? 'Throttled'
      : statusCode === 408 || statusCode >= 500
        ? 'Transient'
        : 'ImagePullFailed';
  return new ClassifiedError(kind, message, { statusCode, ...details });
}

/** Anything thrown while reading from a registry: verdicts as they are, network failures as transient. */
export function classifyRegistryError(error: unknown): ClassifiedError {
  if (error instanceof ClassifiedError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new ClassifiedError('Transient', message, { cause: error });
}

/** Maps anything thrown by @kubernetes/client-node to a ClassifiedError. */
export function classifyKubernetesError(error: unknown): ClassifiedError {
  if (error instanceof ClassifiedError) return error;
  if (error instanceof ApiException) {
    const status = error.code;
    const headers = error.headers as Record<string, string | undefined>;
    const retryAfterMs = retryAfterFromHeaders((name) => headers[name]);
    const reason = kubernetesStatusReason(error.body);
    return new ClassifiedError(kindForStatus(status), reason?.message ?? error.message, {
      statusCode: status,
      ...(reason?.reason !== undefined && { code: reason.reason }),
      ...(retryAfterMs !== undefined && { retryAfterMs }),
      cause: error,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ClassifiedError('Transient', message, { cause: error });
}

function kubernetesStatusReason(body: unknown): { reason?: string; message?: string } | undefined {
  const parsed: unknown = typeof body === 'string' ? safeJson(body) : body;
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { reason, message } = parsed as { reason?: unknown; message?: unknown };
  return {
    ...(typeof reason === 'string' && { reason }),
    ...(typeof message === 'string' && { message }),
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
