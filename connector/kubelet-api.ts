// The virtual node's kubelet API, which the API server dials for `kubectl logs`. TLS always; when a
// client CA is configured (the CA of the API server's kubelet client certificate), callers without a
// certificate it signed are refused at the handshake.
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import express, { type NextFunction, type Request, type Response } from 'express';
import { containerGroupName } from '../contract/translate.ts';
import { classifyAzureError } from '../runtime/errors.ts';
import { closeSilentConnections, HTTPS_LIMITS } from '../runtime/http-limits.ts';
import type { Logger } from '../runtime/logger.ts';
import type { LogFollowers } from './log-followers.ts';
import { parseLogOptions, renderLines, requestQuery, type LogOptions } from './logs.ts';
import type { PodCache } from './ports.ts';

export interface ContainerLogsApi {
  /** The container's log with a timestamp per line; `tail` limits it to the last lines. */
  logs(groupName: string, container: string, tail: number | undefined): Promise<string>;
}

/** Whether a caller authenticated by its client certificate may do `verb` on this node's `subresource`. */
export interface KubeletAuthorizer {
  allowed(
    caller: { user: string; groups: string[] },
    attributes: { verb: string; subresource: string },
  ): Promise<boolean>;
}

export interface KubeletApiOptions {
  cache: PodCache;
  /** Reads and follows logs (log-followers.ts: shared polls, a budget of their own). */
  logs: Pick<LogFollowers, 'read'>;
  authorizer: KubeletAuthorizer;
  logger: Logger;
  /** The client CA is required: the API is never served without verifying who calls it. */
  tls: { certPem: string; keyPem: string; clientCaPem: string };
  /** Ends every followed log when the process shuts down. */
  shutdown: AbortSignal;
}

export function createKubeletApi(options: KubeletApiOptions): Server {
  const app = express();
  app.get('/containerLogs/:namespace/:pod/:container', (req, res) => {
    void authorize(options, req, res).then((allowed) => {
      if (allowed) return serveLogs(options, req, res);
      return undefined;
    });
  });
  app.use((_req, res) => {
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
  return closeSilentConnections(server);
}

/**
 * As a kubelet in Webhook authorization mode: the certificate's CN is the user and its O entries the
 * groups, and the API server decides (SubjectAccessReview) whether they may use nodes/proxy here.
 */
async function authorize(options: KubeletApiOptions, req: Request, res: Response): Promise<boolean> {
  const subject = (req.socket as TLSSocket).getPeerCertificate().subject as
    Record<string, string | string[] | undefined> | undefined;
  const user = typeof subject?.CN === 'string' ? subject.CN : '';
  const organizations = subject?.O;
  const groups =
    organizations === undefined ? [] : Array.isArray(organizations) ? organizations : [organizations];
  try {
    if (
      user !== '' &&
      (await options.authorizer.allowed({ user, groups }, { verb: 'get', subresource: 'proxy' }))
    ) {
      return true;
    }
    res
      .status(403)
      .type('text/plain')
      .send(`Forbidden (user=${user || 'unknown'}, verb=get, resource=nodes, subresource=proxy)\n`);
  } catch (error) {
    options.logger.warn({ err: error, user }, 'authorizing a kubelet API call failed');
    res.status(503).type('text/plain').send('could not authorize the request; try again\n');
  }
  return false;
}

async function serveLogs(options: KubeletApiOptions, req: Request, res: Response): Promise<void> {
  const { namespace = '', pod = '', container = '' } = req.params as Record<string, string | undefined>;
  const query = requestQuery(req.originalUrl);
  const parsed = parseLogOptions(query, new Date());
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
  const closed = new AbortController();
  res.on('close', () => {
    closed.abort();
  });
  try {
    const signal = AbortSignal.any([closed.signal, options.shutdown]);
    const target = { group: containerGroupName(namespace, pod), container, signal };
    await streamLogs(options, target, parsed.options, res);
  } catch (error) {
    const classified = classifyAzureError(error);
    options.logger.warn(
      { pod: `${namespace}/${pod}`, container, err: classified.message },
      'reading logs failed',
    );
    if (!res.headersSent) {
      res
        .status(classified.kind === 'NotFound' ? 404 : 502)
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
