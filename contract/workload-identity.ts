// Azure Workload Identity as AKS users set it up: a pod labelled `azure.workload.identity/use: "true"`
// whose ServiceAccount carries `azure.workload.identity/client-id` gets what the Azure Workload
// Identity webhook gives it on a real node (a projected token for Entra ID's token exchange and four
// environment variables). The pod is rewritten the way that webhook rewrites it, once, here, and the
// rest of the translation handles the projected token like any other. A pod the webhook already
// rewrote keeps its volume; only the token's lifetime changes: ACI cannot refresh a mounted file, so
// the token is asked for with the longest lifetime the TokenRequest API accepts (the API server
// shortens it to its --service-account-max-token-expiration).
import type { V1Container, V1Pod, V1ServiceAccount, V1Volume } from '@kubernetes/client-node';
import { awaitReference, type Context } from './context.ts';

export const WORKLOAD_IDENTITY = {
  label: 'azure.workload.identity/use',
  clientIdAnnotation: 'azure.workload.identity/client-id',
  tenantIdAnnotation: 'azure.workload.identity/tenant-id',
  audience: 'api://AzureADTokenExchange',
  volume: 'azure-identity-token',
  mountPath: '/var/run/secrets/azure/tokens',
  tokenFile: 'azure-identity-token',
} as const;

/** TokenRequest's largest expirationSeconds (2^32); the API server may issue a shorter token. */
export const WORKLOAD_IDENTITY_TOKEN_EXPIRATION_SECONDS = 2 ** 32;
/** The webhook's default AZURE_AUTHORITY_HOST (Azure's public cloud). */
export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com/';

export interface WorkloadIdentitySettings {
  /** The tenant for ServiceAccounts without `azure.workload.identity/tenant-id`. */
  tenantId: string | undefined;
  authorityHost: string;
  /** Recreate the group before its token expires (ACI_WORKLOAD_IDENTITY_RECREATE). */
  recreateBeforeExpiry: boolean;
}

export function usesWorkloadIdentity(pod: V1Pod): boolean {
  return pod.metadata?.labels?.[WORKLOAD_IDENTITY.label] === 'true';
}

/** The values of the four variables; empty where not known (a check of the spec alone). */
interface IdentityValues {
  clientId: string;
  tenantId: string;
  authorityHost: string;
}

const TOKEN_PATH = `${WORKLOAD_IDENTITY.mountPath}/${WORKLOAD_IDENTITY.tokenFile}`;

function withIdentity(container: V1Container, values: IdentityValues): V1Container {
  const variables = [
    ['AZURE_CLIENT_ID', values.clientId],
    ['AZURE_TENANT_ID', values.tenantId],
    ['AZURE_FEDERATED_TOKEN_FILE', TOKEN_PATH],
    ['AZURE_AUTHORITY_HOST', values.authorityHost],
  ] as const;
  // As the webhook does: what the container sets itself is kept.
  const defined = new Set((container.env ?? []).map((variable) => variable.name));
  const mounts = container.volumeMounts ?? [];
  const mounted = mounts.some(
    (mount) => mount.name === WORKLOAD_IDENTITY.volume || mount.mountPath === WORKLOAD_IDENTITY.mountPath,
  );
  return {
    ...container,
    env: [
      ...(container.env ?? []),
      ...variables.filter(([name]) => !defined.has(name)).map(([name, value]) => ({ name, value })),
    ],
    volumeMounts: mounted
      ? mounts
      : [
          ...mounts,
          { name: WORKLOAD_IDENTITY.volume, mountPath: WORKLOAD_IDENTITY.mountPath, readOnly: true },
        ],
  };
}

/** The webhook's volume, or the one it already added with the longest token lifetime. */
function withTokenVolume(volumes: readonly V1Volume[]): V1Volume[] {
  const existing = volumes.some((volume) => volume.name === WORKLOAD_IDENTITY.volume);
  if (!existing) {
    const source = {
      serviceAccountToken: {
        path: WORKLOAD_IDENTITY.tokenFile,
        audience: WORKLOAD_IDENTITY.audience,
        expirationSeconds: WORKLOAD_IDENTITY_TOKEN_EXPIRATION_SECONDS,
      },
    };
    return [
      ...volumes,
      { name: WORKLOAD_IDENTITY.volume, projected: { sources: [source], defaultMode: 420 } },
    ];
  }
  return volumes.map((volume) =>
    volume.name !== WORKLOAD_IDENTITY.volume || !volume.projected
      ? volume
      : {
          ...volume,
          projected: {
            ...volume.projected,
            sources: (volume.projected.sources ?? []).map((source) =>
              source.serviceAccountToken?.audience === WORKLOAD_IDENTITY.audience
                ? {
                    ...source,
                    serviceAccountToken: {
                      ...source.serviceAccountToken,
                      expirationSeconds: WORKLOAD_IDENTITY_TOKEN_EXPIRATION_SECONDS,
                    },
                  }
                : source,
            ),
          },
        },
  );
}

