// Federated identity credentials, as Entra ID checks a workload identity's client assertion: the
// assertion is a JWT from a trusted issuer (a cluster's service-account issuer, its keys given as a
// JWKS), signed by one of its keys, unexpired, and its issuer, subject and audience match a federated
// credential configured on the application (client id) it asks a token for. Error codes are Entra's
// AADSTS codes where known; those marked unconfirmed were not found in a primary source.
import { createPublicKey, type JsonWebKey, type KeyObject, verify } from 'node:crypto';

export interface FederatedCredential {
  clientId: string;
  issuer: string;
  /** `system:serviceaccount:<namespace>:<name>` for a Kubernetes ServiceAccount. */
  subject: string;
  /** Entra's default, and the only value Azure accepts today: api://AzureADTokenExchange. */
  audience: string;
}

export type AssertionVerdict =
  | { ok: true; subject: string }
  | { ok: false; error: 'invalid_client' | 'invalid_request'; description: string };

/** Longest assertion read: a service-account token is about 1 KB; this bounds the work per request. */
const MAX_ASSERTION_LENGTH = 16_384;
/** Clock skew Entra tolerates (unconfirmed: five minutes, as MSAL and most JWT validators allow). */
const SKEW_SECONDS = 300;

interface Claims {
  iss?: unknown;
  sub?: unknown;
  aud?: unknown;
  exp?: unknown;
  nbf?: unknown;
}

function decodePart(part: string | undefined): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const SIGNATURES: Record<string, { hash: string; ec: boolean }> = {
  RS256: { hash: 'sha256', ec: false },
  ES256: { hash: 'sha256', ec: true },
};

function withinValidTime(claims: Claims, now: number): boolean {
  if (typeof claims.exp !== 'number' || claims.exp + SKEW_SECONDS < now) return false;
  return typeof claims.nbf !== 'number' || claims.nbf - SKEW_SECONDS <= now;
}

export class Federation {
  private readonly issuers = new Map<string, { kid: string | undefined; key: KeyObject }[]>();
  private credentials: FederatedCredential[] = [];

  /** Trusts `issuer` with the keys of its JWKS (`/openid/v1/jwks` of a Kubernetes API server). */
  trustIssuer(issuer: string, jwks: { keys?: unknown }): number {
    const keys = (Array.isArray(jwks.keys) ? jwks.keys : []).map((jwk: unknown) => ({
      kid: typeof (jwk as { kid?: unknown }).kid === 'string' ? (jwk as { kid: string }).kid : undefined,
      key: createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }),
    }));
    this.issuers.set(issuer, keys);
    return keys.length;
  }

  addCredential(credential: FederatedCredential): void {
    this.credentials.push(credential);
  }

  /** Whether `clientId` has federated credentials (else the emulator's own client rules apply). */
  hasCredentials(clientId: string): boolean {
    return this.credentials.some((credential) => credential.clientId === clientId);
  }

  clear(): void {
    this.issuers.clear();
    this.credentials = [];
  }

  /** Whether one of the issuer's keys (by `kid` when both name one) signed the token. */
  private signedByIssuer(parts: string[], header: Record<string, unknown>, issuer: unknown): boolean {
    const keys = typeof issuer === 'string' ? (this.issuers.get(issuer) ?? []) : [];
    const algorithm = typeof header['alg'] === 'string' ? SIGNATURES[header['alg']] : undefined;
    if (algorithm === undefined) return false;
    const signed = Buffer.from(`${parts[0] ?? ''}.${parts[1] ?? ''}`);
    const signature = Buffer.from(parts[2] ?? '', 'base64url');
    const kid = header['kid'];
    return keys
      .filter((entry) => kid === undefined || entry.kid === undefined || entry.kid === kid)
      .some((entry) =>
        verify(
          algorithm.hash,
          signed,
          algorithm.ec ? { key: entry.key, dsaEncoding: 'ieee-p1363' } : entry.key,
          signature,
        ),
      );
  }

  verify(assertion: string, clientId: string, nowMs: number): AssertionVerdict {
    const invalid = (description: string): AssertionVerdict => ({
      ok: false,
      error: 'invalid_client',
      description,
    });
    const parts = assertion.length > MAX_ASSERTION_LENGTH ? [] : assertion.split('.');
    const header = decodePart(parts[0]);
    const claims = decodePart(parts[1]) as Claims | undefined;
    if (parts.length !== 3 || !header || !claims) {
      return {
        ok: false,
        error: 'invalid_request',
        description: 'AADSTS50027: JWT token is invalid or malformed.',
      };
    }
    if (!this.signedByIssuer(parts, header, claims.iss)) {
      // AADSTS700027 (unconfirmed wording): the signature does not verify with the issuer's keys.
      return invalid(
        `AADSTS700027: Client assertion failed signature validation. Issuer '${String(claims.iss)}'.`,
      );
    }
    if (!withinValidTime(claims, nowMs / 1000)) {
      return invalid('AADSTS700024: Client assertion is not within its valid time range.');
    }
    const audiences = Array.isArray(claims.aud) ? (claims.aud as unknown[]) : [claims.aud];
    const match = this.credentials.find(
      (credential) =>
        credential.clientId === clientId &&
        credential.issuer === claims.iss &&
        credential.subject === claims.sub &&
        audiences.includes(credential.audience),
    );
    if (!match) {
      return invalid(
        `AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '${String(claims.iss)}'. ` +
          `Assertion Subject: '${String(claims.sub)}'. Assertion Audience: '${audiences.map(String).join(',')}'.`,
      );
    }
    return { ok: true, subject: match.subject };
  }
}
