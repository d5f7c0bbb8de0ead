// The extender's HTTP layer: POST /filter and /prioritize as kube-scheduler calls them, plus the ops
// routes. Every scheduler call gets HTTP 200: the scheduler treats any other status as a failed call
// and reads logical failures from `Error`, so a 4xx would only hide the reason from its logs.
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { V1Pod } from '@kubernetes/client-node';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { checkPod, type Problem } from '../contract/capability.ts';
import { isVirtualNode, podKey } from '../contract/names.ts';
import type { KeyPairPem } from '../runtime/tls.ts';
import type { Logger } from '../runtime/logger.ts';
import { Counter, Histogram, LATENCY_BUCKETS, type Registry } from '../runtime/metrics.ts';
import { clientCertificateOptions, requireClientCertificate } from '../runtime/client-auth.ts';
import { opsRouter } from '../runtime/ops.ts';
import {
  answerFilter,
  answerPrioritize,
  decodeExtenderArgs,
  type ClusterView,
  type ExtenderArgs,
  type ExtenderFilterResult,
  type NodeVerdict,
} from './protocol.ts';

type Verb = 'filter' | 'prioritize';
type Outcome = 'answered' | 'invalid' | 'not-ready' | 'error';

export interface ExtenderMetrics {
  requests: Counter<'verb' | 'outcome'>;
  duration: Histogram<'verb'>;
  filterVerdicts: Counter<'node_type' | 'verdict'>;
  preferences: Counter<'preference'>;
}

