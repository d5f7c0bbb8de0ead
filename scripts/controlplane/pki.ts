// The cluster's certificates, all from runtime/tls.ts: one CA, the apiserver's serving certificate,
// a client certificate per component (RBAC's bootstrap roles match their common names), the client
// certificates the apiserver presents to kubelets and to admission webhooks, and the service-account
// signing key.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificateAuthority, issueCertificate, type KeyPairPem } from '../../runtime/tls.ts';

/** The names a client inside or outside the cluster may use for the apiserver. */
export const APISERVER_HOSTS = [
  '127.0.0.1',
  '10.0.0.1',
  'localhost',
  'kubernetes',
  'kubernetes.default',
  'kubernetes.default.svc',
  'kubernetes.default.svc.cluster.local',
];

export const FRONT_PROXY_CLIENT = 'front-proxy-client';
/** The common name of the certificate the apiserver presents to admission webhooks. */
export const WEBHOOK_CLIENT = 'kube-apiserver-webhook-client';

export interface ClusterPki {
  ca: KeyPairPem;
  apiserver: KeyPairPem;
  admin: KeyPairPem;
  controllerManager: KeyPairPem;
  scheduler: KeyPairPem;
  /** What the apiserver presents to a kubelet (logs, exec); signed by `ca`. */
  kubeletClient: KeyPairPem;
  /** What the apiserver presents to every admission webhook (a webhook with CLIENT_CA_FILE checks it). */
  webhookClient: KeyPairPem;
  /** Signs service-account tokens; the certificate carries the public key the apiserver verifies with. */
  serviceAccount: KeyPairPem;
  /**
   * The request-header (front-proxy) CA and the client the apiserver proxies aggregated APIs with:
   * without them the controller-manager and scheduler log an error about the missing CA every second.
   */
  frontProxyCa: KeyPairPem;
  frontProxyClient: KeyPairPem;
}

export function createClusterPki(now: Date): ClusterPki {
  const ca = createCertificateAuthority({ commonName: 'aci-burst-local-ca', validDays: 30, now });
  const frontProxyCa = createCertificateAuthority({
    commonName: 'aci-burst-front-proxy-ca',
    validDays: 30,
    now,
  });
  const client = (commonName: string, organizations: string[] = []): KeyPairPem =>
    issueCertificate(ca, { commonName, organizations, validDays: 30, now }, 'client');
  return {
    ca,
    apiserver: issueCertificate(
      ca,
      { commonName: 'kube-apiserver', hosts: APISERVER_HOSTS, validDays: 30, now },
      'server',
    ),
    admin: client('aci-burst-admin', ['system:masters']),
    controllerManager: client('system:kube-controller-manager'),
    scheduler: client('system:kube-scheduler'),
    kubeletClient: client('kube-apiserver-kubelet-client', ['system:masters']),
    webhookClient: client(WEBHOOK_CLIENT),
    serviceAccount: issueCertificate(ca, { commonName: 'service-accounts', validDays: 30, now }, 'client'),
    frontProxyCa,
    frontProxyClient: issueCertificate(
      frontProxyCa,
      { commonName: FRONT_PROXY_CLIENT, validDays: 30, now },
      'client',
    ),
  };
}

export interface PkiFiles {
  caCert: string;
  caKey: string;
  apiserverCert: string;
  apiserverKey: string;
  kubeletClientCert: string;
  kubeletClientKey: string;
  serviceAccountCert: string;
  serviceAccountKey: string;
  frontProxyCaCert: string;
  frontProxyClientCert: string;
  frontProxyClientKey: string;
  /** --admission-control-config-file: the webhook client certificate, for every webhook host. */
  admissionControlConfig: string;
}

/** Writes the files the binaries read by path (keys 0600); client certificates go into kubeconfigs. */
export function writePki(dir: string, pki: ClusterPki): PkiFiles {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const write = (name: string, content: string): string => {
    const path = join(dir, name);
    writeFileSync(path, content, { mode: name.endsWith('.key') ? 0o600 : 0o644 });
    return path;
  };
  return {
    caCert: write('ca.crt', pki.ca.certPem),
    caKey: write('ca.key', pki.ca.keyPem),
    apiserverCert: write('apiserver.crt', pki.apiserver.certPem),
    apiserverKey: write('apiserver.key', pki.apiserver.keyPem),
    kubeletClientCert: write('apiserver-kubelet-client.crt', pki.kubeletClient.certPem),
    kubeletClientKey: write('apiserver-kubelet-client.key', pki.kubeletClient.keyPem),
    serviceAccountCert: write('sa.crt', pki.serviceAccount.certPem),
    serviceAccountKey: write('sa.key', pki.serviceAccount.keyPem),
    frontProxyCaCert: write('front-proxy-ca.crt', pki.frontProxyCa.certPem),
    frontProxyClientCert: write('front-proxy-client.crt', pki.frontProxyClient.certPem),
    frontProxyClientKey: write('front-proxy-client.key', pki.frontProxyClient.keyPem),
    admissionControlConfig: write(
      'admission-control.json',
      admissionControlConfiguration(
        write(
          'webhook-client.kubeconfig',
          webhookClientKubeconfig(
            write('webhook-client.crt', pki.webhookClient.certPem),
            write('webhook-client.key', pki.webhookClient.keyPem),
          ),
        ),
      ),
    ),
  };
}

/**
 * The apiserver's admission configuration: both webhook admission plugins authenticate to webhooks
 * with the users of `kubeconfigPath` (matched by the webhook's host; `*` is every host).
 */
export function admissionControlConfiguration(kubeconfigPath: string): string {
  const webhooks = {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'WebhookAdmissionConfiguration',
    kubeConfigFile: kubeconfigPath,
  };
  const config = {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AdmissionConfiguration',
    plugins: [
      { name: 'ValidatingAdmissionWebhook', configuration: webhooks },
      { name: 'MutatingAdmissionWebhook', configuration: webhooks },
    ],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** The kubeconfig it names: user `*`, so every webhook is presented the same client certificate. */
export function webhookClientKubeconfig(certPath: string, keyPath: string): string {
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    users: [{ name: '*', user: { 'client-certificate': certPath, 'client-key': keyPath } }],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** A kubeconfig (JSON is valid YAML, and every Kubernetes client reads it) with embedded credentials. */
export function renderKubeconfig(options: {
  server: string;
  caPem: string;
  user: string;
  client: KeyPairPem;
}): string {
  const base64 = (pem: string): string => Buffer.from(pem, 'utf8').toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'aci-burst-local',
        cluster: { server: options.server, 'certificate-authority-data': base64(options.caPem) },
      },
    ],
    users: [
      {
        name: options.user,
        user: {
          'client-certificate-data': base64(options.client.certPem),
          'client-key-data': base64(options.client.keyPem),
        },
      },
    ],
    contexts: [{ name: 'aci-burst-local', context: { cluster: 'aci-burst-local', user: options.user } }],
    'current-context': 'aci-burst-local',
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}
