// The extender under fuzz: ExtenderArgs (the recorded ones mutated, and fuzzed pods with many nodes
// in both modes) through the handler in process, and raw bodies over HTTPS.
import type { V1Namespace, V1Node } from '@kubernetes/client-node';
import {
  ACI_TAINT,
  PROVIDER,
  PROVIDER_LABEL,
  REMAINING_CORES_ANNOTATION,
  REMAINING_GROUPS_ANNOTATION,
  VIRTUAL_NODE_TYPE,
  VIRTUAL_NODE_TYPE_LABEL,
} from '../../contract/index.ts';
import {
  createExtenderApp,
  createExtenderMetrics,
  createSchedulerCallHandler,
  type SchedulerCallHandler,
} from '../../extender/server.ts';
import { closeServer, listenHttps } from '../../runtime/https-service.ts';
import { MAX_SCORE } from '../../extender/policy.ts';
import type { ClusterView } from '../../extender/protocol.ts';
import { silentLogger } from '../../runtime/logger.ts';
import { createRegistry } from '../../runtime/metrics.ts';
import type { ServingCredentials } from './credentials.ts';
import type { Target } from './engine.ts';
import { httpRequest, rawRequest } from './https-client.ts';
import { FIXTURE_EXTENDER_ARGS, fuzzedPod } from './pods.ts';
import type { Random } from './random.ts';
import { hostileString, longString, mutate, type Json } from './values.ts';

function node(name: string, virtual: boolean, random: Random): V1Node {
  return {
    metadata: {
      name,
      labels: virtual ? { [VIRTUAL_NODE_TYPE_LABEL]: VIRTUAL_NODE_TYPE, [PROVIDER_LABEL]: PROVIDER } : {},
      annotations: virtual
        ? {
            [REMAINING_CORES_ANNOTATION]: hostileString(random),
            [REMAINING_GROUPS_ANNOTATION]: random.pick(['0', '5', '', 'x']),
          }
        : {},
    },
    spec: virtual ? { taints: [ACI_TAINT] } : {},
  };
}

/** The cluster the extender's caches hold in this case. */
function viewFor(random: Random): { view: ClusterView; names: string[] } {
  const nodes = new Map<string, V1Node>();
  const count = random.chance(0.95) ? 1 + random.int(10) : random.int(3_000);
  for (let index = 0; index < count; index += 1) {
    const name = random.chance(0.95) ? `node-${index}` : hostileString(random);
    nodes.set(name, node(name, index === 0 || random.chance(0.1), random));
  }
  const namespace: V1Namespace = {
    metadata: { name: 'shop', annotations: { 'azure.com/aci-preference': hostileString(random) } },
  };
  const notReady = random.chance(0.05) ? ['the node cache has not synced'] : [];
  return {
    view: {
      node: (name) => nodes.get(name),
      namespace: (name) => (name === 'shop' ? namespace : undefined),
      notReadyReasons: () => notReady,
    },
    names: [...nodes.keys()],
  };
}

