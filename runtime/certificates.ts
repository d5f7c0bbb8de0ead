// A serving certificate for a component the API server or kube-scheduler calls (the webhook, the
// extender). Either mounted from elsewhere (cert-manager writes the files), or kept in one Secret that
// every replica reads, so all replicas serve the same chain and clients trust one CA. The CA lives ten
// years and signs one-year serving certificates, so a renewal normally changes only the serving
// certificate, not the CA clients were given. A component whose caller must prove who it is (the
// extender's scheduler) gets a client certificate from the same CA in the same Secret.
import type { CoreV1Api, V1Secret } from '@kubernetes/client-node';
import forge from 'node-forge';
import type { Clock, Timers } from './clock.ts';
import { ClassifiedError } from './errors.ts';
import type { Logger } from './logger.ts';
import { unlessKind } from './kubernetes-calls.ts';
import { certificateExpiry, createCertificateAuthority, issueCertificate } from './tls.ts';

export interface CertificateChain {
  caCertPem: string;
  caKeyPem: string;
  certPem: string;
  keyPem: string;
  /** The caller's client certificate, signed by the same CA, when the policy names one. */
  client?: { certPem: string; keyPem: string };
}

/** What the HTTPS server presents, and the CA the API server must trust (unknown for mounted files). */
export interface ServingIdentity {
  certPem: string;
  keyPem: string;
  caPem: string | undefined;
}

export interface CertificatePolicy {
  commonName: string;
  /** DNS names and IPs the serving certificate must cover. */
  hosts: string[];
  /** Renew when less than this is left. */
  renewBeforeMs: number;
  caValidDays: number;
  servingValidDays: number;
  /** The common name of a client certificate to keep beside the serving one (same CA and life). */
  clientCommonName?: string;
}

/** The lifetimes the header describes, for every component that keeps its chain in a Secret. */
export const CHAIN_VALIDITY = { caValidDays: 3650, servingValidDays: 365 } as const;

export type ChainStatus = 'valid' | 'reissue-serving' | 'new-chain';

const DAY_MS = 86_400_000;

/** What must happen to a stored chain at `now`; a chain that does not parse is replaced. */
export function chainStatus(chain: CertificateChain, policy: CertificatePolicy, now: Date): ChainStatus {
  let ca: forge.pki.Certificate;
  try {
    ca = forge.pki.certificateFromPem(chain.caCertPem);
    forge.pki.privateKeyFromPem(chain.caKeyPem);
  } catch {
    return 'new-chain';
  }
  // The CA must outlive any serving certificate it signs from now on.
  const caNeeded = now.getTime() + policy.servingValidDays * DAY_MS + policy.renewBeforeMs;
  if (ca.validity.notAfter.getTime() < caNeeded) return 'new-chain';
  let serving: forge.pki.Certificate;
  try {
    serving = forge.pki.certificateFromPem(chain.certPem);
    forge.pki.privateKeyFromPem(chain.keyPem);
    if (!ca.verify(serving)) return 'reissue-serving';
  } catch {
    return 'reissue-serving';
  }
  if (serving.validity.notAfter.getTime() - now.getTime() < policy.renewBeforeMs) return 'reissue-serving';
  const covered = new Set(certificateHosts(serving));
  if (!policy.hosts.every((host) => covered.has(host))) return 'reissue-serving';
  return clientValid(chain, ca, policy, now) ? 'valid' : 'reissue-serving';
}

/** The client certificate the policy asks for is there, signed by the CA, for that name, and not due. */
function clientValid(
  chain: CertificateChain,
  ca: forge.pki.Certificate,
  policy: CertificatePolicy,
  now: Date,
): boolean {
  if (policy.clientCommonName === undefined) return true;
  if (chain.client === undefined) return false;
  try {
    const client = forge.pki.certificateFromPem(chain.client.certPem);
    forge.pki.privateKeyFromPem(chain.client.keyPem);
    const name = (client.subject.getField('CN') as { value?: unknown } | null)?.value;
    return (
      ca.verify(client) &&
      name === policy.clientCommonName &&
      client.validity.notAfter.getTime() - now.getTime() >= policy.renewBeforeMs
    );
  } catch {
    return false;
  }
}

/** The DNS names and IP addresses in a certificate's subjectAltName. */
export function certificateHosts(certificate: forge.pki.Certificate): string[] {
  const extension: { altNames?: { type: number; value?: string; ip?: string }[] } | undefined =
    certificate.getExtension('subjectAltName');
  return (extension?.altNames ?? []).flatMap((name) => {
    if (name.type === 7 && name.ip !== undefined) return [name.ip];
    if (name.type === 2 && name.value !== undefined) return [name.value];
    return [];
  });
}

