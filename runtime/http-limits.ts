// What every HTTP server of the project allows one client, however slow, idle or malicious: a few
// seconds to finish the TLS handshake, to send a request line and headers, and to send the whole
// request. Without them one client holds a connection (and its memory) for ever; Node's defaults
// give a connection that never sends a byte no limit at all. Responses may take longer: a followed
// log streams for as long as the caller reads it.
import type { IncomingMessage, ServerOptions as HttpServerOptions, Server as HttpServer } from 'node:http';
import type { Readable } from 'node:stream';
import type { ServerOptions as HttpsServerOptions, Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';

/** The request line and headers must arrive within this; Node answers 408 otherwise. */
export const HEADERS_TIMEOUT_MS = 10_000;
/** The whole request, body included. */
export const REQUEST_TIMEOUT_MS = 30_000;
/** A connection that has not completed its TLS handshake, or sent a request, within this is closed. */
export const CONNECTION_SETUP_TIMEOUT_MS = 10_000;

export const HTTP_LIMITS = {
  headersTimeout: HEADERS_TIMEOUT_MS,
  requestTimeout: REQUEST_TIMEOUT_MS,
} as const satisfies HttpServerOptions;

export const HTTPS_LIMITS = {
  ...HTTP_LIMITS,
  handshakeTimeout: CONNECTION_SETUP_TIMEOUT_MS,
} as const satisfies HttpsServerOptions;

/**
 * The largest request body each server parses, by what it is called with: beyond it the request is
 * refused before parsing (a 50 MB body once blocked a process for 11.7 s).
 */
export const BODY_LIMITS = {
  /**
   * Pods are at most 1.5 MiB in etcd and a CREATE review carries one copy, so 3 MiB admits every real
   * review while bounding what a stray client can make the process parse.
   */
  admissionReview: 3 * 1024 * 1024,
  /**
   * With nodeCacheCapable (as shipped) a scheduler call carries the pod and node names: the largest
   * pod's 3 MiB as JSON (1.5 MiB in etcd, twice that as text) plus 5,000 names of up to 253
   * characters. Without it the scheduler sends every candidate node in full, ~5-20 KiB each, so this
   * fits a few hundred nodes; larger clusters must use nodeCacheCapable.
   */
  schedulerCall: 5 * 1024 * 1024,
} as const;

/**
 * A request's body, or 'too large' as soon as it is declared or grows past `limitBytes`: nothing beyond
 * the limit is kept (Node discards the rest once the response is sent, within REQUEST_TIMEOUT_MS).
 * Rejects when the caller cuts the request off.
 */
export function readBody(
  request: Readable & Pick<IncomingMessage, 'headers'>,
  limitBytes: number,
): Promise<Buffer | 'too large'> {
  return new Promise((resolve, reject) => {
    if (Number(request.headers['content-length']) > limitBytes) {
      resolve('too large');
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limitBytes) {
        chunks.push(chunk);
        return;
      }
      // Still flowing, so the rest is read and dropped rather than left to fill the socket.
      request.off('data', onData);
      request.off('end', onEnd);
      chunks.length = 0;
      resolve('too large');
    };
    const onEnd = (): void => {
      resolve(Buffer.concat(chunks, size));
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', reject);
  });
}

/**
 * Closes connections that send no request within CONNECTION_SETUP_TIMEOUT_MS of being opened (or of
 * their TLS handshake). Once a request starts, Node's own timeouts take over: headers, request, and
 * keep-alive between requests. Returns the server.
 */
export function closeSilentConnections<T extends HttpServer | HttpsServer>(
  server: T,
  timeoutMs = CONNECTION_SETUP_TIMEOUT_MS,
): T {
  const opened = (socket: Socket): void => {
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
    });
  };
  // A TLS server's requests arrive on the TLS socket, which exists once the handshake is done.
  if ('setSecureContext' in server) server.on('secureConnection', opened);
  else server.on('connection', opened);
  server.on('request', (request: IncomingMessage) => {
    request.socket.setTimeout(0);
  });
  return server;
}
