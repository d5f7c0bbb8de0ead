// The extender's settings, read from the environment once by main.ts and validated here: every
// problem is listed at once, so an operator fixes a bad Deployment in one round.

export type TlsSource =
  /** Mounted files, e.g. the Secret `npm run extender -- tls-secret` prints or cert-manager issues. */
  | { kind: 'files'; certFile: string; keyFile: string }
  /** A CA and serving certificate made at start-up for these hosts; the CA is logged for `caData`. */
  | { kind: 'self-signed'; hosts: string[] };

export interface ExtenderConfig {
  port: number;
  /** Undefined: every interface. */
  bindAddress: string | undefined;
  logLevel: string;
  tls: TlsSource;
  /** The Service the scheduler calls, for the names in a generated certificate. */
  serviceName: string;
  namespace: string;
  /** How long in-flight scheduler calls may take to finish after SIGTERM. */
  shutdownGraceMs: number;
}

export type ConfigResult = { ok: true; config: ExtenderConfig } | { ok: false; problems: string[] };

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The names a serving certificate needs: loopback, and the Service as seen from any namespace. */
export function serviceHosts(serviceName: string, namespace: string): string[] {
  return [
    '127.0.0.1',
    'localhost',
    serviceName,
    `${serviceName}.${namespace}`,
    `${serviceName}.${namespace}.svc`,
    `${serviceName}.${namespace}.svc.cluster.local`,
  ];
}

function integer(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  bounds: { fallback: number; min: number; max: number },
  problems: string[],
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return bounds.fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < bounds.min || value > bounds.max) {
    problems.push(`${name}=${raw}: expected an integer from ${bounds.min} to ${bounds.max}`);
    return bounds.fallback;
  }
  return value;
}

function dnsLabel(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: string,
  problems: string[],
): string {
  const value = env[name] || fallback;
  if (!DNS_LABEL.test(value))
    problems.push(`${name}=${value}: expected a DNS label (lower-case letters, digits, -)`);
  return value;
}

function tlsSource(
  env: Readonly<Record<string, string | undefined>>,
  hosts: string[],
  problems: string[],
): TlsSource {
  const certFile = env.TLS_CERT_FILE || undefined;
  const keyFile = env.TLS_KEY_FILE || undefined;
  if (certFile !== undefined && keyFile !== undefined) return { kind: 'files', certFile, keyFile };
  if (certFile !== undefined || keyFile !== undefined) {
    problems.push('TLS_CERT_FILE and TLS_KEY_FILE: set both (mounted certificate) or neither (self-signed)');
  }
  return { kind: 'self-signed', hosts };
}

export function readConfig(env: Readonly<Record<string, string | undefined>>): ConfigResult {
  const problems: string[] = [];
  const port = integer(env, 'PORT', { fallback: 8443, min: 0, max: 65535 }, problems);
  const graceSeconds = integer(env, 'SHUTDOWN_GRACE_SECONDS', { fallback: 10, min: 0, max: 300 }, problems);
  const logLevel = env.LOG_LEVEL || 'info';
  if (!LOG_LEVELS.includes(logLevel))
    problems.push(`LOG_LEVEL=${logLevel}: expected one of ${LOG_LEVELS.join(', ')}`);
  const serviceName = dnsLabel(env, 'SERVICE_NAME', 'aci-burst-extender', problems);
  const namespace = dnsLabel(env, 'POD_NAMESPACE', 'aci-burst-system', problems);
  const tls = tlsSource(env, serviceHosts(serviceName, namespace), problems);
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    config: {
      port,
      bindAddress: env.BIND_ADDRESS || undefined,
      logLevel,
      tls,
      serviceName,
      namespace,
      shutdownGraceMs: graceSeconds * 1000,
    },
  };
}