/** A chain that passes `chainStatus`: the old CA kept when only the serving certificate must change. */
export function renewChain(
  current: CertificateChain | undefined,
  status: Exclude<ChainStatus, 'valid'>,
  policy: CertificatePolicy,
  now: Date,
): CertificateChain {
  const ca =
    current !== undefined && status === 'reissue-serving'
      ? { certPem: current.caCertPem, keyPem: current.caKeyPem }
      : createCertificateAuthority({
          commonName: `${policy.commonName}-ca`,
          validDays: policy.caValidDays,
          now,
        });
  const serving = issueCertificate(
    ca,
    { commonName: policy.commonName, hosts: policy.hosts, validDays: policy.servingValidDays, now },
    'server',
  );
  const client =
    policy.clientCommonName === undefined
      ? undefined
      : issueCertificate(
          ca,
          { commonName: policy.clientCommonName, validDays: policy.servingValidDays, now },
          'client',
        );
  return {
    caCertPem: ca.certPem,
    caKeyPem: ca.keyPem,
    certPem: serving.certPem,
    keyPem: serving.keyPem,
    ...(client !== undefined && { client }),
  };
}

/** Where the chain is shared between replicas. `version` is the optimistic-concurrency token. */
export interface ChainStore {
  read(): Promise<{ chain: CertificateChain; version: string } | undefined>;
  /** `false` when another replica created it first. */
  create(chain: CertificateChain): Promise<boolean>;
  /** `false` when someone else replaced it since `version` was read. */
  replace(chain: CertificateChain, version: string): Promise<boolean>;
}

const MAX_STORE_ATTEMPTS = 5;

/**
 * Get-or-create: reuse the stored chain while valid, else renew it. Replicas starting together race to
 * create or replace; the loser re-reads and uses the winner's chain, so they all end up serving one.
 */
export async function obtainChain(
  store: ChainStore,
  policy: CertificatePolicy,
  now: () => Date,
): Promise<CertificateChain> {
  for (let attempt = 0; attempt < MAX_STORE_ATTEMPTS; attempt++) {
    const stored = await store.read();
    if (stored === undefined) {
      const chain = renewChain(undefined, 'new-chain', policy, now());
      if (await store.create(chain)) return chain;
      continue;
    }
    const status = chainStatus(stored.chain, policy, now());
    if (status === 'valid') return stored.chain;
    const chain = renewChain(stored.chain, status, policy, now());
    if (await store.replace(chain, stored.version)) return chain;
  }
  throw new ClassifiedError(
    'Conflict',
    `the certificate Secret kept changing during ${MAX_STORE_ATTEMPTS} attempts`,
  );
}

const SECRET_KEYS = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  cert: 'tls.crt',
  key: 'tls.key',
  clientCert: 'client.crt',
  clientKey: 'client.key',
} as const;

/**
 * The chain in a `kubernetes.io/tls` Secret (plus `ca.crt` and `ca.key`, and `client.crt` and
 * `client.key` when there is a client certificate), labelled as its owner's.
 */
export function secretChainStore(
  core: CoreV1Api,
  namespace: string,
  name: string,
  labels: Record<string, string>,
): ChainStore {
  const body = (chain: CertificateChain, resourceVersion?: string): V1Secret => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace,
      labels,
      ...(resourceVersion && { resourceVersion }),
    },
    type: 'kubernetes.io/tls',
    data: {
      [SECRET_KEYS.caCert]: base64(chain.caCertPem),
      [SECRET_KEYS.caKey]: base64(chain.caKeyPem),
      [SECRET_KEYS.cert]: base64(chain.certPem),
      [SECRET_KEYS.key]: base64(chain.keyPem),
      ...(chain.client !== undefined && {
        [SECRET_KEYS.clientCert]: base64(chain.client.certPem),
        [SECRET_KEYS.clientKey]: base64(chain.client.keyPem),
      }),
    },
  });
  return {
    read: async () => {
      const secret = await unlessKind(core.readNamespacedSecret({ namespace, name }), 'NotFound');
      if (secret === undefined) return undefined;
      const data = secret.data ?? {};
      const text = (key: string): string => Buffer.from(data[key] ?? '', 'base64').toString('utf8');
      const client = { certPem: text(SECRET_KEYS.clientCert), keyPem: text(SECRET_KEYS.clientKey) };
      return {
        chain: {
          caCertPem: text(SECRET_KEYS.caCert),
          caKeyPem: text(SECRET_KEYS.caKey),
          certPem: text(SECRET_KEYS.cert),
          keyPem: text(SECRET_KEYS.key),
          ...(client.certPem !== '' && { client }),
        },
        version: secret.metadata?.resourceVersion ?? '',
      };
    },
    create: async (chain) =>
      (await unlessKind(core.createNamespacedSecret({ namespace, body: body(chain) }), 'Conflict')) !==
      undefined,
    replace: async (chain, version) =>
      (await unlessKind(
        core.replaceNamespacedSecret({ namespace, name, body: body(chain, version) }),
        'Conflict',
      )) !== undefined,
  };
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

