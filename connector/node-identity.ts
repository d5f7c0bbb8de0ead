// The connector's Kubernetes identity for everything its node does: user `system:node:<node>` in group
// `system:nodes`, obtained the way a kubelet bootstraps. A key is made in this process, a CSR for the
// `kubernetes.io/kube-apiserver-client-kubelet` signer is created with the bootstrap credential (the
// connector's ServiceAccount), kube-controller-manager's csrapproving controller approves it because
// that credential may create `certificatesigningrequests/nodeclient`, and its csrsigning controller
// signs it with the cluster CA. The API server's Node authorizer and NodeRestriction admission then
// confine the certificate to this node, the pods bound to it and what those pods reference. The
// certificate is short-lived and renewed well before it expires; the key never leaves the process.
import { X509Certificate } from 'node:crypto';
import {
  CertificatesV1Api,
  KubeConfig,
  type Cluster,
  type V1CertificateSigningRequest,
} from '@kubernetes/client-node';
import { ClassifiedError, classifyKubernetesError } from '../runtime/errors.ts';
import { unlessKind } from '../runtime/kubernetes-calls.ts';
import type { Logger } from '../runtime/logger.ts';
import { createCertificateSigningRequest } from '../runtime/tls.ts';
import type { Clock } from '../runtime/clock.ts';
import type { Lifecycle } from '../runtime/lifecycle.ts';

/** The signer whose certificates the Node authorizer recognises as a kubelet's client certificate. */
export const KUBELET_CLIENT_SIGNER = 'kubernetes.io/kube-apiserver-client-kubelet';
export const NODES_GROUP = 'system:nodes';
/** What the connector asks for; the signer may shorten it (--cluster-signing-duration), never lengthen it. */
export const NODE_CERTIFICATE_SECONDS = 86_400;
/** The usages the csrapproving controller accepts for an RSA key (pkg/apis/certificates IsKubeletClientCSR). */
const USAGES = ['digital signature', 'key encipherment', 'client auth'];

export function nodeUserName(nodeName: string): string {
  return `system:node:${nodeName}`;
}

/** The CSR API as the bootstrap credential sees it. Errors are ClassifiedErrors. */
export interface CsrApi {
  /** Creates the request; returns the name the API server gave it. */
  create(csr: V1CertificateSigningRequest): Promise<string>;
  /** The request as it stands; undefined when it was deleted. */
  read(name: string): Promise<V1CertificateSigningRequest | undefined>;
}

export interface NodeCredential {
  certPem: string;
  keyPem: string;
  notBefore: number;
  notAfter: number;
  /** The CertificateSigningRequest it came from, for logs and for an operator to look at. */
  requestName: string;
}

/** The CertificateSigningRequest object for a PEM request. */
export function nodeCsrObject(nodeName: string, csrPem: string): V1CertificateSigningRequest {
  return {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'CertificateSigningRequest',
    metadata: {
      generateName: `aci-burst-${nodeName}-`.slice(0, 200),
      labels: { 'app.kubernetes.io/part-of': 'aci-burst', 'app.kubernetes.io/name': 'aci-burst-connector' },
    },
    spec: {
      // The API type is a byte array, which travels as base64.
      request: Buffer.from(csrPem, 'utf8').toString('base64'),
      signerName: KUBELET_CLIENT_SIGNER,
      usages: USAGES,
      expirationSeconds: NODE_CERTIFICATE_SECONDS,
    },
  };
}

export type CsrOutcome =
  { state: 'issued'; certPem: string } | { state: 'pending' } | { state: 'refused'; message: string };

/** Where a request stands: issued (approved and signed), refused (denied or failed), or pending. */
export function csrOutcome(csr: V1CertificateSigningRequest): CsrOutcome {
  const conditions = csr.status?.conditions ?? [];
  const refusal = conditions.find(
    (condition) =>
      (condition.type === 'Denied' || condition.type === 'Failed') && condition.status !== 'False',
  );
  if (refusal !== undefined) {
    return {
      state: 'refused',
      message: `${refusal.type}: ${refusal.reason ?? ''} ${refusal.message ?? ''}`.trim(),
    };
  }
  const certificate = csr.status?.certificate;
  if (certificate) return { state: 'issued', certPem: Buffer.from(certificate, 'base64').toString('utf8') };
  return { state: 'pending' };
}

export interface RequestOptions {
  api: CsrApi;
  nodeName: string;
  clock: Clock;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  signal: AbortSignal;
  /** How long to wait for approval and signing before giving up. */
  timeoutMs: number;
  pollMs: number;
}

