import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { closeSilentConnections, HTTP_LIMITS, readBody } from './http-limits.ts';

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

describe('readBody', () => {
  /** A request as readBody sees it: its headers and a stream of chunks, which it counts as read. */
  function incoming(chunks: string[], headers: Record<string, string> = {}) {
    let read = 0;
    const stream = Readable.from(
      (function* () {
        for (const chunk of chunks) {
          read += 1;
          yield Buffer.from(chunk);
        }
      })(),
      { objectMode: false },
    );
    return { request: Object.assign(stream, { headers }), chunksRead: () => read };
  }

  const table: {
    name: string;
    chunks: string[];
    headers?: Record<string, string>;
    /** The body read, or 'too large'. */
    body: string;
    chunksRead: number;
  }[] = [
    { name: 'a body within the limit', chunks: ['{"a":', '1}'], body: '{"a":1}', chunksRead: 2 },
    { name: 'a body of exactly the limit', chunks: ['0123456789'], body: '0123456789', chunksRead: 1 },
    { name: 'an empty body', chunks: [], body: '', chunksRead: 0 },
    {
      name: 'a Content-Length over the limit, refused before a byte is read',
      chunks: ['0123456789', 'x'],
      headers: { 'content-length': '11' },
      body: 'too large',
      chunksRead: 0,
    },
    {
      name: 'a chunked body growing past the limit, the rest read and dropped',
      chunks: ['012345', '6789x', 'more', 'and more'],
      body: 'too large',
      chunksRead: 4,
    },
  ];
  for (const row of table) {
    it(`reads ${row.name}`, async () => {
      const { request, chunksRead } = incoming(row.chunks, row.headers);
      const body = await readBody(request, 10);
      assert.equal(typeof body === 'string' ? body : body.toString('utf8'), row.body);
      await new Promise((resolve) => setImmediate(resolve));
      assert.equal(chunksRead(), row.chunksRead);
    });
  }

  it('rejects when the caller cuts the request off', async () => {
    const stream = new Readable({ read() {} });
    const body = readBody(Object.assign(stream, { headers: {} }), 10);
    stream.push('01');
    stream.destroy(new Error('aborted'));
    await assert.rejects(body, /aborted/);
  });
});
