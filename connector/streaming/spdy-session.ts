// The streaming routes' view of a SPDY connection (connector/spdy/): every stream the caller opens is
// answered at once and handed on with its id.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { acceptSpdyTunnel, acceptSpdyUpgrade, type SpdyConnection } from '../spdy/index.ts';
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
        // Replied before anything else, as the kubelet's upgrader does: a client waits for the reply
        // before it reads the stream, even one about to be reset after an error was written.
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

/** SPDY tunnelled in a WebSocket's binary messages (`SPDY/3.1+<protocol>`). */
export async function spdyTunnel(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  protocol: string,
): Promise<SpdySession> {
  return session(await acceptSpdyTunnel(req, socket, head, { protocol }));
}
