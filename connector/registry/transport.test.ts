import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ClassifiedError } from '../../runtime/errors.ts';
import { createCertificateAuthority, issueCertificate } from '../../runtime/tls.ts';
import { httpsTransport } from './transport.ts';

const ca = createCertificateAuthority({ commonName: 'transport test CA', now: new Date() });
const serving = issueCertificate(
  ca,
  { commonName: 'registry', hosts: ['127.0.0.1'], now: new Date() },
  'server',
);

describe('httpsTransport', () => {
  let server: Server;
  let base: string;

  before(async () => {
    server = createServer({ key: serving.keyPem, cert: serving.certPem }, (request, response) => {
      if (request.url === '/declared') {
        response.writeHead(200, { 'content-length': '100' }).end('x'.repeat(100));
      } else if (request.url === '/streamed') {
        response.writeHead(200);
        response.write('x'.repeat(60));
        response.end('x'.repeat(60));
      } else if (request.url === '/silent') {
        // Never answers: the caller's signal ends it.
      } else {
        response.setHeader('www-authenticate', ['Basic realm="a"', 'Bearer realm="https://b"']);
        response.writeHead(401, { 'x-echo': request.headers.authorization ?? '' }).end('no');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const get = (path: string, options: { caPem?: string; maxBytes?: number; signal?: AbortSignal } = {}) =>
    httpsTransport({ caPem: options.caPem ?? ca.certPem }).get({
      url: new URL(path, base),
      headers: { authorization: 'Bearer t' },
      signal: options.signal ?? new AbortController().signal,
      maxBytes: options.maxBytes ?? 1000,
    });

  it('trusts the CA it is given, sends the headers and joins repeated ones', async () => {
    const response = await get('/any');
    assert.equal(response.status, 401);
    assert.equal(response.headers['x-echo'], 'Bearer t');
    assert.equal(response.headers['www-authenticate'], 'Basic realm="a", Bearer realm="https://b"');
    assert.equal(response.body.toString(), 'no');
  });

  it('does not trust a server whose CA it was not given', async () => {
    const other = createCertificateAuthority({ commonName: 'another CA', now: new Date() });
    await assert.rejects(get('/any', { caPem: other.certPem }), /self-signed|unable to verify|certificate/);
  });

  it('stops at the limit, whether the length is declared or streamed', async () => {
    for (const path of ['/declared', '/streamed']) {
      const error: unknown = await get(path, { maxBytes: 50 }).catch((caught: unknown) => caught);
      assert.ok(error instanceof ClassifiedError, path);
      assert.equal(error.kind, 'ImagePullFailed');
      assert.match(error.message, /sent more than 50 bytes/);
    }
    assert.equal((await get('/streamed', { maxBytes: 120 })).body.length, 120);
  });

  it('gives up when its signal ends the wait', async () => {
    const controller = new AbortController();
    const pending = get('/silent', { signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, /no answer in time/);
  });

  it('refuses plain http', async () => {
    await assert.rejects(
      httpsTransport().get({
        url: new URL('http://127.0.0.1/'),
        headers: {},
        signal: new AbortController().signal,
        maxBytes: 1,
      }),
      /not an https URL/,
    );
  });
});
