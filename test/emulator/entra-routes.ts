// A minimal Microsoft Entra ID: the OpenID configuration and the client-credentials token grant that
// @azure/identity (MSAL) uses, so the real credentials get real-looking tokens from the emulator.
// The ARM paths accept only tokens issued here. Applications with federated credentials (federation.ts)
// get tokens for a client assertion that verifies: a workload identity's exchange. Every token request
// goes to the request log, assertion included (it is what proves the exchange). Fault rules for the
// `entra` service (faults.ts) apply here: a token endpoint that hangs, drops or answers late.
import { randomBytes } from 'node:crypto';
import express, { type Request, type Response, type Router } from 'express';
import { endedByConnectionFault } from './connection-faults.ts';
import type { Fault, FaultRequest } from './faults.ts';
import type { Federation } from './federation.ts';
import type { RequestLog } from './request-log.ts';

export type TokenVerdict = 'valid' | 'expired' | 'unknown';

/** The tokens the emulator issued and when they expire. */
export class TokenIssuer {
  private readonly lifetimeSeconds: number;
  private readonly tokens = new Map<string, number>();

  constructor(lifetimeSeconds: number) {
    this.lifetimeSeconds = lifetimeSeconds;
  }

  issue(now: number): { token: string; expiresInSeconds: number } {
    // Drop expired tokens so a long-running emulator does not grow without bound.
    for (const [token, expiresAt] of this.tokens) if (expiresAt <= now) this.tokens.delete(token);
    const token = `aci-emulator.${randomBytes(24).toString('base64url')}`;
    this.tokens.set(token, now + this.lifetimeSeconds * 1000);
    return { token, expiresInSeconds: this.lifetimeSeconds };
  }

  verify(token: string, now: number): TokenVerdict {
    const expiresAt = this.tokens.get(token);
    if (expiresAt === undefined) return 'unknown';
    return expiresAt > now ? 'valid' : 'expired';
  }
}

export interface EntraSettings {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The emulator's base URL, known once it listens. */
  authorityHost: () => string;
  tokens: TokenIssuer;
  clock: () => number;
  federation: Federation;
  requestLog: RequestLog;
  /** The injected faults for one request (the emulator's seeded injector). */
  faultsFor: (request: FaultRequest) => Fault[];
}

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function oauthError(res: Response, status: number, error: string, description: string): void {
  res.status(status).json({
    error,
    error_description: description,
    error_codes: [Number(/AADSTS(\d+)/.exec(description)?.[1] ?? 0)],
  });
}