/** One CSR round: a new key, the request, and the signed certificate once the controller-manager issued it. */
export async function requestNodeCredential(options: RequestOptions): Promise<NodeCredential> {
  const { api, nodeName, clock } = options;
  const { csrPem, keyPem } = createCertificateSigningRequest({
    commonName: nodeUserName(nodeName),
    organizations: [NODES_GROUP],
  });
  const requestName = await api.create(nodeCsrObject(nodeName, csrPem));
  const deadline = clock.now() + options.timeoutMs;
  for (;;) {
    const csr = await api.read(requestName);
    if (csr === undefined) {
      throw new ClassifiedError(
        'Transient',
        `CertificateSigningRequest ${requestName} was deleted before it was signed`,
      );
    }
    const outcome = csrOutcome(csr);
    if (outcome.state === 'issued') {
      const certificate = new X509Certificate(outcome.certPem);
      return {
        certPem: outcome.certPem,
        keyPem,
        notBefore: Date.parse(certificate.validFrom),
        notAfter: Date.parse(certificate.validTo),
        requestName,
      };
    }
    if (outcome.state === 'refused') {
      throw new ClassifiedError(
        'Unauthorized',
        `CertificateSigningRequest ${requestName} for ${nodeUserName(nodeName)} was refused (${outcome.message})`,
      );
    }
    if (clock.now() >= deadline) {
      throw new ClassifiedError(
        'Unauthorized',
        `CertificateSigningRequest ${requestName} for ${nodeUserName(nodeName)} was not signed within ` +
          `${Math.round(options.timeoutMs / 1000)} s: the connector's ServiceAccount needs create on ` +
          'certificatesigningrequests/nodeclient for the controller-manager to approve it ' +
          `(or approve it by hand: kubectl certificate approve ${requestName}), and the controller-manager ` +
          'must sign kubernetes.io/kube-apiserver-client-kubelet requests',
      );
    }
    await options.sleep(options.pollMs, options.signal);
    if (aborted(options.signal)) {
      throw new ClassifiedError('Transient', `stopped while CertificateSigningRequest ${requestName} waited`);
    }
  }
}

/**
 * When to renew, as a kubelet does: at a random point between 70 % and 90 % of the certificate's life,
 * so a renewal has time to be retried and several connectors do not renew at once.
 */
export function renewalAt(
  credential: Pick<NodeCredential, 'notBefore' | 'notAfter'>,
  random: number,
): number {
  const lifetime = credential.notAfter - credential.notBefore;
  return Math.round(credential.notBefore + lifetime * (0.7 + 0.2 * random));
}

/** How long to wait after a failed renewal before the next try. */
const RENEW_RETRY_MS = 30_000;

export interface NodeIdentityOptions extends Omit<RequestOptions, 'signal'> {
  /** The API server and its CA, as the bootstrap credential reaches them. */
  cluster: Cluster;
  logger: Logger;
  random: () => number;
}

/**
 * The node's credential, kept current: `kubeConfig` is handed to every client that acts as the node,
 * and a renewal swaps the certificate inside it, so those clients use the new one from their next request.
 */
export class NodeIdentity implements Lifecycle {
  readonly kubeConfig = new KubeConfig();
  private readonly options: NodeIdentityOptions;
  private credential: NodeCredential | undefined;
  private renewals = 0;
  private renewing: Promise<void> = Promise.resolve();

  constructor(options: NodeIdentityOptions) {
    this.options = options;
  }

  /** The certificate in use (after start()). */
  get current(): NodeCredential | undefined {
    return this.credential;
  }

  /**
   * Obtains the first certificate (the connector cannot act as its node before it has one), then
   * renews it in the background until `signal` aborts.
   */
  async start(signal: AbortSignal): Promise<void> {
    this.use(await requestNodeCredential({ ...this.options, signal }));
    this.renewing = this.keepRenewed(signal);
  }

  /** Settles once renewing stopped. */
  get done(): Promise<void> {
    return this.renewing;
  }

  /** Renews before each expiry until `signal` aborts; a failed renewal is retried while the current one lasts. */
  private async keepRenewed(signal: AbortSignal): Promise<void> {
    const { clock, sleep } = this.options;
    for (
      let current = this.credential;
      current !== undefined && !aborted(signal);
      current = this.credential
    ) {
      await sleep(Math.max(0, renewalAt(current, this.options.random()) - clock.now()), signal);
      await this.renew(current, signal);
    }
  }

  private async renew(current: NodeCredential, signal: AbortSignal): Promise<void> {
    while (!aborted(signal)) {
      try {
        this.use(await requestNodeCredential({ ...this.options, signal }));
        return;
      } catch (error) {
        if (aborted(signal)) return;
        this.options.logger.error(
          { err: classifyKubernetesError(error), expires: new Date(current.notAfter).toISOString() },
          'renewing the node certificate failed; retrying while the current one lasts',
        );
        await this.options.sleep(RENEW_RETRY_MS, signal);
      }
    }
  }

  private use(credential: NodeCredential): void {
    const { cluster, nodeName, logger } = this.options;
    this.credential = credential;
    this.renewals += 1;
    // A new user name per certificate: client-node caches connection agents by cluster and user name.
    this.kubeConfig.loadFromClusterAndUser(cluster, {
      name: `${nodeUserName(nodeName)}#${this.renewals}`,
      certData: Buffer.from(credential.certPem).toString('base64'),
      keyData: Buffer.from(credential.keyPem).toString('base64'),
    });
    logger.info(
      {
        user: nodeUserName(nodeName),
        request: credential.requestName,
        expires: new Date(credential.notAfter).toISOString(),
      },
      'acting as the node with a certificate from the certificates API',
    );
  }
}

/** The CSR API over client-node, with the bootstrap credential. */
export function kubeCsrApi(bootstrap: KubeConfig): CsrApi {
  const certificates = bootstrap.makeApiClient(CertificatesV1Api);
  return {
    create: async (body) => {
      try {
        const created = await certificates.createCertificateSigningRequest({ body });
        return created.metadata?.name ?? '';
      } catch (error) {
        throw classifyKubernetesError(error);
      }
    },
    read: (name) => unlessKind(certificates.readCertificateSigningRequest({ name }), 'NotFound'),
  };
}

/** Read through a call: the signal changes while this code awaits. */
function aborted(signal: AbortSignal): boolean {
  return signal.aborted;
}
