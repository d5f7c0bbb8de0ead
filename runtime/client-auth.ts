// Callers who prove who they are with a client certificate, for the HTTPS servers the API server or a
// scheduler call (the webhook, the extender). The TLS handshake asks every client for a certificate
// and verifies it against the trusted CA but lets the connection through either way; the routes that
// act on a caller's request then refuse a caller without a verified certificate. Health and metrics
// stay open: kubelet probes and Prometheus present no certificate, and those routes reveal nothing.
import type { SecureContextOptions, TLSSocket } from 'node:tls';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

/** The TLS options of a server whose callers may present a certificate signed by `clientCaPem`. */
export function clientCertificateOptions(clientCaPem: string | undefined): {
  requestCert?: boolean;
  rejectUnauthorized?: boolean;
  ca?: string;
} {
  return clientCaPem === undefined ? {} : { requestCert: true, rejectUnauthorized: false, ca: clientCaPem };
}

/** What a renewed serving certificate is swapped in with: `ca` must come along, or clients go unverified. */
export function secureContext(
  identity: { certPem: string; keyPem: string },
  clientCaPem: string | undefined,
): SecureContextOptions {
  return {
    cert: identity.certPem,
    key: identity.keyPem,
    ...(clientCaPem !== undefined && { ca: clientCaPem }),
  };
}

/**
 * Why a caller may not be served when a client certificate is required: undefined when its connection
 * presented one the trusted CA signed, otherwise a message naming what is missing.
 */
export function clientCertificateRefusal(socket: TLSSocket): string | undefined {
  if (socket.authorized) return undefined;
  // Node types it as an Error; at run time it is the OpenSSL code, or undefined when none was presented.
  const reason = socket.authorizationError as unknown;
  const why =
    reason instanceof Error ? reason.message : typeof reason === 'string' ? reason : 'none presented';
  return `a client certificate signed by the CA this server trusts is required (${why})\n`;
}

/** Lets a request through only when its connection presented a verified certificate (when `required`); otherwise 403. */
export function requireClientCertificate(required: boolean): RequestHandler {
  return (request: Request, response: Response, next: NextFunction): void => {
    const refusal = required ? clientCertificateRefusal(request.socket as TLSSocket) : undefined;
    if (refusal === undefined) {
      next();
      return;
    }
    response.status(403).type('text/plain').send(refusal);
  };
}
