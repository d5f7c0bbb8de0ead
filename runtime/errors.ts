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

/**
 * What the caller does about a classified error: the one decision callers switch on. Most follow from
 * the kind; the exception is a refusal of the connector's own Azure setup (a missing resource group, a
 * subnet ACI will not use), which ARM sends as a 400 or 404 like any invalid request but which the
 * operator's fix, not a change to the pod, makes valid.
 */
export type Reaction =
  /** The object is not there: deletes count as done, reads as absence. */
  | 'absent'
  /** Someone else changed or holds the object: re-read it and try again. */
  | 'reread'
  /** Network trouble, timeouts, 5xx: try again with backoff. */
  | 'retry'
  /** The server asked for fewer calls: hold calls until `retryAfterMs`, then try again. */
  | 'slow-down'
  /** A quota is used up: wait until capacity frees (the slow retry), then try again. */
  | 'wait-for-capacity'
  /** The image cannot be pulled (yet): the container shows ErrImagePull, the pull is retried with backoff. */
  | 'retry-pull'
  /** The request can never succeed as sent: fail the pod and tell the user; do not retry. */
  | 'fail'
  /** Credentials are missing, expired or lack permission: the operator must fix them; retrying waits for that. */
  | 'fix-credentials'
  /** The resource group does not exist: every ARM call fails until the operator creates it. */
  | 'fix-resource-group'
  /** ACI refused the subnet (missing, not delegated, another region): creates wait for the operator's fix. */
  | 'fix-subnet'
  /** Azure refused a managed identity the group names (not assignable, missing): the pod waits for the operator's fix. */
  | 'fix-identity';

const REACTION_OF_KIND: Readonly<Record<FailureKind, Reaction>> = {
  NotFound: 'absent',
  Conflict: 'reread',
  Transient: 'retry',
  Throttled: 'slow-down',
  QuotaExceeded: 'wait-for-capacity',
  ImagePullFailed: 'retry-pull',
  InvalidInput: 'fail',
  Unauthorized: 'fix-credentials',
};

export class ClassifiedError extends Error {
  readonly kind: FailureKind;
  /** Azure's, Kubernetes' or a registry's machine-readable code, when the server sent one. */
  readonly code: string | undefined;
  readonly statusCode: number | undefined;
  /** Set for Throttled (and any kind whose server named a wait). */
  readonly retryAfterMs: number | undefined;
  readonly reaction: Reaction;

  /** The request never left: there was no token to send it with. */
  private readonly neverSent: boolean;

  constructor(
    kind: FailureKind,
    message: string,
    details: {
      code?: string;
      statusCode?: number;
      retryAfterMs?: number;
      cause?: unknown;
      neverSent?: boolean;
    } = {},
  ) {
    super(message, { cause: details.cause });
    this.name = 'ClassifiedError';
    this.kind = kind;
    this.code = details.code;
    this.statusCode = details.statusCode;
    this.retryAfterMs = details.retryAfterMs;
    this.neverSent = details.neverSent ?? false;
    this.reaction = reactionTo(kind, details.code, message);
  }

  /**
   * The request took no effect: the server answered and refused it (a 4xx, 429 included), or it was
   * never sent (no token to send it with). After a 5xx or a dropped connection it may have.
   */
  get refused(): boolean {
    return this.neverSent || (this.statusCode !== undefined && this.statusCode < 500);
  }
}

function reactionTo(kind: FailureKind, code: string | undefined, message: string): Reaction {
  if (code === 'ResourceGroupNotFound') return 'fix-resource-group';
  if (isIdentityRefusal(code, message)) return 'fix-identity';
  if (code !== undefined && SUBNET_SETUP_CODES.has(code)) return 'fix-subnet';
  return REACTION_OF_KIND[kind];
}

export function isNotFound(error: unknown): boolean {
  return error instanceof ClassifiedError && error.reaction === 'absent';
}

/** ACI's code for an image it cannot pull, at create time (400) or while provisioning. */
const INACCESSIBLE_IMAGE = 'InaccessibleImage';
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
const IDENTITY_CODE = 'FailedIdentityOperation';
const LINKED_AUTHORIZATION = 'LinkedAuthorizationFailed';

/** What the operator does about an identity refusal, for the pod's event. */
export const IDENTITY_REFUSAL_FIX =
  "grant the connector's Azure principal the Managed Identity Operator role on each identity the pod uses " +
  '(azure.com/aci-identities, azure.com/aci-registry-identity, ACI_REGISTRY_IDENTITY) and check that each exists';

/**
 * LinkedAuthorizationFailed also refuses other linked resources (the subnet's join action): only the
 * one naming a managed identity's action is an identity refusal; the others are the subnet's setup.
 */
function isIdentityRefusal(code: string | undefined, message: string): boolean {
  if (code === LINKED_AUTHORIZATION) return message.includes('Microsoft.ManagedIdentity/');
  return code === IDENTITY_CODE;
}