const EMPTY_VALUES: IdentityValues = { clientId: '', tenantId: '', authorityHost: '' };

/**
 * The pod as the Azure Workload Identity webhook leaves it (the same pod when it is not labelled).
 * Without `values` the variables are empty: enough for listing the tokens the pod needs.
 */
export function withWorkloadIdentity(pod: V1Pod, values: IdentityValues = EMPTY_VALUES): V1Pod {
  if (!usesWorkloadIdentity(pod) || !pod.spec) return pod;
  const spec = pod.spec;
  return {
    ...pod,
    spec: {
      ...spec,
      containers: spec.containers.map((container) => withIdentity(container, values)),
      ...(spec.initContainers && {
        initContainers: spec.initContainers.map((container) => withIdentity(container, values)),
      }),
      volumes: withTokenVolume(spec.volumes ?? []),
    },
  };
}

/** The variables' values for the pod's ServiceAccount; `undefined` settings: a check of the spec alone. */
export function workloadIdentityValues(
  serviceAccount: V1ServiceAccount | undefined,
  settings: WorkloadIdentitySettings | undefined,
): IdentityValues {
  const annotations = serviceAccount?.metadata?.annotations ?? {};
  return {
    clientId: annotations[WORKLOAD_IDENTITY.clientIdAnnotation] ?? '',
    tenantId: annotations[WORKLOAD_IDENTITY.tenantIdAnnotation] ?? settings?.tenantId ?? '',
    authorityHost: settings?.authorityHost ?? DEFAULT_AUTHORITY_HOST,
  };
}

/**
 * With the objects known: a ServiceAccount without the client ID (or a tenant from anywhere) makes the
 * pod wait, as a pod waits for a Secret; annotating the ServiceAccount lets it start.
 */
export function checkWorkloadIdentity(context: Context, values: IdentityValues): void {
  const serviceAccount = context.objects?.serviceAccount;
  if (!usesWorkloadIdentity(context.pod) || !serviceAccount) return;
  const name = serviceAccount.metadata?.name ?? '';
  const path = `metadata.labels['${WORKLOAD_IDENTITY.label}']`;
  if (values.clientId === '') {
    awaitReference(
      context,
      path,
      `ServiceAccount "${name}" has no annotation ${WORKLOAD_IDENTITY.clientIdAnnotation}`,
      `annotate the ServiceAccount with the client ID of the identity the pod acts as (kubectl annotate serviceaccount ${name} ${WORKLOAD_IDENTITY.clientIdAnnotation}=<client id>)`,
    );
  }
  if (values.tenantId === '') {
    awaitReference(
      context,
      path,
      `ServiceAccount "${name}" has no annotation ${WORKLOAD_IDENTITY.tenantIdAnnotation} and the connector has no default tenant`,
      `annotate the ServiceAccount with ${WORKLOAD_IDENTITY.tenantIdAnnotation}, or set the connector's ACI_WORKLOAD_IDENTITY_TENANT_ID`,
    );
  }
}

/** The `exp` claim of a JWT, in milliseconds; `undefined` when the token says none. */
export function tokenExpiry(token: string): number | undefined {
  const payload = token.split('.')[1] ?? '';
  try {
    const exp = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' && Number.isFinite(exp) ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

/** The event that says the pod's federated token is fixed for the group's life. */
export function workloadIdentityNotice(
  token: string | undefined,
  settings: WorkloadIdentitySettings | undefined,
): { type: 'Normal' | 'Warning'; reason: string; message: string } {
  const expiry = token === undefined ? undefined : tokenExpiry(token);
  const until = expiry === undefined ? 'with no expiry' : `until ${new Date(expiry).toISOString()}`;
  const after = settings?.recreateBeforeExpiry
    ? 'the connector recreates the container group before the token expires (ACI_WORKLOAD_IDENTITY_RECREATE=true)'
    : 'after it expires the pod can no longer exchange it; delete the pod to get a new one, or set ACI_WORKLOAD_IDENTITY_RECREATE=true';
  return {
    type: 'Normal',
    reason: 'WorkloadIdentityTokenNotRefreshed',
    message: `the workload identity token at ${TOKEN_PATH} is valid ${until} and is not refreshed on ACI (a mounted file is fixed at creation): ${after}`,
  };
}
