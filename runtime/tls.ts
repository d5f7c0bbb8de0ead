// Certificates with node-forge: a CA, serving certificates with DNS and IP SANs, and client
// certificates. Keys come from Node's native RSA generator (forge's pure-JS one takes seconds);
// forge builds and signs the X.509 structures. SHA-256 throughout: Go clients reject SHA-1.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

export interface CertificateRequest {
  commonName: string;
  /** Subject organisations; Kubernetes reads them as groups of a client certificate. */
  organizations?: string[];
  /** DNS names and IP addresses for the subjectAltName of a serving certificate. */
  hosts?: string[];
  validDays?: number;
  /** From the caller's clock: validity starts five minutes before it. */
  now: Date;
}

const DEFAULT_VALID_DAYS = 365;

function newKeyPair(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey } {
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const forgeKey = forge.pki.privateKeyFromPem(privateKey);
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e) };
}

/**
 * A random positive serial in minimal DER: the first byte is 0x01-0x7f, so it needs no 0x00 sign
 * byte and has none to spare (OpenSSL 3 rejects a leading 0x00 before a byte below 0x80).
 */
export function serialNumber(random: Buffer = randomBytes(16)): string {
  const bytes = Buffer.from(random);
  bytes[0] = (bytes[0] ?? 0) & 0x7f || 1;
  return bytes.toString('hex');
}

function subject(
  request: Pick<CertificateRequest, 'commonName' | 'organizations'>,
): forge.pki.CertificateField[] {
  return [
    ...(request.organizations ?? []).map((value) => ({ shortName: 'O', value })),
    { shortName: 'CN', value: request.commonName },
  ];
}

function baseCertificate(request: CertificateRequest, publicKey: forge.pki.PublicKey): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serialNumber();
  const { now } = request;
  cert.validity.notBefore = new Date(now.getTime() - 5 * 60_000);
  cert.validity.notAfter = new Date(now.getTime() + (request.validDays ?? DEFAULT_VALID_DAYS) * 86_400_000);
  cert.setSubject(subject(request));
  return cert;
}

export function createCertificateAuthority(request: CertificateRequest): KeyPairPem {
  const keys = newKeyPair();
  const cert = baseCertificate(request, keys.publicKey);
  cert.setIssuer(subject(request));
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

type Usage = 'server' | 'client' | 'both';

/** Issues a leaf certificate signed by `ca`: for serving (SANs from `hosts`), client auth, or both. */
export function issueCertificate(ca: KeyPairPem, request: CertificateRequest, usage: Usage): KeyPairPem {
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const caKey = forge.pki.privateKeyFromPem(ca.keyPem);
  const keys = newKeyPair();
  const cert = baseCertificate(request, keys.publicKey);
  cert.setIssuer(caCert.subject.attributes);
  const hosts = request.hosts ?? [];
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    {
      name: 'extKeyUsage',
      serverAuth: usage !== 'client',
      clientAuth: usage !== 'server',
    },
    ...(hosts.length > 0
      ? [
          {
            name: 'subjectAltName',
            altNames: hosts.map((host) => (isIP(host) ? { type: 7, ip: host } : { type: 2, value: host })),
          },
        ]
      : []),
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { certPem: forge.pki.certificateToPem(cert), keyPem: forge.pki.privateKeyToPem(keys.privateKey) };
}

/**
 * A new key and a PKCS#10 request for a client certificate that someone else signs (the Kubernetes
 * certificates API): the key never leaves this process.
 */
export function createCertificateSigningRequest(request: { commonName: string; organizations?: string[] }): {
  csrPem: string;
  keyPem: string;
} {
  const keys = newKeyPair();
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = keys.publicKey;
  csr.setSubject(subject(request));
  csr.sign(keys.privateKey, forge.md.sha256.create());
  return {
    csrPem: forge.pki.certificationRequestToPem(csr),
    keyPem: forge.pki.privateKeyToPem(keys.privateKey),
  };
}

/** When the certificate stops being valid. */
export function certificateExpiry(certPem: string): Date {
  return forge.pki.certificateFromPem(certPem).validity.notAfter;
}
