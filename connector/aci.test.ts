import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerGroup, ContainerInstanceManagementClient } from '@azure/arm-containerinstance';
import { RestError, createHttpHeaders } from '@azure/core-rest-pipeline';
import { FakeClock } from '../runtime/clock.ts';
import { createRegistry } from '../runtime/metrics.ts';
import { AciContainerGroups, ThrottleGate } from './aci.ts';
import { AzureHealth } from './health.ts';
import { createConnectorMetrics } from './metrics.ts';

function armError(statusCode: number, code: string, headers: Record<string, string> = {}): RestError {
  return new RestError(`${code} (${statusCode})`, {
    code,
    statusCode,
    response: { status: statusCode, headers: createHttpHeaders(headers), request: undefined as never },
  });
}

/** Resolves to whether `promise` settled by now (after letting ready promise chains run). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

async function* pages<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield await Promise.resolve(item);
}

/** The parts of the SDK client AciContainerGroups calls, as plain functions recording each call. */
function fakeClient(answers: {
  get?: () => Promise<ContainerGroup>;
  list?: ContainerGroup[];
  remove?: () => Promise<void>;
  usages?: { name: { value: string }; currentValue: number; limit: number }[];
  logs?: string | undefined;
}) {
  const calls: string[] = [];
  const client = {
    containerGroups: {
      get: (resourceGroup: string, name: string) => {
        calls.push(`get ${resourceGroup}/${name}`);
        return answers.get ? answers.get() : Promise.resolve({ name, containers: [] });
      },
      listByResourceGroup: (resourceGroup: string) => {
        calls.push(`list ${resourceGroup}`);
        return pages(answers.list ?? []);
      },
      beginCreateOrUpdate: (resourceGroup: string, name: string) => {
        calls.push(`create ${resourceGroup}/${name}`);
        return Promise.resolve({});
      },
      beginDeleteAndWait: (resourceGroup: string, name: string) => {
        calls.push(`delete ${resourceGroup}/${name}`);
        return answers.remove ? answers.remove() : Promise.resolve({});
      },
    },
    containers: {
      listLogs: (resourceGroup: string, group: string, container: string, options: object) => {
        calls.push(`logs ${resourceGroup}/${group}/${container} ${JSON.stringify(options)}`);
        return Promise.resolve({ content: answers.logs });
      },
    },
    location: {
      listUsage: (region: string) => {
        calls.push(`usage ${region}`);
        return pages(answers.usages ?? []);
      },
    },
  } as unknown as ContainerInstanceManagementClient;
  return { client, calls };
}

function setup(answers: Parameters<typeof fakeClient>[0] = {}) {
  const clock = new FakeClock();
  const { client, calls } = fakeClient(answers);
  const health = new AzureHealth();
  const aci = new AciContainerGroups({
    client,
    resourceGroup: 'rg',
    region: 'westus',
    metrics: createConnectorMetrics(createRegistry({ component: 'test', processMetrics: false })),
    health,
  });
  return { aci, calls, clock, health };
}

describe('ThrottleGate', () => {
  it('lets calls through at once until blocked, then holds them until the latest Retry-After', async () => {
    const clock = new FakeClock();
    const gate = new ThrottleGate(clock);
    assert.equal(await settled(gate.pass()), true);
    gate.block(1000);
    gate.block(400);
    const waiting = gate.pass();
    await clock.advance(999);
    assert.equal(await settled(waiting), false, 'held until Retry-After');
    await clock.advance(1);
    assert.equal(await settled(waiting), true);
    assert.equal(await settled(gate.pass()), true, 'open again once Retry-After passed');
  });
});

describe('AciContainerGroups', () => {
  it('lists every page of the resource group, each group cut to its list entry (no spec held)', async () => {
    const tags = { 'aci-burst.io/pod-uid': 'uid-a' };
    const { aci, calls } = setup({
      list: [
        {
          name: 'a',
          tags,
          provisioningState: 'Succeeded',
          osType: 'Linux',
          containers: [
            {
              name: 'app',
              image: 'nginx',
              resources: { requests: { cpu: 1, memoryInGB: 1.5 } },
              environmentVariables: [{ name: 'MODE', value: 'x'.repeat(4096) }],
            },
          ],
          volumes: [{ name: 'data', emptyDir: {} }],
        },
        { name: 'b', containers: [], osType: 'Linux' },
      ],
    });
    assert.deepEqual(await aci.list(), [
      { name: 'a', tags, provisioningState: 'Succeeded', osType: 'Linux', containers: [] },
      { name: 'b', tags: undefined, provisioningState: undefined, osType: 'Linux', containers: [] },
    ]);
    assert.deepEqual(calls, ['list rg']);
  });

  it('reads a missing group as undefined and deletes a missing group as done', async () => {
    const missing = () => Promise.reject(armError(404, 'ResourceNotFound'));
    const { aci, health } = setup({ get: missing, remove: missing });
    assert.equal(await aci.get('gone'), undefined);
    await aci.remove('gone');
    assert.equal(health.condition.ok, true, 'a missing group says nothing about Azure’s health');
  });

  it('throws other failures classified, and marks Azure unhealthy', async () => {
    const { aci, health } = setup({ get: () => Promise.reject(armError(403, 'AuthorizationFailed')) });
    await assert.rejects(aci.get('web'), { kind: 'Unauthorized', code: 'AuthorizationFailed' });
    assert.equal(health.condition.ok, false);
  });

  it('reads logs with timestamps, the tail when asked, and an empty log as ""', async () => {
    const { aci, calls } = setup({ logs: undefined });
    assert.equal(await aci.logs('web', 'nginx', 10), '');
    await aci.logs('web', 'nginx', undefined);
    assert.deepEqual(calls, [
      'logs rg/web/nginx {"timestamps":true,"tail":10}',
      'logs rg/web/nginx {"timestamps":true}',
    ]);
  });

  it('reads the region’s core and container-group quotas by their usage names', async () => {
    const { aci } = setup({
      usages: [
        { name: { value: 'StandardCores' }, currentValue: 4, limit: 10 },
        { name: { value: 'ContainerGroups' }, currentValue: 2, limit: 100 },
        { name: { value: 'SomethingElse' }, currentValue: 9, limit: 9 },
      ],
    });
    assert.deepEqual(await aci.usage(), {
      cores: { used: 4, limit: 10 },
      containerGroups: { used: 2, limit: 100 },
    });
  });
});
