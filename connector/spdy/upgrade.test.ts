import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { SpdyConnection } from './connection.ts';
import { encodeFrame, synStream } from './frames.ts';
import { HeaderCompressor } from './header-block.ts';
import { acceptSpdyUpgrade, isSpdyUpgrade } from './upgrade.ts';

/** A hang fails the suite instead of stalling the run (not a speed assertion). */
const HANG_BOUND_MS = 20_000;

describe('SPDY over an HTTP upgrade', { timeout: HANG_BOUND_MS }, () => {
  let server: Server;
  let port: number;
  const connections: SpdyConnection[] = [];

  before(async () => {
    server = createServer((_req, res) => res.writeHead(400).end());
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      if (!isSpdyUpgrade(req)) {
        socket.destroy();
        return;
      }
      const connection = acceptSpdyUpgrade(socket, head, { protocol: 'v4.channel.k8s.io' });
      connections.push(connection);
      connection.on('stream', (stream) => {
        stream.reply();
        stream.pipe(stream);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => {
    for (const connection of connections) connection.destroy();
    server.close();
  });

  const upgradeHeaders = {
    Connection: 'Upgrade',
    Upgrade: 'SPDY/3.1',
    'X-Stream-Protocol-Version': 'v4.channel.k8s.io',
  };

  it('answers 101 with the chosen protocol, then speaks SPDY as the server', async () => {
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'POST',
      path: '/exec/ns/pod/c',
      headers: upgradeHeaders,
    });
    req.end();
    const [response, socket, head] = (await once(req, 'upgrade')) as [IncomingMessage, Socket, Buffer];
    assert.equal(response.statusCode, 101);
    assert.deepEqual(
      [response.headers.connection, response.headers.upgrade, response.headers['x-stream-protocol-version']],
      ['Upgrade', 'SPDY/3.1', 'v4.channel.k8s.io'],
    );
    assert.equal(head.length, 0, 'the node sends nothing before the client speaks');
    const client = new SpdyConnection(socket, { role: 'client' });
    const stream = client.openStream({ streamtype: 'stdin' });
    stream.end('ping');
    assert.equal((await buffer(stream)).toString(), 'ping');
    client.close();
  });

  it('reads frames that arrived with the request (the upgrade head)', async () => {
    const socket = connect(port, '127.0.0.1');
    const frame = encodeFrame(synStream(1, { streamtype: 'error' }), new HeaderCompressor());
    const lines = [
      'POST /exec/ns/pod/c HTTP/1.1',
      'Host: node',
      ...Object.entries(upgradeHeaders).map(([k, v]) => `${k}: ${v}`),
    ];
    socket.write(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), frame]));
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    // The reply to stream 1 proves the node parsed the SYN_STREAM that came with the request.
    for (
      let turn = 0;
      turn < 2000 && !Buffer.concat(received).includes(Buffer.from('80030002', 'hex'));
      turn += 1
    ) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.ok(Buffer.concat(received).includes(Buffer.from('80030002', 'hex')), 'a SYN_REPLY');
    socket.destroy();
  });

  const requests: [string, Record<string, string>, boolean][] = [
    ['the Kubernetes request', { connection: 'Upgrade', upgrade: 'SPDY/3.1' }, true],
    ['case and lists', { connection: 'keep-alive, upgrade', upgrade: 'spdy/3.1' }, true],
    ['a WebSocket upgrade', { connection: 'Upgrade', upgrade: 'websocket' }, false],
    ['no Connection: Upgrade', { upgrade: 'SPDY/3.1' }, false],
  ];
  for (const [name, headers, expected] of requests) {
    it(`isSpdyUpgrade: ${name} -> ${expected}`, () => {
      assert.equal(isSpdyUpgrade({ headers } as IncomingMessage), expected);
    });
  }

  it('refuses a protocol that would break the response header', () => {
    const socket = connect(port, '127.0.0.1');
    assert.throws(
      () => acceptSpdyUpgrade(socket, Buffer.alloc(0), { protocol: 'v4\r\nX-Evil: 1' }),
      RangeError,
    );
    socket.destroy();
  });
});
