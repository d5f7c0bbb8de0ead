// The extender's self-signed serving certificate: a fresh CA and leaf for one process (development,
// tests, the demo). In a cluster the Deployment keeps a shared chain in a Secret (runtime/certificates.ts).
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
