import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readConfig, type WebhookConfig } from './config.ts';

function valid(env: Record<string, string>): WebhookConfig {
  const result = readConfig(env);
  assert.ok(result.ok, result.ok ? '' : result.problems.join('\n'));
  return result.config;
}

function problemsOf(env: Record<string, string>): string[] {
  const result = readConfig(env);
  return result.ok ? [] : result.problems;
}

describe('readConfig', () => {
  it('runs in the cluster with nothing set', () => {
    const config = valid({});
    assert.equal(config.port, 8443);
    assert.equal(config.url, undefined);
    assert.equal(config.schedulerName, undefined);
    assert.deepEqual(config.tls, {
      source: 'secret',
      secretName: 'aci-burst-webhook-tls',
      hosts: [
        'aci-burst-webhook',
        'aci-burst-webhook.aci-burst-system',
        'aci-burst-webhook.aci-burst-system.svc',
        'aci-burst-webhook.aci-burst-system.svc.cluster.local',
      ],
    });
  });

  it('adds the URL host and extra hosts to the certificate, once each', () => {
    const config = valid({
      WEBHOOK_URL: 'https://127.0.0.1',
      WEBHOOK_PORT: '0',
      TLS_EXTRA_HOSTS: ' 127.0.0.1, ::1 ,',
      ACI_SCHEDULER_NAME: 'aci-burst-scheduler',
      WEBHOOK_NAMESPACE: 'aci-test',
    });
    assert.equal(config.port, 0);
    assert.equal(config.url?.href, 'https://127.0.0.1/');
    assert.equal(config.schedulerName, 'aci-burst-scheduler');
    assert.equal(config.tls.source, 'secret');
    assert.deepEqual(config.tls.hosts.slice(4), ['127.0.0.1', '::1']);
    assert.ok(config.tls.hosts.includes('aci-burst-webhook.aci-test.svc'));
  });

  it('uses mounted files when both are given', () => {
    const config = valid({ TLS_CERT_FILE: '/tls/tls.crt', TLS_KEY_FILE: '/tls/tls.key' });
    assert.deepEqual(config.tls, { source: 'files', certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' });
  });

  const exposures: { env: Record<string, string>; exposure?: object; problem?: RegExp }[] = [
    { env: {}, exposure: { subnet: false, exposePortsPublicly: false } },
    {
      env: { ACI_SUBNET_ID: '/subscriptions/s/…/subnets/aci', ACI_EXPOSE_PORTS_PUBLICLY: 'TRUE' },
      exposure: { subnet: true, exposePortsPublicly: true },
    },
    { env: { ACI_EXPOSE_PORTS_PUBLICLY: 'yes' }, problem: /ACI_EXPOSE_PORTS_PUBLICLY must be true or false/ },
  ];
  for (const row of exposures) {
    it(`reads the connector's exposure settings: ${JSON.stringify(row.env)}`, () => {
      if (row.problem) assert.match(problemsOf(row.env).join('\n'), row.problem);
      else assert.deepEqual(valid(row.env).exposure, row.exposure);
    });
  }

  it('lists every problem at once', () => {
    const problems = problemsOf({
      WEBHOOK_PORT: '70000',
      WEBHOOK_URL: 'http://127.0.0.1:8443',
      TLS_CERT_FILE: '/tls/tls.crt',
      CERT_REFRESH_SECONDS: 'hourly',
      CERT_RENEW_BEFORE_DAYS: '0',
      SHUTDOWN_GRACE_SECONDS: '-1',
    });
    assert.deepEqual(problems, [
      'WEBHOOK_URL must be an https URL (the API server calls webhooks over TLS only), got "http://127.0.0.1:8443"',
      'WEBHOOK_PORT must be a whole number from 0 to 65535, got "70000"',
      'TLS_CERT_FILE and TLS_KEY_FILE must be given together',
      'CERT_REFRESH_SECONDS must be a whole number >= 1, got "hourly"',
      'CERT_RENEW_BEFORE_DAYS must be a whole number >= 1, got "0"',
      'SHUTDOWN_GRACE_SECONDS must be a whole number >= 0, got "-1"',
    ]);
  });

  it('refuses URL mode with mounted certificates: the caBundle would be unknown', () => {
    const problems = problemsOf({
      WEBHOOK_URL: 'https://127.0.0.1:8443',
      TLS_CERT_FILE: '/tls/tls.crt',
      TLS_KEY_FILE: '/tls/tls.key',
    });
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /cannot be combined with TLS_CERT_FILE/);
  });
});
