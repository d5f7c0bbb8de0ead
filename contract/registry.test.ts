import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { DEFAULT_ACI_LIMITS } from './capability.ts';
import { type Context, newContext } from './context.ts';
import { imageRegistry, registryCredentials, registryServer } from './registry.ts';

describe('imageRegistry', () => {
  const cases: [string, string][] = [
    ['nginx', 'index.docker.io'],
    ['nginx:1.27', 'index.docker.io'],
    ['library/nginx', 'index.docker.io'],
    ['docker.io/fluent/fluent-bit:3.1', 'index.docker.io'],
    ['shopacr.azurecr.io/shop/web:1.4.2', 'shopacr.azurecr.io'],
    ['localhost:5000/app', 'localhost:5000'],
    ['localhost/app', 'localhost'],
    ['ghcr.io/org/tool@sha256:0123', 'ghcr.io'],
    ['Registry/app', 'Registry'],
  ];
  for (const [image, registry] of cases) {
    it(`pulls ${image} from ${registry}`, () => {
      assert.equal(imageRegistry(image), registry);
    });
  }
});

describe('registryServer', () => {
  const cases: [string, string][] = [
    ['https://index.docker.io/v1/', 'index.docker.io'],
    ['registry-1.docker.io', 'index.docker.io'],
    ['https://shopacr.azurecr.io', 'shopacr.azurecr.io'],
    ['quay.io', 'quay.io'],
  ];
  for (const [reference, server] of cases) {
    it(`names ${reference} ${server}`, () => {
      assert.equal(registryServer(reference), server);
    });
  }
});

describe('registryCredentials', () => {
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  const pod = (images: string[], pullSecrets: string[]): V1Pod => ({
    metadata: { name: 'p', namespace: 'team' },
    spec: {
      containers: images.map((image, index) => ({ name: `c${index}`, image })),
      imagePullSecrets: pullSecrets.map((name) => ({ name })),
    },
  });
  const secrets = new Map<string, V1Secret>([
    [
      'json',
      {
        type: 'kubernetes.io/dockerconfigjson',
        data: {
          '.dockerconfigjson': b64(
            JSON.stringify({
              auths: { 'quay.io': { auth: b64('robot:pw1') }, 'ghcr.io': { auth: b64('gh:pw2') } },
            }),
          ),
        },
      },
    ],
    [
      'cfg',
      {
        type: 'kubernetes.io/dockercfg',
        data: { '.dockercfg': b64(JSON.stringify({ 'quay.io': { username: 'other', password: 'pw3' } })) },
      },
    ],
    ['opaque', { type: 'Opaque', data: { token: b64('x') } }],
    // As the webhook reads Secrets: keys and type kept, values removed.
    ['blanked', { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': '' } }],
  ]);
  const context = (subject: V1Pod): Context =>
    newContext(
      subject,
      { configMaps: new Map(), secrets, serviceAccount: undefined },
      { limits: DEFAULT_ACI_LIMITS },
    );

  it('sends only the registries the images use, the first secret winning', () => {
    const subject = context(pod(['quay.io/org/a:1', 'nginx'], ['missing', 'json', 'cfg']));
    assert.deepEqual(registryCredentials(subject).credentials, [
      { server: 'quay.io', username: 'robot', password: 'pw1' },
    ]);
    assert.deepEqual(subject.problems, []);
  });

  it('accepts a pull secret whose values were removed, sending nothing for it', () => {
    const subject = context(pod(['quay.io/org/a:1'], ['blanked']));
    assert.deepEqual(registryCredentials(subject).credentials, []);
    assert.deepEqual(subject.problems, []);
  });

  it('refuses a pull secret that is not of a Docker configuration type', () => {
    const subject = context(pod(['quay.io/org/a:1'], ['opaque']));
    assert.deepEqual(registryCredentials(subject).credentials, []);
    assert.deepEqual(
      subject.problems.map((problem) => problem.path),
      ['spec.imagePullSecrets[0]'],
    );
  });

  it('parses a pull secret named many times once', () => {
    let reads = 0;
    const config = secrets.get('json');
    const counted = {
      ...config,
      get data() {
        reads += 1;
        return config?.data;
      },
    };
    const names = Array.from({ length: 1000 }, () => 'counted');
    const subject = newContext(
      pod(['quay.io/org/a:1'], names),
      { configMaps: new Map(), secrets: new Map([['counted', counted]]), serviceAccount: undefined },
      { limits: DEFAULT_ACI_LIMITS },
    );
    assert.equal(registryCredentials(subject).credentials.length, 1);
    assert.equal(reads, 1);
  });
});
