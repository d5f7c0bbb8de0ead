import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  admissionControlConfiguration,
  createClusterPki,
  renderKubeconfig,
  webhookClientKubeconfig,
} from './pki.ts';

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
    // No group: a webhook that checks it learns who calls, the certificate grants nothing in the cluster.
    { name: 'webhookClient', subject: /^CN=kube-apiserver-webhook-client$/ },
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

describe('the admission configuration', () => {
  it('has both webhook plugins present the client certificate of user * to every webhook', () => {
    const config = JSON.parse(admissionControlConfiguration('/p/webhook-client.kubeconfig')) as {
      plugins: { name: string; configuration: { kind: string; kubeConfigFile: string } }[];
    };
    assert.deepEqual(
      config.plugins.map((plugin) => [
        plugin.name,
        plugin.configuration.kind,
        plugin.configuration.kubeConfigFile,
      ]),
      [
        ['ValidatingAdmissionWebhook', 'WebhookAdmissionConfiguration', '/p/webhook-client.kubeconfig'],
        ['MutatingAdmissionWebhook', 'WebhookAdmissionConfiguration', '/p/webhook-client.kubeconfig'],
      ],
    );
    const kubeconfig = JSON.parse(webhookClientKubeconfig('/p/w.crt', '/p/w.key')) as {
      users: { name: string; user: Record<string, string> }[];
    };
    assert.deepEqual(kubeconfig.users, [
      { name: '*', user: { 'client-certificate': '/p/w.crt', 'client-key': '/p/w.key' } },
    ]);
  });
});
