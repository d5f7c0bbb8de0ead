// The webhook's configuration, parsed once from the environment by main.ts. Parsing is pure and lists
// every problem at once, so an operator fixes a manifest in one round.
import { isIP } from 'node:net';

export interface WebhookConfig {
  port: number;
  host: string;
  /** The webhook's own namespace: holds the certificate Secret, and is never sent to the webhook. */
  namespace: string;
  serviceName: string;
  configurationName: string;
  /** Set for runs outside the cluster: the webhook registers its configuration with this URL. */
  url: URL | undefined;
  schedulerName: string | undefined;
  /** The connector's exposure settings, for the admission warning about public IPs. */
  exposure: { subnet: boolean; exposePortsPublicly: boolean };
  tls:
    | { source: 'files'; certFile: string; keyFile: string }
    | { source: 'secret'; secretName: string; hosts: string[] };
  /** Only callers with a certificate this CA signed get a review (the API server, when it presents one). */
  clientCaFile: string | undefined;
  certificateRefreshMs: number;
  renewBeforeMs: number;
  shutdownGraceMs: number;
  logLevel: string;
}

/** Every variable the webhook reads, with its meaning: docs/configuration.md is generated from these words. */
export const ENVIRONMENT = {
  WEBHOOK_PORT: 'HTTPS port for the webhook, /healthz, /readyz and /metrics (default 8443; 0 picks one).',
  WEBHOOK_HOST: 'Address to listen on (default 0.0.0.0).',
  WEBHOOK_NAMESPACE: 'The webhook’s own namespace (default aci-burst-system).',
  WEBHOOK_SERVICE_NAME: 'Its Service, named in the certificate’s DNS names (default aci-burst-webhook).',
  WEBHOOK_CONFIGURATION_NAME: 'Its MutatingWebhookConfiguration (default aci-burst-webhook).',
  WEBHOOK_URL:
    'For runs outside the cluster: https URL the API server calls; the webhook registers its configuration with it (a URL without a port gets the listening port).',
  ACI_SCHEDULER_NAME:
    'Second scheduler (the extender’s) that opted-in pods are given (default: keep the pod’s).',
  ACI_SUBNET_ID:
    'The connector’s subnet (set it to the same value): with one, pods never get a public IP and the webhook warns of none.',
  ACI_EXPOSE_PORTS_PUBLICLY:
    'The connector’s setting of the same name: true makes the webhook warn about every steered pod whose declared ports would get a public IP.',
  TLS_CERT_FILE: 'Serving certificate mounted from elsewhere, e.g. cert-manager (re-read on refresh).',
  TLS_KEY_FILE: 'Key of TLS_CERT_FILE.',
  TLS_SECRET_NAME: 'Secret holding the generated CA and serving certificate (default aci-burst-webhook-tls).',
  TLS_EXTRA_HOSTS: 'Extra DNS names or IPs for the generated certificate, comma-separated.',
  CLIENT_CA_FILE:
    'CA of the client certificate the API server presents (--admission-control-config-file); when set, reviews from callers without one are refused (default: unset, any caller).',
  CERT_REFRESH_SECONDS: 'How often the certificate is re-read and renewed if due (default 3600).',
  CERT_RENEW_BEFORE_DAYS: 'Renew the serving certificate this many days before it expires (default 30).',
  SHUTDOWN_GRACE_SECONDS: 'How long in-flight reviews may finish after SIGTERM (default 10).',
  LOG_LEVEL: 'pino level: debug, info, warn, error (default info).',
  KUBECONFIG:
    'Kubeconfig for runs outside the cluster (read by @kubernetes/client-node; in-cluster otherwise).',
} as const;

type Variable = keyof typeof ENVIRONMENT;
type Env = Readonly<Record<string, string | undefined>>;

const DAY_MS = 86_400_000;

