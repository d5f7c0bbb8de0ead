// Service-account tokens. A kubelet asks the TokenRequest API for every projected
// serviceAccountToken and refreshes the file before it expires. ACI fixes a secret volume's files
// when the group is created, so the connector requests the tokens first (the expiry the pod asks for)
// and the token cannot be refreshed afterwards: a documented limit.
import type { V1Pod, V1ServiceAccount } from '@kubernetes/client-node';
import { awaitReference, awaitSuppliedValue, type Context } from './context.ts';
import { withWorkloadIdentity } from './workload-identity.ts';

/** Where the ServiceAccount admission plugin mounts the token, CA and namespace. */
export const SERVICE_ACCOUNT_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';
/** The volume the ServiceAccount admission plugin adds (`kube-api-access-<suffix>`). */
export const INJECTED_VOLUME_PREFIX = 'kube-api-access-';
/** Our name for that volume when we add it ourselves. */
export const SERVICE_ACCOUNT_VOLUME = 'kube-api-access-aci';
/**
 * The expiry the admission plugin asks for. The API server recognises it and, with its default
 * --service-account-extend-token-expiration, issues a token valid for a year (still bound to the pod).
 */
export const INJECTED_TOKEN_EXPIRATION_SECONDS = 3607;
/** The TokenRequest API's default expiry, used when a projection names none. */
const DEFAULT_EXPIRATION_SECONDS = 3600;

export interface ServiceAccountTokenRequest {
  /** Identifies the token in `ReferencedObjects.serviceAccountTokens`. */
  key: string;
  serviceAccountName: string;
  /** `undefined`: the API server's own audience, as for the projection without one. */
  audience: string | undefined;
  expirationSeconds: number;
  /** The projections that receive this token: `spec.volumes[3].projected.sources[0].serviceAccountToken`. */
  paths: string[];
}

export function serviceAccountName(pod: V1Pod): string {
  return pod.spec?.serviceAccountName ?? pod.spec?.serviceAccount ?? 'default';
}

export function tokenKey(
  serviceAccount: string,
  audience: string | undefined,
  expirationSeconds: number,
): string {
  return `${serviceAccount}|${audience ?? ''}|${expirationSeconds}`;
}

/**
 * The path, trailing slashes ignored. Compared, not trimmed with /\/+$/: that regex rescans a long run
 * of slashes from each of its characters when something follows it.
 */
function isServiceAccountMountPath(path: string): boolean {
  return (
    path.startsWith(SERVICE_ACCOUNT_MOUNT_PATH) &&
    [...path.slice(SERVICE_ACCOUNT_MOUNT_PATH.length)].every((character) => character === '/')
  );
}

/**
 * Whether we must add the token volume ourselves: the pod has none (the ServiceAccount admission
 * plugin did not run), automountServiceAccountToken is true on the pod, or unset there and not false
 * on the ServiceAccount, and the ServiceAccount exists (a token needs one).
 */
export function needsInjectedTokenVolume(pod: V1Pod, serviceAccount: V1ServiceAccount | undefined): boolean {
  const spec = pod.spec;
  if (
    !serviceAccount ||
    (spec?.automountServiceAccountToken ?? serviceAccount.automountServiceAccountToken) === false
  ) {
    return false;
  }
  const injected = (spec?.volumes ?? []).some((volume) => volume.name.startsWith(INJECTED_VOLUME_PREFIX));
  const mounted = [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].some((container) =>
    (container.volumeMounts ?? []).some((mount) => isServiceAccountMountPath(mount.mountPath)),
  );
  return !injected && !mounted;
}

/**
 * The tokens the connector must request before creating the pod's group, one per distinct audience
 * and expiry, the workload identity token included. `serviceAccount` is the pod's ServiceAccount as
 * read (it decides automounting).
 */
export function serviceAccountTokenRequests(
  requested: V1Pod,
  serviceAccount: V1ServiceAccount | undefined,
): ServiceAccountTokenRequest[] {
  const pod = withWorkloadIdentity(requested);
  const name = serviceAccountName(pod);
  const requests = new Map<string, ServiceAccountTokenRequest>();
  const add = (audience: string | undefined, expirationSeconds: number, path: string): void => {
    const key = tokenKey(name, audience, expirationSeconds);
    const request = requests.get(key) ?? {
      key,
      serviceAccountName: name,
      audience,
      expirationSeconds,
      paths: [],
    };
    request.paths.push(path);
    requests.set(key, request);
  };
  (pod.spec?.volumes ?? []).forEach((volume, volumeIndex) => {
    (volume.projected?.sources ?? []).forEach((source, sourceIndex) => {
      const projection = source.serviceAccountToken;
      if (!projection) return;
      const path = `spec.volumes[${volumeIndex}].projected.sources[${sourceIndex}].serviceAccountToken`;
      add(projection.audience || undefined, projection.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS, path);
    });
  });
  if (needsInjectedTokenVolume(pod, serviceAccount)) {
    add(undefined, INJECTED_TOKEN_EXPIRATION_SECONDS, 'spec.automountServiceAccountToken');
  }
  return [...requests.values()];
}

/**
 * The token the connector obtained for a projection, or `undefined` when absent (recorded as awaited
 * when the caller supplies tokens at all).
 */
export function suppliedToken(
  context: Context,
  path: string,
  audience: string | undefined,
  expirationSeconds: number | undefined,
): string | undefined {
  // Without the map the caller does not obtain tokens (the webhook): they are left out of the check.
  const tokens = context.objects?.serviceAccountTokens;
  if (!context.objects || !tokens) return undefined;
  const key = tokenKey(
    serviceAccountName(context.pod),
    audience || undefined,
    expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS,
  );
  const token = tokens.get(key);
  if (token !== undefined) return token;
  if (!context.objects.serviceAccount) {
    awaitReference(
      context,
      'spec.serviceAccountName',
      `ServiceAccount "${serviceAccountName(context.pod)}" does not exist, so no token can be issued for it`,
      'create the ServiceAccount',
    );
  } else {
    awaitSuppliedValue(
      context,
      path,
      `the service-account token (audience ${audience ?? 'of the API server'})`,
    );
  }
  return undefined;
}