export function entraRouter(settings: EntraSettings): Router {
  const router = express.Router();
  // Per route: ARM and control requests pass through this router too, and are logged elsewhere.
  const log = logRequests(settings);
  const faults = injectFaults(settings);
  const knownTenant = (tenant: string): boolean => tenant === settings.tenantId || tenant === 'organizations';
  router.get(
    '/:tenant/v2.0/.well-known/openid-configuration',
    log,
    faults,
    (req: Request<{ tenant: string }>, res) => {
      const { tenant } = req.params;
      if (!knownTenant(tenant)) {
        oauthError(res, 400, 'invalid_tenant', `AADSTS90002: Tenant '${tenant}' not found.`);
        return;
      }
      const base = `${settings.authorityHost()}/${tenant}`;
      res.json({
        token_endpoint: `${base}/oauth2/v2.0/token`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
        jwks_uri: `${settings.authorityHost()}/${tenant}/discovery/v2.0/keys`,
        issuer: `${base}/v2.0`,
        token_endpoint_auth_methods_supported: [
          'client_secret_post',
          'private_key_jwt',
          'client_secret_basic',
        ],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        response_modes_supported: ['query', 'fragment', 'form_post'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        tenant_region_scope: 'NA',
        cloud_instance_name: 'microsoftonline.com',
      });
    },
  );
  router.post(
    '/:tenant/oauth2/v2.0/token',
    express.urlencoded({ extended: false }),
    log,
    faults,
    (req: Request<{ tenant: string }>, res) => {
      const form = (req.body ?? {}) as Record<string, string | undefined>;
      const refusal = knownTenant(req.params.tenant)
        ? tokenRefusal(form, settings)
        : ([400, 'invalid_tenant', `AADSTS90002: Tenant '${req.params.tenant}' not found.`] as const);
      if (refusal !== undefined) {
        oauthError(res, ...refusal);
        return;
      }
      const { token, expiresInSeconds } = settings.tokens.issue(settings.clock());
      res.json({
        token_type: 'Bearer',
        expires_in: expiresInSeconds,
        ext_expires_in: expiresInSeconds,
        access_token: token,
      });
    },
  );
  return router;
}

/**
 * Why a client-credentials request gets no token (status, error, description), or `undefined`. An
 * application with federated credentials authenticates with a verified assertion; the emulator's own
 * client with its secret (or, for the connector's own workload identity, any assertion).
 */
function tokenRefusal(
  form: Record<string, string | undefined>,
  settings: EntraSettings,
): readonly [number, string, string] | undefined {
  const clientId = form['client_id'] ?? '';
  const federated =
    form['client_assertion_type'] === JWT_BEARER && settings.federation.hasCredentials(clientId);
  if (form['grant_type'] !== 'client_credentials') {
    return [
      400,
      'unsupported_grant_type',
      `AADSTS70003: The grant type '${String(form['grant_type'])}' is not supported.`,
    ];
  }
  if (federated) {
    const verdict = settings.federation.verify(form['client_assertion'] ?? '', clientId, settings.clock());
    if (!verdict.ok)
      return [verdict.error === 'invalid_client' ? 401 : 400, verdict.error, verdict.description];
  } else if (clientId !== settings.clientId) {
    return [
      400,
      'unauthorized_client',
      `AADSTS700016: Application with identifier '${clientId}' was not found in the directory.`,
    ];
  } else if (!authenticated(form, settings.clientSecret)) {
    return [401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.'];
  }
  if (!(form['scope'] ?? '').endsWith('/.default')) {
    return [
      400,
      'invalid_scope',
      `AADSTS1002012: The provided value for scope '${String(form['scope'])}' is not valid.`,
    ];
  }
  return undefined;
}

/**
 * Every Entra request into the request log (form bodies as sent), as ARM's are logged. A request that
 * got no answer (fault `hang` or `drop`) is logged with status 0 when its connection closes: its
 * duration is how long the client waited before it gave up.
 */
function logRequests(settings: EntraSettings) {
  return (req: Request, res: Response, next: () => void): void => {
    const started = settings.clock();
    const url = new URL(req.originalUrl, 'https://emulator');
    const record = (status: number): void => {
      const body: unknown = req.body;
      const { faults } = res.locals as { faults?: string[] };
      settings.requestLog.add({
        method: req.method,
        path: url.pathname,
        query: url.search,
        status,
        time: new Date(started).toISOString(),
        durationMs: settings.clock() - started,
        ...(req.method === 'POST' && typeof body === 'object' && body !== null && { body }),
        ...(faults !== undefined && faults.length > 0 && { faults }),
      });
    };
    res.on('finish', () => {
      record(res.statusCode);
    });
    res.on('close', () => {
      if (!res.writableFinished) record(0);
    });
    next();
  };
}

/**
 * The `entra` fault rules (ENTRA_FAULT_KINDS; the control API refuses others): `hang` reads the
 * request and never answers, as a token endpoint that times out; `drop` closes the connection;
 * `latency` answers late.
 */
function injectFaults(settings: EntraSettings) {
  return async (req: Request, res: Response, next: () => void): Promise<void> => {
    const path = new URL(req.originalUrl, 'https://emulator').pathname;
    const faults = settings.faultsFor({ service: 'entra', method: req.method, path });
    res.locals['faults'] = faults.map((fault) => fault.kind);
    for (const fault of faults) if (await endedByConnectionFault(fault, req.socket)) return;
    next();
  };
}

/**
 * A client secret must match. A federated assertion (workload identity) is accepted without checking its
 * signature: the emulator has no cluster issuer to trust, and the path through MSAL is what matters.
 */
function authenticated(form: Record<string, string | undefined>, clientSecret: string): boolean {
  if (form['client_secret'] !== undefined) return form['client_secret'] === clientSecret;
  return form['client_assertion_type'] === JWT_BEARER && (form['client_assertion'] ?? '') !== '';
}
