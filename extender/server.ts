// The extender's HTTP layer: POST /filter and /prioritize as kube-scheduler calls them, plus the ops
// routes. Every scheduler call gets HTTP 200: the scheduler treats any other status as a failed call
// and reads logical failures from `Error`, so a 4xx would only hide the reason from its logs.
import type { V1Pod } from '@kubernetes/client-node';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { checkPod, isVirtualNode, podKey, type Problem } from '../contract/index.ts';
import type { Logger } from '../runtime/logger.ts';
import { Counter, Histogram, LATENCY_BUCKETS, type Registry } from '../runtime/metrics.ts';
import { requireClientCertificate } from '../runtime/client-auth.ts';
import { BODY_LIMITS } from '../runtime/http-limits.ts';
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
  /** BODY_LIMITS.schedulerCall unless a test passes another. */
  bodyLimitBytes?: number;
}

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

/** Answers one scheduler call whose body has been parsed; never throws. The HTTP layer only serialises. */
export type SchedulerCallHandler = (verb: Verb, body: unknown) => unknown;

export function createSchedulerCallHandler(options: ExtenderAppOptions): SchedulerCallHandler {
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

  return (verb, body) => {
    const stopTimer = metrics.duration.startTimer({ verb });
    try {
      const decoded = decodeExtenderArgs(body);
      if (!decoded.ok) return failure(options, verb, 'invalid', decoded.error);
      const reply = answers[verb](decoded.args);
      metrics.requests.inc({ verb, outcome: 'answered' });
      return reply;
    } catch (error) {
      const notReady = error instanceof NotReadyError;
      const message = error instanceof Error ? error.message : String(error);
      return failure(
        options,
        verb,
        notReady ? 'not-ready' : 'error',
        notReady ? `not ready: ${message}` : message,
      );
    } finally {
      stopTimer();
    }
  };
}

function failure(options: ExtenderAppOptions, verb: Verb, outcome: Outcome, message: string): unknown {
  options.metrics.requests.inc({ verb, outcome });
  options.logger.warn({ verb, outcome, error: message }, 'scheduler call not answered');
  return FAILURE_REPLY[verb](message);
}

/** Why a body never reached the handler: too large (naming the limit), or not JSON. */
function bodyError(error: unknown, limit: number): string {
  if ((error as { type?: unknown }).type === 'entity.too.large') {
    return `the request body is larger than ${limit} bytes; with more than a few hundred nodes, configure the extender with nodeCacheCapable: true`;
  }
  return `the request body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`;
}

export function createExtenderApp(options: ExtenderAppOptions): Express {
  const handle = createSchedulerCallHandler(options);
  const limit = options.bodyLimitBytes ?? BODY_LIMITS.schedulerCall;
  const app = express();
  app.disable('x-powered-by');
  app.use(opsRouter(options.registry, options.view));
  for (const verb of ['filter', 'prioritize'] as const) {
    const authenticated = requireClientCertificate(options.requireClientCertificate === true);
    app.post(`/${verb}`, authenticated, express.json({ limit }), (request: Request, response: Response) => {
      response.status(200).json(handle(verb, request.body));
    });
  }
  // Body parser failures (malformed JSON, too large) arrive here, before the handlers above.
  app.use((error: unknown, request: Request, response: Response, next: NextFunction) => {
    const verb = request.path.slice(1);
    if (verb !== 'filter' && verb !== 'prioritize') {
      next(error);
      return;
    }
    response.status(200).json(failure(options, verb, 'invalid', bodyError(error, limit)));
  });
  return app;
}
