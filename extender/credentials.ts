// The extender's serving certificate: a fresh CA and leaf for one process (development, tests), or a
// Secret that every replica mounts so the second scheduler can trust one CA (`tls-secret`).
import type { V1Secret } from '@kubernetes/client-node';
import { createCertificateAuthority, issueCertificate, type KeyPairPem } from '../runtime/tls.ts';

export interface ServingCredentials {
  /** The CA the scheduler's `tlsConfig.caData` (base64 of this PEM) or `caFile` must name. */
  caPem: string;
  serving: KeyPairPem;
}

export function selfSignedCredentials(hosts: string[], now: Date): ServingCredentials {
  const ca = createCertificateAuthority({ commonName: 'aci-burst-extender-ca', now });
  const [commonName = 'aci-burst-extender'] = hosts.filter((host) => host.endsWith('.svc'));
  return { caPem: ca.certPem, serving: issueCertificate(ca, { commonName, hosts, now }, 'server') };
}

/** The TLS Secret the extender Deployment mounts and whose `ca.crt` the second scheduler reads. */
export function tlsSecret(name: string, namespace: string, credentials: ServingCredentials): V1Secret {
  const base64 = (pem: string): string => Buffer.from(pem).toString('base64');
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/part-of': 'aci-burst' } },
    data: {
      'ca.crt': base64(credentials.caPem),
      'tls.crt': base64(credentials.serving.certPem),
      'tls.key': base64(credentials.serving.keyPem),
    },
  };
}