function fuzzedArgs(random: Random, view: { view: ClusterView; names: string[] }): Json {
  if (random.chance(0.3)) return mutate(random, random.pick(FIXTURE_EXTENDER_ARGS));
  const pod = fuzzedPod(random);
  if (random.chance(0.5))
    return { Pod: pod, NodeNames: [...view.names, ...(random.chance(0.2) ? ['unknown-node'] : [])] };
  const nodes = view.names.map((name) => view.view.node(name) as unknown as Json);
  return { Pod: pod, Nodes: { items: nodes } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sentNames(sent: unknown): Set<string> | undefined {
  if (!isObject(sent)) return undefined;
  if (Array.isArray(sent.NodeNames))
    return new Set(sent.NodeNames.filter((name): name is string => typeof name === 'string'));
  const items = isObject(sent.Nodes) ? sent.Nodes.items : undefined;
  if (!Array.isArray(items)) return undefined;
  return new Set(
    items.flatMap((item) =>
      isObject(item) && isObject(item.metadata) && typeof item.metadata.name === 'string'
        ? [item.metadata.name]
        : [],
    ),
  );
}

/** The filter answer's shape, and that it returns only nodes it was sent, with bounded reasons. */
function filterProblem(sent: unknown, reply: unknown): string | undefined {
  if (!isObject(reply) || typeof reply.Error !== 'string') return 'no Error string';
  const keys = ['Nodes', 'NodeNames', 'FailedNodes', 'FailedAndUnresolvableNodes', 'Error'];
  if (Object.keys(reply).some((key) => !keys.includes(key))) return 'unknown keys';
  const failed = [reply.FailedNodes, reply.FailedAndUnresolvableNodes];
  if (
    failed.some(
      (map) =>
        !isObject(map) ||
        Object.values(map).some((reason) => typeof reason !== 'string' || reason.length > 20_000),
    )
  ) {
    return 'failed nodes without short string reasons';
  }
  if (reply.Error !== '')
    return reply.Nodes === null && reply.NodeNames === null ? undefined : 'nodes returned with an Error';
  const names = sentNames(sent) ?? new Set<string>();
  const returned = Array.isArray(reply.NodeNames)
    ? reply.NodeNames
    : isObject(reply.Nodes) && Array.isArray(reply.Nodes.items)
      ? reply.Nodes.items.map((item) =>
          isObject(item) && isObject(item.metadata) ? item.metadata.name : undefined,
        )
      : undefined;
  if (!returned) return 'neither NodeNames nor Nodes';
  return returned.every((name) => typeof name === 'string' && names.has(name))
    ? undefined
    : 'a node it was not sent';
}

function prioritizeProblem(reply: unknown): string | undefined {
  if (!Array.isArray(reply)) return 'not a list';
  const valid = reply.every(
    (entry) =>
      isObject(entry) &&
      typeof entry.Host === 'string' &&
      Number.isInteger(entry.Score) &&
      (entry.Score as number) >= 0 &&
      (entry.Score as number) <= MAX_SCORE,
  );
  return valid ? undefined : 'an entry that is not {Host, Score 0-10}';
}

export function answerProblem(
  verb: 'filter' | 'prioritize',
  sent: unknown,
  reply: unknown,
): string | undefined {
  return verb === 'filter' ? filterProblem(sent, reply) : prioritizeProblem(reply);
}

export function extenderTargets(credentials: ServingCredentials): {
  targets: Target[];
  start: () => Promise<void>;
} {
  let current: { view: ClusterView; names: string[] } = {
    view: { node: () => undefined, namespace: () => undefined, notReadyReasons: () => [] },
    names: [],
  };
  const view: ClusterView = {
    node: (name) => current.view.node(name),
    namespace: (name) => current.view.namespace(name),
    notReadyReasons: () => current.view.notReadyReasons(),
  };
  const registry = createRegistry({ component: 'fuzz-extender', processMetrics: false });
  const options = { view, logger: silentLogger(), registry, metrics: createExtenderMetrics(registry) };
  const handle: SchedulerCallHandler = createSchedulerCallHandler(options);
  let server: Awaited<ReturnType<typeof listenHttps>> | undefined;
  const inProcess: Target = {
    name: 'extender',
    weight: 20,
    run: (random) => {
      current = viewFor(random);
      const verb = random.chance(0.6) ? 'filter' : 'prioritize';
      const sent = fuzzedArgs(random, current);
      const reply = handle(verb, sent);
      JSON.stringify(reply);
      return Promise.resolve(answerProblem(verb, sent, reply));
    },
    close: () => Promise.resolve(undefined),
  };
  const overHttps: Target = {
    name: 'extender-https',
    weight: 4,
    run: async (random) => {
      current = viewFor(random);
      const verb = random.chance(0.6) ? 'filter' : 'prioritize';
      const sent = fuzzedArgs(random, current);
      let body = JSON.stringify(sent);
      if (random.chance(0.1)) body = body.slice(0, random.int(body.length));
      if (random.chance(0.05)) body = longString(random);
      let answer;
      try {
        answer = await rawRequest({
          port: server?.port ?? 0,
          caPem: credentials.caPem,
          bytes: httpRequest({
            method: 'POST',
            target: `/${verb}`,
            headers: { 'content-type': 'application/json' },
            body,
          }),
          timeoutMs: 9_000,
        });
      } catch (error) {
        return `no answer: ${error instanceof Error ? error.message : String(error)}`;
      }
      if (answer.status !== 200) return `HTTP ${answer.status}`;
      let reply: unknown;
      let parsedSent: unknown;
      try {
        reply = JSON.parse(answer.body);
        parsedSent = JSON.parse(body);
      } catch {
        // A body that is not JSON is answered as a failed call: check the shape alone.
        parsedSent = undefined;
      }
      return answerProblem(verb, parsedSent, reply);
    },
    close: async () => {
      if (server) await closeServer(server.server, 1000);
      return undefined;
    },
  };
  return {
    targets: [inProcess, overHttps],
    start: async () => {
      server = await listenHttps(createExtenderApp(options), {
        port: 0,
        host: '127.0.0.1',
        credentials: credentials.serving,
      });
    },
  };
}
