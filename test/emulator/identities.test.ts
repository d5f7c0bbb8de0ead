// Managed identities on container groups, identity-based registry credentials, and the federated
// client-assertion exchange at the emulator's Entra ID, through the wire.
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { type EmulatorHarness, startHarness } from './testing.ts';

const SUB = '0b1f6471-1bf0-4dda-aec3-cb9272f09590';
const identityId = (name: string): string =>
  `/subscriptions/${SUB}/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;

function group(extra: { identity?: object; credentials?: object[]; image?: string } = {}): object {
  return {
    location: 'westus',
    ...(extra.identity && { identity: extra.identity }),
    properties: {
      osType: 'Linux',
      containers: [
        {
          name: 'app',
          properties: { image: extra.image ?? 'nginx', resources: { requests: { cpu: 1, memoryInGB: 1 } } },
        },
      ],
      ...(extra.credentials && { imageRegistryCredentials: extra.credentials }),
    },
  };
}
const userAssigned = (...ids: string[]) => ({
  type: 'UserAssigned',
  userAssignedIdentities: Object.fromEntries(ids.map((id) => [id, {}])),
});

describe('group identities', () => {
  let harness: EmulatorHarness;
  before(async () => {
    harness = await startHarness();
  });
  after(() => harness.close());
  const put = (name: string, body: object) =>
    harness.raw('PUT', harness.groupPath(harness.emulator.resourceGroup, name), { body });
  const code = (body: unknown): string | undefined => (body as { error?: { code?: string } }).error?.code;

  it('answers with each identity’s principal and client ids', async () => {
    const fixture = await harness.emulator.control.putManagedIdentity({ id: identityId('app') });
    const response = await put('id-ok', group({ identity: userAssigned(identityId('app')) }));
    assert.equal(response.status, 201, JSON.stringify(response.body));
    const { identity } = response.body as {
      identity: { userAssignedIdentities: Record<string, { clientId: string; principalId: string }> };
    };
    assert.equal(identity.userAssignedIdentities[identityId('app')]?.clientId, fixture.clientId);
  });

  it('refuses an identity the caller may not assign (403 LinkedAuthorizationFailed) before one that does not exist', async () => {
    await harness.emulator.control.putManagedIdentity({ id: identityId('locked'), assignable: false });
    const both = await put(
      'id-locked',
      group({ identity: userAssigned(identityId('nope'), identityId('locked')) }),
    );
    assert.deepEqual([both.status, code(both.body)], [403, 'LinkedAuthorizationFailed']);
    assert.match(JSON.stringify(both.body), /userAssignedIdentities\/assign\/action/);
    const missing = await put('id-missing', group({ identity: userAssigned(identityId('nope')) }));
    assert.deepEqual([missing.status, code(missing.body)], [400, 'FailedIdentityOperation']);
  });

  it('pulls with an identity only when the group carries it and it may pull from the registry', async () => {
    const registry = harness.emulator.registry;
    const image = registry.images.private;
    await harness.emulator.control.putManagedIdentity({
      id: identityId('puller'),
      registries: [registry.host],
    });
    await harness.emulator.control.putManagedIdentity({ id: identityId('other') });
    const credential = (id: string) => [{ server: registry.host, identity: id }];
    const stray = await put('pull-stray', group({ image, credentials: credential(identityId('puller')) }));
    assert.deepEqual([stray.status, code(stray.body)], [400, 'InvalidImageRegistryCredentialIdentity']);
    const denied = await put(
      'pull-denied',
      group({
        image,
        identity: userAssigned(identityId('other')),
        credentials: credential(identityId('other')),
      }),
    );
    assert.deepEqual([denied.status, code(denied.body)], [400, 'InaccessibleImage']);
    const pulled = await put(
      'pull-ok',
      group({
        image,
        identity: userAssigned(identityId('puller')),
        credentials: credential(identityId('puller')),
      }),
    );
    assert.equal(pulled.status, 201, JSON.stringify(pulled.body));
  });
});

describe('the federated client-assertion exchange', () => {
  let harness: EmulatorHarness;
  const issuer = 'https://127.0.0.1:6443';
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { privateKey: strangerKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const subject = 'system:serviceaccount:shop:app';
  const clientId = '6f2c4a1e-0000-4000-8000-000000000001';
  const now = Math.floor(Date.now() / 1000);
  const jwt = (claims: object, key = privateKey): string => {
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const signed = `${part({ alg: 'RS256', kid: 'k1' })}.${part(claims)}`;
    return `${signed}.${sign('sha256', Buffer.from(signed), key).toString('base64url')}`;
  };
  const claims = {
    iss: issuer,
    sub: subject,
    aud: ['api://AzureADTokenExchange'],
    exp: now + 600,
    nbf: now - 5,
  };
  const formPost = async (assertion: string) => {
    const form = new URLSearchParams({
      client_id: clientId,
      grant_type: 'client_credentials',
      scope: 'https://vault.azure.net/.default',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    }).toString();
    return fetchForm(
      `${harness.emulator.authorityHost}/${harness.emulator.tenantId}/oauth2/v2.0/token`,
      form,
    );
  };
  const fetchForm = (url: string, form: string) =>
    new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const req = request(
        url,
        {
          method: 'POST',
          ca: harness.emulator.caPem,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const body = JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>;
            resolve({ status: res.statusCode ?? 0, body });
          });
        },
      );
      req.on('error', reject);
      req.end(form);
    });

  before(async () => {
    harness = await startHarness();
    await harness.emulator.control.trustIssuer(issuer, {
      keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' }],
    });
    await harness.emulator.control.addFederatedCredential({
      clientId,
      issuer,
      subject,
      audience: 'api://AzureADTokenExchange',
    });
  });
  after(() => harness.close());

  const cases: { name: string; assertion: () => string; status: number; error?: RegExp }[] = [
    {
      name: 'a token of the trusted issuer for the configured subject',
      assertion: () => jwt(claims),
      status: 200,
    },
    {
      name: 'a token signed by another key',
      assertion: () => jwt(claims, strangerKey),
      status: 401,
      error: /AADSTS700027/,
    },
    {
      name: 'another subject',
      assertion: () => jwt({ ...claims, sub: 'system:serviceaccount:shop:other' }),
      status: 401,
      error: /AADSTS70021/,
    },
    {
      name: 'another audience',
      assertion: () => jwt({ ...claims, aud: ['https://kubernetes.default.svc'] }),
      status: 401,
      error: /AADSTS70021/,
    },
    {
      name: 'an expired token',
      assertion: () => jwt({ ...claims, exp: now - 3600 }),
      status: 401,
      error: /AADSTS700024/,
    },
    { name: 'text that is no JWT', assertion: () => 'a.b', status: 400, error: /AADSTS50027/ },
  ];
  for (const entry of cases) {
    it(`${entry.status === 200 ? 'exchanges' : 'refuses'} ${entry.name}`, async () => {
      const response = await formPost(entry.assertion());
      assert.equal(response.status, entry.status, JSON.stringify(response.body));
      if (entry.error) assert.match(String(response.body['error_description']), entry.error);
      else assert.equal(typeof response.body['access_token'], 'string');
    });
  }

  it('shows the exchange in the request log, assertion included', async () => {
    const requests = await harness.emulator.control.requests();
    const tokenRequests = requests.filter((request) => request.path.endsWith('/oauth2/v2.0/token'));
    assert.ok(
      tokenRequests.some(
        (request) =>
          request.status === 200 && (request.body as Record<string, string>)['client_id'] === clientId,
      ),
    );
  });
});
