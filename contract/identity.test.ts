import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { checkPod, DEFAULT_ACI_LIMITS } from './capability.ts';
import { isUserAssignedIdentityId } from './identity.ts';
import { ACI_ANNOTATIONS } from './names.ts';
import { DEFAULT_NETWORK_SETTINGS } from './network.ts';
import { type GroupSettings, toContainerGroup } from './translate.ts';
import type { ReferencedObjects } from './types.ts';
import { DEFAULT_AUTHORITY_HOST } from './workload-identity.ts';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const identityId = (name: string, group = 'identities'): string =>
  `/subscriptions/${SUB}/resourceGroups/${group}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
const PULL = identityId('acr-pull');

const settings: GroupSettings = {
  region: 'westus',
  nodeName: 'aci-connector',
  clusterId: 'cluster-1',
  limits: DEFAULT_ACI_LIMITS,
  network: DEFAULT_NETWORK_SETTINGS,
  identity: {
    workloadIdentity: {
      tenantId: undefined,
      authorityHost: DEFAULT_AUTHORITY_HOST,
      recreateBeforeExpiry: false,
    },
    registryIdentity: { identity: PULL, servers: ['*.azurecr.io'] },
  },
};
const b64 = (text: string): string => Buffer.from(text).toString('base64');
const pullSecret = (server: string) => ({
  metadata: { name: 'pull' },
  type: 'kubernetes.io/dockerconfigjson',
  data: {
    '.dockerconfigjson': b64(JSON.stringify({ auths: { [server]: { username: 'u', password: 'p' } } })),
  },
});
const objects = (secrets: ReturnType<typeof pullSecret>[] = []): ReferencedObjects => ({
  configMaps: new Map(),
  secrets: new Map(secrets.map((secret) => [secret.metadata.name, secret])),
  serviceAccount: undefined,
});

function pod(annotations: Record<string, string>, images: string[], pullSecrets: string[] = []): V1Pod {
  return {
    metadata: { name: 'app', namespace: 'team', uid: 'u1', annotations },
    spec: {
      containers: images.map((image, index) => ({ name: `c${index}`, image, command: ['run'] })),
      imagePullSecrets: pullSecrets.map((name) => ({ name })),
    },
  };
}

describe('user-assigned identity ids', () => {
  const cases: [string, string, boolean][] = [
    ['the documented form', identityId('app'), true],
    ['fixed segments in any case, as ARM compares them', identityId('app').toLowerCase(), true],
    ['a group with dots and parentheses', identityId('app', 'rg.(prod)'), true],
    ['a group ending in a dot', identityId('app', 'rg.'), false],
    ['another provider', identityId('app').replace('Microsoft.ManagedIdentity', 'Microsoft.Compute'), false],
    ['a subscription that is no GUID', identityId('app').replace(SUB, 'sub'), false],
    ['a trailing segment', `${identityId('app')}/x`, false],
    ['an identity name of two characters', identityId('ab'), false],
    ['a client ID instead of the resource ID', SUB, false],
    ['60,000 slashes', '/'.repeat(60_000), false],
  ];
  for (const [name, text, valid] of cases) {
    it(`${valid ? 'accepts' : 'refuses'} ${name}`, () => {
      assert.equal(isUserAssignedIdentityId(text), valid);
    });
  }
});

describe('the group identity annotation', () => {
  it('gives the group every named identity once (ids compare case-insensitively)', () => {
    const [a, b] = [identityId('a-app'), identityId('b-app')];
    const translation = toContainerGroup(
      pod({ [ACI_ANNOTATIONS.identities]: `${a}, ${b},${a.toLowerCase()}` }, ['app:1']),
      objects(),
      { ...settings, identity: undefined },
    );
    assert.equal(translation.kind, 'ready');
    assert.deepEqual(translation.group.identity, {
      type: 'UserAssigned',
      userAssignedIdentities: { [a]: {}, [b]: {} },
    });
  });

  it('refuses a malformed entry with the field path, at admission as in the connector', () => {
    const annotated = pod({ [ACI_ANNOTATIONS.identities]: `${identityId('app')},my-identity` }, ['app:1']);
    const expected = [
      {
        path: `metadata.annotations['${ACI_ANNOTATIONS.identities}']`,
        message: 'entry 2 ("my-identity") is not a user-assigned managed identity\'s resource ID',
        kind: 'unsupported',
      },
    ];
    const translation = toContainerGroup(annotated, objects(), settings);
    for (const problems of [
      checkPod(annotated),
      translation.kind === 'invalid' ? translation.problems : [],
    ]) {
      assert.deepEqual(
        problems.map(({ path, message, kind }) => ({ path, message, kind })),
        expected,
      );
    }
  });

  it('gives a group without the annotations or pull identities no identity', () => {
    const translation = toContainerGroup(pod({}, ['app:1']), objects(), settings);
    assert.equal(translation.kind === 'ready' && translation.group.identity, undefined);
  });
});

describe('registry pull by identity', () => {
  const cases: {
    name: string;
    annotations?: Record<string, string>;
    images: string[];
    secrets?: string[];
    credentials: object[];
  }[] = [
    {
      name: "the node's default identity for the registries it lists",
      images: ['shop.azurecr.io/app:1', 'quay.io/tool:1'],
      credentials: [{ server: 'shop.azurecr.io', identity: PULL }],
    },
    {
      name: "a pull secret before the node's identity",
      images: ['shop.azurecr.io/app:1'],
      secrets: ['shop.azurecr.io'],
      credentials: [{ server: 'shop.azurecr.io', username: 'u', password: 'p' }],
    },
    {
      name: "the pod's identity for every uncovered registry but Docker Hub",
      annotations: { [ACI_ANNOTATIONS.registryIdentity]: identityId('mine') },
      images: ['quay.io/tool:1', 'busybox', 'shop.azurecr.io/app:1'],
      credentials: [
        { server: 'quay.io', identity: identityId('mine') },
        { server: 'shop.azurecr.io', identity: identityId('mine') },
      ],
    },
  ];
  for (const entry of cases) {
    it(`uses ${entry.name}, and the group carries that identity`, () => {
      const secrets = (entry.secrets ?? []).map(pullSecret);
      const translation = toContainerGroup(
        pod(entry.annotations ?? {}, entry.images, secrets.length > 0 ? ['pull'] : []),
        objects(secrets),
        settings,
      );
      assert.equal(translation.kind, 'ready', JSON.stringify(translation));
      assert.deepEqual(translation.group.imageRegistryCredentials ?? [], entry.credentials);
      const identities = Object.keys(translation.group.identity?.userAssignedIdentities ?? {});
      const used = entry.credentials.flatMap((credential) =>
        'identity' in credential ? [String(credential.identity)] : [],
      );
      assert.deepEqual(identities, [...new Set(used)]);
    });
  }

  it('refuses a pull identity annotation naming two identities', () => {
    const problems = checkPod(
      pod({ [ACI_ANNOTATIONS.registryIdentity]: `${identityId('a-1')},${identityId('b-1')}` }, ['app:1']),
    );
    assert.deepEqual(
      problems.map((problem) => problem.path),
      [`metadata.annotations['${ACI_ANNOTATIONS.registryIdentity}']`],
    );
  });
});