export function createExtenderMetrics(registry: Registry): ExtenderMetrics {
  return {
    requests: new Counter({
      name: 'aci_burst_extender_requests_total',
      help: 'Scheduler calls by verb and outcome (answered, invalid, not-ready, error).',
      labelNames: ['verb', 'outcome'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'aci_burst_extender_request_duration_seconds',
      help: 'Time to answer a scheduler call, by verb.',
      labelNames: ['verb'],
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    filterVerdicts: new Counter({
      name: 'aci_burst_extender_filter_verdicts_total',
      help: 'Filter decisions per node: pass, or the reason the node was removed.',
      labelNames: ['node_type', 'verdict'],
      registers: [registry],
    }),
    preferences: new Counter({
      name: 'aci_burst_extender_prioritize_preferences_total',
      help: 'Prioritize calls by the pod preference applied (real-first or prefer-aci).',
      labelNames: ['preference'],
      registers: [registry],
    }),
  };
}

export interface ExtenderAppOptions {
  view: ClusterView;
  logger: Logger;
  registry: Registry;
  metrics: ExtenderMetrics;
  /** What ACI cannot run in a pod; the shared contract's check unless a test passes another. */
  check?: (pod: V1Pod) => Problem[];
  /** Only callers with a verified client certificate may call /filter and /prioritize (health and metrics stay open). */
  requireClientCertificate?: boolean;
}

/** Without nodeCacheCapable the scheduler sends every candidate node in full. */
const BODY_LIMIT = '50mb';

function filterFailure(message: string): ExtenderFilterResult {
  return { Nodes: null, NodeNames: null, FailedNodes: {}, FailedAndUnresolvableNodes: {}, Error: message };
}

/**
 * The 200 reply for a call that could not be answered. HostPriorityList has no `Error`: an empty list
 * adds no score to any node, which is what the scheduler does with a failed prioritize call anyway.
 */
const FAILURE_REPLY: Record<Verb, (message: string) => unknown> = {
  filter: filterFailure,
  prioritize: () => [],
};

class NotReadyError extends Error {}

function nodeType(entry: NodeVerdict): string {
  if (!entry.node) return 'unknown';
  return isVirtualNode(entry.node) ? 'virtual' : 'real';
}

export function createExtenderApp(options: ExtenderAppOptions): Express {
  const { view, logger, metrics } = options;
  const check = options.check ?? ((pod: V1Pod) => checkPod(pod));

  const answers: Record<Verb, (args: ExtenderArgs) => unknown> = {
    filter: (args) => {
      // In NodeNames mode the cache is the only source of labels; answering from an empty one would
      // fail every node. An Error lets the scheduler (ignorable: true) go on without the extender.
      const reasons = view.notReadyReasons();
      if (args.nodes.mode === 'names' && reasons.length > 0) throw new NotReadyError(reasons.join('; '));
      const { result, verdicts } = answerFilter(args, view, check);
      for (const entry of verdicts) {
        metrics.filterVerdicts.inc({
          node_type: nodeType(entry),
          verdict: entry.verdict.pass ? 'pass' : entry.verdict.code,
        });
      }
      logger.debug(
        {
          pod: podKey(args.pod),
          mode: args.nodes.mode,
          passed: result.NodeNames ?? result.Nodes?.items.map((node) => node.metadata?.name),
          failed: { ...result.FailedNodes, ...result.FailedAndUnresolvableNodes },
        },
        'filter',
      );
      return result;
    },
    prioritize: (args) => {
      const { result, preference } = answerPrioritize(args, view);
      metrics.preferences.inc({ preference });
      logger.debug({ pod: podKey(args.pod), preference, scores: result }, 'prioritize');
      return result;
    },
  };

  function fail(verb: Verb, outcome: Outcome, message: string, response: Response): void {
    metrics.requests.inc({ verb, outcome });
    logger.warn({ verb, outcome, error: message }, 'scheduler call not answered');
    response.status(200).json(FAILURE_REPLY[verb](message));
  }

  const app = express();
  app.disable('x-powered-by');
  app.use(opsRouter(options.registry, view));
  for (const verb of ['filter', 'prioritize'] as const) {
    const authenticated = requireClientCertificate(options.requireClientCertificate === true);
    app.post(
      `/${verb}`,
      authenticated,
      express.json({ limit: BODY_LIMIT }),
      (request: Request, response: Response) => {
        const stopTimer = metrics.duration.startTimer({ verb });
        try {
          const decoded = decodeExtenderArgs(request.body);
          if (!decoded.ok) {
            fail(verb, 'invalid', decoded.error, response);
            return;
          }
          const body = answers[verb](decoded.args);
          metrics.requests.inc({ verb, outcome: 'answered' });
          response.json(body);
        } catch (error) {
          const notReady = error instanceof NotReadyError;
          const message = error instanceof Error ? error.message : String(error);
          fail(
            verb,
            notReady ? 'not-ready' : 'error',
            notReady ? `not ready: ${message}` : message,
            response,
          );
        } finally {
          stopTimer();
        }
      },
    );
  }
  // Body parser failures (malformed JSON, too large) arrive here, before the handlers above.
  app.use((error: unknown, request: Request, response: Response, next: NextFunction) => {
    const verb = request.path.slice(1);
    if (verb !== 'filter' && verb !== 'prioritize') {
      next(error);
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    fail(verb, 'invalid', `the request body is not valid JSON: ${message}`, response);
  });
  return app;
}

export interface ListenOptions {
  port: number;
  host?: string;
  credentials: KeyPairPem;
  /** The CA whose client certificates the handshake verifies (runtime/client-auth.ts). */
  clientCaPem?: string;
}

/** Serves the app over HTTPS and resolves once it listens; port 0 picks a free port. */
export async function listenHttps(
  app: Express,
  options: ListenOptions,
): Promise<{ server: Server; port: number }> {
  const server = createServer(
    {
      cert: options.credentials.certPem,
      key: options.credentials.keyPem,
      ...clientCertificateOptions(options.clientCaPem),
    },
    app,
  );
  server.listen(options.port, options.host);
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port };
}

/** Stops accepting, lets in-flight calls finish, and cuts lingering connections after `graceMs`. */
export async function closeServer(server: Server, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  const timer = setTimeout(() => {
    server.closeAllConnections();
  }, graceMs);
  await closed;
  clearTimeout(timer);
}
