// The webhook under fuzz: AdmissionReviews (recorded ones mutated, and envelopes around fuzzed pods)
// through WebhookServer.review in process, and raw bodies over HTTPS to the running server.
import type { V1ConfigMap, V1Secret, V1ServiceAccount } from '@kubernetes/client-node';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { ACI_TOLERATION, checkPod, podReferences } from '../../contract/index.ts';
import { ClassifiedError } from '../../runtime/errors.ts';
import { closeServer, listenHttps } from '../../runtime/https-service.ts';
import { silentLogger } from '../../runtime/logger.ts';
import { createRegistry } from '../../runtime/metrics.ts';
import type { ReferenceReader } from '../../runtime/references.ts';
import { MAX_WARNING_LENGTH } from '../../webhook/decision.ts';
import { WEBHOOK_PATHS } from '../../webhook/configuration.ts';
import { WebhookServer } from '../../webhook/server.ts';
import type { Target } from './engine.ts';
import { httpRequest, rawRequest } from './https-client.ts';
import { FIXTURE_REVIEWS, fuzzedPod } from './pods.ts';
import type { Random } from './random.ts';
import { hostileString, longString, mutate, type Json, type JsonObject } from './values.ts';
import type { ServingCredentials } from './credentials.ts';

/** What the reader hands back for one name: mostly objects, sometimes nothing, sometimes a failure. */
function readerFor(random: Random): ReferenceReader {
  const maybe = <T>(make: () => T): Promise<T | undefined> => {
    const roll = random.next();
    if (roll < 0.05) return Promise.reject(new ClassifiedError('Transient', 'connect ECONNREFUSED'));
    return Promise.resolve(roll < 0.3 ? undefined : make());
  };
  const data = (): Record<string, string> =>
    Object.fromEntries(
      Array.from({ length: random.count(50) }, () => [hostileString(random), hostileString(random)]),
    );
  return {
    configMap: (_namespace, name) => maybe((): V1ConfigMap => ({ metadata: { name }, data: data() })),
    secret: (_namespace, name) =>
      maybe((): V1Secret => ({
        metadata: { name },
        type: random.pick(['Opaque', 'kubernetes.io/dockerconfigjson']),
        data: data(),
      })),
    serviceAccount: (_namespace, name) => maybe((): V1ServiceAccount => ({ metadata: { name } })),
    claim: () => Promise.resolve(undefined),
    persistentVolume: () => Promise.resolve(undefined),
  };
}