/**
 * ACI's refusals of the connector's subnet, not of the pod: the operator's fix, not a change to the pod,
 * makes the same request valid. SubnetMissingRequiredDelegation is ACI's; SubnetNotFound and
 * SubnetLocationMismatch are unconfirmed; LinkedAuthorizationFailed is ARM's for a join the
 * connector's principal may not do.
 */
const SUBNET_SETUP_CODES = new Set([
  'SubnetNotFound',
  'SubnetMissingRequiredDelegation',
  'SubnetLocationMismatch',
  LINKED_AUTHORIZATION,
]);
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
  return tokenFailure(error) ?? new ClassifiedError('Transient', error.message, { cause: error });
}

/** The code of a failure to get a token that retrying can fix (Entra ID did not answer, or failed). */
export const TOKEN_UNAVAILABLE = 'AzureTokenUnavailable';
/** OAuth's errors (RFC 6749, section 5.2) by which Entra ID refuses the client or its secret. */
const REJECTED_CLIENT_CODES = new Set(['invalid_client', 'unauthorized_client']);

/**
 * @azure/identity wraps what MSAL throws for a client-credentials token in AuthenticationRequiredError,
 * MSAL's error (with its `errorCode`) as the cause. A refusal of the client or its secret needs the
 * operator. Anything else (no answer: MSAL's network_error, which a request timeout gives too; or
 * Entra's own trouble) passes: the ARM request that needed the token is retried, never sent meanwhile.
 */
function tokenFailure(error: Error): ClassifiedError | undefined {
  if (error.name !== 'AuthenticationRequiredError') return undefined;
  const code = msalErrorCode(error.cause);
  if (code !== undefined && REJECTED_CLIENT_CODES.has(code)) {
    const message = `Microsoft Entra ID refused the connector's Azure credentials: ${error.message}`;
    return new ClassifiedError('Unauthorized', message, { code, cause: error, neverSent: true });
  }
  const why = code === 'network_error' ? 'its token endpoint did not answer' : 'it could not issue a token';
  const message = `Azure credentials unavailable: no token from Microsoft Entra ID (${why}): ${error.message}`;
  return new ClassifiedError('Transient', message, {
    code: TOKEN_UNAVAILABLE,
    cause: error,
    neverSent: true,
  });
}

function msalErrorCode(cause: unknown): string | undefined {
  const code =
    typeof cause === 'object' && cause !== null ? (cause as { errorCode?: unknown }).errorCode : undefined;
  return typeof code === 'string' ? code : undefined;
}

// ACI's Warning events for a pull that failed while provisioning: "Failed to pull image ..." (name
// Failed), or the InaccessibleImage code. Deliberately narrow: "not found" or "unauthorized" alone also
// appear in a container's start failures ("executable file not found"), which are not pull failures.
const PULL_FAILURE_EVENT = /pull|inaccessible/i;

/** Whether an ACI Warning event (its name and message) says the image could not be pulled. */
export function isImagePullEvent(name: string | undefined, message: string | undefined): boolean {
  return PULL_FAILURE_EVENT.test(`${name ?? ''} ${message ?? ''}`);
}

/**
 * A container group that ACI failed to provision, classified by its last Warning event: an image
 * that could not be pulled is retried as a pull; anything else as a transient failure under the
 * event's name.
 */
export function classifyProvisioningFailure(warning: {
  name: string | undefined;
  message: string | undefined;
}): ClassifiedError {
  const message = `ACI could not provision the container group: ${warning.message ?? 'no reason given'}`;
  return isImagePullEvent(warning.name, warning.message)
    ? new ClassifiedError('ImagePullFailed', message, { code: INACCESSIBLE_IMAGE })
    : new ClassifiedError('Transient', message, { code: warning.name ?? 'ProvisioningFailed' });
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
/**
 * The Node authorizer's refusal while its graph does not yet link the node to the object: it follows
 * pods through an informer, so a pod just bound, or any pod after an API server restart, is refused
 * for a moment (plugin/pkg/auth/authorizer/node/node_authorizer.go). Nothing the operator does helps;
 * the graph catches up.
 */
const NODE_GRAPH_LAG = /no relationship found between node '[^']*' and this object/;

export function classifyKubernetesError(error: unknown): ClassifiedError {
  if (error instanceof ClassifiedError) return error;
  if (error instanceof ApiException) {
    const status = error.code;
    const headers = error.headers as Record<string, string | undefined>;
    const retryAfterMs = retryAfterFromHeaders((name) => headers[name]);
    const reason = kubernetesStatusReason(error.body);
    const message = reason?.message ?? error.message;
    const kind = status === 403 && NODE_GRAPH_LAG.test(message) ? 'Transient' : kindForStatus(status);
    return new ClassifiedError(kind, message, {
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
