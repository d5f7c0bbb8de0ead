// A bound on every request the Azure credential sends for a token (to Microsoft Entra ID, or the
// managed identity endpoint). @azure/identity sets none, and MSAL passes no abort signal down for a
// client-credentials token: a token endpoint that accepts the request and never answers holds
// getToken for ever. Every ARM call waits for that token (the SDK's token cycler shares one refresh
// among them), so the connector stops answering ACI at all, and stays stopped after Entra ID recovers,
// the hung request still open. With the bound, the request fails as MSAL's network_error, which
// runtime/errors.ts classifies as a retry (TOKEN_UNAVAILABLE), and the next call asks again.
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { classifyAzureError, TOKEN_UNAVAILABLE } from '../runtime/errors.ts';

/** Entra ID answers in well under a second; ten seconds leaves room for a slow network. */
export const TOKEN_REQUEST_TIMEOUT_MS = 10_000;

/**
 * Sets the request timeout of each attempt (the SDK's HTTP client aborts the request when it passes),
 * keeping a shorter one a request already has. For the credential's `additionalPolicies`, `perRetry`.
 */
export function tokenRequestTimeout(timeoutMs: number = TOKEN_REQUEST_TIMEOUT_MS): PipelinePolicy {
  return {
    name: 'aciBurstTokenRequestTimeout',
    sendRequest: (request, next) => {
      if (request.timeout <= 0 || request.timeout > timeoutMs) request.timeout = timeoutMs;
      return next(request);
    },
  };
}

/** What the SDK's token cycler throws when its last try got no token at all (the credential gave null). */
const REFRESH_FAILED = 'Failed to refresh access token.';

/**
 * Whether an unhandled rejection is a background token refresh that failed. The SDK's token cycler
 * refreshes a token before it expires without anyone waiting for it; once the token has expired, the
 * refresh's last try throws, and with no ARM call waiting at that moment its rejection is unhandled,
 * which would end the process (Node's default). It does no harm: the next ARM call asks again.
 */
export function isAbandonedTokenRefresh(reason: unknown): boolean {
  if (reason instanceof Error && reason.message === REFRESH_FAILED) return true;
  return classifyAzureError(reason).code === TOKEN_UNAVAILABLE;
}
