// The webhook's routes: the two webhook entries plus the ops routes, review handling (gather inputs,
// ask the pure decision, serialise the verdict) and metrics. Served by runtime/https-service.ts
// (listening, certificate swaps, a graceful stop). Everything it talks to arrives through
// `WebhookDependencies`.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import express from 'express';
import {
  claimProblems,
  type ExposureSettings,
  MAX_POD_REFERENCES,
  type PodReferences,
  podPlacement,
  type Problem,
  READS_PER_CLAIM,
  referenceCount,
  type ReferencedObjects,
} from '../contract/index.ts';
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../runtime/logger.ts';
import { Counter, Histogram, LATENCY_BUCKETS, type Registry } from '../runtime/metrics.ts';
import { BODY_LIMITS, readBody } from '../runtime/http-limits.ts';
import { opsRouter, type Readiness } from '../runtime/ops.ts';
import { WEBHOOK_PATHS } from './configuration.ts';
import {
  decide,
  needsReferencedObjects,
  type PodChecker,
  type Verdict,
  type WebhookEntry,
} from './decision.ts';
import { clientCertificateRefusal } from '../runtime/client-auth.ts';
import { readClaimedVolumes, readReferencedObjects, type ReferenceReader } from '../runtime/references.ts';
import { allowReview, denyReview, parseAdmissionReview } from './review.ts';

export interface WebhookDependencies {
  logger: Logger;
  registry: Registry;
  /** contract/capability.ts checkPod, or a fake in tests. */
  check: PodChecker;
  /** contract/capability.ts podReferences: which objects a `required` pod needs read. */
  references: (pod: V1Pod) => PodReferences;
  reader: ReferenceReader;
  schedulerName: string | undefined;
  /** The connector's exposure settings (ACI_SUBNET_ID set, ACI_EXPOSE_PORTS_PUBLICLY). */
  exposure?: ExposureSettings;
  bodyLimitBytes?: number;
  /**
   * When set, only callers presenting a certificate this CA signed (the API server, configured with
   * --admission-control-config-file) get a review; health and metrics stay open (runtime/client-auth.ts).
   */
  clientCaPem?: string;
}

type ReviewOutcome = Verdict['outcome'] | 'invalid' | 'error';

interface ReviewReply {
  status: number;
  body: unknown;
  outcome: ReviewOutcome;
}

export class WebhookServer {
  readonly #dependencies: WebhookDependencies;
  readonly #reviews: Counter<'entry' | 'outcome'>;
  readonly #latency: Histogram<'entry' | 'outcome'>;

