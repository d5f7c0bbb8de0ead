import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { closeSilentConnections, HTTP_LIMITS } from './http-limits.ts';

describe('closeSilentConnections', () => {
  it('closes a connection that sends nothing, and lets a slow response finish', async () => {
    const server = closeSilentConnections(
      createServer(HTTP_LIMITS, (_request, response) => {
        response.write('first ');
        setTimeout(() => response.end('last'), 300);
      }),
      100,
    );
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    try {
      const silent = connect(port, '127.0.0.1');
      let silentClosed = false;
      silent.on('close', () => (silentClosed = true));
      const body = await new Promise<string>((resolve, reject) => {
        request({ host: '127.0.0.1', port, agent: false }, (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => {
            resolve(text);
          });
        })
          .on('error', reject)
          .end();
      });
      assert.equal(body, 'first last');
      // The response took 300 ms; the silent connection was closed after 100.
      assert.equal(silentClosed, true);
    } finally {
      server.close();
    }
  });
});
