// SPDY tunnelled through a WebSocket, as Kubernetes 1.36 port-forward does (subprotocol
// `SPDY/3.1+portforward.k8s.io`, k8s.io/client-go/tools/portforward/tunneling_connection.go): the
// WebSocket's binary messages, concatenated, are the SPDY byte stream. Go sends one message per Write call,
// so a frame may span several messages and a message may end mid-frame; the receiver just concatenates.
// A text message is an error there, and only a close with code 1000 (normal closure) is a clean end.
// ws's own createWebSocketStream accepts text messages and closes without a code, hence this adapter.
import type { IncomingMessage } from 'node:http';
import { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { SpdyConnection, type SpdyConnectionOptions } from './connection.ts';

const NORMAL_CLOSURE = 1000;
/** WebSocket subprotocols that tunnel SPDY are this prefix and the SPDY sub-protocol (k8s.io/apimachinery/pkg/util/portforward). */
const TUNNEL_PREFIX = 'SPDY/3.1+';
/** A message is buffered whole by ws: at most one SPDY frame's worth (Go writes a DATA payload in one message). */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/**
 * The SPDY sub-protocols a WebSocket upgrade request offers to tunnel, in its order: for
 * `Sec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io` that is ["portforward.k8s.io"]. Like the
 * Kubernetes tunnelling handler, only "SPDY/3.1+...k8s.io" names count.
 */
export function spdyTunnelProtocols(request: IncomingMessage): string[] {
  const header = request.headers['sec-websocket-protocol'] ?? '';
  return header
    .split(',')
    .map((protocol) => protocol.trim())
    .filter((protocol) => protocol.startsWith(TUNNEL_PREFIX) && protocol.endsWith('.k8s.io'))
    .map((protocol) => protocol.slice(TUNNEL_PREFIX.length));
}

/**
 * Completes a WebSocket upgrade that tunnels SPDY (from the HTTP server's 'upgrade' event) and resolves to
 * the server side of the SPDY connection inside it. `protocol` is the chosen SPDY sub-protocol (one of
 * spdyTunnelProtocols); the 101 response names it as `SPDY/3.1+<protocol>`. ws refuses that subprotocol
 * in a request ('/' is not an RFC 6455 token character; Go's gorilla/websocket sends it anyway), so the
 * header is taken off `request` before ws reads it. Rejects if the handshake fails (ws then answers 400).
 */
export async function acceptSpdyTunnel(
  request: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  options: Omit<SpdyConnectionOptions, 'role'> & { protocol: string },
): Promise<SpdyConnection> {
  const { protocol, ...connectionOptions } = options;
  const chosen = `${TUNNEL_PREFIX}${protocol}`;
  if (!/^[\x21-\x7e]+$/.test(chosen)) throw new RangeError(`bad tunnel protocol "${protocol}"`);
  const server = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    maxPayload: MAX_MESSAGE_BYTES,
  });
  server.on('headers', (headers) => headers.push(`Sec-WebSocket-Protocol: ${chosen}`));
  delete request.headers['sec-websocket-protocol'];
  const webSocket = await new Promise<WebSocket>((resolve, reject) => {
    const failed = (): void => {
      reject(new Error('WebSocket handshake for the SPDY tunnel failed'));
    };
    socket.once('close', failed);
    server.handleUpgrade(request, socket, head, (accepted) => {
      socket.off('close', failed);
      resolve(accepted);
    });
  });
  return new SpdyConnection(webSocketDuplex(webSocket), { ...connectionOptions, role: 'server' });
}

/**
 * A Duplex over an open WebSocket: reads the bytes of its binary messages, writes each chunk as one binary
 * message, and closes the WebSocket (code 1000) when ended. Reading backpressure pauses the WebSocket.
 */
export function webSocketDuplex(socket: WebSocket): Duplex {
  if (socket.readyState !== WebSocket.OPEN) throw new RangeError('webSocketDuplex needs an open WebSocket');
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.send(chunk, { binary: true }, callback);
    },
    final(callback) {
      socket.close(NORMAL_CLOSURE);
      callback();
    },
    destroy(error, callback) {
      if (socket.readyState === WebSocket.OPEN) {
        if (error) socket.terminate();
        else socket.close(NORMAL_CLOSURE);
      }
      callback(error);
    },
  });
  socket.on('message', (data, isBinary) => {
    if (!isBinary) {
      duplex.destroy(new Error('WebSocket tunnel received a text message; SPDY travels in binary messages'));
      return;
    }
    if (!duplex.push(bytesOf(data))) socket.pause();
  });
  socket.on('close', (code) => {
    if (duplex.destroyed) return;
    if (code !== NORMAL_CLOSURE) {
      duplex.destroy(new Error(`WebSocket tunnel closed with code ${code}, not ${NORMAL_CLOSURE}`));
      return;
    }
    duplex.push(null);
    // Nothing more can be written: once the reader has everything, the duplex is done.
    duplex.once('end', () => duplex.destroy());
  });
  socket.on('error', (error) => duplex.destroy(error));
  return duplex;
}

function bytesOf(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