/** An AdmissionReview to send: a recorded one mutated, or a recorded envelope around a fuzzed pod. */
function fuzzedReview(random: Random): Json {
  const recorded = random.pick(FIXTURE_REVIEWS);
  if (random.chance(0.4)) return mutate(random, recorded);
  const request = recorded.request as JsonObject;
  return { ...recorded, request: { ...request, uid: `fuzz-${random.int(1e9)}`, object: fuzzedPod(random) } };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What is wrong with the patch: it must decode to JSON Patch that applies to the pod and adds the toleration. */
function patchProblem(pod: unknown, patch: unknown, patchType: unknown): string | undefined {
  if (patchType !== 'JSONPatch' || typeof patch !== 'string') return 'a patch without patchType JSONPatch';
  let operations: Operation[];
  try {
    operations = JSON.parse(Buffer.from(patch, 'base64').toString('utf8')) as Operation[];
    const patched = fastJsonPatch.applyPatch(structuredClone(pod), operations, true, false).newDocument as {
      spec?: { tolerations?: unknown[] };
    };
    const tolerated = (patched.spec?.tolerations ?? []).some(
      (toleration) => isObject(toleration) && toleration.key === ACI_TOLERATION.key,
    );
    return tolerated ? undefined : 'the patch does not add the ACI toleration';
  } catch (error) {
    return `the patch does not apply: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** A 400 is the answer to a body with no uid to answer to, with a message. */
function badRequestProblem(uid: unknown, body: unknown): string | undefined {
  if (typeof uid === 'string' && uid !== '') return 'a review with a uid answered 400';
  return isObject(body) && typeof body.message === 'string' && body.message !== ''
    ? undefined
    : 'a 400 without a message';
}

function responseProblem(
  request: Record<string, unknown> | undefined,
  response: Record<string, unknown>,
): string | undefined {
  if (!response.allowed) {
    const result = response.status;
    const valid =
      isObject(result) &&
      [400, 403, 503].includes(result.code as number) &&
      typeof result.message === 'string';
    return valid ? undefined : 'a denial without code and message';
  }
  const warnings = response.warnings ?? [];
  if (
    !Array.isArray(warnings) ||
    warnings.some((w) => typeof w !== 'string' || w.length > MAX_WARNING_LENGTH)
  ) {
    return 'warnings the API server would not pass on';
  }
  return response.patch === undefined
    ? undefined
    : patchProblem(request?.object, response.patch, response.patchType);
}

/** What is wrong with the answer to `sent`, if anything. */
export function reviewProblem(sent: unknown, status: number, body: unknown): string | undefined {
  const request = isObject(sent) && isObject(sent.request) ? sent.request : undefined;
  if (status === 400) return badRequestProblem(request?.uid, body);
  if (status !== 200) return `HTTP ${status}`;
  if (!isObject(body) || body.apiVersion !== 'admission.k8s.io/v1' || body.kind !== 'AdmissionReview') {
    return 'not an AdmissionReview';
  }
  const response = body.response;
  if (!isObject(response) || response.uid !== request?.uid || typeof response.allowed !== 'boolean') {
    return 'no response with the uid';
  }
  return responseProblem(request, response);
}

/** The body sent over HTTPS: the review as JSON, or cut short, or no JSON at all, or over the limit. */
function bodyText(random: Random, sent: Json): string {
  const text = JSON.stringify(sent);
  switch (random.int(10)) {
    case 0:
      return text.slice(0, random.int(text.length));
    case 1:
      return longString(random);
    case 2:
      return random.chance(0.05) ? JSON.stringify({ padding: 'x'.repeat(3.2 * 2 ** 20) }) : text;
    default:
      return text;
  }
}

export function webhookTargets(credentials: ServingCredentials): {
  targets: Target[];
  start: () => Promise<void>;
} {
  let reader: ReferenceReader = {
    configMap: () => Promise.resolve(undefined),
    secret: () => Promise.resolve(undefined),
    serviceAccount: () => Promise.resolve(undefined),
    claim: () => Promise.resolve(undefined),
    persistentVolume: () => Promise.resolve(undefined),
  };
  const server = new WebhookServer({
    logger: silentLogger(),
    registry: createRegistry({ component: 'fuzz-webhook', processMetrics: false }),
    check: checkPod,
    references: podReferences,
    reader: {
      configMap: (namespace, name) => reader.configMap(namespace, name),
      secret: (namespace, name) => reader.secret(namespace, name),
      serviceAccount: (namespace, name) => reader.serviceAccount(namespace, name),
      claim: (namespace, name) => reader.claim(namespace, name),
      persistentVolume: (name) => reader.persistentVolume(name),
    },
    schedulerName: 'aci-burst-scheduler',
  });
  let port = 0;
  let listening: Awaited<ReturnType<typeof listenHttps>> | undefined;
  const inProcess: Target = {
    name: 'webhook',
    weight: 30,
    run: async (random) => {
      reader = readerFor(random);
      const sent = fuzzedReview(random);
      const reply = await server.review(random.chance(0.5) ? 'burst' : 'required', sent);
      JSON.stringify(reply.body);
      return reviewProblem(sent, reply.status, reply.body);
    },
    close: () => Promise.resolve(undefined),
  };
  const overHttps: Target = {
    name: 'webhook-https',
    weight: 4,
    run: async (random) => {
      reader = readerFor(random);
      const sent = fuzzedReview(random);
      const body = bodyText(random, sent);
      // Either JSON or plainly not: the server parses exactly application/json.
      const contentType = random.chance(0.9)
        ? 'application/json'
        : random.pick(['text/plain', 'application/xml', '']);
      const path = random.chance(0.95)
        ? random.pick(Object.values(WEBHOOK_PATHS))
        : hostileString(random).replace(/[\s]/g, '');
      let answer;
      try {
        answer = await rawRequest({
          port,
          caPem: credentials.caPem,
          bytes: httpRequest({
            method: 'POST',
            target: path.startsWith('/') ? path : `/${path}`,
            headers: { 'content-type': contentType },
            body,
          }),
          timeoutMs: 9_000,
        });
      } catch (error) {
        return `no answer: ${error instanceof Error ? error.message : String(error)}`;
      }
      // Elsewhere a 404 (or, with the body still arriving, a closed connection) is the answer.
      if (!Object.values(WEBHOOK_PATHS).includes(path)) {
        return answer.status < 500 ? undefined : `HTTP ${answer.status} for ${path}`;
      }
      if (answer.status === 413) return undefined;
      let parsed: unknown;
      try {
        parsed = JSON.parse(answer.body);
      } catch {
        return `HTTP ${answer.status} with a body that is not JSON`;
      }
      const wasJson = contentType === 'application/json' && isJson(body);
      return reviewProblem(wasJson ? (JSON.parse(body) as unknown) : undefined, answer.status, parsed);
    },
    close: async () => {
      if (listening) await closeServer(listening.server, 1000);
      return undefined;
    },
  };
  return {
    targets: [inProcess, overHttps],
    start: async () => {
      listening = await listenHttps(server.handler({ notReadyReasons: () => [] }), {
        port: 0,
        host: '127.0.0.1',
        credentials: credentials.serving,
      });
      port = listening.port;
    },
  };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
