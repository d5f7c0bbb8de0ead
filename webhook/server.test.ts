// The webhook over real HTTPS on port 0, fed the AdmissionReviews kube-apiserver sends and the
// malformed ones it never should.
import assert from 'node:assert/strict';
import { request } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import type { V1ConfigMap, V1Pod, V1ServiceAccount } from '@kubernetes/client-node';
import fastJsonPatch, { type Operation } from 'fast-json-patch';
import { ACI_TOLERATION, checkPod, podReferences } from '../contract/index.ts';
import { ClassifiedError } from '../runtime/errors.ts';
import type { ServingIdentity } from '../runtime/certificates.ts';
import { systemTimers } from '../runtime/clock.ts';
import { HttpsService } from '../runtime/https-service.ts';
import { silentLogger } from '../runtime/logger.ts';
import { capturingLogger } from '../runtime/testing/capturing-logger.ts';
import { createRegistry } from '../runtime/metrics.ts';
import { createCertificateAuthority, issueCertificate } from '../runtime/tls.ts';
import { admissionReview } from '../test/fixtures/admission/load.ts';
import type { ReferenceReader } from '../runtime/references.ts';
import type { AdmissionReviewAnswer } from './review.ts';
import { WebhookServer } from './server.ts';

const ca = createCertificateAuthority({ commonName: 'test-ca', now: new Date() });
const serving = issueCertificate(
  ca,
  { commonName: 'webhook', hosts: ['127.0.0.1'], now: new Date() },
  'server',
);

interface Reply {
  status: number;
  text: string;
  certificateSerial: string;
}

interface Outgoing {
  path: string;
  body?: string;
  contentType?: string;
  method?: 'GET' | 'POST';
  /** A client certificate to present. */
  client?: { certPem: string; keyPem: string } | undefined;
  /** Sent in 1 MiB writes without a Content-Length (Transfer-Encoding: chunked). */
  chunked?: boolean;
}

function send(
  port: number,
  { path, body = '', contentType = 'application/json', method = 'POST', client, chunked = false }: Outgoing,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        ca: ca.certPem,
        agent: false,
        ...(client && { cert: client.certPem, key: client.keyPem }),
        headers: { 'content-type': contentType },
      },
      (response) => {
        const serial = (response.socket as TLSSocket).getPeerCertificate().serialNumber;
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          resolve({ status: response.statusCode ?? 0, text, certificateSerial: serial });
        });
      },
    );
    outgoing.on('error', reject);
    if (chunked)
      for (let at = 0; at < body.length; at += 1024 * 1024) outgoing.write(body.slice(at, at + 1024 * 1024));
    outgoing.end(chunked ? undefined : body);
  });
}

async function review(port: number, path: string, body: unknown): Promise<AdmissionReviewAnswer> {
  const reply = await send(port, { path, body: JSON.stringify(body) });
  assert.equal(reply.status, 200, reply.text);
  return JSON.parse(reply.text) as AdmissionReviewAnswer;
}

function patchOf(answer: AdmissionReviewAnswer): Operation[] {
  assert.equal(answer.response.patchType, 'JSONPatch');
  return JSON.parse(Buffer.from(answer.response.patch ?? '', 'base64').toString('utf8')) as Operation[];
}

function requiredNginx(): ReturnType<typeof admissionReview> {
  const body = admissionReview('deployment-pod-create');
  const labels = body.request.object.metadata?.labels ?? {};
  labels['azure.com/aci'] = 'required';
  return body;
}

