// Who may call the virtual node's kubelet API, decided as a kubelet in Webhook authorization mode does
// (pkg/kubelet/server/auth.go): the caller is the user and groups of its client certificate, the
// attributes come from the path and the HTTP method, and the API server answers a SubjectAccessReview.
import type { TLSSocket } from 'node:tls';
import type { Request, Response } from 'express';
import type { Logger } from '../runtime/logger.ts';

/** Whether a caller authenticated by its client certificate may do `verb` on this node's `subresource`. */
export interface KubeletAuthorizer {
  allowed(
    caller: { user: string; groups: string[] },
    attributes: { verb: string; subresource: string },
  ): Promise<boolean>;
}

const VERBS: Readonly<Record<string, string>> = {
  GET: 'get',
  HEAD: 'get',
  POST: 'create',
  PUT: 'update',
  PATCH: 'patch',
  DELETE: 'delete',
};

/** The kubelet's mapping: /stats -> nodes/stats, /metrics -> nodes/metrics, /logs -> nodes/log, else nodes/proxy. */
export function kubeletAttributes(method: string, path: string): { verb: string; subresource: string } {
  const verb = VERBS[method.toUpperCase()] ?? method.toLowerCase();
  const under = (prefix: string): boolean => path === prefix || path.startsWith(`${prefix}/`);
  const subresource = under('/stats')
    ? 'stats'
    : under('/metrics')
      ? 'metrics'
      : under('/logs')
        ? 'log'
        : 'proxy';
  return { verb, subresource };
}

/** The certificate's CN is the user and its O entries the groups; no certificate, no user. */
export function certificateCaller(req: Request): { user: string; groups: string[] } {
  const subject = (req.socket as TLSSocket).getPeerCertificate().subject as
    Record<string, string | string[] | undefined> | undefined;
  const user = typeof subject?.CN === 'string' ? subject.CN : '';
  const organizations = subject?.O;
  const groups =
    organizations === undefined ? [] : Array.isArray(organizations) ? organizations : [organizations];
  return { user, groups };
}

/**
 * True when the caller may make this request; otherwise answers it (403 as a kubelet words it, or
 * 503 when the API server could not be asked) and returns false.
 */
export async function authorizeKubeletRequest(
  deps: { authorizer: KubeletAuthorizer; logger: Logger },
  req: Request,
  res: Response,
): Promise<boolean> {
  const caller = certificateCaller(req);
  const { verb, subresource } = kubeletAttributes(req.method, req.path);
  try {
    if (caller.user !== '' && (await deps.authorizer.allowed(caller, { verb, subresource }))) return true;
    res
      .status(403)
      .type('text/plain')
      .send(
        `Forbidden (user=${caller.user || 'unknown'}, verb=${verb}, resource=nodes, subresource=${subresource})\n`,
      );
  } catch (error) {
    deps.logger.warn({ err: error, user: caller.user }, 'authorizing a kubelet API call failed');
    res.status(503).type('text/plain').send('could not authorize the request; try again\n');
  }
  return false;
}
