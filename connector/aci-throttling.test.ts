import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  createHttpHeaders,
  createPipelineRequest,
  type PipelineRequest,
  type PipelineResponse,
} from '@azure/core-rest-pipeline';
import { FakeClock, systemTimers } from '../runtime/clock.ts';
import { createRegistry } from '../runtime/metrics.ts';
import { startEmulator, type RunningEmulator } from '../test/emulator/server.ts';
import { clientSettingsFor, containerGroup } from '../test/emulator/testing.ts';
import { AciContainerGroups, ThrottleGate, throttleArmCalls, throttlePolicy } from './aci.ts';
import { createAzureClients } from './azure-client.ts';
import { AzureHealth } from './health.ts';
import { createConnectorMetrics } from './metrics.ts';

/** A gate that records what it was asked to do, and never waits. */
class RecordingGate extends ThrottleGate {
  readonly blocked: number[] = [];
  passes = 0;
  constructor() {
    super(new FakeClock());
  }
  override block(retryAfterMs: number): void {
    this.blocked.push(retryAfterMs);
  }
  override pass(): Promise<void> {
    this.passes += 1;
    return Promise.resolve();
  }
}

const GROUP_URL =
  'https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/shop-web?api-version=2023-05-01';
const LOGS_URL =
  'https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/shop-web/containers/nginx/logs?api-version=2023-05-01&tail=10';

describe('throttlePolicy', () => {
  const cases: {
    name: string;
    url: string;
    status: number;
    headers: Record<string, string>;
    blocked: { all: number[]; logReads: number[] };
    passes: { all: number; logReads: number };
  }[] = [
    {
      name: 'a 429 on a group read holds back every call',
      url: GROUP_URL,
      status: 429,
      headers: { 'retry-after': '60' },
      blocked: { all: [60_000], logReads: [] },
      passes: { all: 1, logReads: 0 },
    },
    {
      name: 'a 429 on a log read holds back log reads only, which wait for both gates',
      url: LOGS_URL,
      status: 429,
      headers: { 'retry-after': '60' },
      blocked: { all: [], logReads: [60_000] },
      passes: { all: 1, logReads: 1 },
    },
    {
      name: "Azure's millisecond header",
      url: GROUP_URL,
      status: 429,
      headers: { 'retry-after-ms': '1500' },
      blocked: { all: [1500], logReads: [] },
      passes: { all: 1, logReads: 0 },
    },
    {
      name: 'a 429 without Retry-After blocks nothing (the caller backs off)',
      url: GROUP_URL,
      status: 429,
      headers: {},
      blocked: { all: [], logReads: [] },
      passes: { all: 1, logReads: 0 },
    },
    {
      name: 'a 503 with Retry-After is a failed call, not throttling',
      url: GROUP_URL,
      status: 503,
      headers: { 'retry-after': '5' },
      blocked: { all: [], logReads: [] },
      passes: { all: 1, logReads: 0 },
    },
    {
      name: 'a success blocks nothing',
      url: GROUP_URL,
      status: 200,
      headers: {},
      blocked: { all: [], logReads: [] },
      passes: { all: 1, logReads: 0 },
    },
  ];
  for (const { name, url, status, headers, blocked, passes } of cases) {
    it(name, async () => {
      const gates = { all: new RecordingGate(), logReads: new RecordingGate() };
      const request = createPipelineRequest({ url, method: 'GET' });
      const answer = (sent: PipelineRequest): Promise<PipelineResponse> =>
        Promise.resolve({ request: sent, status, headers: createHttpHeaders(headers) });
      const response = await throttlePolicy(gates).sendRequest(request, answer);
      assert.equal(response.status, status, 'the answer goes back to the SDK as it came');
      assert.deepEqual({ all: gates.all.blocked, logReads: gates.logReads.blocked }, blocked);
      assert.deepEqual({ all: gates.all.passes, logReads: gates.logReads.passes }, passes);
    });
  }
});

