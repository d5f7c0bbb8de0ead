import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { loadPod } from '../test/fixtures/pods/index.ts';
import { needsInjectedTokenVolume, serviceAccountTokenRequests } from './service-account.ts';

const account = { metadata: { name: 'builder' } };
const pod = (spec: Partial<V1PodSpec> = {}): V1Pod => ({
  metadata: { name: 'p', namespace: 'ci' },
  spec: { serviceAccountName: 'builder', containers: [{ name: 'c', image: 'c' }], ...spec },
});

describe('serviceAccountTokenRequests', () => {
  it('asks once per audience and expiry, naming every projection that uses the token', () => {
    const projected = (audience: string | undefined, path: string) => ({
      name: path,
      projected: { sources: [{ serviceAccountToken: { audience, expirationSeconds: 600, path } }] },
    });
    const requests = serviceAccountTokenRequests(
      pod({
        automountServiceAccountToken: false, // explicit projections are mounted regardless
        volumes: [projected('vault', 'a'), projected('vault', 'b'), projected(undefined, 'c')],
      }),
      account,
    );
    assert.deepEqual(requests, [
      {
        key: 'builder|vault|600',
        serviceAccountName: 'builder',
        audience: 'vault',
        expirationSeconds: 600,
        paths: [
          'spec.volumes[0].projected.sources[0].serviceAccountToken',
          'spec.volumes[1].projected.sources[0].serviceAccountToken',
        ],
      },
      {
        key: 'builder||600',
        serviceAccountName: 'builder',
        audience: undefined,
        expirationSeconds: 600,
        paths: ['spec.volumes[2].projected.sources[0].serviceAccountToken'],
      },
    ]);
  });

  it("asks for the admission plugin's token of a pod read from the API server", () => {
    assert.deepEqual(
      serviceAccountTokenRequests(loadPod('nginx-2017'), { metadata: { name: 'default' } }).map(
        (request) => request.key,
      ),
      ['default||3607'],
    );
  });
});

describe('needsInjectedTokenVolume', () => {
  const cases: {
    name: string;
    spec: Partial<V1PodSpec>;
    serviceAccount: typeof account | undefined;
    needed: boolean;
  }[] = [
    { name: 'a pod without a token volume', spec: {}, serviceAccount: account, needed: true },
    { name: 'a pod whose ServiceAccount does not exist', spec: {}, serviceAccount: undefined, needed: false },
    {
      name: 'a pod that opts out',
      spec: { automountServiceAccountToken: false },
      serviceAccount: account,
      needed: false,
    },
    {
      name: 'a pod whose ServiceAccount opts out',
      spec: {},
      serviceAccount: { ...account, automountServiceAccountToken: false } as typeof account,
      needed: false,
    },
    {
      name: 'a pod the admission plugin already served',
      spec: { volumes: [{ name: 'kube-api-access-abcde', projected: { sources: [] } }] },
      serviceAccount: account,
      needed: false,
    },
    {
      name: 'a pod that mounts something of its own there',
      spec: {
        containers: [
          {
            name: 'c',
            image: 'c',
            volumeMounts: [{ name: 'x', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount/' }],
          },
        ],
      },
      serviceAccount: account,
      needed: false,
    },
    {
      name: 'a pod that mounts something beside it (a longer path)',
      spec: {
        containers: [
          {
            name: 'c',
            image: 'c',
            volumeMounts: [{ name: 'x', mountPath: '/var/run/secrets/kubernetes.io/serviceaccounts//' }],
          },
        ],
      },
      serviceAccount: account,
      needed: true,
    },
  ];
  for (const { name, spec, serviceAccount, needed } of cases) {
    it(`${needed ? 'adds' : 'does not add'} one for ${name}`, () => {
      assert.equal(needsInjectedTokenVolume(pod(spec), serviceAccount), needed);
    });
  }
});
