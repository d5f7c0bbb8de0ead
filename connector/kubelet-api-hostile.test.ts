// The kubelet API fed request targets the API server never sends but anyone who reaches the port may.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { connect } from 'node:tls';
import type { V1Pod } from '@kubernetes/client-node';
import { silentLogger } from '../runtime/logger.ts';
import { createCertificateAuthority, issueCertificate } from '../runtime/tls.ts';
import { createKubeletApi } from './kubelet-api.ts';
import { LogFollowers, LogReadBudget } from './log-followers.ts';
import { FakeClock } from '../runtime/clock.ts';

const ca = createCertificateAuthority({ commonName: 'kubelet-test-ca', now: new Date() });
const serving = issueCertificate(
  ca,
  { commonName: 'aci-connector', hosts: ['127.0.0.1'], now: new Date() },
  'server',
);
const apiServer = issueCertificate(
  ca,
  { commonName: 'kube-apiserver-kubelet-client', organizations: ['kubelet-api-admin'], now: new Date() },
  'client',
);
const pod: V1Pod = {
  metadata: { name: 'web', namespace: 'shop' },
  spec: { containers: [{ name: 'nginx', image: 'nginx' }] },
};

/** Sends one raw request line over TLS with the API server's client certificate; resolves with the status line. */
function rawRequest(port: number, target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port, ca: ca.certPem, cert: apiServer.certPem, key: apiServer.keyPem },
      () => {
        socket.end(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      },
    );
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => {
      resolve(text);
    });
    socket.on('error', reject);
  });
}

describe('kubelet API, hostile request targets', () => {
  const server = createKubeletApi({
    cache: { synced: true, get: () => pod, list: () => [pod] },
    ownedGroupFor: () => 'group',
    logs: new LogFollowers({
      source: { logs: () => Promise.resolve('2026-01-01T00:00:00Z one\n2026-01-01T00:00:01Z two\n') },
      timers: { now: () => 0, sleep: () => Promise.resolve() },
      intervalMs: 10,
      budget: new LogReadBudget(6000, 100),
    }),
    authorizer: { allowed: () => Promise.resolve(true) },
    logger: silentLogger(),
    clock: new FakeClock(),
    tls: { certPem: serving.certPem, keyPem: serving.keyPem, clientCaPem: ca.certPem },
    shutdown: new AbortController().signal,
  });
  let port = 0;
  before(async () => {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    server.close();
  });

  it('answers an absolute-form target with an invalid port instead of crashing', async () => {
    const rejected = once(process, 'unhandledRejection').then(([error]: unknown[]) => error);
    const answer = await Promise.race([
      rawRequest(port, 'https://127.0.0.1:99999/containerLogs/shop/web/nginx?tailLines=1'),
      rejected,
    ]);
    assert.equal(typeof answer, 'string', `the process rejected: ${String(answer)}`);
    assert.match(answer as string, /^HTTP\/1\.1 200 OK/);
    assert.match(answer as string, /\r\n\r\n[^]*one\n[^]*two\n/);
  });

  it('answers a target it cannot decode with a plain 400', async () => {
    const answer = await rawRequest(port, '/containerLogs/shop/web/%E0%A4%A');
    assert.match(answer, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(answer, /Content-Type: text\/plain/);
    assert.match(answer, /\r\n\r\nthe request could not be read\n$/);
  });
});