export function parseWebhookConfig(env: Env): { config: WebhookConfig; problems: string[] } {
  const problems: string[] = [];
  const text = (name: Variable): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const integer = (name: Variable, fallback: number, min: number): number => {
    const raw = text(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (Number.isInteger(value) && value >= min) return value;
    problems.push(`${name} must be a whole number >= ${min}, got "${raw}"`);
    return fallback;
  };
  const boolean = (name: Variable, fallback: boolean): boolean => {
    const raw = text(name)?.toLowerCase();
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === 'false') return raw === 'true';
    problems.push(`${name} must be true or false, got "${raw}"`);
    return fallback;
  };
  const namespace = text('WEBHOOK_NAMESPACE') ?? 'aci-burst-system';
  const serviceName = text('WEBHOOK_SERVICE_NAME') ?? 'aci-burst-webhook';
  const url = parseUrl(text('WEBHOOK_URL'), problems);
  const port = integer('WEBHOOK_PORT', 8443, 0);
  if (port > 65_535) problems.push(`WEBHOOK_PORT must be at most 65535, got ${port}`);
  const tls = parseTls(
    { certFile: text('TLS_CERT_FILE'), keyFile: text('TLS_KEY_FILE'), secretName: text('TLS_SECRET_NAME') },
    [
      ...serviceHosts(serviceName, namespace),
      ...splitList(text('TLS_EXTRA_HOSTS')),
      ...(url ? [hostOf(url)] : []),
    ],
    problems,
  );
  if (url && tls.source === 'files') {
    problems.push(
      'WEBHOOK_URL registers the webhook with the generated CA; it cannot be combined with TLS_CERT_FILE',
    );
  }
  const config: WebhookConfig = {
    port,
    host: text('WEBHOOK_HOST') ?? '0.0.0.0',
    namespace,
    serviceName,
    configurationName: text('WEBHOOK_CONFIGURATION_NAME') ?? 'aci-burst-webhook',
    url,
    schedulerName: text('ACI_SCHEDULER_NAME'),
    exposure: {
      subnet: text('ACI_SUBNET_ID') !== undefined,
      exposePortsPublicly: boolean('ACI_EXPOSE_PORTS_PUBLICLY', false),
    },
    tls,
    clientCaFile: text('CLIENT_CA_FILE'),
    certificateRefreshMs: integer('CERT_REFRESH_SECONDS', 3600, 1) * 1000,
    renewBeforeMs: integer('CERT_RENEW_BEFORE_DAYS', 30, 1) * DAY_MS,
    shutdownGraceMs: integer('SHUTDOWN_GRACE_SECONDS', 10, 0) * 1000,
    logLevel: text('LOG_LEVEL') ?? 'info',
  };
  return { config, problems };
}

/** The names the API server and in-cluster clients may use for the Service. */
export function serviceHosts(serviceName: string, namespace: string): string[] {
  return [
    serviceName,
    `${serviceName}.${namespace}`,
    `${serviceName}.${namespace}.svc`,
    `${serviceName}.${namespace}.svc.cluster.local`,
  ];
}

function parseTls(
  values: { certFile: string | undefined; keyFile: string | undefined; secretName: string | undefined },
  hosts: string[],
  problems: string[],
): WebhookConfig['tls'] {
  const { certFile, keyFile } = values;
  if (certFile !== undefined && keyFile !== undefined) return { source: 'files', certFile, keyFile };
  if (certFile !== undefined || keyFile !== undefined) {
    problems.push('TLS_CERT_FILE and TLS_KEY_FILE must be given together');
  }
  return {
    source: 'secret',
    secretName: values.secretName ?? 'aci-burst-webhook-tls',
    hosts: [...new Set(hosts)],
  };
}

function parseUrl(raw: string | undefined, problems: string[]): URL | undefined {
  if (raw === undefined) return undefined;
  const url = URL.parse(raw);
  if (url?.protocol !== 'https:') {
    problems.push(
      `WEBHOOK_URL must be an https URL (the API server calls webhooks over TLS only), got "${raw}"`,
    );
    return undefined;
  }
  return url;
}

/** A URL's host as a certificate names it: IPv6 without brackets. */
function hostOf(url: URL): string {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) ? host : host.toLowerCase();
}

function splitList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
