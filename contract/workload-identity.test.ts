import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod, V1ServiceAccount } from '@kubernetes/client-node';
import { DEFAULT_ACI_LIMITS } from './capability.ts';
import { TAGS } from './names.ts';
import { DEFAULT_NETWORK_SETTINGS } from './network.ts';
import { serviceAccountTokenRequests, tokenKey } from './service-account.ts';
import { type GroupSettings, toContainerGroup } from './translate.ts';
import {
  tokenExpiry,
  WORKLOAD_IDENTITY,
  WORKLOAD_IDENTITY_TOKEN_EXPIRATION_SECONDS,
} from './workload-identity.ts';

const settings: GroupSettings = {
  region: 'westus',
  nodeName: 'aci-connector',
  clusterId: 'cluster-1',
  limits: DEFAULT_ACI_LIMITS,
  network: DEFAULT_NETWORK_SETTINGS,
  identity: {
    workloadIdentity: {
      tenantId: 'tenant-default',
      authorityHost: 'https://login.example/',
      recreateBeforeExpiry: false,
    },
    registryIdentity: undefined,
  },
};
const TOKEN_KEY = tokenKey('app', WORKLOAD_IDENTITY.audience, WORKLOAD_IDENTITY_TOKEN_EXPIRATION_SECONDS);
const jwt = (claims: object): string =>
  `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;
const TOKEN = jwt({ exp: 1_900_000_000 });

function serviceAccount(annotations: Record<string, string>): V1ServiceAccount {
  return { metadata: { name: 'app', namespace: 'team', annotations }, automountServiceAccountToken: false };
}

function pod(labels: Record<string, string>, extra: Partial<NonNullable<V1Pod['spec']>> = {}): V1Pod {
  return {
    metadata: { name: 'p', namespace: 'team', uid: 'u1', labels },
    spec: {
      serviceAccountName: 'app',
      containers: [
        { name: 'app', image: 'app:1', command: ['run'], env: [{ name: 'AZURE_CLIENT_ID', value: 'mine' }] },
      ],
      initContainers: [{ name: 'init', image: 'app:1', command: ['init'] }],
      ...extra,
    },
  };
}
const USE = { [WORKLOAD_IDENTITY.label]: 'true' };

function translate(subject: V1Pod, account: V1ServiceAccount, tokens = new Map([[TOKEN_KEY, TOKEN]])) {
  return toContainerGroup(
    subject,
    { configMaps: new Map(), secrets: new Map(), serviceAccount: account, serviceAccountTokens: tokens },
    settings,
  );
}

describe('workload identity', () => {
  it('asks for one token for the exchange audience, with the longest lifetime TokenRequest accepts', () => {
    const requests = serviceAccountTokenRequests(pod(USE), serviceAccount({}));
    assert.deepEqual(
      requests.map(({ audience, expirationSeconds, paths }) => ({ audience, expirationSeconds, paths })),
      [
        {
          audience: WORKLOAD_IDENTITY.audience,
          expirationSeconds: 2 ** 32,
          paths: ['spec.volumes[0].projected.sources[0].serviceAccountToken'],
        },
      ],
    );
    assert.deepEqual(serviceAccountTokenRequests(pod({}), serviceAccount({})), []);
  });

  it('gives every container the token file and the variables the webhook injects, keeping its own', () => {
    const translation = translate(
      pod(USE),
      serviceAccount({ [WORKLOAD_IDENTITY.clientIdAnnotation]: 'client-1' }),
    );
    assert.equal(translation.kind, 'ready', JSON.stringify(translation));
    const { group } = translation;
    const volume = group.volumes?.find((v) => v.name === WORKLOAD_IDENTITY.volume);
    assert.equal(Buffer.from(volume?.secret?.['azure-identity-token'] ?? '', 'base64').toString(), TOKEN);
    const env = (variables: { name: string; value?: string }[] | undefined) =>
      Object.fromEntries((variables ?? []).map((v) => [v.name, v.value]));
    const expected = {
      AZURE_CLIENT_ID: 'client-1',
      AZURE_TENANT_ID: 'tenant-default',
      AZURE_FEDERATED_TOKEN_FILE: '/var/run/secrets/azure/tokens/azure-identity-token',
      AZURE_AUTHORITY_HOST: 'https://login.example/',
    };
    assert.deepEqual(env(group.initContainers?.[0]?.environmentVariables), expected);
    assert.deepEqual(env(group.containers[0]?.environmentVariables), {
      ...expected,
      AZURE_CLIENT_ID: 'mine',
    });
    for (const container of [...group.containers, ...(group.initContainers ?? [])]) {
      assert.deepEqual(container.volumeMounts, [
        { name: WORKLOAD_IDENTITY.volume, mountPath: WORKLOAD_IDENTITY.mountPath, readOnly: true },
      ]);
    }
    assert.equal(group.tags?.[TAGS.tokenExpiry], '2030-03-17T17:46:40.000Z');
    const notice = translation.notices.find((n) => n.reason === 'WorkloadIdentityTokenNotRefreshed');
    assert.match(notice?.message ?? '', /valid until 2030-03-17T17:46:40.000Z and is not refreshed/);
  });

  it('takes the tenant from the ServiceAccount before the default', () => {
    const translation = translate(
      pod(USE),
      serviceAccount({
        [WORKLOAD_IDENTITY.clientIdAnnotation]: 'c',
        [WORKLOAD_IDENTITY.tenantIdAnnotation]: 't-sa',
      }),
    );
    const variables =
      translation.kind === 'ready' ? translation.group.initContainers?.[0]?.environmentVariables : [];
    assert.ok(variables?.some((v) => v.name === 'AZURE_TENANT_ID' && v.value === 't-sa'));
  });

  it('makes the pod wait, naming the fix, while the ServiceAccount has no client ID', () => {
    const translation = translate(pod(USE), serviceAccount({}));
    assert.equal(translation.kind, 'waiting');
    assert.deepEqual(
      translation.problems.map(({ path, fix }) => ({ path, fix: fix.slice(0, 30) })),
      [{ path: "metadata.labels['azure.workload.identity/use']", fix: 'annotate the ServiceAccount wi' }],
    );
  });

  it('uses the volume the Azure webhook already added, with the longest lifetime', () => {
    const injected = pod(USE, {
      volumes: [
        {
          name: WORKLOAD_IDENTITY.volume,
          projected: {
            sources: [
              {
                serviceAccountToken: {
                  path: 'azure-identity-token',
                  audience: WORKLOAD_IDENTITY.audience,
                  expirationSeconds: 3600,
                },
              },
            ],
            defaultMode: 420,
          },
        },
      ],
    });
    const requests = serviceAccountTokenRequests(injected, serviceAccount({}));
    assert.deepEqual(
      requests.map((request) => request.key),
      [TOKEN_KEY],
    );
    const translation = translate(injected, serviceAccount({ [WORKLOAD_IDENTITY.clientIdAnnotation]: 'c' }));
    assert.equal(translation.kind === 'ready' && translation.group.volumes?.length, 1);
  });

  it('reads the expiry of a token, and none from text that is no JWT', () => {
    assert.equal(tokenExpiry(TOKEN), 1_900_000_000_000);
    assert.equal(tokenExpiry('not a token'), undefined);
    assert.equal(tokenExpiry(jwt({ exp: 'soon' })), undefined);
  });
});