describe('throttleArmCalls with the real SDK against the emulator', () => {
  let emulator: RunningEmulator;
  before(async () => {
    emulator = await startEmulator({ timeline: 'fast' });
  });
  after(async () => {
    await emulator.close();
  });

  it('holds back other calls after a 429 that the SDK retries by itself, and its retry', async () => {
    const { client } = createAzureClients(clientSettingsFor(emulator));
    // Added first, so it sees each answer after the throttle policy has: once it saw the 429, the
    // client knows it.
    let sawThrottled: () => void = () => undefined;
    const throttledSeen = new Promise<void>((resolve) => {
      sawThrottled = resolve;
    });
    client.pipeline.addPolicy(
      {
        name: 'testSeesThrottled',
        async sendRequest(request, next) {
          const response = await next(request);
          if (response.status === 429) sawThrottled();
          return response;
        },
      },
      { afterPhase: 'Retry' },
    );
    throttleArmCalls([client], systemTimers);
    const aci = new AciContainerGroups({
      client,
      resourceGroup: emulator.resourceGroup,
      region: emulator.region,
      metrics: createConnectorMetrics(createRegistry({ component: 'test', processMetrics: false })),
      health: new AzureHealth(),
    });
    for (const name of ['throttled', 'other']) {
      await client.containerGroups.beginCreateOrUpdate(
        emulator.resourceGroup,
        name,
        containerGroup(emulator.region),
      );
    }
    await emulator.control.setFaults([
      { fault: 'throttle', times: 1, method: 'GET', pathContains: '/throttled', retryAfterSeconds: 1 },
    ]);
    const first = aci.get('throttled');
    await throttledSeen;
    const second = aci.get('other');
    assert.equal((await first)?.name, 'throttled', 'the SDK retried the 429 and read the group');
    assert.equal((await second)?.name, 'other');

    const log = await emulator.control.requests();
    const throttled = log.find((entry) => entry.status === 429);
    assert.ok(throttled, 'the emulator answered 429 once');
    const allowedAt = Date.parse(throttled.time) + throttled.durationMs + 1000;
    const later = log.filter(
      (entry) => entry.method === 'GET' && Date.parse(entry.time) > Date.parse(throttled.time),
    );
    assert.deepEqual(
      later.map((entry) => entry.path.split('/').pop()).sort(),
      ['other', 'throttled'],
      'the SDK’s retry and the other read',
    );
    for (const entry of later) {
      assert.ok(
        Date.parse(entry.time) >= allowedAt,
        `${entry.path} arrived ${allowedAt - Date.parse(entry.time)} ms before Retry-After allowed`,
      );
    }
  });
});

describe('AciContainerGroups reads', () => {
  it('sends one read for callers who want the same group at once, and a new one after it answered', async () => {
    let reads = 0;
    let answer: (group: { name: string }) => void = () => undefined;
    const client = {
      containerGroups: {
        get: () => {
          reads += 1;
          return new Promise((resolve) => {
            answer = resolve;
          });
        },
      },
    } as unknown as ConstructorParameters<typeof AciContainerGroups>[0]['client'];
    const aci = new AciContainerGroups({
      client,
      resourceGroup: 'rg',
      region: 'westus',
      metrics: createConnectorMetrics(createRegistry({ component: 'test', processMetrics: false })),
      health: new AzureHealth(),
    });
    const both = [aci.get('shop-web'), aci.get('shop-web')];
    await Promise.resolve();
    assert.equal(reads, 1, 'the second caller shares the read in flight');
    answer({ name: 'shop-web' });
    assert.deepEqual(
      (await Promise.all(both)).map((group) => group?.name),
      ['shop-web', 'shop-web'],
    );
    const again = aci.get('shop-web');
    await Promise.resolve();
    assert.equal(reads, 2, 'a read after the answer is a new read');
    answer({ name: 'shop-web' });
    await again;
  });
});
