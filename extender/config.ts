// The extender's settings, read from the environment once by main.ts and validated here: every
// problem is listed at once, so an operator fixes a bad Deployment in one round.
import { serviceHosts } from '../runtime/certificates.ts';
import {
  type ConfigResult,
  type Environment,
  EnvironmentReader,
  LOG_LEVELS,
} from '../runtime/environment.ts';

export type TlsSource =
  /** Mounted files, e.g. cert-manager's Secret; re-read on every refresh, since they rotate in place. */
  | { kind: 'files'; certFile: string; keyFile: string }
  /**
   * The Deployment's: a CA and serving certificate kept in this Secret of the extender's namespace,
   * created by the first replica, shared by all, renewed before expiry; the scheduler mounts its ca.crt.
   */
  | { kind: 'secret'; secretName: string; hosts: string[] }
  /** A CA and serving certificate made at start-up for these hosts; the CA is logged for `caData`. */
  | { kind: 'self-signed'; hosts: string[] };

/** Who may call /filter and /prioritize. */
export type ClientAuth =
  /** Anyone who reaches the port (a NetworkPolicy may still narrow that). */
  | { kind: 'none' }
  /**
   * Only callers presenting a certificate signed by `caFile`, or, without it, by the CA of the
   * certificate Secret, which holds the scheduler's client certificate (client.crt, client.key).
   */
  | { kind: 'require'; caFile: string | undefined };

export interface ExtenderConfig {
  port: number;
  clientAuth: ClientAuth;
  /** Undefined: every interface. */
  bindAddress: string | undefined;
  logLevel: string;
  tls: TlsSource;
  /** How often mounted files or the Secret are re-read, and the Secret's certificate renewed if due. */
  certificateRefreshMs: number;
  /** Renew the Secret's serving certificate when less than this is left. */
  renewBeforeMs: number;
  /** The Service the scheduler calls, for the names in a generated certificate. */
  serviceName: string;
  namespace: string;
  /** How long in-flight scheduler calls may take to finish after SIGTERM. */
  shutdownGraceMs: number;
}

/** Every variable the extender reads, with its meaning: docs/configuration.md is generated from these words. */
export const ENVIRONMENT = {
  PORT: 'HTTPS port (default 8443; 0: any free port).',
  BIND_ADDRESS: 'Address to listen on (default: all interfaces).',
  TLS_CERT_FILE:
    'Mounted serving certificate (with TLS_KEY_FILE: both or neither; they win over TLS_SECRET_NAME); re-read every CERT_REFRESH_SECONDS.',
  TLS_KEY_FILE: 'Key of TLS_CERT_FILE.',
  TLS_SECRET_NAME:
    'Secret in POD_NAMESPACE holding the shared CA and serving certificate, created if missing (the manifests: aci-burst-extender-tls); unset and no files (default): a self-signed CA, logged as caData at start (tests, the demo).',
  CERT_REFRESH_SECONDS:
    'How often the files or the Secret are re-read, and the Secret’s certificate renewed if due (default 3600).',
  CERT_RENEW_BEFORE_DAYS:
    'Renew the Secret’s serving certificate this many days before it expires (default 30, at most 180).',
  CLIENT_AUTH:
    'none (default) or require: only callers presenting a client certificate may call /filter and /prioritize (403 otherwise; /healthz, /readyz, /metrics stay open for probes). The manifests set it: with TLS_SECRET_NAME the extender keeps the second scheduler’s client certificate (client.crt, client.key, CN aci-burst-scheduler, same CA and renewal as the serving one) in the Secret and trusts that CA.',
  CLIENT_CA_FILE:
    'With CLIENT_AUTH=require: the CA of the callers’ certificates instead of the Secret’s (required with mounted files or a self-signed certificate).',
  SERVICE_NAME:
    'The Service a generated certificate names, with POD_NAMESPACE, 127.0.0.1 and localhost (default aci-burst-extender).',
  POD_NAMESPACE: 'The extender’s namespace, for the certificate and its Secret (default aci-burst-system).',
  LOG_LEVEL: 'pino level; debug logs every verdict (default info).',
  SHUTDOWN_GRACE_SECONDS: 'After SIGTERM, how long in-flight calls may finish (default 10, at most 300).',
  KUBECONFIG:
    'The cluster to watch, for runs outside it (read by @kubernetes/client-node; in-cluster otherwise).',
} as const;

