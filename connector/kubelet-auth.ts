// Who may use the virtual node's kubelet API, decided as a kubelet in Webhook authorization mode does
// (pkg/kubelet/server/auth.go): the client certificate's CN is the user and its O entries the groups,
// the HTTP method gives the verb and the path the subresource of `nodes`, and the API server answers
// a SubjectAccessReview.
import type { TLSSocket } from 'node:tls';

/** Whether a caller authenticated by its client certificate may do `verb` on this node's `subresource`. */
export interface KubeletAuthorizer {
  allowed(
    caller: { user: string; groups: string[] },
    attributes: { verb: string; subresource: string },
  ): Promise<boolean>;
}

export interface KubeletCaller {
  user: string;
  groups: string[];
}

export function callerOf(socket: TLSSocket): KubeletCaller {
  const subject = socket.getPeerCertificate().subject as
    Record<string, string | string[] | undefined> | undefined;
  const organizations = subject?.O;
  return {
    user: typeof subject?.CN === 'string' ? subject.CN : '',
    groups: organizations === undefined ? [] : Array.isArray(organizations) ? organizations : [organizations],
  };
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
export function kubeletAttributes(
  method: string | undefined,
  path: string,
): { verb: string; subresource: string } {
  const upper = (method ?? 'GET').toUpperCase();
  const verb = VERBS[upper] ?? upper.toLowerCase();
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

export function forbiddenMessage(
  caller: KubeletCaller,
  attributes: { verb: string; subresource: string },
): string {
  return `Forbidden (user=${caller.user || 'unknown'}, verb=${attributes.verb}, resource=nodes, subresource=${attributes.subresource})`;
}

export type Authorization = { allowed: true } | { allowed: false; status: 403 | 503; message: string };

export async function authorize(
  authorizer: KubeletAuthorizer,
  caller: KubeletCaller,
  request: { method: string | undefined; path: string },
): Promise<Authorization> {
  const attributes = kubeletAttributes(request.method, request.path);
  try {
    if (caller.user !== '' && (await authorizer.allowed(caller, attributes))) return { allowed: true };
    return { allowed: false, status: 403, message: forbiddenMessage(caller, attributes) };
  } catch {
    return { allowed: false, status: 503, message: 'could not authorize the request; try again' };
  }
}
