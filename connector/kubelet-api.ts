// The virtual node's kubelet API, which the API server dials for `kubectl logs`, `exec`, `attach` and
// `port-forward`, and tooling reads for `/pods` and `/runningpods/`. TLS always, with callers verified
// against the client CA at the handshake, then authorized as a kubelet does (kubelet-auth.ts).
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { V1Pod } from '@kubernetes/client-node';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { classifyAzureError } from '../runtime/errors.ts';
import { closeSilentConnections, HTTPS_LIMITS } from '../runtime/http-limits.ts';
import type { Logger } from '../runtime/logger.ts';
import { authorize, callerOf, type KubeletAuthorizer } from './kubelet-auth.ts';
import type { LogFollowers } from './log-followers.ts';
import { parseLogOptions, renderLines, requestQuery, type LogOptions } from './logs.ts';
import type { Clock } from '../runtime/clock.ts';
import type { PodCache } from './ports.ts';
import { handleStreamingUpgrade, type StreamingOptions } from './streaming/upgrade.ts';

export type { KubeletAuthorizer } from './kubelet-auth.ts';

export interface KubeletApiOptions {
  cache: PodCache;
  /** The pod's container group when this connector owns one (tagged with this cluster, node and pod UID). */
  ownedGroupFor: (pod: V1Pod) => string | undefined;
  /** Reads and follows logs (log-followers.ts: shared polls, a budget of their own). */
  logs: Pick<LogFollowers, 'read'>;
  authorizer: KubeletAuthorizer;
  logger: Logger;
  /** `sinceSeconds` counts back from now. */
  clock: Clock;
  /** The client CA is required: the API is never served without verifying who calls it. */
  tls: { certPem: string; keyPem: string; clientCaPem: string };
  /** Ends every followed log when the process shuts down. */
  shutdown: AbortSignal;
  /** exec, attach and port-forward; without it they are not served. */
  streaming?: Omit<StreamingOptions, 'cache' | 'authorizer' | 'logger' | 'ownedGroupFor'>;
  /** /stats/summary and /metrics/resource (kubelet-stats.ts). */
  statsRoutes?: Router;
}

const STREAMING_ROUTE = /^\/(exec|attach|portForward)\//;

export function createKubeletApi(options: KubeletApiOptions): Server {
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    void authorizeRequest(options, req, res, next);
  });
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok');
  });
  app.get('/pods', (_req, res) => {
    res.json(podList(options.cache.list()));
  });
  app.get('/runningpods/', (_req, res) => {
    res.json(podList(options.cache.list().filter((pod) => pod.status?.phase === 'Running')));
  });
  app.get('/containerLogs/:namespace/:pod/:container', (req, res) => {
    void serveLogs(options, req, res);
  });
  if (options.statsRoutes) app.use(options.statsRoutes);
  app.use((req, res) => {
    if (STREAMING_ROUTE.test(req.path)) {
      res.status(400).type('text/plain').send('Upgrade request required\n');
      return;
    }
    res.status(404).type('text/plain').send('not supported by the ACI virtual node\n');
  });
  // A target Express cannot decode (`/containerLogs/%E0%A4%A/...`): a plain 400, not its HTML page and a stack on stderr.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { status?: unknown }).status;
    res
      .status(typeof status === 'number' && status >= 400 && status < 500 ? status : 500)
      .type('text/plain')
      .send('the request could not be read\n');
  });
  const server = createServer(
    {
      ...HTTPS_LIMITS,
      cert: options.tls.certPem,
      key: options.tls.keyPem,
      minVersion: 'TLSv1.2',
      ca: options.tls.clientCaPem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    app,
  );
  const { streaming } = options;
  if (streaming) {
    const streamingOptions: StreamingOptions = {
      ...streaming,
      cache: options.cache,
      ownedGroupFor: options.ownedGroupFor,
      authorizer: options.authorizer,
      logger: options.logger,
    };
    server.on('upgrade', (req, socket, head) => {
      handleStreamingUpgrade(streamingOptions, { req, socket, head }).catch((error: unknown) => {
        options.logger.warn({ err: error }, 'a streaming request failed');
        socket.destroy();
      });
    });
  }
  return closeSilentConnections(server);
}

/** The pods as a kubelet lists them: a v1 PodList. */
function podList(pods: V1Pod[]): { apiVersion: 'v1'; kind: 'PodList'; metadata: object; items: V1Pod[] } {
  return { apiVersion: 'v1', kind: 'PodList', metadata: {}, items: pods };
}

async function authorizeRequest(
  options: KubeletApiOptions,
  req: Request,
  res: Response,
  next: NextFunction,
): Promise<void> {
  const caller = callerOf(req.socket as TLSSocket);
  const decision = await authorize(options.authorizer, caller, { method: req.method, path: req.path });
  if (decision.allowed) {
    next();
    return;
  }
  if (decision.status === 503)
    options.logger.warn({ user: caller.user }, 'authorizing a kubelet API call failed');
  res.status(decision.status).type('text/plain').send(`${decision.message}\n`);
}

async function serveLogs(options: KubeletApiOptions, req: Request, res: Response): Promise<void> {
  const { namespace = '', pod = '', container = '' } = req.params as Record<string, string | undefined>;
  const query = requestQuery(req.originalUrl);
  const parsed = parseLogOptions(query, new Date(options.clock.now()));
  if (!parsed.ok) {
    res.status(400).type('text/plain').send(`${parsed.message}\n`);
    return;
  }
  const found = options.cache.get(namespace, pod);
  if (!found?.spec?.containers.some((c) => c.name === container)) {
    res
      .status(404)
      .type('text/plain')
      .send(`container "${container}" of pod ${namespace}/${pod} is not on this node\n`);
    return;
  }
  if (parsed.options.previous) {
    res
      .status(400)
      .type('text/plain')
      .send(
        'ACI does not keep the logs of a previous container instance; only the current one can be read\n',
      );
    return;
  }
  const group = options.ownedGroupFor(found);
  if (group === undefined) {
    res.status(404).type('text/plain').send(`pod ${namespace}/${pod} has no container group on ACI yet\n`);
    return;
  }
  const closed = new AbortController();
  res.on('close', () => {
    closed.abort();
  });
  try {
    const signal = AbortSignal.any([closed.signal, options.shutdown]);
    const target = { group, container, signal };
    await streamLogs(options, target, parsed.options, res);
  } catch (error) {
    const classified = classifyAzureError(error);
    options.logger.warn(
      { pod: `${namespace}/${pod}`, container, err: classified.message },
      'reading logs failed',
    );
    if (!res.headersSent) {
      res
        .status(classified.reaction === 'absent' ? 404 : 502)
        .type('text/plain')
        .send(`${classified.message}\n`);
    }
  }
  res.end();
}

async function streamLogs(
  options: KubeletApiOptions,
  target: { group: string; container: string; signal: AbortSignal },
  logOptions: LogOptions,
  res: Response,
): Promise<void> {
  let budget = logOptions.limitBytes ?? Number.POSITIVE_INFINITY;
  res.status(200).type('text/plain');
  for await (const lines of options.logs.read(target, logOptions)) {
    const text = Buffer.from(renderLines(lines, logOptions.timestamps));
    const chunk = text.subarray(0, Math.min(text.length, budget));
    budget -= chunk.length;
    if (chunk.length > 0) res.write(chunk);
    if (budget <= 0) return;
  }
}
