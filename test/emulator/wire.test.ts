// Wire facts the SDK hides (status codes, headers, nextLink, absent secrets), over raw HTTPS; and the
// failure paths (validation, quota, 409, throttling, faults) as the SDK surfaces them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isRestError } from '@azure/core-rest-pipeline';
import { classifyAzureError } from '../../runtime/errors.ts';
import { API_VERSION, containerGroup, FAST_POLL, startHarness, type EmulatorHarness } from './testing.ts';

const SECRETS = ['hunter2-secure-env', 'c2VjcmV0LWZpbGU=', 'storage-key-value', 'registry-password'];

/** A minimal container group as it travels in a raw PUT. */
function wireGroup(region: string): object {
  return {
    location: region,
    properties: {
      osType: 'Linux',
      containers: [
        {
          name: 'app',
          properties: { image: 'nginx', resources: { requests: { cpu: 0.1, memoryInGB: 0.1 } } },
        },
      ],
    },
  };
}

function errorCode(body: unknown): string | undefined {
  return (body as { error?: { code?: string } } | undefined)?.error?.code;
}

describe('emulator on the wire', () => {
  let harness: EmulatorHarness;
  let rg: string;
  let region: string;
  before(async () => {
    harness = await startHarness({ pageSize: 1 });
    rg = harness.emulator.resourceGroup;
    region = harness.emulator.region;
  });
  after(() => harness.close());

  it('answers a create with 201, Azure-AsyncOperation (api-version 2018-06-01), Pending, and rate-limit headers', async () => {
    const response = await harness.raw('PUT', harness.groupPath(rg, 'wire-1'), {
      body: {
        location: region,
        properties: {
          osType: 'Linux',
          containers: [
            {
              name: 'app',
              properties: { image: 'nginx', resources: { requests: { cpu: 1, memoryInGB: 1 } } },
            },
          ],
        },
      },
    });
    assert.equal(response.status, 201);
    const operation = String(response.headers['azure-asyncoperation']);
    assert.match(
      operation,
      new RegExp(
        `^${harness.emulator.endpoint}/subscriptions/.+/providers/Microsoft\\.ContainerInstance/locations/${region}/operations/[0-9a-f-]+\\?api-version=2018-06-01$`,
      ),
    );
    const body = response.body as {
      properties: { provisioningState: string; instanceView: unknown; initContainers: unknown };
    };
    assert.equal(body.properties.provisioningState, 'Pending');
    assert.deepEqual(body.properties.instanceView, { events: [], state: 'Pending' });
    assert.deepEqual(body.properties.initContainers, []);
    assert.equal(response.headers['x-ms-ratelimit-remaining-subscription-writes'], '199');
    assert.equal(response.headers['x-ms-ratelimit-remaining-subscription-resource-requests-pt5m'], '99');
    assert.equal(response.headers['x-ms-ratelimit-remaining-subscription-resource-requests-pt1h'], '299');
    const status = await harness.raw('GET', operation.slice(harness.emulator.endpoint.length));
    // Pending lasts 50 ms on the fast timeline: a loaded machine may already see Creating.
    assert.match((status.body as { status: string }).status, /^(Pending|Creating)$/);
  });

  it('pages with an absolute nextLink carrying api-version', async () => {
    await harness.client.containerGroups.beginCreateOrUpdateAndWait(
      rg,
      'wire-2',
      containerGroup(region),
      FAST_POLL,
    );
    const list = await harness.raw('GET', harness.groupPath(rg, 'x').replace(/\/x$/, ''));
    const { value, nextLink } = list.body as { value: unknown[]; nextLink?: string };
    assert.equal(value.length, 1);
    assert.ok(
      nextLink !== undefined && nextLink.startsWith(`${harness.emulator.endpoint}/subscriptions/`),
      String(nextLink),
    );
    assert.equal(new URL(nextLink).searchParams.get('api-version'), API_VERSION);
  });

  it('never echoes secrets: secure env values, secret volumes, storage keys, registry passwords', async () => {
    const group = containerGroup(
      region,
      {},
      {
        imageRegistryCredentials: [
          { server: 'registry.example.com', username: 'puller', password: 'registry-password' },
        ],
        volumes: [
          { name: 'secrets', secret: { token: 'c2VjcmV0LWZpbGU=' } },
          {
            name: 'share',
            azureFile: {
              shareName: 'data',
              storageAccountName: 'acct',
              storageAccountKey: 'storage-key-value',
            },
          },
        ],
      },
    );
    const container = group.containers[0];
    assert.ok(container);
    container.environmentVariables = [
      { name: 'PLAIN', value: 'visible' },
      { name: 'TOKEN', secureValue: 'hunter2-secure-env' },
    ];
    container.volumeMounts = [
      { name: 'secrets', mountPath: '/mnt/secrets' },
      { name: 'share', mountPath: '/mnt/share' },
    ];
    await harness.client.containerGroups.beginCreateOrUpdateAndWait(rg, 'secret-1', group, FAST_POLL);
    const get = await harness.raw('GET', harness.groupPath(rg, 'secret-1'));
    const list = await harness.raw(
      'GET',
      `/subscriptions/${harness.emulator.subscriptionId}/providers/Microsoft.ContainerInstance/containerGroups?$top=100`,
    );
    for (const response of [get, list]) {
      const text = JSON.stringify(response.body);
      for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} leaked`);
    }
    const getText = JSON.stringify(get.body);
    assert.ok(getText.includes('"visible"'), 'plain values are echoed');
    assert.ok(getText.includes('{"name":"TOKEN"}'), 'a secure variable comes back as its name only');
    assert.ok(getText.includes('"secret":{}'), 'a secret volume comes back empty');
    // The request log keeps what was sent: the proof that the value went as secureValue.
    const put = (await harness.emulator.control.requests()).find(
      (r) => r.method === 'PUT' && r.path.endsWith('/secret-1'),
    );
    assert.ok(JSON.stringify(put?.body).includes('"secureValue":"hunter2-secure-env"'));
  });

  it('refuses tokens it did not issue with 401 in ARM shape', async () => {
    const forged = await harness.raw('GET', harness.groupPath(rg, 'wire-2'), {
      token: 'eyJhbGciOiJub25lIn0.forged.',
    });
    assert.equal(forged.status, 401);
    assert.equal(errorCode(forged.body), 'InvalidAuthenticationToken');
    assert.match(String(forged.headers['www-authenticate']), /^Bearer authorization_uri=/);
    const missing = await harness.raw('GET', harness.groupPath(rg, 'wire-2'), { token: null });
    assert.equal(missing.status, 401);
    assert.equal(errorCode(missing.body), 'AuthenticationFailed');
  });

  it('requires api-version and the emulated subscription', async () => {
    const noVersion = await harness.raw('GET', `${harness.groupPath(rg, 'wire-2')}?api-version`);
    assert.equal(errorCode(noVersion.body) ?? '', 'MissingApiVersionParameter');
    const otherSubscription = await harness.raw(
      'GET',
      harness
        .groupPath(rg, 'wire-2')
        .replace(harness.emulator.subscriptionId, '00000000-0000-0000-0000-000000000000'),
    );
    assert.deepEqual(
      [otherSubscription.status, errorCode(otherSubscription.body)],
      [404, 'SubscriptionNotFound'],
    );
  });

  it('rejects malformed JSON with InvalidRequestContent and a too-large body with 413', async () => {
    const response = await harness.raw('PUT', harness.groupPath(rg, 'bad-json'), { body: '{not json' });
    assert.deepEqual([response.status, errorCode(response.body)], [400, 'InvalidRequestContent']);
    const huge = await harness.raw('PUT', harness.groupPath(rg, 'huge'), {
      body: { pad: 'x'.repeat(5_000_000) },
    });
    assert.deepEqual([huge.status, errorCode(huge.body)], [413, 'RequestEntityTooLarge']);
  });

  it('drops the connection after applying a create: the group exists, the log shows the fault and the 201', async () => {
    const { emulator, client } = harness;
    await emulator.control.clearRequests();
    await emulator.control.setFaults([{ fault: 'drop-after-apply', times: 1, method: 'PUT' }]);
    const put = await harness
      .raw('PUT', harness.groupPath(emulator.resourceGroup, 'dropped-1'), {
        body: wireGroup(emulator.region),
      })
      .then(
        () => 'answered',
        (error: unknown) => (error as { code?: string }).code,
      );
    assert.equal(put, 'ECONNRESET');
    assert.equal((await client.containerGroups.get(emulator.resourceGroup, 'dropped-1')).name, 'dropped-1');
    const [logged] = await emulator.control.requests();
    assert.deepEqual(
      [logged?.method, logged?.status, logged?.appliedStatus, logged?.faults],
      ['PUT', 0, 201, ['drop-after-apply']],
    );
    const summary = (await emulator.control.groups()).find((g) => g.name === 'dropped-1');
    assert.equal(summary?.resourceGroup, emulator.resourceGroup);
    await emulator.control.clearFaults();
  });

  it('stalls a create: it stays Creating, answers 409 to a PUT, and can still be deleted', async () => {
    const { emulator, client } = harness;
    await emulator.control.setFaults([{ fault: 'stall', times: 1, method: 'PUT' }]);
    const path = harness.groupPath(emulator.resourceGroup, 'stalled-1');
    assert.equal((await harness.raw('PUT', path, { body: wireGroup(emulator.region) })).status, 201);
    await emulator.control.clearFaults();
    // Past the fast timeline's 150 ms to Succeeded.
    await new Promise((resolve) => setTimeout(resolve, 400));
    const group = await client.containerGroups.get(emulator.resourceGroup, 'stalled-1');
    assert.equal(group.provisioningState, 'Creating');
    const again = await harness.raw('PUT', path, { body: wireGroup(emulator.region) });
    assert.equal(errorCode(again.body), 'ContainerGroupTransitioning');
    assert.equal((await harness.raw('DELETE', path)).status, 200);
  });
});

describe('validation through the SDK', () => {
  let harness: EmulatorHarness;
  before(async () => {
    harness = await startHarness();
  });
  after(() => harness.close());

  const cases: {
    name: string;
    groupName?: string;
    mutate: (region: string) => Parameters<typeof containerGroup>;
    resourceGroup?: string;
    status: number;
    code: string;
  }[] = [
    {
      name: 'invalid group name',
      groupName: 'Bad_Name',
      mutate: (r) => [r],
      status: 400,
      code: 'InvalidContainerGroupName',
    },
    {
      name: 'consecutive hyphens',
      groupName: 'a--b',
      mutate: (r) => [r],
      status: 400,
      code: 'InvalidContainerGroupName',
    },
    {
      name: 'missing resource group',
      resourceGroup: 'nowhere',
      mutate: (r) => [r],
      status: 404,
      code: 'ResourceGroupNotFound',
    },
    {
      name: 'unknown region',
      mutate: () => ['atlantis'],
      status: 400,
      code: 'LocationNotAvailableForResourceType',
    },
    {
      name: 'more than 4 CPU',
      mutate: (r) => [r, { cpu: 4.5 }],
      status: 400,
      code: 'ResourceRequestsExceedLimits',
    },
    {
      name: 'image that does not exist',
      mutate: (r) => [r, { image: 'example.com/does-not-exist:1' }],
      status: 400,
      code: 'InaccessibleImage',
    },
    {
      name: 'container port missing from ipAddress.ports',
      mutate: (r) => [r, {}, { ipAddress: { type: 'Public', ports: [{ port: 80 }] } }],
      status: 400,
      code: 'InvalidContainerGroupIpAddressPorts',
    },
    {
      name: 'more than 60 containers',
      mutate: (r) => [
        r,
        {},
        {
          containers: Array.from({ length: 61 }, (_, i) => ({
            name: `c${i}`,
            image: 'nginx',
            resources: { requests: { cpu: 0.01, memoryInGB: 0.1 } },
          })),
        },
      ],
      status: 400,
      code: 'ContainerGroupContainerCountExceedsLimit',
    },
    {
      name: 'more than 20 volumes',
      mutate: (r) => [
        r,
        {},
        { volumes: Array.from({ length: 21 }, (_, i) => ({ name: `v${i}`, emptyDir: {} })) },
      ],
      status: 400,
      code: 'ContainerGroupVolumeCountExceedsLimit',
    },
    {
      name: 'more than 5 ports',
      mutate: (r) => [
        r,
        {},
        {
          containers: [
            {
              name: 'app',
              image: 'nginx',
              ports: [1, 2, 3, 4, 5, 6].map((port) => ({ port })),
              resources: { requests: { cpu: 1, memoryInGB: 1 } },
            },
          ],
          ipAddress: { type: 'Public', ports: [1, 2, 3, 4, 5, 6].map((port) => ({ port })) },
        },
      ],
      status: 400,
      code: 'IpAddressPortCountExceedsLimit',
    },
  ];
  for (const testCase of cases) {
    it(`${testCase.name}: ${testCase.status} ${testCase.code}`, async () => {
      const { emulator, client } = harness;
      const put = client.containerGroups.beginCreateOrUpdateAndWait(
        testCase.resourceGroup ?? emulator.resourceGroup,
        testCase.groupName ?? 'valid-name',
        containerGroup(...testCase.mutate(emulator.region)),
        FAST_POLL,
      );
      await assert.rejects(put, (error: unknown) => {
        assert.ok(isRestError(error), String(error));
        assert.deepEqual([error.statusCode, error.code], [testCase.status, testCase.code]);
        return true;
      });
    });
  }
});

describe('quotas, transitions, throttling and faults', () => {
  let harness: EmulatorHarness;
  before(async () => {
    harness = await startHarness({
      timeline: { pendingMs: 500, creatingMs: 500, backoffBaseMs: 100, backoffMaxMs: 1000 },
      rateLimits: { armReads: { capacity: 1000, refillPerSecond: 1000 }, aciCreatesPer5Minutes: 6 },
      seed: 7,
    });
  });
  after(() => harness.close());

  it('answers ContainerGroupQuotaReached past the region quota', async () => {
    const { emulator, client } = harness;
    await emulator.control.setQuotas({ standardCores: 2 });
    try {
      await client.containerGroups.beginCreateOrUpdateAndWait(
        emulator.resourceGroup,
        'quota-1',
        containerGroup(emulator.region, { cpu: 2 }),
        FAST_POLL,
      );
      const error = await client.containerGroups
        .beginCreateOrUpdateAndWait(
          emulator.resourceGroup,
          'quota-2',
          containerGroup(emulator.region, { cpu: 1 }),
          FAST_POLL,
        )
        .catch((caught: unknown) => caught);
      assert.ok(isRestError(error), String(error));
      assert.equal(error.code, 'ContainerGroupQuotaReached');
      assert.match(
        error.message,
        /quota 'StandardCores' exceeded in region 'westus'\. Limit: '2', Usage: '2' Requested: '1'\./,
      );
      assert.equal(classifyAzureError(error).kind, 'QuotaExceeded');
    } finally {
      await emulator.control.setQuotas({ standardCores: 100 });
    }
  });

  it('answers 409 ContainerGroupTransitioning to a delete while the create is in flight', async () => {
    const { emulator, client } = harness;
    const poller = await client.containerGroups.beginCreateOrUpdate(
      emulator.resourceGroup,
      'busy-1',
      containerGroup(emulator.region),
      FAST_POLL,
    );
    await assert.rejects(client.containerGroups.beginDeleteAndWait(emulator.resourceGroup, 'busy-1'), {
      statusCode: 409,
      code: 'ContainerGroupTransitioning',
    });
    await poller.pollUntilDone();
    await client.containerGroups.beginDeleteAndWait(emulator.resourceGroup, 'busy-1', FAST_POLL);
  });

  it('throttles with 429 + Retry-After and the SDK retries after it (request log)', async () => {
    const { emulator, client } = harness;
    await client.containerGroups.beginCreateOrUpdateAndWait(
      emulator.resourceGroup,
      'retry-1',
      containerGroup(emulator.region),
      FAST_POLL,
    );
    await emulator.control.clearRequests();
    await emulator.control.setFaults([{ fault: 'throttle', times: 1, method: 'GET', retryAfterSeconds: 1 }]);
    const group = await client.containerGroups.get(emulator.resourceGroup, 'retry-1');
    assert.equal(group.name, 'retry-1');
    const calls = await emulator.control.requests();
    assert.deepEqual(
      calls.map((c) => c.status),
      [429, 200],
    );
    const [throttled, retried] = calls;
    assert.ok(throttled && retried);
    assert.deepEqual(throttled.faults, ['throttle']);
    assert.equal(throttled.retryAfterSeconds, 1);
    const waited = Date.parse(retried.time) - Date.parse(throttled.time);
    assert.ok(waited >= 950, `retried after ${waited} ms`);
    await emulator.control.clearFaults();
  });

  it('adds injected latency to matching requests only', async () => {
    const { emulator, client } = harness;
    await emulator.control.clearRequests();
    await emulator.control.setFaults([{ fault: 'latency', latencyMs: 300, pathContains: '/retry-1' }]);
    await client.containerGroups.get(emulator.resourceGroup, 'retry-1');
    await assert.rejects(client.containerGroups.get(emulator.resourceGroup, 'other'), { statusCode: 404 });
    const [slow, fast] = await emulator.control.requests();
    assert.ok((slow?.durationMs ?? 0) >= 300, `slow: ${String(slow?.durationMs)} ms`);
    assert.ok((fast?.durationMs ?? 0) < 300, `fast: ${String(fast?.durationMs)} ms`);
    await emulator.control.clearFaults();
  });

  it('survives a dropped connection and a 503 through the SDK retry', async () => {
    const { emulator, client } = harness;
    await emulator.control.clearRequests();
    await emulator.control.setFaults([
      { fault: 'drop', times: 1, method: 'GET' },
      { fault: 'unavailable', times: 1, method: 'GET' },
    ]);
    assert.equal((await client.containerGroups.get(emulator.resourceGroup, 'retry-1')).name, 'retry-1');
    assert.deepEqual(
      (await emulator.control.requests()).map((c) => c.status),
      [0, 503, 200],
    );
    await emulator.control.clearFaults();
  });

  it('applies ACI create limits per 5 minutes with 429 ResourceRequestsThrottled', async () => {
    const { emulator } = harness;
    const statuses: number[] = [];
    let last: unknown;
    for (let i = 0; i < 7; i++) {
      const response = await harness.raw('PUT', harness.groupPath(emulator.resourceGroup, `rate-${i}`), {
        body: {
          location: emulator.region,
          properties: {
            osType: 'Linux',
            containers: [
              {
                name: 'app',
                properties: { image: 'nginx', resources: { requests: { cpu: 0.1, memoryInGB: 0.1 } } },
              },
            ],
          },
        },
      });
      statuses.push(response.status);
      last = response;
    }
    assert.equal(statuses.filter((s) => s === 201).length < 7, true);
    assert.equal(statuses.at(-1), 429);
    const response = last as { headers: Record<string, unknown>; body: unknown };
    assert.equal(errorCode(response.body), 'ResourceRequestsThrottled');
    assert.ok(Number(response.headers['retry-after']) > 0);
  });

  it('throttles ARM reads from a token bucket with x-ms-ratelimit-remaining-subscription-reads', async () => {
    const limited = await startHarness({ rateLimits: { armReads: { capacity: 2, refillPerSecond: 0.5 } } });
    try {
      const path = limited.groupPath(limited.emulator.resourceGroup, 'none');
      const first = await limited.raw('GET', path);
      assert.equal(first.headers['x-ms-ratelimit-remaining-subscription-reads'], '1');
      await limited.raw('GET', path);
      const third = await limited.raw('GET', path);
      assert.deepEqual(
        [third.status, errorCode(third.body), third.headers['retry-after']],
        [429, 'SubscriptionRequestsThrottled', '2'],
      );
    } finally {
      await limited.close();
    }
  });
});

describe('token expiry', () => {
  it('answers 401 ExpiredAuthenticationToken once the emulator clock passes the token lifetime', async () => {
    let offsetMs = 0;
    const harness = await startHarness({ clock: () => Date.now() + offsetMs, tokenLifetimeSeconds: 600 });
    try {
      const path = harness.groupPath(harness.emulator.resourceGroup, 'none');
      assert.equal((await harness.raw('GET', path)).status, 404, 'a fresh token is accepted');
      offsetMs = 601_000;
      const expired = await harness.raw('GET', path);
      assert.deepEqual([expired.status, errorCode(expired.body)], [401, 'ExpiredAuthenticationToken']);
    } finally {
      await harness.close();
    }
  });
});
