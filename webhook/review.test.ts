import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { admissionReview } from '../test/fixtures/admission/load.ts';
import { allowReview, denyReview, parseAdmissionReview, type ParsedReview } from './review.ts';

interface EditableReview {
  apiVersion: unknown;
  kind: unknown;
  request: Record<string, unknown>;
}

function edited(change: (review: EditableReview) => void): unknown {
  const review = admissionReview('deployment-pod-create') as unknown as EditableReview;
  change(review);
  return review;
}

describe('parseAdmissionReview', () => {
  const table: { name: string; body: unknown; kind: ParsedReview['kind']; message?: RegExp }[] = [
    {
      name: 'a pod created by the ReplicaSet controller',
      body: admissionReview('deployment-pod-create'),
      kind: 'pod-create',
    },
    { name: 'a pod status update', body: admissionReview('pod-status-update'), kind: 'not-handled' },
    { name: 'a JSON array', body: [], kind: 'unreadable', message: /not a JSON object/ },
    { name: 'a string', body: 'AdmissionReview', kind: 'unreadable', message: /not a JSON object/ },
    {
      name: 'no request',
      body: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' },
      kind: 'unreadable',
      message: /no request/,
    },
    {
      name: 'no uid',
      body: edited((review) => {
        delete review.request.uid;
      }),
      kind: 'unreadable',
      message: /no uid/,
    },
    {
      name: 'v1beta1',
      body: edited((review) => {
        review.apiVersion = 'admission.k8s.io/v1beta1';
      }),
      kind: 'invalid',
      message:
        /expected apiVersion admission.k8s.io\/v1 kind AdmissionReview, got "admission.k8s.io\/v1beta1" "AdmissionReview"/,
    },
    {
      name: 'wrong kind',
      body: edited((review) => {
        review.kind = 'ConversionReview';
      }),
      kind: 'invalid',
      message: /got .* "ConversionReview"/,
    },
    {
      name: 'no object',
      body: edited((review) => {
        review.request.object = null;
      }),
      kind: 'invalid',
      message: /request.object \(the pod\) is missing/,
    },
    {
      name: 'an object that is not a pod',
      body: edited((review) => {
        review.request.object = { kind: 'Deployment', spec: {} };
      }),
      kind: 'invalid',
      message: /not a Pod with a spec \(kind "Deployment"\)/,
    },
    {
      name: 'no namespace anywhere',
      body: edited((review) => {
        delete review.request.namespace;
        const pod = review.request.object as { metadata: { namespace?: string } };
        delete pod.metadata.namespace;
      }),
      kind: 'invalid',
      message: /namespace is missing/,
    },
    {
      name: 'a deployment',
      body: edited((review) => {
        review.request.resource = { group: 'apps', version: 'v1', resource: 'deployments' };
      }),
      kind: 'not-handled',
    },
    {
      name: 'an ephemeral container',
      body: edited((review) => {
        review.request.operation = 'UPDATE';
        review.request.subResource = 'ephemeralcontainers';
      }),
      kind: 'not-handled',
    },
    {
      name: 'a delete',
      body: edited((review) => {
        review.request.operation = 'DELETE';
      }),
      kind: 'not-handled',
    },
  ];
  for (const row of table) {
    it(`${row.name} -> ${row.kind}`, () => {
      const parsed = parseAdmissionReview(row.body);
      assert.equal(parsed.kind, row.kind);
      if (parsed.kind === 'unreadable' || parsed.kind === 'invalid') {
        assert.match(parsed.message, row.message ?? /./);
      }
      // Every answerable review echoes the uid it was sent.
      if (parsed.kind !== 'unreadable') {
        assert.equal(parsed.uid, (row.body as { request: { uid: string } }).request.uid);
      }
    });
  }

  it('takes the namespace from the request when the pod names none', () => {
    const parsed = parseAdmissionReview(
      edited((review) => {
        const pod = review.request.object as { metadata: { namespace?: string } };
        delete pod.metadata.namespace;
      }),
    );
    assert.equal(parsed.kind, 'pod-create');
    assert.equal(parsed.namespace, 'shop');
    assert.equal(parsed.pod.metadata?.generateName, 'web-6845cb5999-');
  });
});

describe('answers', () => {
  it('sends a patch only with its patchType, base64 of the JSON patch', () => {
    const patch = [{ op: 'add' as const, path: '/spec/tolerations/2', value: { key: 'azure.com/aci' } }];
    const answer = allowReview('u1', patch, ['w']);
    assert.equal(answer.apiVersion, 'admission.k8s.io/v1');
    assert.equal(answer.kind, 'AdmissionReview');
    assert.equal(answer.response.uid, 'u1');
    assert.equal(answer.response.patchType, 'JSONPatch');
    assert.deepEqual(JSON.parse(Buffer.from(answer.response.patch ?? '', 'base64').toString()), patch);
    assert.deepEqual(answer.response.warnings, ['w']);
    assert.deepEqual(allowReview('u2', [], []), {
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      response: { uid: 'u2', allowed: true },
    });
  });

  it('denies with code, reason and message', () => {
    assert.deepEqual(denyReview('u3', 403, 'no').response, {
      uid: 'u3',
      allowed: false,
      status: { code: 403, message: 'no', reason: 'Forbidden' },
    });
    assert.equal(denyReview('u4', 400, 'bad').response.status?.reason, 'BadRequest');
    assert.equal(denyReview('u5', 503, 'later').response.status?.reason, 'ServiceUnavailable');
  });
});
