// The HTTP side of SPDY: the API server asks for `Connection: Upgrade`, `Upgrade: SPDY/3.1` and names
// the sub-protocols it speaks in X-Stream-Protocol-Version; the node answers 101 Switching Protocols with
// the one it chose, then both speak SPDY frames on the socket (k8s.io/streaming/pkg/httpstream/spdy/upgrade.go).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { SpdyConnection, type SpdyConnectionOptions } from './connection.ts';

/** Whether a request asks to upgrade to SPDY/3.1 (the test k8s.io/streaming's upgrader applies). */
export function isSpdyUpgrade(request: IncomingMessage): boolean {
  const connection = (request.headers.connection ?? '').toLowerCase();
  const upgrade = (request.headers.upgrade ?? '').toLowerCase();
  return connection.includes('upgrade') && upgrade.includes('spdy/3.1');
}

/**
 * Answers a SPDY upgrade request on its socket (from the HTTP server's 'upgrade' event, with its `head`
 * bytes) with 101 Switching Protocols and returns the server side of the SPDY connection. `protocol` is
 * the chosen X-Stream-Protocol-Version, if any. The caller attaches its 'stream' listener at once.
 */
export function acceptSpdyUpgrade(
  socket: Duplex,
  head: Buffer,
  options: Omit<SpdyConnectionOptions, 'role'> & { protocol?: string },
): SpdyConnection {
  const { protocol, ...connectionOptions } = options;
  const lines = ['HTTP/1.1 101 Switching Protocols', 'Connection: Upgrade', 'Upgrade: SPDY/3.1'];
  if (protocol !== undefined) {
    if (!/^[\x21-\x7e]+$/.test(protocol)) throw new RangeError(`bad stream protocol "${protocol}"`);
    lines.push(`X-Stream-Protocol-Version: ${protocol}`);
  }
  socket.write(`${lines.join('\r\n')}\r\n\r\n`);
  if (head.length > 0) socket.unshift(head);
  return new SpdyConnection(socket, { ...connectionOptions, role: 'server' });
}
