import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import { RestError, createHttpHeaders } from '@azure/core-rest-pipeline';
import { FakeClock } from '../runtime/clock.ts';
import { createRegistry } from '../runtime/metrics.ts';
import { AciContainerGroups, ThrottleGate } from './aci.ts';
import { AzureHealth } from './health.ts';
import { createConnectorMetrics } from './metrics.ts';

function throttled(): RestError {
  return new RestError('Number of read requests exceeded', {
    code: 'SubscriptionRequestsThrottled',
    statusCode: 429,
    response: {
      status: 429,
      headers: createHttpHeaders({ 'retry-after': '60' }),
      request: undefined as never,
    },
  });
}

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

function groups(): { aci: AciContainerGroups; gate: RecordingGate; logGate: RecordingGate } {
  const client = {
    containers: { listLogs: () => Promise.reject(throttled()) },
    containerGroups: { get: () => Promise.reject(throttled()) },
  } as unknown as ContainerInstanceManagementClient;
  const gate = new RecordingGate();
  const logGate = new RecordingGate();
  const aci = new AciContainerGroups({
    client,
    resourceGroup: 'aci-burst',
    region: 'westus',
    metrics: createConnectorMetrics(createRegistry({ component: 'test', processMetrics: false })),
    gate,
    logGate,
    health: new AzureHealth(),
  });
  return { aci, gate, logGate };
}

describe('AciContainerGroups throttling', () => {
  it('holds back only log reads after a 429 on a log read', async () => {
    const { aci, gate, logGate } = groups();
    await assert.rejects(aci.logs('shop-web', 'nginx', 10), { kind: 'Throttled' });
    assert.deepEqual(logGate.blocked, [60_000]);
    assert.deepEqual(gate.blocked, []);
    assert.deepEqual([gate.passes, logGate.passes], [1, 1], 'a log read waits for both gates');
  });

  it('holds back every call after a 429 on anything else', async () => {
    const { aci, gate, logGate } = groups();
    await assert.rejects(aci.get('shop-web'), { kind: 'Throttled' });
    assert.deepEqual(gate.blocked, [60_000]);
    assert.deepEqual(logGate.blocked, []);
    assert.equal(logGate.passes, 0);
  });
});
