// The one HTTPS service of the processes the API server or a scheduler calls (the webhook, the
// extender): reads its certificate from a CertificateSource, listens with the limits every server of
// the project keeps (runtime/http-limits.ts), verifies client certificates when given a CA, swaps a
// renewed certificate in without a restart, and drains on shutdown. The routes, the ops routes among
// them (runtime/ops.ts), are the process's.
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestListener, Server as HttpServer } from 'node:http';
import { type CertificateSource, type ServingIdentity, watchCertificate } from './certificates.ts';
import { clientCertificateOptions, secureContext } from './client-auth.ts';
import { systemTimers, type Timers } from './clock.ts';
import { closeSilentConnections, HTTPS_LIMITS } from './http-limits.ts';
import { stopOnAbort, type Lifecycle } from './lifecycle.ts';
import type { Logger } from './logger.ts';

export interface ListenOptions {
  port: number;
  /** Undefined: every interface. */
  host?: string | undefined;
  credentials: { certPem: string; keyPem: string };
  /** The CA whose client certificates the handshake verifies (runtime/client-auth.ts). */
  clientCaPem?: string | undefined;
}

/** Serves `handler` over HTTPS and resolves once it listens; port 0 picks a free port. */
export async function listenHttps(
  handler: RequestListener,
  options: ListenOptions,
): Promise<{ server: Server; port: number }> {
  const server = closeSilentConnections(
    createServer(
      {
        ...HTTPS_LIMITS,
        cert: options.credentials.certPem,
        key: options.credentials.keyPem,
        ...clientCertificateOptions(options.clientCaPem),
      },
      handler,
    ),
  );
  server.listen(options.port, options.host);
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/**
 * Stops accepting connections, closes idle keep-alive ones, lets requests in flight finish, and cuts
 * what is left after `graceMs` (the caller retries or applies its failure policy).
 */
export async function closeServer(
  server: Server | HttpServer,
  graceMs: number,
  timers: Timers = systemTimers,
): Promise<void> {
  const closed = new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  server.closeIdleConnections();
  const cancel = timers.after(graceMs, () => {
    server.closeAllConnections();
  });
  await closed;
  cancel();
}

export interface HttpsServiceOptions {
  handler: RequestListener;
  port: number;
  host?: string | undefined;
  certificates: {
    source: CertificateSource;
    /** How often the source is read again and a changed certificate swapped in; undefined: never. */
    refreshMs: number | undefined;
    /** Called with the first identity once listening, and with every one read after (the webhook publishes its CA). */
    onIdentity?: (identity: ServingIdentity) => Promise<void>;
  };
  /** The CA of the callers' client certificates, which may come with the identity (the extender's Secret). */
  clientCa?: (identity: ServingIdentity) => string | undefined;
  /** How long requests in flight may finish after the stop signal. */
  graceMs: number;
  logger: Logger;
  timers: Timers;
}

export class HttpsService implements Lifecycle {
  readonly #options: HttpsServiceOptions;
  #server: Server | undefined;
  #port: number | undefined;
  #stopping = false;
  done: Promise<void> = Promise.resolve();

  constructor(options: HttpsServiceOptions) {
    this.#options = options;
  }

  /** The port listened on (the one picked, for port 0); undefined before start(). */
  get port(): number | undefined {
    return this.#port;
  }

  /** Not ready before serving or once stopping, so a Service drains this replica first. */
  notReadyReasons(): string[] {
    if (this.#stopping) return ['shutting down'];
    return this.#server?.listening ? [] : ['not serving HTTPS yet'];
  }

  /** Reads the certificate, listens, hands the identity on, then keeps it current until `signal` aborts. */
  async start(signal: AbortSignal): Promise<void> {
    const { certificates, clientCa, logger } = this.#options;
    const identity = await certificates.source();
    const { server, port } = await listenHttps(this.#options.handler, {
      port: this.#options.port,
      host: this.#options.host,
      credentials: identity,
      clientCaPem: clientCa?.(identity),
    });
    this.#server = server;
    this.#port = port;
    this.done = stopOnAbort(
      signal,
      () => this.stop(this.#options.graceMs),
      (error) => {
        logger.error({ err: error }, 'unclean stop');
      },
    );
    await certificates.onIdentity?.(identity);
    if (certificates.refreshMs !== undefined) {
      watchCertificate({
        source: certificates.source,
        current: identity,
        apply: async (next) => {
          this.setIdentity(next);
          await certificates.onIdentity?.(next);
        },
        intervalMs: certificates.refreshMs,
        signal,
        logger,
        timers: this.#options.timers,
      });
    }
  }

  /** Serves a renewed certificate to new connections without a restart. */
  setIdentity(identity: ServingIdentity): void {
    this.#server?.setSecureContext(secureContext(identity, this.#options.clientCa?.(identity)));
  }

  /** Drains: see closeServer. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    if (this.#server?.listening) await closeServer(this.#server, graceMs, this.#options.timers);
  }
}

/**
 * A server built elsewhere, with its own TLS or none (the connector's kubelet API, which demands a
 * client certificate and upgrades streams, and its plain-HTTP ops port): listened on and drained
 * like the HTTPS service.
 */
export class ListeningServer implements Lifecycle {
  readonly #server: Server | HttpServer;
  readonly #options: { port: number; host: string; graceMs: number; logger: Logger; timers: Timers };
  done: Promise<void> = Promise.resolve();

  constructor(
    server: Server | HttpServer,
    options: { port: number; host: string; graceMs: number; logger: Logger; timers: Timers },
  ) {
    this.#server = server;
    this.#options = options;
  }

  async start(signal: AbortSignal): Promise<void> {
    const { port, host, graceMs, logger, timers } = this.#options;
    const server = this.#server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.done = stopOnAbort(
      signal,
      () => closeServer(server, graceMs, timers),
      (error) => {
        logger.error({ err: error }, 'unclean stop');
      },
    );
  }
}
