import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { createClusterPki, renderKubeconfig } from './pki.ts';

describe('createClusterPki', () => {
  const pki = createClusterPki(new Date('2026-11-25T12:00:00Z'));
  const ca = new X509Certificate(pki.ca.certPem);
  const frontProxyCa = new X509Certificate(pki.frontProxyCa.certPem);

  it('serves the apiserver under every name a client may dial', () => {
    const apiserver = new X509Certificate(pki.apiserver.certPem);
    assert.ok(apiserver.verify(ca.publicKey));
    for (const name of [
      'IP Address:127.0.0.1',
      'IP Address:10.0.0.1',
      'DNS:kubernetes.default.svc',
      'DNS:localhost',
    ]) {
      assert.ok(apiserver.subjectAltName?.includes(name), `${name} in ${apiserver.subjectAltName ?? ''}`);
    }
  });

  const clients = [
    { name: 'admin', subject: /O=system:masters\nCN=aci-burst-admin/ },
    { name: 'controllerManager', subject: /^CN=system:kube-controller-manager$/ },
    { name: 'scheduler', subject: /^CN=system:kube-scheduler$/ },
    { name: 'kubeletClient', subject: /CN=kube-apiserver-kubelet-client/ },
  ] as const;
  for (const { name, subject } of clients) {
    it(`issues the ${name} client certificate from the cluster CA`, () => {
      const cert = new X509Certificate(pki[name].certPem);
      assert.match(cert.subject, subject);
      assert.ok(cert.verify(ca.publicKey));
      assert.ok(!cert.verify(frontProxyCa.publicKey));
    });
  }

  it('keeps the front-proxy client under its own CA', () => {
    const client = new X509Certificate(pki.frontProxyClient.certPem);
    assert.ok(client.verify(frontProxyCa.publicKey));
    assert.ok(!client.verify(ca.publicKey));
  });
});

describe('renderKubeconfig', () => {
  it('embeds the server, CA and client credentials', () => {
    const client = { certPem: 'CERT', keyPem: 'KEY' };
    const config = JSON.parse(
      renderKubeconfig({ server: 'https://127.0.0.1:6443', caPem: 'CA', user: 'admin', client }),
    ) as Record<string, unknown>;
    assert.deepEqual(config['clusters'], [
      {
        name: 'aci-burst-local',
        cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority-data': 'Q0E=' },
      },
    ]);
    assert.deepEqual(config['users'], [
      { name: 'admin', user: { 'client-certificate-data': 'Q0VSVA==', 'client-key-data': 'S0VZ' } },
    ]);
    assert.equal(config['current-context'], 'aci-burst-local');
  });
});
