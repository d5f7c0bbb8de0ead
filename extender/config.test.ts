import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readConfig, certificateHosts } from './config.ts';

describe('readConfig', () => {
  it('defaults to port 8443 with a self-signed certificate for the Service', () => {
    const result = readConfig({});
    assert.equal(result.ok, true);
    assert.deepEqual(result.config, {
      port: 8443,
      clientAuth: { kind: 'none' },
      bindAddress: undefined,
      logLevel: 'info',
      tls: { kind: 'self-signed', hosts: certificateHosts('aci-burst-extender', 'aci-burst-system') },
      certificateRefreshMs: 3_600_000,
      renewBeforeMs: 30 * 86_400_000,
      serviceName: 'aci-burst-extender',
      namespace: 'aci-burst-system',
      shutdownGraceMs: 10_000,
    });
  });

  it('reads every setting', () => {
    const result = readConfig({
      PORT: '0',
      BIND_ADDRESS: '127.0.0.1',
      LOG_LEVEL: 'debug',
      TLS_CERT_FILE: '/tls/tls.crt',
      TLS_KEY_FILE: '/tls/tls.key',
      SERVICE_NAME: 'burst',
      POD_NAMESPACE: 'infra',
      SHUTDOWN_GRACE_SECONDS: '3',
      CERT_REFRESH_SECONDS: '60',
      CERT_RENEW_BEFORE_DAYS: '7',
    });
    assert.equal(result.ok, true);
    assert.equal(result.config.port, 0);
    assert.equal(result.config.bindAddress, '127.0.0.1');
    assert.equal(result.config.logLevel, 'debug');
    assert.deepEqual(result.config.tls, { kind: 'files', certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' });
    assert.equal(result.config.serviceName, 'burst');
    assert.equal(result.config.shutdownGraceMs, 3000);
    assert.equal(result.config.certificateRefreshMs, 60_000);
    assert.equal(result.config.renewBeforeMs, 7 * 86_400_000);
  });

  const tlsTable: { name: string; env: Record<string, string>; tls: unknown }[] = [
    {
      name: 'no certificate settings: self-signed (tests, the demo)',
      env: {},
      tls: { kind: 'self-signed', hosts: certificateHosts('aci-burst-extender', 'aci-burst-system') },
    },
    {
      name: 'TLS_SECRET_NAME: the shared Secret, named for the Service in POD_NAMESPACE (the Deployment)',
      env: { TLS_SECRET_NAME: 'aci-burst-extender-tls', POD_NAMESPACE: 'infra' },
      tls: {
        kind: 'secret',
        secretName: 'aci-burst-extender-tls',
        hosts: certificateHosts('aci-burst-extender', 'infra'),
      },
    },
    {
      name: 'mounted files win over TLS_SECRET_NAME (cert-manager)',
      env: {
        TLS_SECRET_NAME: 'aci-burst-extender-tls',
        TLS_CERT_FILE: '/t/tls.crt',
        TLS_KEY_FILE: '/t/tls.key',
      },
      tls: { kind: 'files', certFile: '/t/tls.crt', keyFile: '/t/tls.key' },
    },
  ];
  for (const { name, env, tls } of tlsTable) {
    it(`selects the certificate: ${name}`, () => {
      const result = readConfig(env);
      assert.equal(result.ok, true, JSON.stringify(result));
      assert.deepEqual(result.config.tls, tls);
    });
  }

  it('refuses a TLS_SECRET_NAME that cannot name a Secret and a renewal window past the certificate life', () => {
    const result = readConfig({ TLS_SECRET_NAME: 'Extender_TLS', CERT_RENEW_BEFORE_DAYS: '400' });
    assert.equal(result.ok, false);
    assert.equal(result.problems.length, 2);
    assert.match(
      result.problems[0] ?? '',
      /TLS_SECRET_NAME must be a Secret name \(lower-case DNS subdomain\), got "Extender_TLS"/,
    );
    assert.match(
      result.problems[1] ?? '',
      /CERT_RENEW_BEFORE_DAYS must be a whole number from 1 to 180, got "400"/,
    );
  });

  it('lists every problem at once', () => {
    const result = readConfig({
      PORT: '70000',
      LOG_LEVEL: 'loud',
      TLS_CERT_FILE: '/tls/tls.crt',
      SERVICE_NAME: 'Burst_Svc',
      SHUTDOWN_GRACE_SECONDS: 'soon',
    });
    assert.equal(result.ok, false);
    assert.equal(result.problems.length, 5);
    for (const name of ['PORT', 'LOG_LEVEL', 'TLS_KEY_FILE', 'SERVICE_NAME', 'SHUTDOWN_GRACE_SECONDS']) {
      assert.ok(
        result.problems.some((problem) => problem.includes(name)),
        `${name} in ${result.problems.join(' | ')}`,
      );
    }
  });
});

describe('certificateHosts', () => {
  const authTable: { name: string; env: Record<string, string>; expected: unknown }[] = [
    { name: 'unset: anyone who reaches the port', env: {}, expected: { kind: 'none' } },
    {
      name: 'require with the Secret: its CA, which signs the scheduler’s client certificate',
      env: { CLIENT_AUTH: 'require', TLS_SECRET_NAME: 'aci-burst-extender-tls' },
      expected: { kind: 'require', caFile: undefined },
    },
    {
      name: 'require with a CA file (cert-manager, or the demo)',
      env: { CLIENT_AUTH: 'require', CLIENT_CA_FILE: '/ca/ca.crt' },
      expected: { kind: 'require', caFile: '/ca/ca.crt' },
    },
    {
      name: 'require with neither: refused',
      env: { CLIENT_AUTH: 'require' },
      expected: /CLIENT_AUTH=require needs CLIENT_CA_FILE/,
    },
    {
      name: 'a CA file without require: refused',
      env: { CLIENT_CA_FILE: '/ca' },
      expected: /set CLIENT_AUTH=require/,
    },
    {
      name: 'an unknown mode: refused',
      env: { CLIENT_AUTH: 'optional', CLIENT_CA_FILE: '/ca' },
      expected: /CLIENT_AUTH must be one of none, require, got "optional"/,
    },
  ];
  for (const { name, env, expected } of authTable) {
    it(`client authentication: ${name}`, () => {
      const result = readConfig(env);
      if (expected instanceof RegExp) {
        assert.ok(!result.ok);
        assert.match(result.problems.join('\n'), expected);
      } else {
        assert.ok(result.ok);
        assert.deepEqual(result.config.clientAuth, expected);
      }
    });
  }

  it('names the Service every way a client may dial it, and loopback', () => {
    assert.deepEqual(certificateHosts('ext', 'ns'), [
      '127.0.0.1',
      'localhost',
      'ext',
      'ext.ns',
      'ext.ns.svc',
      'ext.ns.svc.cluster.local',
    ]);
  });
});