type Variable = keyof typeof ENVIRONMENT;
type Reader = EnvironmentReader<Variable>;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DAY_MS = 86_400_000;
/** The extender is also called on loopback (a scheduler beside it, a probe, the demo). */
const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost'];

/** The names a generated serving certificate covers: loopback, and the Service as seen from any namespace. */
export function certificateHosts(serviceName: string, namespace: string): string[] {
  return [...LOOPBACK_HOSTS, ...serviceHosts(serviceName, namespace)];
}

function dnsLabel(read: Reader, name: Variable, fallback: string): string {
  return (
    read.parsed(
      name,
      (text) => (DNS_LABEL.test(text) ? text : undefined),
      'a DNS label (lower-case letters, digits, -)',
    ) ?? fallback
  );
}

function tlsSource(read: Reader, hosts: string[]): TlsSource {
  const certFile = read.optional('TLS_CERT_FILE');
  const keyFile = read.optional('TLS_KEY_FILE');
  if (certFile !== undefined && keyFile !== undefined) return { kind: 'files', certFile, keyFile };
  if (certFile !== undefined || keyFile !== undefined) {
    read.problem(
      'TLS_CERT_FILE and TLS_KEY_FILE: set both (mounted certificate) or neither (Secret or self-signed)',
    );
  }
  const secretName = read.optional('TLS_SECRET_NAME');
  if (secretName === undefined) return { kind: 'self-signed', hosts };
  if (!DNS_SUBDOMAIN.test(secretName))
    read.invalid('TLS_SECRET_NAME', 'a Secret name (lower-case DNS subdomain)', secretName);
  return { kind: 'secret', secretName, hosts };
}

function clientAuth(read: Reader, tls: TlsSource): ClientAuth {
  const mode = read.oneOf('CLIENT_AUTH', ['none', 'require'], 'none');
  const caFile = read.optional('CLIENT_CA_FILE');
  if (mode === 'none') {
    if (caFile !== undefined)
      read.problem('CLIENT_CA_FILE is set but CLIENT_AUTH is none: set CLIENT_AUTH=require');
    return { kind: 'none' };
  }
  if (caFile === undefined && tls.kind !== 'secret') {
    read.problem(
      "CLIENT_AUTH=require needs CLIENT_CA_FILE (the CA of the scheduler's client certificate), or TLS_SECRET_NAME, whose CA signs the client certificate it keeps for the scheduler",
    );
  }
  return { kind: 'require', caFile };
}

export function readConfig(env: Environment): ConfigResult<ExtenderConfig> {
  const read = new EnvironmentReader<Variable>(env, ENVIRONMENT);
  const serviceName = dnsLabel(read, 'SERVICE_NAME', 'aci-burst-extender');
  const namespace = dnsLabel(read, 'POD_NAMESPACE', 'aci-burst-system');
  const tls = tlsSource(read, certificateHosts(serviceName, namespace));
  return read.result({
    port: read.integer('PORT', 8443, { min: 0, max: 65_535 }),
    clientAuth: clientAuth(read, tls),
    bindAddress: read.optional('BIND_ADDRESS'),
    logLevel: read.oneOf('LOG_LEVEL', LOG_LEVELS, 'info'),
    tls,
    certificateRefreshMs: read.integer('CERT_REFRESH_SECONDS', 3600, { max: 86_400 }) * 1000,
    // Below the serving certificate's one-year life, or every refresh would renew it.
    renewBeforeMs: read.integer('CERT_RENEW_BEFORE_DAYS', 30, { max: 180 }) * DAY_MS,
    serviceName,
    namespace,
    shutdownGraceMs: read.integer('SHUTDOWN_GRACE_SECONDS', 10, { min: 0, max: 300 }) * 1000,
  });
}