export type CertificateSource = () => Promise<ServingIdentity>;

export function secretCertificateSource(
  store: ChainStore,
  policy: CertificatePolicy,
  now: () => Date,
): CertificateSource {
  return async () => {
    const chain = await obtainChain(store, policy, now);
    return { certPem: chain.certPem, keyPem: chain.keyPem, caPem: chain.caCertPem };
  };
}

/**
 * The names an in-cluster client may dial a Service by, from its own namespace or any other: a serving
 * certificate behind the Service covers all of them.
 */
export function serviceHosts(serviceName: string, namespace: string): string[] {
  return [
    serviceName,
    `${serviceName}.${namespace}`,
    `${serviceName}.${namespace}.svc`,
    `${serviceName}.${namespace}.svc.cluster.local`,
  ];
}

/**
 * The serving chain of an in-cluster component behind the Service `serviceName`, kept in the Secret
 * `secretName` of its namespace and shared by its replicas (the webhook's and the extender's).
 */
export function serviceCertificateSource(
  core: CoreV1Api,
  service: {
    component: string;
    namespace: string;
    serviceName: string;
    secretName: string;
    hosts: string[];
    /** A client certificate for this service's caller, kept in the same Secret. */
    clientCommonName?: string;
  },
  renewBeforeMs: number,
  clock: Clock,
): CertificateSource {
  const store = secretChainStore(core, service.namespace, service.secretName, {
    'app.kubernetes.io/name': service.component,
    'app.kubernetes.io/part-of': 'aci-burst',
  });
  const policy = {
    commonName: `${service.serviceName}.${service.namespace}.svc`,
    hosts: service.hosts,
    renewBeforeMs,
    ...CHAIN_VALIDITY,
    ...(service.clientCommonName !== undefined && { clientCommonName: service.clientCommonName }),
  };
  return secretCertificateSource(store, policy, () => new Date(clock.now()));
}

/** Files written by cert-manager (or a person); re-read on every refresh because they rotate in place. */
export function fileCertificateSource(
  files: { certFile: string; keyFile: string },
  readFile: (path: string) => Promise<string>,
): CertificateSource {
  return async () => ({
    certPem: await readFile(files.certFile),
    keyPem: await readFile(files.keyFile),
    caPem: undefined,
  });
}

export interface CertificateRefresh {
  source: CertificateSource;
  /** The identity being served now. */
  current: ServingIdentity;
  /** Called every interval with the latest identity: it must be idempotent (swap context, publish CA). */
  apply: (identity: ServingIdentity) => Promise<void>;
  intervalMs: number;
  signal: AbortSignal;
  logger: Logger;
  timers: Timers;
}

/**
 * Re-reads the identity every `intervalMs` until `signal` aborts and applies it: a renewal by this or
 * another replica, rotated files, or a MutatingWebhookConfiguration applied after the webhook started
 * all converge within one interval. A failed refresh is logged and retried on the next tick while the
 * current certificate keeps working.
 */
export function watchCertificate(refresh: CertificateRefresh): void {
  let current = refresh.current;
  const tick = async (): Promise<void> => {
    const next = await refresh.source();
    if (!sameIdentity(next, current)) {
      refresh.logger.info(
        { expires: certificateExpiry(next.certPem).toISOString() },
        'serving certificate renewed',
      );
    }
    await refresh.apply(next);
    current = next;
  };
  const stop = refresh.timers.every(refresh.intervalMs, () => {
    tick().catch((error: unknown) => {
      refresh.logger.error({ err: error }, 'certificate refresh failed; keeping the current certificate');
    });
  });
  refresh.signal.addEventListener('abort', stop);
}

function sameIdentity(a: ServingIdentity, b: ServingIdentity): boolean {
  return a.certPem === b.certPem && a.keyPem === b.keyPem && a.caPem === b.caPem;
}
