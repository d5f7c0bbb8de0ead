import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { describe, it } from 'node:test';
import { createPipelineRequest, type PipelinePolicy } from '@azure/core-rest-pipeline';
import { AuthenticationRequiredError, ClientSecretCredential } from '@azure/identity';
import { ClassifiedError, classifyAzureError, TOKEN_UNAVAILABLE } from '../runtime/errors.ts';
import { startEmulator, type RunningEmulator } from '../test/emulator/server.ts';
import { ARM_SCOPE } from './azure-client.ts';
import { isAbandonedTokenRefresh, TOKEN_REQUEST_TIMEOUT_MS, tokenRequestTimeout } from './token-timeout.ts';

function credential(emulator: RunningEmulator, policies: PipelinePolicy[]): ClientSecretCredential {
  return new ClientSecretCredential(emulator.tenantId, emulator.clientId, emulator.clientSecret, {
    authorityHost: emulator.authorityHost,
    disableInstanceDiscovery: true,
    tlsOptions: { ca: [...rootCertificates, emulator.caPem] },
    additionalPolicies: policies.map((policy) => ({ policy, position: 'perRetry' as const })),
  });
}

describe('tokenRequestTimeout', () => {
  const cases: { name: string; before: number; after: number }[] = [
    { name: 'a request without a timeout gets the bound', before: 0, after: TOKEN_REQUEST_TIMEOUT_MS },
    { name: 'a longer timeout is cut to the bound', before: 60_000, after: TOKEN_REQUEST_TIMEOUT_MS },
    { name: 'a shorter timeout is kept', before: 2000, after: 2000 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const request = createPipelineRequest({ url: 'https://login.example/t/oauth2/v2.0/token' });
      request.timeout = c.before;
      let sent: number | undefined;
      await tokenRequestTimeout().sendRequest(request, (passed) => {
        sent = passed.timeout;
        return Promise.resolve({ request: passed, status: 200, headers: passed.headers });
      });
      assert.equal(sent, c.after);
    });
  }

  it(
    'ends a token request Entra ID never answers: the credential fails as a retry, and gets a token once Entra answers',
    { timeout: 20_000 },
    async (t) => {
      const emulator = await startEmulator();
      t.after(() => emulator.close());
      await emulator.control.setFaults([
        { service: 'entra', fault: 'hang', pathContains: '/oauth2/v2.0/token' },
      ]);
      let unboundedSettled = false;
      const unbounded = credential(emulator, [])
        .getToken(ARM_SCOPE)
        .finally(() => {
          unboundedSettled = true;
        });
      // Rejected once the emulator closes the connection it never answered.
      unbounded.catch(() => undefined);
      const bounded = credential(emulator, [tokenRequestTimeout(200)]);
      const error: unknown = await bounded.getToken(ARM_SCOPE).then(
        () => undefined,
        (rejection: unknown) => rejection,
      );
      const classified = classifyAzureError(error);
      assert.equal(classified.reaction, 'retry');
      assert.equal(classified.code, TOKEN_UNAVAILABLE);
      assert.equal(unboundedSettled, false, 'without the bound, the same request is still waiting');

      await emulator.control.clearFaults();
      assert.ok((await bounded.getToken(ARM_SCOPE)).token, 'asks again, and gets a token');
      const tokenRequests = (await emulator.control.requests()).filter((r) =>
        r.path.endsWith('/oauth2/v2.0/token'),
      );
      assert.deepEqual(
        tokenRequests.map((r) => [r.status, r.faults]),
        [
          [0, ['hang']],
          [200, undefined],
        ],
        'the log shows the request the client gave up on (the unbounded one is still open)',
      );
    },
  );
});

describe('isAbandonedTokenRefresh', () => {
  const noAnswer = Object.assign(new Error('network_error'), {
    name: 'ClientAuthError',
    errorCode: 'network_error',
  });
  const cases: { name: string; reason: unknown; harmless: boolean }[] = [
    {
      name: 'a token request that got no answer',
      reason: new AuthenticationRequiredError({ scopes: [], message: 'network_error', cause: noAnswer }),
      harmless: true,
    },
    {
      name: "the cycler's own give-up",
      reason: new Error('Failed to refresh access token.'),
      harmless: true,
    },
    { name: 'any other error', reason: new Error('boom'), harmless: false },
    { name: 'a throttled ARM call', reason: new ClassifiedError('Throttled', 'slow down'), harmless: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(isAbandonedTokenRefresh(c.reason), c.harmless);
    });
  }

  it("the SDK's background token refresh, failing with nobody waiting, ends the process unless the connector's handler is installed", async () => {
    const script = join(import.meta.dirname, 'testing', 'abandoned-token-refresh.ts');
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [script, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
          resolve({ code: error ? (error.code as number | null) : 0, stdout, stderr });
        });
      });
    const [bare, handled] = await Promise.all([run([]), run(['--handled'])]);
    assert.notEqual(bare.code, 0, 'Node ends the process on the unhandled rejection');
    assert.match(bare.stderr, /network_error/);
    assert.doesNotMatch(bare.stdout, /alive/);
    assert.equal(handled.code, 0, handled.stderr);
    assert.match(handled.stdout, /^alive$/m);
  });
});
