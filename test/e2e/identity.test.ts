// Azure identities end to end (issue 18): the real connector process on the shared cluster and the ACI
// emulator. A pod naming a user-assigned identity and pulling a private image by the node's default
// pull identity gets both in its PUT; a workload identity pod's token, read from the group's secret
// volume in the emulator, is exchanged at the emulator's Entra ID (trusting the cluster's
// service-account issuer keys, read from its JWKS) for an access token; an identity the connector may
// not assign keeps the pod Pending with an event naming the role to grant.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { request } from 'node:https';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, RbacAuthorizationV1Api, type V1Pod } from '@kubernetes/client-node';
import {
  ACI_ANNOTATIONS,
  ACI_TAINT_KEY,
  BURST_NAMESPACE_ENABLED,
  BURST_NAMESPACE_LABEL,
  containerGroupName,
  WORKLOAD_IDENTITY,
} from '../../contract/index.ts';
import type { RequestLogEntry } from '../emulator/request-log.ts';
import { startEmulator, type RunningEmulator } from '../emulator/server.ts';
import { useTestCluster } from '../support/cluster.ts';
import { startConnector, type RunningConnector } from '../support/connector.ts';
import { eventually } from '../support/eventually.ts';

const run = promisify(execFile);
const cluster = await useTestCluster();
const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
const rbac = cluster.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
const clusterId = (await core.readNamespace({ name: 'kube-system' })).metadata?.uid ?? '';
const nodeName = `aci-identity-${randomBytes(3).toString('hex')}`;
/** What manifests/connector/connector.yaml grants the virtual node, for this test's node. */
const audienceGrant = `aci-burst-workload-identity-audience:${nodeName}`;

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const identityId = (name: string): string =>
  `/subscriptions/${SUB}/resourceGroups/identities/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
const APP_IDENTITY = identityId('shop-app');
const PULL_IDENTITY = identityId('acr-pull');
const LOCKED_IDENTITY = identityId('locked');

interface SentGroup {
  identity?: { type: string; userAssignedIdentities: Record<string, object> };
  properties: {
    containers: { properties: { environmentVariables?: { name: string; value?: string }[] } }[];
    imageRegistryCredentials?: { server: string; identity?: string; username?: string }[];
  };
}

function formPost(
  url: string,
  caPem: string,
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', ca: caPem, headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(new URLSearchParams(form).toString());
  });
}

describe('Azure identities on ACI', () => {
  let emulator: RunningEmulator;
  let connector: RunningConnector;
  let namespace: string;

  const kubectlRaw = async (path: string): Promise<unknown> =>
    JSON.parse(
      (await run(cluster.kubectlPath, ['--kubeconfig', cluster.kubeconfigPath, 'get', '--raw', path])).stdout,
    );

  const createPod = (
    name: string,
    options: {
      annotations?: Record<string, string>;
      labels?: Record<string, string>;
      image?: string;
      serviceAccountName?: string;
    },
  ): Promise<V1Pod> =>
    core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name, annotations: options.annotations ?? {}, labels: options.labels ?? {} },
        spec: {
          nodeName,
          tolerations: [{ key: ACI_TAINT_KEY, operator: 'Exists', effect: 'NoSchedule' }],
          automountServiceAccountToken: false,
          ...(options.serviceAccountName !== undefined && { serviceAccountName: options.serviceAccountName }),
          containers: [{ name: 'app', image: options.image ?? 'aci-burst/run', command: ['/app/run'] }],
        },
      },
    });

  const waitPhase = (name: string, phase: string): Promise<V1Pod> =>
    eventually(
      `${name} to be ${phase}`,
      async () => {
        const pod = await core.readNamespacedPod({ name, namespace });
        return pod.status?.phase === phase ? pod : undefined;
      },
      60_000,
    );

  const groupOf = (name: string): string => containerGroupName(namespace, name, clusterId);

  const sentGroup = async (name: string): Promise<SentGroup | undefined> => {
    const put = (await emulator.control.requests()).find(
      (r: RequestLogEntry) =>
        r.method === 'PUT' && r.path.endsWith(`/containerGroups/${groupOf(name)}`) && r.status < 300,
    );
    return put?.body as SentGroup | undefined;
  };

  const eventWith = (name: string, reason: string) =>
    eventually(`${name} to get a ${reason} event`, async () => {
      const events = await core.listNamespacedEvent({
        namespace,
        fieldSelector: `involvedObject.name=${name}`,
      });
      return events.items.find((event) => event.reason === reason);
    });

  before(async () => {
    emulator = await startEmulator();
    await emulator.control.putManagedIdentity({ id: APP_IDENTITY });
    await emulator.control.putManagedIdentity({ id: PULL_IDENTITY, registries: [emulator.registry.host] });
    await emulator.control.putManagedIdentity({ id: LOCKED_IDENTITY, assignable: false });
    // The node may request tokens for the exchange audience, which no pod spec names (NodeRestriction's
    // ServiceAccountNodeAudienceRestriction): the grant the manifests give the virtual node.
    await rbac.createClusterRole({
      body: {
        metadata: { name: audienceGrant },
        rules: [
          {
            apiGroups: [''],
            resources: [WORKLOAD_IDENTITY.audience],
            verbs: ['request-serviceaccounts-token-audience'],
          },
        ],
      },
    });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: audienceGrant },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: audienceGrant },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: `system:node:${nodeName}` }],
      },
    });
    connector = await startConnector({
      cluster,
      emulator,
      nodeName,
      env: {
        ACI_WAIT_RETRY_SECONDS: '2',
        ACI_REGISTRY_IDENTITY: PULL_IDENTITY,
        ACI_REGISTRY_IDENTITY_SERVERS: emulator.registry.host,
        ACI_WORKLOAD_IDENTITY_AUTHORITY_HOST: emulator.authorityHost,
      },
    });
    namespace = await cluster.createNamespace('identity', {
      [BURST_NAMESPACE_LABEL]: BURST_NAMESPACE_ENABLED,
    });
  });

  after(async () => {
    await connector.stop();
    await core.deleteNode({ name: nodeName }).catch(() => undefined);
    await rbac.deleteClusterRoleBinding({ name: audienceGrant }).catch(() => undefined);
    await rbac.deleteClusterRole({ name: audienceGrant }).catch(() => undefined);
    await emulator.close();
  });

  it("sends the pod's identity and the node's pull identity for a registry no pull secret covers", async () => {
    await createPod('shop', {
      annotations: { [ACI_ANNOTATIONS.identities]: APP_IDENTITY },
      image: emulator.registry.images.private,
    });
    await waitPhase('shop', 'Running');
    const sent = await sentGroup('shop');
    assert.deepEqual(sent?.identity, {
      type: 'UserAssigned',
      userAssignedIdentities: { [APP_IDENTITY]: {}, [PULL_IDENTITY]: {} },
    });
    assert.deepEqual(sent.properties.imageRegistryCredentials, [
      { server: emulator.registry.host, identity: PULL_IDENTITY },
    ]);
  });

  it("exchanges a workload identity pod's token, read from its group, for an Entra access token", async () => {
    const clientId = randomUUID();
    await core.createNamespacedServiceAccount({
      namespace,
      body: {
        metadata: { name: 'wi-app', annotations: { [WORKLOAD_IDENTITY.clientIdAnnotation]: clientId } },
      },
    });
    await createPod('wi', { labels: { [WORKLOAD_IDENTITY.label]: 'true' }, serviceAccountName: 'wi-app' });
    await waitPhase('wi', 'Running');
    const env = Object.fromEntries(
      ((await sentGroup('wi'))?.properties.containers[0]?.properties.environmentVariables ?? []).map((v) => [
        v.name,
        v.value,
      ]),
    );
    assert.deepEqual(
      [
        env['AZURE_CLIENT_ID'],
        env['AZURE_TENANT_ID'],
        env['AZURE_FEDERATED_TOKEN_FILE'],
        env['AZURE_AUTHORITY_HOST'],
      ],
      [
        clientId,
        emulator.tenantId,
        '/var/run/secrets/azure/tokens/azure-identity-token',
        emulator.authorityHost,
      ],
    );
    const files = await emulator.control.secretVolumeFiles(
      emulator.resourceGroup,
      groupOf('wi'),
      WORKLOAD_IDENTITY.volume,
    );
    const token = files[WORKLOAD_IDENTITY.tokenFile] ?? '';
    // The emulator trusts the cluster's service-account issuer, with the keys the API server publishes.
    const { issuer } = (await kubectlRaw('/.well-known/openid-configuration')) as { issuer: string };
    await emulator.control.trustIssuer(issuer, (await kubectlRaw('/openid/v1/jwks')) as object);
    await emulator.control.addFederatedCredential({
      clientId,
      issuer,
      subject: `system:serviceaccount:${namespace}:wi-app`,
      audience: WORKLOAD_IDENTITY.audience,
    });
    const exchanged = await formPost(
      `${emulator.authorityHost}/${emulator.tenantId}/oauth2/v2.0/token`,
      emulator.caPem,
      {
        client_id: clientId,
        grant_type: 'client_credentials',
        scope: 'https://vault.azure.net/.default',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: token,
      },
    );
    assert.equal(exchanged.status, 200, JSON.stringify(exchanged.body));
    assert.equal(typeof exchanged.body['access_token'], 'string');
    const logged = (await emulator.control.requests()).filter(
      (r) => r.path.endsWith('/oauth2/v2.0/token') && r.status === 200,
    );
    assert.ok(logged.some((r) => (r.body as Record<string, string>)['client_assertion'] === token));
    const notice = await eventWith('wi', 'WorkloadIdentityTokenNotRefreshed');
    assert.match(notice.message ?? '', /is not refreshed on ACI/);
  });

  it('keeps a pod whose identity the connector may not assign Pending, with an event naming the role', async () => {
    await createPod('locked', { annotations: { [ACI_ANNOTATIONS.identities]: LOCKED_IDENTITY } });
    const event = await eventWith('locked', 'ManagedIdentityRefused');
    assert.match(event.message ?? '', /LinkedAuthorizationFailed|assign\/action/);
    assert.match(event.message ?? '', /Managed Identity Operator/);
    assert.equal((await core.readNamespacedPod({ name: 'locked', namespace })).status?.phase, 'Pending');
  });

  it('keeps a pod naming an identity that does not exist Pending, with the same event', async () => {
    await createPod('missing', { annotations: { [ACI_ANNOTATIONS.identities]: identityId('gone') } });
    const event = await eventWith('missing', 'ManagedIdentityRefused');
    assert.match(event.message ?? '', /was not found/);
    assert.equal((await core.readNamespacedPod({ name: 'missing', namespace })).status?.phase, 'Pending');
  });
});
