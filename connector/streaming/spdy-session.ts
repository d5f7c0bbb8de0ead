// The streaming routes' view of a SPDY connection (connector/spdy/): every stream the caller opens is
// answered at once, as the kubelet's upgrader does, and handed on with its id.
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { acceptSpdyUpgrade, SpdyConnection, webSocketDuplex } from '../spdy/index.ts';
import type { SpdySession } from './spdy-command-streams.ts';

function session(connection: SpdyConnection): SpdySession {
  const closed = new Promise<void>((resolve) => {
    connection.once('close', () => {
      resolve();
    });
  });
  return {
    onStream(listener) {
      connection.on('stream', (stream) => {
        stream.reply();
        listener(stream, stream.id);
      });
    },
    close() {
      connection.close();
    },
    closed,
  };
}

/** Answers the HTTP upgrade with 101 and the chosen protocol, then speaks SPDY on the socket. */
export function upgradeToSpdy(socket: Duplex, head: Buffer, protocol: string): SpdySession {
  return session(acceptSpdyUpgrade(socket, head, { protocol }));
}

/** SPDY tunnelled in a WebSocket's binary messages (SPDY/3.1+portforward.k8s.io). */
export function spdyOverWebSocket(socket: WebSocket): SpdySession {
  return session(new SpdyConnection(webSocketDuplex(socket), { role: 'server' }));
}