/** The namespace as the API server holds it: the root CA ConfigMap and the default ServiceAccount. */
const namespaceObjects = {
  configMaps: new Map<string, V1ConfigMap>([
    ['kube-root-ca.crt', { metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': ca.certPem } }],
  ]),
  serviceAccounts: new Map<string, V1ServiceAccount>([['default', { metadata: { name: 'default' } }]]),
};

const junk: unknown[] = [null, 0, -1, 'x', '', [], {}, true, [null], { kind: 'Pod' }];

/** Walks 1 to 6 levels down a random path and replaces what it finds there with junk. */
function corrupt(body: Record<string, unknown>, random: (below: number) => number): void {
  let node = body;
  const levels = 1 + random(6);
  for (let depth = 0; depth < levels; depth++) {
    const keys = Object.keys(node);
    const key = keys[random(keys.length)];
    if (key === undefined) return;
    const next = node[key];
    if ((depth > 0 && random(3) === 0) || typeof next !== 'object' || next === null) {
      node[key] = junk[random(junk.length)];
      return;
    }
    node = next as Record<string, unknown>;
  }
}

/** Serves the webhook's routes as main.ts does, with a fixed certificate, on a free loopback port. */
async function serve(
  server: WebhookServer,
  identity: ServingIdentity,
  clientCaPem?: string,
): Promise<HttpsService> {
  const https: HttpsService = new HttpsService({
    handler: server.handler({ notReadyReasons: () => https.notReadyReasons() }),
    port: 0,
    host: '127.0.0.1',
    certificates: { source: () => Promise.resolve(identity), refreshMs: undefined },
    ...(clientCaPem !== undefined && { clientCa: () => clientCaPem }),
    graceMs: 1000,
    logger: silentLogger(),
    timers: systemTimers,
  });
  await https.start(new AbortController().signal);
  return https;
}

describe('WebhookServer over HTTPS', () => {
  const reads: string[] = [];
  let failReads = false;
  const reader: ReferenceReader = {
    configMap: (namespace, name) => {
      reads.push(`configmap ${namespace}/${name}`);
      if (failReads)
        return Promise.reject(new ClassifiedError('Transient', 'connect ECONNREFUSED 10.0.0.1:443'));
      return Promise.resolve(namespaceObjects.configMaps.get(name));
    },
    secret: (namespace, name) => {
      reads.push(`secret ${namespace}/${name}`);
      return Promise.resolve(undefined);
    },
    serviceAccount: (namespace, name) => {
      reads.push(`serviceaccount ${namespace}/${name}`);
      return Promise.resolve(namespaceObjects.serviceAccounts.get(name));
    },
    claim: (namespace, name) => {
      reads.push(`claim ${namespace}/${name}`);
      return Promise.resolve(undefined);
    },
    persistentVolume: () => Promise.resolve(undefined),
  };
  const registry = createRegistry({ component: 'webhook-test', processMetrics: false });
  const server = new WebhookServer({
    logger: silentLogger(),
    registry,
    check: checkPod,
    references: podReferences,
    reader,
    schedulerName: 'aci-burst-scheduler',
  });
  let port = 0;
  let https: HttpsService;
  before(async () => {
    https = await serve(server, { certPem: serving.certPem, keyPem: serving.keyPem, caPem: ca.certPem });
    port = https.port ?? 0;
  });
  after(() => https.stop(1000));

  it('steers a Deployment pod in an opted-in namespace: one toleration, the second scheduler', async () => {
    const body = admissionReview('deployment-pod-create');
    const answer = await review(port, '/mutate/burst', body);
    assert.equal(answer.apiVersion, 'admission.k8s.io/v1');
    assert.equal(answer.response.uid, body.request.uid);
    assert.equal(answer.response.allowed, true);
    const pod = fastJsonPatch.applyPatch(structuredClone(body.request.object), patchOf(answer)).newDocument;
    assert.deepEqual(
      pod.spec?.tolerations?.filter((toleration) => toleration.key === ACI_TOLERATION.key),
      [ACI_TOLERATION],
    );
    assert.equal(pod.spec.schedulerName, 'aci-burst-scheduler');
    const again = await review(port, '/mutate/burst', { ...body, request: { ...body.request, object: pod } });
    assert.equal(again.response.patch, undefined, 'nothing to add the second time');
  });

  it('admits a pod ACI cannot run unchanged, with a warning naming why', async () => {
    const body = admissionReview('required-hostpath-pod-create');
    const pod: V1Pod = body.request.object;
    delete pod.metadata?.labels?.['azure.com/aci'];
    const answer = await review(port, '/mutate/burst', body);
    assert.equal(answer.response.allowed, true);
    assert.equal(answer.response.patch, undefined);
    assert.ok(
      answer.response.warnings?.some((warning) =>
        warning.startsWith('will not burst to ACI: spec.volumes[0].hostPath:'),
      ),
    );
  });

  it('rejects a required pod with a hostPath volume, listing every problem, after reading what it references', async () => {
    reads.length = 0;
    const body = admissionReview('required-hostpath-pod-create');
    const answer = await review(port, '/mutate/required', body);
    assert.equal(answer.response.allowed, false);
    assert.equal(answer.response.status?.code, 403);
    const lines = answer.response.status.message.split('\n');
    assert.match(
      lines[0] ?? '',
      /^the pod is labelled azure.com\/aci=required but Azure Container Instances cannot run it \(\d+ problems?\):$/,
    );
    const hostPath = checkPod(body.request.object).find(
      (problem) => problem.path === 'spec.volumes[0].hostPath',
    );
    assert.ok(hostPath);
    assert.ok(
      lines.includes(`spec.volumes[0].hostPath: ${hostPath.message}; ${hostPath.fix}`),
      lines.join('\n'),
    );
    assert.ok(
      lines.some((line) => line.includes('shipper-credentials')),
      'the missing Secret is named',
    );
    assert.deepEqual(reads.sort(), [
      'configmap shop/kube-root-ca.crt',
      'secret shop/shipper-credentials',
      'serviceaccount shop/default',
    ]);
  });

  it('steers a required pod ACI can run (tokens and the cluster CA are the connector’s to supply)', async () => {
    const answer = await review(port, '/mutate/required', requiredNginx());
    assert.equal(answer.response.allowed, true, answer.response.status?.message);
    assert.ok(patchOf(answer).some((operation) => operation.path.startsWith('/spec/tolerations')));
  });

  it('rejects a required pod whose ServiceAccount does not exist: no token could be issued', async () => {
    const body = requiredNginx();
    const spec = body.request.object.spec;
    assert.ok(spec);
    spec.serviceAccountName = 'builder';
    spec.serviceAccount = 'builder';
    const answer = await review(port, '/mutate/required', body);
    assert.equal(answer.response.allowed, false);
    assert.match(answer.response.status?.message ?? '', /ServiceAccount "builder" does not exist/);
  });

  it('reads nothing for a required pod naming 60,000 objects, and denies it naming the bound', async () => {
    reads.length = 0;
    const body = requiredNginx();
    const container = body.request.object.spec?.containers[0];
    assert.ok(container);
    container.envFrom = Array.from({ length: 60_000 }, (_, index) => ({
      configMapRef: { name: `map-${index}` },
    }));
    const answer = await review(port, '/mutate/required', body);
    assert.equal(answer.response.allowed, false);
    assert.equal(answer.response.status?.code, 403);
    assert.match(
      answer.response.status.message,
      /references 60002 ConfigMaps, Secrets and service-account tokens, and at most 100 are read for one pod/,
    );
    assert.deepEqual(reads, []);
  });

  it('denies with 503 when the referenced objects cannot be read, so the user can retry', async () => {
    failReads = true;
    try {
      const answer = await review(port, '/mutate/required', requiredNginx());
      assert.equal(answer.response.allowed, false);
      assert.equal(answer.response.status?.code, 503);
      assert.match(answer.response.status.message, /ECONNREFUSED.*try again/);
    } finally {
      failReads = false;
    }
  });

  it('denies a pod the check cannot walk with code 400 instead of failing', async () => {
    const body = admissionReview('deployment-pod-create');
    const broken = {
      ...body,
      request: { ...body.request, object: { kind: 'Pod', spec: { containers: 'nginx' } } },
    };
    const answer = await review(port, '/mutate/burst', broken);
    assert.equal(answer.response.allowed, false);
    assert.equal(answer.response.status?.code, 400);
    assert.match(answer.response.status.message, /^request\.object is not a valid Pod \(/);
  });

  it('answers 150 randomly corrupted reviews with a 200 or 4xx and a JSON body, and keeps serving', async () => {
    // A fixed-seed generator, so a failure reproduces.
    let seed = 7;
    const random = (below: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % below;
    };
    const answers = new Set<string>();
    for (let round = 0; round < 150; round++) {
      const body = admissionReview(
        round % 2 === 0 ? 'deployment-pod-create' : 'required-hostpath-pod-create',
      );
      corrupt(body as unknown as Record<string, unknown>, random);
      const reply = await send(port, {
        path: round % 3 === 0 ? '/mutate/required' : '/mutate/burst',
        body: JSON.stringify(body),
      });
      assert.ok(
        reply.status === 200 || (reply.status >= 400 && reply.status < 500),
        `${reply.status} ${reply.text}`,
      );
      const parsed = JSON.parse(reply.text) as Partial<AdmissionReviewAnswer>;
      answers.add(
        `${reply.status} ${String(parsed.response?.allowed)} ${String(parsed.response?.status?.code)}`,
      );
    }
    // The corruption reached every kind of answer: allowed, denied as bad input, unreadable.
    for (const kind of ['200 true undefined', '200 false 400', '400 undefined undefined']) {
      assert.ok(answers.has(kind), `${kind} in ${[...answers].join(', ')}`);
    }
    assert.equal((await send(port, { path: '/healthz', method: 'GET' })).text, 'ok');
  });

  it('reviews at the configured path with the query the API server appends, in JSON with a charset', async () => {
    const body = admissionReview('deployment-pod-create');
    const reply = await send(port, {
      path: '/mutate/burst?timeout=10s',
      body: JSON.stringify(body),
      contentType: 'application/json; charset=utf-8',
    });
    assert.equal(reply.status, 200, reply.text);
    assert.equal((JSON.parse(reply.text) as AdmissionReviewAnswer).response.uid, body.request.uid);
  });

  it('answers other methods and paths as not found, reading no review', async () => {
    assert.equal((await send(port, { path: '/mutate/burst', method: 'GET' })).status, 404);
    assert.equal((await send(port, { path: '/mutate/elsewhere', body: '{}' })).status, 404);
  });

  it('allows what it does not handle (a status update) untouched', async () => {
    const body = admissionReview('pod-status-update');
    const answer = await review(port, '/mutate/burst', body);
    assert.deepEqual(answer.response, { uid: body.request.uid, allowed: true });
  });

  const malformed: {
    name: string;
    body: string;
    contentType?: string;
    chunked?: boolean;
    status: number;
    message: RegExp;
  }[] = [
    {
      name: 'malformed JSON',
      body: '{"apiVersion": "admission.k8s.io/v1", "request": {',
      status: 400,
      message: /not valid JSON/,
    },
    {
      name: 'no uid',
      body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: {} }),
      status: 400,
      message: /no uid/,
    },
    { name: 'no request', body: '{}', status: 400, message: /no request/ },
    {
      name: 'not JSON at all',
      body: 'hello',
      contentType: 'text/plain',
      status: 400,
      message: /not a JSON object/,
    },
    {
      name: 'a body over 3 MiB',
      body: JSON.stringify({ padding: 'x'.repeat(3.5 * 1024 * 1024) }),
      status: 413,
      message: /larger than 3145728 bytes/,
    },
    {
      name: 'a chunked body growing past 3 MiB',
      body: JSON.stringify({ padding: 'x'.repeat(3.5 * 1024 * 1024) }),
      chunked: true,
      status: 413,
      message: /larger than 3145728 bytes/,
    },
  ];
  for (const c of malformed) {
    it(`answers ${c.name} with ${c.status} and a JSON message`, async () => {
      const reply = await send(port, {
        path: '/mutate/burst',
        body: c.body,
        ...(c.contentType && { contentType: c.contentType }),
        chunked: c.chunked === true,
      });
      assert.equal(reply.status, c.status);
      assert.match((JSON.parse(reply.text) as { message: string }).message, c.message);
    });
  }

  const answerable: {
    name: string;
    edit: (body: ReturnType<typeof admissionReview>) => unknown;
    message: RegExp;
  }[] = [
    {
      name: 'AdmissionReview v1beta1',
      edit: (body) => ({ ...body, apiVersion: 'admission.k8s.io/v1beta1' }),
      message: /expected apiVersion admission.k8s.io\/v1/,
    },
    {
      name: 'a missing object',
      edit: (body) => ({ ...body, request: { ...body.request, object: undefined } }),
      message: /request.object \(the pod\) is missing/,
    },
  ];
  for (const c of answerable) {
    it(`denies ${c.name} with code 400, echoing the uid`, async () => {
      const body = admissionReview('deployment-pod-create');
      const answer = await review(port, '/mutate/burst', c.edit(body));
      assert.equal(answer.response.uid, body.request.uid);
      assert.equal(answer.response.allowed, false);
      assert.equal(answer.response.status?.code, 400);
      assert.match(answer.response.status.message, c.message);
    });
  }

  it('serves health, readiness and review metrics by entry and outcome', async () => {
    assert.equal((await send(port, { path: '/healthz', method: 'GET' })).text, 'ok');
    assert.equal((await send(port, { path: '/readyz', method: 'GET' })).text, 'ok');
    const metrics = (await send(port, { path: '/metrics', method: 'GET' })).text;
    assert.match(
      metrics,
      /aci_burst_webhook_reviews_total\{entry="burst",outcome="steered",component="webhook-test"\} [1-9]/,
    );
    assert.match(
      metrics,
      /aci_burst_webhook_reviews_total\{entry="required",outcome="denied",component="webhook-test"\} [1-9]/,
    );
    assert.match(
      metrics,
      /aci_burst_webhook_reviews_total\{entry="none",outcome="invalid",component="webhook-test"\} [1-9]/,
    );
    assert.match(
      metrics,
      /aci_burst_webhook_review_duration_seconds_count\{component="webhook-test",entry="burst",outcome="steered"\} [1-9]/,
    );
  });

  it('serves a renewed certificate to new connections without a restart', async () => {
    const before = await send(port, { path: '/healthz', method: 'GET' });
    const renewed = issueCertificate(
      ca,
      { commonName: 'webhook', hosts: ['127.0.0.1'], now: new Date() },
      'server',
    );
    https.setIdentity({ certPem: renewed.certPem, keyPem: renewed.keyPem, caPem: ca.certPem });
    const afterRenewal = await send(port, { path: '/healthz', method: 'GET' });
    assert.notEqual(afterRenewal.certificateSerial, before.certificateSerial);
  });
});

describe('stopping the webhook', () => {
  it('lets an in-flight review finish, then refuses new connections', async () => {
    const reader: ReferenceReader = {
      configMap: async () => {
        await new Promise((resolve) => setTimeout(resolve, 200));
        return namespaceObjects.configMaps.get('kube-root-ca.crt');
      },
      secret: () => Promise.resolve(undefined),
      serviceAccount: () => Promise.resolve(namespaceObjects.serviceAccounts.get('default')),
      claim: () => Promise.resolve(undefined),
      persistentVolume: () => Promise.resolve(undefined),
    };
    const server = new WebhookServer({
      logger: silentLogger(),
      registry: createRegistry({ component: 'webhook-test', processMetrics: false }),
      check: checkPod,
      references: podReferences,
      reader,
      schedulerName: undefined,
    });
    const https = await serve(server, { certPem: serving.certPem, keyPem: serving.keyPem, caPem: undefined });
    const port = https.port ?? 0;
    const inFlight = review(port, '/mutate/required', requiredNginx());
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stopped = https.stop(2000);
    assert.deepEqual(https.notReadyReasons(), ['shutting down']);
    assert.equal((await inFlight).response.allowed, true);
    await stopped;
    await assert.rejects(send(port, { path: '/healthz', method: 'GET' }), { code: 'ECONNREFUSED' });
  });
});

describe('with CLIENT_CA_FILE, reviews only for callers presenting a certificate that CA signed', () => {
  const apiServerCa = createCertificateAuthority({ commonName: 'cluster-ca', now: new Date() });
  const apiServer = issueCertificate(
    apiServerCa,
    { commonName: 'kube-apiserver-webhook-client', now: new Date() },
    'client',
  );
  const server = new WebhookServer({
    logger: silentLogger(),
    registry: createRegistry({ component: 'webhook-test', processMetrics: false }),
    check: checkPod,
    references: podReferences,
    reader: {
      configMap: () => Promise.resolve(undefined),
      secret: () => Promise.resolve(undefined),
      serviceAccount: () => Promise.resolve(undefined),
      claim: () => Promise.resolve(undefined),
      persistentVolume: () => Promise.resolve(undefined),
    },
    schedulerName: undefined,
    clientCaPem: apiServerCa.certPem,
  });
  let port = 0;
  let https: HttpsService;
  before(async () => {
    https = await serve(server, { ...serving, caPem: ca.certPem }, apiServerCa.certPem);
    port = https.port ?? 0;
  });
  after(() => https.stop(1000));

  function call(path: string, client: { certPem: string; keyPem: string } | undefined): Promise<Reply> {
    return path === '/healthz'
      ? send(port, { path, method: 'GET', client })
      : send(port, { path, body: JSON.stringify(admissionReview('deployment-pod-create')), client });
  }

  const table: {
    who: string;
    path: string;
    client: () => { certPem: string; keyPem: string } | undefined;
    status: number;
  }[] = [
    {
      who: 'the API server with its client certificate',
      path: '/mutate/burst',
      client: () => apiServer,
      status: 200,
    },
    { who: 'a caller without a certificate', path: '/mutate/burst', client: () => undefined, status: 403 },
    { who: 'a caller without a certificate', path: '/mutate/required', client: () => undefined, status: 403 },
    { who: 'a certificate of another CA', path: '/mutate/burst', client: () => serving, status: 403 },
    { who: 'a kubelet probe', path: '/healthz', client: () => undefined, status: 200 },
  ];
  for (const { who, path, client, status } of table) {
    it(`${path} from ${who}: ${status}`, async () => {
      const reply = await call(path, client());
      assert.equal(reply.status, status, reply.text);
    });
  }
});

describe('a pod its namespace steers, with claims: judged by what they are bound to', () => {
  const bound = (volumeName: string) => ({ spec: { volumeName }, status: { phase: 'Bound' } });
  const server = new WebhookServer({
    logger: silentLogger(),
    registry: createRegistry({ component: 'webhook-test', processMetrics: false }),
    check: checkPod,
    references: podReferences,
    reader: {
      configMap: () => Promise.resolve(undefined),
      secret: () => Promise.resolve(undefined),
      serviceAccount: () => Promise.resolve(undefined),
      claim: (_namespace, name) =>
        Promise.resolve(
          name === 'files' ? bound('pv-files') : name === 'disk' ? bound('pv-disk') : undefined,
        ),
      persistentVolume: (name) =>
        Promise.resolve(
          name === 'pv-files'
            ? {
                metadata: { name },
                spec: {
                  csi: {
                    driver: 'file.csi.azure.com',
                    volumeHandle: 'rg#acct#share',
                    nodeStageSecretRef: { name: 'storage', namespace: 'shop' },
                  },
                },
              }
            : { metadata: { name }, spec: { hostPath: { path: '/srv' } } },
        ),
    },
    schedulerName: undefined,
  });
  const reviewClaim = async (claimName: string) => {
    const reply = await server.review('burst', {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: {
        uid: 'u1',
        kind: { group: '', version: 'v1', kind: 'Pod' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        operation: 'CREATE',
        namespace: 'shop',
        object: {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'web', namespace: 'shop' },
          spec: {
            containers: [{ name: 'app', image: 'nginx' }],
            volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }],
          },
        },
      },
    });
    return reply.outcome;
  };
  const table = [
    { claim: 'files', outcome: 'steered' },
    { claim: 'disk', outcome: 'not-steered' },
    { claim: 'absent', outcome: 'not-steered' },
  ];
  for (const row of table) {
    it(`${row.outcome === 'steered' ? 'steers' : 'does not steer'} a pod whose claim is ${row.claim}`, async () => {
      assert.equal(await reviewClaim(row.claim), row.outcome);
    });
  }
});

