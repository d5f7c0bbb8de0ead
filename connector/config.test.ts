import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ENVIRONMENT, parseConfig } from './config.ts';

const minimal = { AZURE_SUBSCRIPTION_ID: 'sub', ACI_RESOURCE_GROUP: 'rg' };

describe('parseConfig', () => {
  it('applies the 2017 connector’s defaults', () => {
    const parsed = parseConfig(minimal);
    assert.ok(parsed.ok);
    assert.equal(parsed.config.nodeName, 'aci-connector');
    assert.equal(parsed.config.azure.region, 'westus');
    assert.equal(parsed.config.node.kubeletPort, 10250);
    assert.equal(parsed.config.node.capacity.memoryBytes, 400 * 2 ** 30);
    assert.deepEqual(parsed.config.createLimits, [
      { limit: 100, windowMs: 300_000 },
      { limit: 300, windowMs: 3_600_000 },
    ]);
  });

  it('accepts the 2017 connector’s AZURE_CLIENT_KEY as the client secret', () => {
    const parsed = parseConfig({
      ...minimal,
      AZURE_TENANT_ID: 't',
      AZURE_CLIENT_ID: 'c',
      AZURE_CLIENT_KEY: 's',
    });
    assert.ok(parsed.ok);
    assert.equal(parsed.config.azure.clientSecret, 's');
  });

  it('prefers AZURE_CLIENT_SECRET over the legacy name', () => {
    const parsed = parseConfig({
      ...minimal,
      AZURE_TENANT_ID: 't',
      AZURE_CLIENT_ID: 'c',
      AZURE_CLIENT_SECRET: 'new',
      AZURE_CLIENT_KEY: 'old',
    });
    assert.ok(parsed.ok);
    assert.equal(parsed.config.azure.clientSecret, 'new');
  });

  it('reads the namespace allow-list, refusing names that cannot be namespaces', () => {
    const parsed = parseConfig({ ...minimal, ACI_ALLOWED_NAMESPACES: ' shop, batch ,,' });
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.config.allowedNamespaces, ['shop', 'batch']);
    const none = parseConfig(minimal);
    assert.ok(none.ok);
    assert.deepEqual(none.config.allowedNamespaces, []);
    const invalid = parseConfig({ ...minimal, ACI_ALLOWED_NAMESPACES: 'shop,Kube System' });
    assert.ok(!invalid.ok);
    assert.match(
      invalid.problems.join('\n'),
      /ACI_ALLOWED_NAMESPACES must list namespace names.*"Kube System"/,
    );
  });

  it('takes the pod IP as the node address in a cluster', () => {
    const parsed = parseConfig({ ...minimal, POD_IP: '10.244.1.7' });
    assert.ok(parsed.ok);
    assert.equal(parsed.config.node.internalIP, '10.244.1.7');
  });

  it('lists every problem at once', () => {
    const parsed = parseConfig({
      KUBELET_PORT: 'ten',
      NODE_MEMORY: 'lots',
      AZURE_CLIENT_SECRET: 's',
      AZURE_RESOURCE_MANAGER_ENDPOINT: 'not a url',
      KUBELET_TLS_CERT_FILE: '/cert.pem',
    });
    assert.equal(parsed.ok, false);
    assert.ok(!parsed.ok);
    const text = parsed.problems.join('\n');
    for (const expected of [
      'AZURE_SUBSCRIPTION_ID is required',
      'ACI_RESOURCE_GROUP is required',
      'KUBELET_PORT must be a whole number',
      'NODE_MEMORY must be a positive Kubernetes quantity',
      'needs AZURE_TENANT_ID and AZURE_CLIENT_ID',
      'AZURE_RESOURCE_MANAGER_ENDPOINT must be a URL',
      'KUBELET_TLS_CERT_FILE and KUBELET_TLS_KEY_FILE go together',
    ]) {
      assert.ok(text.includes(expected), `missing: ${expected}\n${text}`);
    }
    assert.equal(parsed.problems.length, 7);
  });

  it('documents every variable it reads', () => {
    for (const name of Object.keys(ENVIRONMENT))
      assert.ok(ENVIRONMENT[name as keyof typeof ENVIRONMENT].length > 10);
  });
});
