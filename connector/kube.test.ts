import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { MAX_POD_REFERENCES } from '../contract/index.ts';
import { FakeClock } from '../runtime/clock.ts';
import { silentLogger } from '../runtime/logger.ts';
import {
  type FakeApiServer,
  type RecordedRequest,
  startFakeApiServer,
  status,
} from '../runtime/testing/fake-api-server.ts';
import { KubeEventRecorder, KubeNodeApi, KubePodApi, SubjectAccessReviewAuthorizer } from './kube.ts';

/** A client for an API server that is not there: any request it sends fails. */
function unreachableApiServer(): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'none', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'nobody' }],
    contexts: [{ name: 'none', cluster: 'none', user: 'nobody' }],
    currentContext: 'none',
  });
  return kubeConfig;
}

function podNaming(configMaps: number): V1Pod {
  const envFrom = Array.from({ length: configMaps }, (_, index) => ({
    configMapRef: { name: `map-${index}` },
  }));
  return {
    metadata: { name: 'p', namespace: 'shop', uid: 'u' },
    spec: { containers: [{ name: 'app', image: 'app:1', envFrom }] },
  };
}

describe('KubePodApi.fetchReferences', () => {
  const api = new KubePodApi(unreachableApiServer(), undefined);

  it('reads nothing for a pod naming more objects than the bound (the translation refuses it)', async () => {
    assert.deepEqual(await api.fetchReferences(podNaming(MAX_POD_REFERENCES + 1)), {
      configMaps: new Map(),
      secrets: new Map(),
      serviceAccount: undefined,
    });
  });

  it('reads the objects of a pod within the bound', async () => {
    await assert.rejects(api.fetchReferences(podNaming(MAX_POD_REFERENCES)));
  });
});

describe('the Kubernetes calls, against a fake API server', () => {
  const pod: V1Pod = {
    metadata: { name: 'web', namespace: 'shop', uid: 'uid-web' },
    spec: { containers: [{ name: 'app', image: 'app:1' }] },
  };
  let answers: Record<string, { status: number; body: unknown }> = {};
  let server: FakeApiServer;
  before(async () => {
    server = await startFakeApiServer(
      (request) =>
        answers[`${request.method} ${request.url.split('?')[0] ?? ''}`] ?? { status: 201, body: {} },
    );
  });
  after(() => server.close());
  beforeEach(() => {
    server.requests.length = 0;
    answers = {};
  });

  it('writes a pod status as a merge patch of /status', async () => {
    await new KubePodApi(server.kubeConfig, undefined).updateStatus(pod, { phase: 'Running' });
    assert.deepEqual(server.requests, [
      {
        method: 'PATCH',
        url: '/api/v1/namespaces/shop/pods/web/status',
        contentType: 'application/merge-patch+json',
        body: { status: { phase: 'Running' } },
      },
    ]);
  });

  it('removes a pod at once, only if it is still the same pod (UID precondition)', async () => {
    await new KubePodApi(server.kubeConfig, undefined).forceDelete(pod);
    const [request] = server.requests;
    assert.equal(request?.method, 'DELETE');
    assert.match(request.url, /^\/api\/v1\/namespaces\/shop\/pods\/web\?gracePeriodSeconds=0$/);
    assert.deepEqual(request.body, { gracePeriodSeconds: 0, preconditions: { uid: 'uid-web' } });
  });

  it('throws API failures classified by reaction', async () => {
    answers['DELETE /api/v1/namespaces/shop/pods/web'] = status(409, 'Conflict');
    await assert.rejects(new KubePodApi(server.kubeConfig, undefined).forceDelete(pod), {
      kind: 'Conflict',
    });
  });

  it('records an event once per window, however often the same event is reported', async () => {
    const clock = new FakeClock();
    const recorder = new KubeEventRecorder({
      kubeConfig: server.kubeConfig,
      nodeName: 'aci-connector',
      clock,
      logger: silentLogger(),
    });
    const posted = (reason: string) => (request: RecordedRequest) =>
      request.method === 'POST' && (request.body as { reason?: string }).reason === reason;
    recorder.record(pod, { type: 'Warning', reason: 'ACIThrottled', message: 'slow down' });
    recorder.record(pod, { type: 'Warning', reason: 'ACIThrottled', message: 'slow down' });
    recorder.record(pod, { type: 'Normal', reason: 'Pulled', message: 'pulled' });
    await server.waitFor(posted('Pulled'));
    // Sent after both ACIThrottled calls returned: when it arrives, a repeated POST would have too.
    recorder.record(pod, { type: 'Normal', reason: 'Started', message: 'started' });
    await server.waitFor(posted('Started'));
    assert.equal(server.requests.filter(posted('ACIThrottled')).length, 1);
    const [event] = server.requests;
    assert.equal(event?.url, '/api/v1/namespaces/shop/events');
    assert.deepEqual((event.body as { involvedObject?: unknown }).involvedObject, {
      apiVersion: 'v1',
      kind: 'Pod',
      name: 'web',
      namespace: 'shop',
      uid: 'uid-web',
    });

    await clock.advance(60_000);
    recorder.record(pod, { type: 'Warning', reason: 'ACIThrottled', message: 'slow down' });
    await server.waitFor(posted('ACIThrottled'), 2);
  });

  it('reads a missing node as undefined', async () => {
    answers['GET /api/v1/nodes/aci-connector'] = status(404, 'NotFound');
    assert.equal(await new KubeNodeApi(server.kubeConfig).readNode('aci-connector'), undefined);
  });

  it('asks the API server once per caller and verb within a minute (SubjectAccessReview)', async () => {
    answers['POST /apis/authorization.k8s.io/v1/subjectaccessreviews'] = {
      status: 201,
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', status: { allowed: true } },
    };
    const clock = new FakeClock();
    const authorizer = new SubjectAccessReviewAuthorizer({
      kubeConfig: server.kubeConfig,
      nodeName: 'aci-connector',
      clock,
    });
    const caller = { user: 'system:kube-apiserver', groups: ['system:masters'] };
    const logs = { verb: 'get', subresource: 'log' };
    assert.equal(await authorizer.allowed(caller, logs), true);
    assert.equal(await authorizer.allowed(caller, logs), true);
    assert.equal(server.requests.length, 1);
    assert.deepEqual((server.requests[0]?.body as { spec?: unknown }).spec, {
      user: 'system:kube-apiserver',
      groups: ['system:masters'],
      resourceAttributes: { verb: 'get', resource: 'nodes', subresource: 'log', name: 'aci-connector' },
    });
    await clock.advance(60_000);
    await authorizer.allowed(caller, logs);
    assert.equal(server.requests.length, 2, 'asked again once the answer is a minute old');
  });
});