describe('the review log', () => {
  const absent = () => Promise.resolve(undefined);
  const logged = (level: string) => {
    const { logger, lines } = capturingLogger(level);
    const server = new WebhookServer({
      logger,
      registry: createRegistry({ component: 'webhook-test', processMetrics: false }),
      check: checkPod,
      references: podReferences,
      reader: {
        configMap: absent,
        secret: absent,
        serviceAccount: (_namespace, name) => Promise.resolve({ metadata: { name } }),
        claim: absent,
        persistentVolume: absent,
      },
      schedulerName: undefined,
    });
    return { server, lines };
  };
  const unlabelledHostPath = () => {
    const body = admissionReview('required-hostpath-pod-create');
    delete body.request.object.metadata?.labels?.['azure.com/aci'];
    return body;
  };
  const table: { name: string; entry: 'burst' | 'required'; body: () => unknown; info: string[] }[] = [
    {
      name: 'a steered pod: at debug only',
      entry: 'burst',
      body: () => admissionReview('deployment-pod-create'),
      info: [],
    },
    {
      name: 'a pod kept off ACI, with the warning why',
      entry: 'burst',
      body: unlabelledHostPath,
      info: ['not-steered'],
    },
    {
      name: 'a denied pod, with the reason',
      entry: 'required',
      body: () => admissionReview('required-hostpath-pod-create'),
      info: ['denied'],
    },
  ];
  for (const row of table) {
    it(`logs ${row.name}`, async () => {
      const atInfo = logged('info');
      await atInfo.server.review(row.entry, row.body());
      const reviewed = atInfo.lines.filter((line) => line.msg === 'pod reviewed');
      assert.deepEqual(
        reviewed.map((line) => line.outcome),
        row.info,
      );
      for (const line of reviewed) assert.ok(line.reason ?? (line.warnings as string[]).length > 0);
      const atDebug = logged('debug');
      await atDebug.server.review(row.entry, row.body());
      assert.equal(atDebug.lines.filter((line) => line.msg === 'pod reviewed').length, 1);
    });
  }
});
