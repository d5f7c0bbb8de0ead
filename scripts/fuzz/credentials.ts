// One CA for the fuzz run: the servers' certificate (127.0.0.1 and localhost) and the client
// certificate the kubelet API demands, as the API server would present it.
import { createCertificateAuthority, issueCertificate, type KeyPairPem } from '../../runtime/tls.ts';

export interface ServingCredentials {
  caPem: string;
  serving: KeyPairPem;
  /** The API server's kubelet client certificate. */
  client: KeyPairPem;
}

export function fuzzCredentials(): ServingCredentials {
  const ca = createCertificateAuthority({ commonName: 'aci-burst-fuzz-ca', now: new Date() });
  return {
    caPem: ca.certPem,
    serving: issueCertificate(
      ca,
      { commonName: 'fuzz', hosts: ['127.0.0.1', 'localhost'], now: new Date() },
      'server',
    ),
    client: issueCertificate(
      ca,
      { commonName: 'kube-apiserver-kubelet-client', organizations: ['kubelet-api-admin'], now: new Date() },
      'client',
    ),
  };
}
