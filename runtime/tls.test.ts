import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { createCertificateAuthority, issueCertificate, serialNumber } from './tls.ts';

describe('serialNumber', () => {
  const table: [string, string][] = [
    // first byte -> what it becomes: positive, never zero, so DER needs no padding byte
    ['00', '01'],
    ['19', '19'],
    ['80', '01'],
    ['ff', '7f'],
  ];
  for (const [first, expected] of table) {
    it(`a random first byte 0x${first} becomes 0x${expected}`, () => {
      const random = Buffer.from(`${first}${'ab'.repeat(15)}`, 'hex');
      assert.equal(serialNumber(random).slice(0, 2), expected);
    });
  }
});

describe('certificates', () => {
  it('issues serving certificates Node (OpenSSL 3) parses, with the SANs asked for', () => {
    const ca = createCertificateAuthority({ commonName: 'test-ca', now: new Date() });
    // Enough certificates that a serial with a bad leading byte would very likely have appeared.
    for (let i = 0; i < 40; i += 1) {
      const leaf = issueCertificate(
        ca,
        { commonName: 'svc', hosts: ['127.0.0.1', 'svc.ns.svc'], now: new Date() },
        'server',
      );
      const parsed = new X509Certificate(leaf.certPem);
      assert.ok(parsed.verify(new X509Certificate(ca.certPem).publicKey));
      assert.equal(parsed.subjectAltName, 'IP Address:127.0.0.1, DNS:svc.ns.svc');
    }
  });
});
