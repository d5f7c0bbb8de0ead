import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClientSecretCredential, DefaultAzureCredential } from '@azure/identity';
import { classifyAzureError } from '../runtime/errors.ts';
import { startEmulator, type RunningEmulator } from '../test/emulator/server.ts';
import {
  ARM_SCOPE,
  azureSettingsProblems,
  createAzureClients,
  type AzureClientSettings,
} from './azure-client.ts';
import { clientSettingsFor, containerGroup } from '../test/emulator/testing.ts';

describe('azureSettingsProblems', () => {
  const cases: { name: string; settings: AzureClientSettings; problems: string[] }[] = [
    {
      name: 'workload or managed identity: a subscription is enough',
      settings: { subscriptionId: 'sub' },
      problems: [],
    },
    {
      name: 'service principal',
      settings: { subscriptionId: 'sub', tenantId: 't', clientId: 'c', clientSecret: 's' },
      problems: [],
    },
    {
      name: 'every problem at once',
      settings: {
        subscriptionId: ' ',
        clientSecret: 's',
        authorityHost: 'http://127.0.0.1:1',
        resourceManagerEndpoint: 'nope',
      },
      problems: [
        'subscriptionId is empty',
        'a client secret needs tenantId',
        'a client secret needs clientId',
        'authorityHost must be an https URL, got "http://127.0.0.1:1"',
        'resourceManagerEndpoint must be an https URL, got "nope"',
      ],
    },
  ];
  for (const { name, settings, problems } of cases) {
    it(name, () => {
      assert.deepEqual(azureSettingsProblems(settings), problems);
    });
  }

  it('createAzureClients refuses invalid settings with every problem listed', () => {
    assert.throws(() => createAzureClients({ subscriptionId: '', clientSecret: 'x' }), {
      message:
        'invalid Azure settings: subscriptionId is empty; a client secret needs tenantId; a client secret needs clientId',
    });
  });

  it('uses a client secret when given one, else DefaultAzureCredential', () => {
    const withSecret = createAzureClients({
      subscriptionId: 's',
      tenantId: 't',
      clientId: 'c',
      clientSecret: 'x',
    });
    assert.ok(withSecret.credential instanceof ClientSecretCredential);
    const workload = createAzureClients({ subscriptionId: 's', clientId: 'c' });
    assert.ok(workload.credential instanceof DefaultAzureCredential);
    assert.equal(workload.client.subscriptionId, 's');
  });
});

describe('createAzureClients against the emulator', () => {
  let emulator: RunningEmulator;
  before(async () => {
    emulator = await startEmulator();
  });
  after(() => emulator.close());

  const settings = (overrides: Partial<AzureClientSettings> = {}): AzureClientSettings => ({
    ...clientSettingsFor(emulator),
    retry: { maxRetries: 0 },
    ...overrides,
  });

  it('gets a token from the local Entra ID and reads ARM with it, trusting only the given CA', async () => {
    const { credential, client } = createAzureClients(settings());
    const token = await credential.getToken(ARM_SCOPE);
    assert.match(token?.token ?? '', /^aci-emulator\./);
    assert.ok((token?.expiresOnTimestamp ?? 0) > Date.now());
    const usages = [];
    for await (const usage of client.location.listUsage(emulator.region)) usages.push(usage.name?.value);
    assert.deepEqual(usages, ['ContainerGroups', 'StandardCores']);
  });

  // Without the bound the token request never settles: the test's own timeout fails it.
  it(
    'bounds each token request: an Entra ID that never answers fails the token as a retry',
    { timeout: 10_000 },
    async (t) => {
      await emulator.control.setFaults([
        { service: 'entra', fault: 'hang', pathContains: '/oauth2/v2.0/token' },
      ]);
      t.after(() => emulator.control.clearFaults());
      const { credential } = createAzureClients(settings({ tokenRequestTimeoutMs: 200 }));
      const error: unknown = await credential.getToken(ARM_SCOPE).then(
        () => undefined,
        (rejection: unknown) => rejection,
      );
      assert.equal(classifyAzureError(error).reaction, 'retry');
    },
  );

  it('fails on a wrong client secret', async () => {
    const { credential } = createAzureClients(settings({ clientSecret: 'wrong' }));
    await assert.rejects(credential.getToken(ARM_SCOPE), /AADSTS7000215/);
  });

  it('sends a create once: the create client does not retry a PUT whose connection dropped after it was applied', async () => {
    const retrying = { ...clientSettingsFor(emulator), retry: { maxRetries: 2, retryDelayInMs: 10 } };
    const { client, createClient } = createAzureClients(retrying);
    const puts = async (name: string): Promise<number> =>
      (await emulator.control.requests()).filter((r) => r.method === 'PUT' && r.path.endsWith(`/${name}`))
        .length;
    const group = containerGroup(emulator.region);
    await emulator.control.setFaults([{ fault: 'drop-after-apply', times: 1, method: 'PUT' }]);
    await assert.rejects(
      createClient.containerGroups.beginCreateOrUpdate(emulator.resourceGroup, 'once', group),
    );
    assert.equal(await puts('once'), 1);
    // What it guards against: the SDK's own retry sends the PUT again to the group it already made.
    await emulator.control.setFaults([{ fault: 'drop-after-apply', times: 1, method: 'PUT' }]);
    await client.containerGroups
      .beginCreateOrUpdate(emulator.resourceGroup, 'twice', group)
      .catch(() => undefined);
    assert.ok((await puts('twice')) >= 2);
    await emulator.control.clearFaults();
  });

  it('does not trust the emulator without its CA', async () => {
    const { caPem: _ignored, ...withoutCa } = settings();
    const { credential } = createAzureClients(withoutCa);
    // MSAL reports the refused TLS handshake with its OpenID configuration request this way.
    await assert.rejects(credential.getToken(ARM_SCOPE), /endpoints_resolution_error/);
  });
});
