// The client side of ACI's exec and attach websockets: exec takes the session's password as its first
// (text) message, attach in an Authorization header (as the REST specification says). What follows is a
// terminal: input frames in, output frames out, and a close when the process ends.
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocket } from 'ws';

export interface TerminalEndpoint {
  webSocketUri: string;
  password: string;
}

export type TerminalAuth = 'first-message' | 'authorization-header';

/** Opens a terminal session; the duplex carries its bytes both ways and ends when ACI closes it. */
export type TerminalDialer = (endpoint: TerminalEndpoint, auth: TerminalAuth) => Promise<Duplex>;

export function aciTerminalDialer(options: {
  caPem: string | undefined;
  handshakeTimeoutMs: number;
}): TerminalDialer {
  return (endpoint, auth) =>
    new Promise((resolve, reject) => {
      const socket = new WebSocket(endpoint.webSocketUri, {
        handshakeTimeout: options.handshakeTimeoutMs,
        ...(options.caPem !== undefined && { ca: options.caPem }),
        ...(auth === 'authorization-header' && { headers: { Authorization: endpoint.password } }),
      });
      socket.once('error', reject);
      socket.once('open', () => {
        socket.off('error', reject);
        if (auth === 'first-message') socket.send(endpoint.password, { binary: false });
        resolve(createWebSocketStream(socket));
      });
    });
}