  constructor(dependencies: WebhookDependencies) {
    this.#dependencies = dependencies;
    this.#reviews = new Counter({
      name: 'aci_burst_webhook_reviews_total',
      help: 'AdmissionReviews answered, by webhook entry and outcome (steered, not-steered, ignored, denied, invalid, error)',
      labelNames: ['entry', 'outcome'],
      registers: [dependencies.registry],
    });
    this.#latency = new Histogram({
      name: 'aci_burst_webhook_review_duration_seconds',
      help: 'Time to answer an AdmissionReview, by webhook entry and outcome',
      labelNames: ['entry', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers: [dependencies.registry],
    });
  }

  /**
   * The review routes and the ops routes; `readiness` is the serving side's (runtime/https-service.ts).
   * Reviews are the hot path (every pod created in an opted-in namespace), so they get a plain handler:
   * read the body within its limit, parse it once, decide, answer. Everything else goes to express.
   */
  handler(readiness: Readiness): RequestListener {
    const ops = express().disable('x-powered-by').use(opsRouter(this.#dependencies.registry, readiness));
    const entries = new Map<string, WebhookEntry>(
      (['burst', 'required'] as const).map((entry) => [WEBHOOK_PATHS[entry], entry]),
    );
    return (request, response) => {
      // The API server appends ?timeout=10s to the configured path.
      const entry = request.method === 'POST' ? entries.get(pathOf(request.url)) : undefined;
      if (entry === undefined) {
        ops(request, response);
        return;
      }
      // review() never throws; this is for a fault in the serving itself, which must not take the process down.
      this.#serveReview(entry, request, response).catch((error: unknown) => {
        this.#reviews.inc({ entry, outcome: 'error' });
        this.#dependencies.logger.error({ err: error, entry }, 'review failed');
        if (!response.headersSent) sendJson(response, 500, { message: 'internal error' });
      });
    };
  }

  async #serveReview(entry: WebhookEntry, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const refusal =
      this.#dependencies.clientCaPem === undefined
        ? undefined
        : clientCertificateRefusal(request.socket as TLSSocket);
    if (refusal !== undefined) {
      send(response, 403, 'text/plain; charset=utf-8', refusal);
      return;
    }
    const started = process.hrtime.bigint();
    let body: unknown;
    try {
      const bytes = await readBody(request, this.#bodyLimitBytes);
      if (bytes === 'too large') {
        this.#rejectBody(response, 413, `the body is larger than ${this.#bodyLimitBytes} bytes`);
        return;
      }
      // Anything but JSON is no AdmissionReview: the review says so.
      body = isJson(request.headers['content-type']) ? JSON.parse(bytes.toString('utf8')) : undefined;
    } catch (error) {
      const message =
        error instanceof SyntaxError ? 'the body is not valid JSON' : 'the body could not be read';
      this.#rejectBody(response, 400, message, error);
      return;
    }
    const reply = await this.review(entry, body);
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.#reviews.inc({ entry, outcome: reply.outcome });
    this.#latency.observe({ entry, outcome: reply.outcome }, seconds);
    sendJson(response, reply.status, reply.body);
  }

  get #bodyLimitBytes(): number {
    return this.#dependencies.bodyLimitBytes ?? BODY_LIMITS.admissionReview;
  }

  /** Bodies that never reach a review: too large, not JSON, cut off. No uid can be read from them. */
  #rejectBody(response: ServerResponse, status: 400 | 413, message: string, error?: unknown): void {
    this.#reviews.inc({ entry: 'none', outcome: 'invalid' });
    this.#dependencies.logger.warn({ err: error, status, reason: message }, 'request rejected before review');
    sendJson(response, status, { message: `${message}; expected an admission.k8s.io/v1 AdmissionReview` });
  }

  /** Answers one review; never throws, so no request can take the process down. */
  async review(entry: WebhookEntry, body: unknown): Promise<ReviewReply> {
    const parsed = parseAdmissionReview(body);
    const log = this.#dependencies.logger;
    switch (parsed.kind) {
      case 'unreadable':
        log.warn({ entry, reason: parsed.message }, 'unreadable AdmissionReview');
        return {
          status: 400,
          body: { message: `${parsed.message}; expected an admission.k8s.io/v1 AdmissionReview` },
          outcome: 'invalid',
        };
      case 'invalid':
        log.warn({ entry, uid: parsed.uid, reason: parsed.message }, 'invalid AdmissionReview');
        return { status: 200, body: denyReview(parsed.uid, 400, parsed.message), outcome: 'invalid' };
      case 'not-handled':
        return { status: 200, body: allowReview(parsed.uid, [], []), outcome: 'ignored' };
      case 'pod-create':
        return this.#reviewPod(entry, parsed);
    }
  }

  async #reviewPod(
    entry: WebhookEntry,
    request: { uid: string; namespace: string; pod: V1Pod },
  ): Promise<ReviewReply> {
    const { uid, namespace, pod } = request;
    const log = this.#dependencies.logger;
    // On every line about this review; fields rather than a child logger, which would cost each review.
    const about = { entry, uid, namespace, pod: pod.metadata?.name ?? pod.metadata?.generateName };
    // The API server sends only valid pods; something else posted here may break the pure functions,
    // and is answered as the bad input it is.
    const malformed = (error: unknown): ReviewReply => {
      log.warn({ ...about, err: error }, 'the pod could not be checked');
      const message = `request.object is not a valid Pod (${errorMessage(error)})`;
      return { status: 200, body: denyReview(uid, 400, message), outcome: 'invalid' };
    };
    let references: PodReferences | undefined;
    try {
      const named = needsReferencedObjects(pod) ? this.#dependencies.references(pod) : undefined;
      // Past the bound nothing is read: the check refuses the pod from its spec, naming the bound.
      references = named && referenceCount(pod, named) <= MAX_POD_REFERENCES ? named : undefined;
    } catch (error) {
      return malformed(error);
    }
    let objects: ReferencedObjects | undefined;
    try {
      objects = references && (await readReferencedObjects(this.#dependencies.reader, namespace, references));
    } catch (error) {
      log.error({ ...about, err: error }, 'could not read the objects the pod references');
      const message = `could not read the objects this pod references to check it can run on ACI (${errorMessage(error)}); try again`;
      return { status: 200, body: denyReview(uid, 503, message), outcome: 'error' };
    }
    const claimed = await this.#claimProblems(entry, pod, namespace, about);
    let verdict: Verdict;
    try {
      verdict = decide(
        {
          entry,
          pod,
          ...(objects && { objects }),
          ...(claimed && { claimProblems: claimed }),
          schedulerName: this.#dependencies.schedulerName,
          exposure: this.#dependencies.exposure,
        },
        this.#dependencies.check,
      );
    } catch (error) {
      return malformed(error);
    }
    this.#logVerdict(about, verdict);
    const answer = verdict.allowed
      ? allowReview(uid, verdict.patch, verdict.warnings)
      : denyReview(uid, 403, verdict.message);
    return { status: 200, body: answer, outcome: verdict.outcome };
  }

  /**
   * Pods denied or warned about at info; routine ones (steered or ignored, no warning) at debug: in a
   * burst a line each would cost about a sixth of the review's CPU (docs/benchmarks.md).
   */
  #logVerdict(about: object, verdict: Verdict): void {
    const details = verdict.allowed ? { warnings: verdict.warnings } : { reason: verdict.message };
    const level = verdict.allowed && verdict.warnings.length === 0 ? 'debug' : 'info';
    this.#dependencies.logger[level]({ ...about, outcome: verdict.outcome, ...details }, 'pod reviewed');
  }

  /**
   * Why the claims keep a namespace-steered pod off ACI: not bound, not on Azure Files. A read that
   * fails leaves the pod unsteered (a warning says why) rather than failing its creation.
   */
  async #claimProblems(
    entry: WebhookEntry,
    pod: V1Pod,
    namespace: string,
    about: object,
  ): Promise<Problem[] | undefined> {
    // A pod its namespace steers is checked from its spec, and its claims from what they are bound to.
    if (entry !== 'burst' || needsReferencedObjects(pod) || podPlacement(pod) === 'never') return undefined;
    let claims: string[];
    try {
      claims = this.#dependencies.references(pod).claims;
    } catch {
      return undefined; // a malformed pod: the check reports it
    }
    if (claims.length === 0 || claims.length * READS_PER_CLAIM > MAX_POD_REFERENCES) return undefined;
    try {
      return claimProblems(pod, await readClaimedVolumes(this.#dependencies.reader, namespace, claims));
    } catch (error) {
      this.#dependencies.logger.warn({ ...about, err: error }, "could not read the pod's claims");
      const message = `could not read the pod's claims (${errorMessage(error)})`;
      return [{ path: 'spec.volumes', message, fix: 'try again', kind: 'missing-reference' }];
    }
  }
}

function pathOf(url = ''): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** application/json, with or without parameters (charset=utf-8 is the only one JSON has). */
function isJson(contentType: string | undefined): boolean {
  return contentType?.split(';', 1)[0]?.trim().toLowerCase() === 'application/json';
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(body));
}

/**
 * Headers and body in one write with a Content-Length (writeHead before the body is known would send
 * it chunked, in several writes, each costing a TLS record); no ETag: the API server wants none.
 */
function send(response: ServerResponse, status: number, contentType: string, text: string): void {
  response.statusCode = status;
  response.setHeader('content-type', contentType);
  response.end(text);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
