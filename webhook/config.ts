// The webhook's configuration, parsed once from the environment by main.ts. Parsing is pure and lists
// every problem at once, so an operator fixes a manifest in one round.
import { isIP } from 'node:net';
import { serviceHosts } from '../runtime/certificates.ts';
import {
  type ConfigResult,
  type Environment,
  EnvironmentReader,
  LOG_LEVELS,
} from '../runtime/environment.ts';

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
  LOG_LEVEL:
    'pino level: debug, info, warn, error (default info); info logs each pod denied or warned about, debug every pod reviewed.',
  KUBECONFIG:
    'Kubeconfig for runs outside the cluster (read by @kubernetes/client-node; in-cluster otherwise).',
} as const;

type Variable = keyof typeof ENVIRONMENT;

const DAY_MS = 86_400_000;

export function readConfig(env: Environment): ConfigResult<WebhookConfig> {
  const read = new EnvironmentReader<Variable>(env, ENVIRONMENT);
  const namespace = read.optional('WEBHOOK_NAMESPACE') ?? 'aci-burst-system';
  const serviceName = read.optional('WEBHOOK_SERVICE_NAME') ?? 'aci-burst-webhook';
  const url = read.parsed(
    'WEBHOOK_URL',
    (text) => {
      const parsed = URL.parse(text);
      return parsed?.protocol === 'https:' ? parsed : undefined;
    },
    'an https URL (the API server calls webhooks over TLS only)',
  );
  const port = read.integer('WEBHOOK_PORT', 8443, { min: 0, max: 65_535 });
  const tls = parseTls(read, [
    ...serviceHosts(serviceName, namespace),
    ...read.list('TLS_EXTRA_HOSTS'),
    ...(url ? [hostOf(url)] : []),
  ]);
  if (url && tls.source === 'files') {
    read.problem(
      'WEBHOOK_URL registers the webhook with the generated CA; it cannot be combined with TLS_CERT_FILE',
    );
  }
  return read.result({
    port,
    host: read.optional('WEBHOOK_HOST') ?? '0.0.0.0',
    namespace,
    serviceName,
    configurationName: read.optional('WEBHOOK_CONFIGURATION_NAME') ?? 'aci-burst-webhook',
    url,
    schedulerName: read.optional('ACI_SCHEDULER_NAME'),
    exposure: {
      subnet: read.optional('ACI_SUBNET_ID') !== undefined,
      exposePortsPublicly: read.boolean('ACI_EXPOSE_PORTS_PUBLICLY', false),
    },
    tls,
    clientCaFile: read.optional('CLIENT_CA_FILE'),
    certificateRefreshMs: read.integer('CERT_REFRESH_SECONDS', 3600) * 1000,
    renewBeforeMs: read.integer('CERT_RENEW_BEFORE_DAYS', 30) * DAY_MS,
    shutdownGraceMs: read.integer('SHUTDOWN_GRACE_SECONDS', 10, { min: 0 }) * 1000,
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
  });
}

function parseTls(read: EnvironmentReader<Variable>, hosts: string[]): WebhookConfig['tls'] {
  const certFile = read.optional('TLS_CERT_FILE');
  const keyFile = read.optional('TLS_KEY_FILE');
  if (certFile !== undefined && keyFile !== undefined) return { source: 'files', certFile, keyFile };
  if (certFile !== undefined || keyFile !== undefined) {
    read.problem('TLS_CERT_FILE and TLS_KEY_FILE must be given together');
  }
  return {
    source: 'secret',
    secretName: read.optional('TLS_SECRET_NAME') ?? 'aci-burst-webhook-tls',
    hosts: [...new Set(hosts)],
  };
}

/** A URL's host as a certificate names it: IPv6 without brackets. */
function hostOf(url: URL): string {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) ? host : host.toLowerCase();
}
