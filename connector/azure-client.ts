// The one construction of the Azure clients, used the same way against Azure and against the local
// emulator (test/emulator): only the settings differ (authority host, ARM endpoint, an extra CA).
// The connector's main.ts reads the environment and passes settings in; this module reads nothing.
import { rootCertificates } from 'node:tls';
import { ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import { MonitorClient } from '@azure/arm-monitor';
import { ClientSecretCredential, DefaultAzureCredential, type TokenCredential } from '@azure/identity';
import { PROJECT_NAME, PROJECT_VERSION } from '../contract/index.ts';
import { tokenRequestTimeout } from './token-timeout.ts';

export const AZURE_RESOURCE_MANAGER = 'https://management.azure.com';
/** The token audience stays Azure's even when requests go elsewhere (the SDK would derive it from the endpoint). */
export const ARM_SCOPE = `${AZURE_RESOURCE_MANAGER}/.default`;

export interface AzureRetrySettings {
  maxRetries?: number;
  retryDelayInMs?: number;
  maxRetryDelayInMs?: number;
}

export interface AzureClientSettings {
  subscriptionId: string;
  tenantId?: string;
  /** With `clientSecret`: a service principal. Without: the workload or user-assigned managed identity's client id. */
  clientId?: string;
  clientSecret?: string;
  /** Entra ID base URL; Azure's public cloud when omitted. */
  authorityHost?: string;
  /** ARM base URL; https://management.azure.com when omitted. */
  resourceManagerEndpoint?: string;
  /** A CA to trust in addition to the public roots, for both Entra ID and ARM (the emulator's). */
  caPem?: string;
  /**
   * false: trust `caPem` alone. Node keys its connection pool by the whole CA list and builds a TLS
   * context from it per connection, so the public roots (~140 certificates) cost CPU on every request;
   * a benchmark that talks only to the emulator leaves them out. Default true.
   */
  trustPublicRoots?: boolean;
  retry?: AzureRetrySettings;
  /** How long one token request may take (token-timeout.ts); TOKEN_REQUEST_TIMEOUT_MS when omitted. */
  tokenRequestTimeoutMs?: number;
}

export interface AzureClients {
  credential: TokenCredential;
  client: ContainerInstanceManagementClient;
  /**
   * The same client without the SDK's own retries, for creates: a PUT retried after its connection
   * dropped may land on the group it already created and re-provision it (a duplicate create). The
   * caller reads the name again before it sends another PUT, and honours Retry-After itself.
   */
  createClient: ContainerInstanceManagementClient;
  /** Azure Monitor metrics through Resource Manager: same credential, endpoint and trust as `client`. */
  monitor: MonitorClient;
  /** The Resource Manager base URL both use (for requests no generated client covers). */
  endpoint: string;
}

/** Every reason the settings cannot work; empty when they can. */
export function azureSettingsProblems(settings: AzureClientSettings): string[] {
  const problems: string[] = [];
  if (settings.subscriptionId.trim() === '') problems.push('subscriptionId is empty');
  if (settings.clientSecret !== undefined) {
    if (!settings.tenantId) problems.push('a client secret needs tenantId');
    if (!settings.clientId) problems.push('a client secret needs clientId');
  }
  for (const [name, url] of [
    ['authorityHost', settings.authorityHost],
    ['resourceManagerEndpoint', settings.resourceManagerEndpoint],
  ] as const) {
    if (url !== undefined && !isHttpsUrl(url)) problems.push(`${name} must be an https URL, got "${url}"`);
  }
  return problems;
}

function isHttpsUrl(value: string): boolean {
  return URL.canParse(value) && new URL(value).protocol === 'https:';
}

/** Throws (listing every problem) when the settings cannot work; see azureSettingsProblems. */
export function createAzureClients(settings: AzureClientSettings): AzureClients {
  const problems = azureSettingsProblems(settings);
  if (problems.length > 0) throw new Error(`invalid Azure settings: ${problems.join('; ')}`);
  // `ca` replaces Node's trust store for the pipeline's agent, so keep the public roots beside the extra CA.
  const tlsOptions =
    settings.caPem === undefined
      ? {}
      : {
          tlsOptions: {
            ca:
              settings.trustPublicRoots === false ? [settings.caPem] : [...rootCertificates, settings.caPem],
          },
        };
  const credential = createCredential(settings, tlsOptions);
  const endpoint = settings.resourceManagerEndpoint ?? AZURE_RESOURCE_MANAGER;
  const userAgentOptions = { userAgentPrefix: `${PROJECT_NAME}/${PROJECT_VERSION}` };
  const retry = settings.retry && { retryOptions: settings.retry };
  const aciClient = (retryOptions: AzureRetrySettings | undefined): ContainerInstanceManagementClient =>
    new ContainerInstanceManagementClient(credential, settings.subscriptionId, {
      endpoint,
      credentialScopes: [ARM_SCOPE],
      userAgentOptions,
      ...(retryOptions && { retryOptions }),
      ...tlsOptions,
    });
  const client = aciClient(settings.retry);
  const createClient = aciClient({ ...settings.retry, maxRetries: 0 });
  // @azure/arm-monitor is a newer generated client: the token scope is `credentials.scopes`.
  const monitor = new MonitorClient(credential, settings.subscriptionId, {
    endpoint,
    credentials: { scopes: [ARM_SCOPE] },
    userAgentOptions,
    ...retry,
    ...tlsOptions,
  });
  return { credential, client, createClient, monitor, endpoint };
}

function createCredential(
  settings: AzureClientSettings,
  tlsOptions: { tlsOptions?: { ca: string[] } },
): TokenCredential {
  const authority = {
    ...(settings.authorityHost !== undefined && {
      authorityHost: settings.authorityHost,
      // MSAL would otherwise ask the public cloud whether an unknown authority host is valid.
      disableInstanceDiscovery: true,
    }),
    // A token endpoint that never answers must not hold every ARM call for ever (token-timeout.ts).
    additionalPolicies: [
      { policy: tokenRequestTimeout(settings.tokenRequestTimeoutMs), position: 'perRetry' as const },
    ],
    ...tlsOptions,
  };
  const { tenantId, clientId, clientSecret } = settings;
  if (clientSecret !== undefined && tenantId !== undefined && clientId !== undefined) {
    return new ClientSecretCredential(tenantId, clientId, clientSecret, authority);
  }
  // Workload identity or managed identity; the SDK itself reads what AKS injects (the federated token file).
  return new DefaultAzureCredential({
    ...authority,
    ...(tenantId !== undefined && { tenantId }),
    ...(clientId !== undefined && { managedIdentityClientId: clientId, workloadIdentityClientId: clientId }),
  });
}
