import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { SpdyConnection } from './connection.ts';
import { encodeFrame, synStream } from './frames.ts';
import { HeaderCompressor } from './header-block.ts';
import type { SpdyStream } from './stream.ts';
import { acceptSpdyTunnel, spdyTunnelProtocols, webSocketDuplex } from './websocket.ts';

/** A hang fails the suite instead of stalling the run (not a speed assertion). */
const HANG_BOUND_MS = 20_000;

describe(
  'webSocketDuplex: SPDY tunnelled through WebSocket binary messages',
  { timeout: HANG_BOUND_MS },
  () => {
    let server: WebSocketServer;
    const accepted: WebSocket[] = [];

    before(async () => {
      server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
      server.on('connection', (socket) => accepted.push(socket));
      await once(server, 'listening');
    });
    after(() => {
      for (const socket of accepted) socket.terminate();
      server.close();
    });

    /** A client WebSocket and the server's end of it, both open. */
    async function webSocketPair(): Promise<{ client: WebSocket; server: WebSocket }> {
      const count = accepted.length;
      const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`);
      await once(client, 'open');
      const serverSide = accepted[count];
      assert.ok(serverSide);
      return { client, server: serverSide };
    }

    function nextStream(connection: SpdyConnection): Promise<SpdyStream> {
      return new Promise((resolve) => connection.once('stream', resolve));
    }

    it('carries a SPDY connection: a port-forward stream pair echoes data', async () => {
      const sockets = await webSocketPair();
      const client = new SpdyConnection(webSocketDuplex(sockets.client), { role: 'client' });
      const node = new SpdyConnection(webSocketDuplex(sockets.server), { role: 'server' });
      node.on('stream', (stream) => {
        stream.reply();
        if (stream.headers.streamtype === 'data') stream.pipe(stream);
      });
      client.openStream({ streamtype: 'error', port: '8080', requestid: '0' });
      const data = client.openStream({ streamtype: 'data', port: '8080', requestid: '0' });
      data.end(Buffer.alloc(200 * 1024, 3));
      assert.equal((await buffer(data)).length, 200 * 1024);
      const closed = once(node, 'close');
      client.close();
      assert.deepEqual(await closed, [undefined]);
    });

    it('sends each write as one binary message', async () => {
      const sockets = await webSocketPair();
      const duplex = webSocketDuplex(sockets.server);
      const messages: [string, boolean][] = [];
      sockets.client.on('message', (message: Buffer, isBinary) =>
        messages.push([message.toString(), isBinary]),
      );
      duplex.write('first');
      duplex.write('second');
      duplex.end();
      await once(sockets.client, 'close');
      assert.deepEqual(messages, [
        ['first', true],
        ['second', true],
      ]);
    });

    it('joins a frame that Go split over several messages (one per Write call)', async () => {
      const sockets = await webSocketPair();
      const node = new SpdyConnection(webSocketDuplex(sockets.server), { role: 'server' });
      const opened = nextStream(node);
      const frame = encodeFrame(synStream(1, { streamtype: 'data', port: '80' }), new HeaderCompressor());
      for (const piece of [
        frame.subarray(0, 4),
        frame.subarray(4, 8),
        frame.subarray(8, 13),
        frame.subarray(13),
      ]) {
        sockets.client.send(piece, { binary: true });
      }
      assert.deepEqual({ ...(await opened).headers }, { streamtype: 'data', port: '80' });
    });

    const endings: [string, (client: WebSocket) => void, RegExp | undefined][] = [
      [
        'a text message',
        (client) => {
          client.send('hello');
        },
        /text message/,
      ],
      [
        'a close with code 4000',
        (client) => {
          client.close(4000);
        },
        /code 4000/,
      ],
      [
        'a normal close (1000)',
        (client) => {
          client.close(1000);
        },
        undefined,
      ],
    ];
    for (const [name, end, error] of endings) {
      it(`ends on ${name} ${error ? 'with an error' : 'cleanly'}`, async () => {
        const sockets = await webSocketPair();
        const duplex: Duplex = webSocketDuplex(sockets.server);
        const node = new SpdyConnection(duplex, { role: 'server' });
        const closed = once(node, 'close') as Promise<[Error | undefined]>;
        end(sockets.client);
        const [reason] = await closed;
        if (error) assert.match(String(reason), error);
        else assert.equal(reason, undefined);
      });
    }

    it('refuses a WebSocket that is not open', () => {
      const closing = new WebSocket('ws://127.0.0.1:1');
      closing.on('error', () => undefined);
      assert.throws(() => webSocketDuplex(closing), /open WebSocket/);
      closing.terminate();
    });
  },
);

describe(
  'acceptSpdyTunnel: the WebSocket upgrade Kubernetes 1.36 sends for port-forward',
  { timeout: HANG_BOUND_MS },
  () => {
    let server: Server;
    let port: number;
    const tunnels: SpdyConnection[] = [];
    const failures: unknown[] = [];

    before(async () => {
      server = createServer();
      server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
        const [protocol] = spdyTunnelProtocols(request);
        if (protocol === undefined) {
          socket.destroy();
          return;
        }
        acceptSpdyTunnel(request, socket, head, { protocol }).then(
          (connection) => tunnels.push(connection),
          (error: unknown) => failures.push(error),
        );
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      port = (server.address() as AddressInfo).port;
    });
    after(() => {
      for (const tunnel of tunnels) tunnel.destroy();
      server.close();
    });

    /** Sends a raw upgrade request (ws's client refuses the SPDY subprotocol) and returns the response head. */
    async function handshake(headers: Record<string, string>): Promise<string> {
      const socket = connect(port, '127.0.0.1');
      const lines = [
        'GET /portForward/ns/pod HTTP/1.1',
        'Host: node',
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      ];
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      const [chunk] = (await once(socket, 'data')) as [Buffer];
      socket.destroy();
      return chunk.toString('latin1').split('\r\n\r\n')[0] ?? '';
    }

    const webSocketHeaders = {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    };

    it('answers 101 naming the tunnel subprotocol that ws alone would refuse with 400', async () => {
      const response = await handshake({
        ...webSocketHeaders,
        'Sec-WebSocket-Protocol': 'SPDY/3.1+portforward.k8s.io',
      });
      assert.match(response, /^HTTP\/1.1 101 /);
      assert.match(response, /\r\nSec-WebSocket-Protocol: SPDY\/3.1\+portforward.k8s.io(\r\n|$)/);
      await until(() => tunnels.length === 1);
    });

    it('rejects when the WebSocket handshake fails', async () => {
      const response = await handshake({
        ...webSocketHeaders,
        'Sec-WebSocket-Key': 'not a key',
        'Sec-WebSocket-Protocol': 'SPDY/3.1+portforward.k8s.io',
      });
      assert.match(response, /^HTTP\/1.1 400 /);
      await until(() => failures.length === 1);
      assert.match(String(failures[0]), /handshake for the SPDY tunnel failed/);
    });

    const offers: [string, string[]][] = [
      ['SPDY/3.1+portforward.k8s.io', ['portforward.k8s.io']],
      [
        'v5.channel.k8s.io, SPDY/3.1+portforward.k8s.io,SPDY/3.1+v4.channel.k8s.io',
        ['portforward.k8s.io', 'v4.channel.k8s.io'],
      ],
      ['SPDY/3.1+other.example.com', []],
      ['', []],
    ];
    for (const [header, expected] of offers) {
      it(`spdyTunnelProtocols("${header}") -> ${JSON.stringify(expected)}`, () => {
        assert.deepEqual(
          spdyTunnelProtocols({ headers: { 'sec-websocket-protocol': header } } as IncomingMessage),
          expected,
        );
      });
    }
  },
);

async function until(condition: () => boolean): Promise<void> {
  for (let turn = 0; turn < 2000 && !condition(); turn += 1)
    await new Promise((resolve) => setImmediate(resolve));
  assert.ok(condition());
}
