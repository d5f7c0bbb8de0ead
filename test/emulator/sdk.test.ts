// The emulator driven through the real @azure/arm-containerinstance client and @azure/identity
// credential, constructed exactly as the connector constructs them (connector/azure-client.ts).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ContainerGroup } from '@azure/arm-containerinstance';
import { classifyAzureError } from '../../runtime/errors.ts';
import { containerGroup, FAST_POLL, sleep, startHarness, type EmulatorHarness } from './testing.ts';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const result: T[] = [];
  for await (const item of items) result.push(item);
  return result;
}

function firstContainer(
  group: ContainerGroup,
): NonNullable<ContainerGroup['containers'][number]['instanceView']> {
  const view = group.containers[0]?.instanceView;
  assert.ok(view, 'the container has an instance view');
  return view;
}

describe('emulator through the SDK', () => {
  let harness: EmulatorHarness;
  let rg: string;
  let region: string;
  before(async () => {
    harness = await startHarness({ pageSize: 2 });
    rg = harness.emulator.resourceGroup;
    region = harness.emulator.region;
  });
  after(() => harness.close());

  const create = (name: string, group: ContainerGroup, resourceGroup = rg): Promise<ContainerGroup> =>
    harness.client.containerGroups.beginCreateOrUpdateAndWait(resourceGroup, name, group, FAST_POLL);

  it('creates a group: PUT 201, operation polls, one final GET, and the group is Running', async () => {
    await harness.emulator.control.clearRequests();
    const group = await create('create-1', containerGroup(region));
    assert.equal(group.provisioningState, 'Succeeded');
    assert.equal(group.instanceView?.state, 'Running');
    assert.equal(firstContainer(group).currentState?.state, 'Running');
    assert.deepEqual(
      firstContainer(group).events?.map((event) => event.name),
      ['Pulling', 'Pulled', 'Started'],
    );
    const calls = (await harness.emulator.control.requests()).filter(
      (r) => r.path.includes('create-1') || r.path.includes('/operations/'),
    );
    assert.equal(calls[0]?.method, 'PUT');
    assert.equal(calls[0].status, 201);
    assert.ok(
      calls.slice(1, -1).every((call) => call.path.includes('/operations/')),
      'polls the operation',
    );
    assert.equal(calls.at(-1)?.method, 'GET');
    assert.ok(calls.at(-1)?.path.endsWith('/containerGroups/create-1'), 'ends with a GET of the group');
  });

  it('gets a group with its instance view, and 404 ResourceNotFound for a missing one', async () => {
    await create('get-1', containerGroup(region));
    const group = await harness.client.containerGroups.get(rg, 'get-1');
    assert.equal(group.name, 'get-1');
    assert.equal(group.tags?.['k8s-pod-name'], 'web');
    assert.equal(firstContainer(group).restartCount, 0);
    await assert.rejects(harness.client.containerGroups.get(rg, 'no-such-group'), {
      name: 'RestError',
      statusCode: 404,
      code: 'ResourceNotFound',
    });
  });

  it('lists by resource group and by subscription across pages (nextLink)', async () => {
    await harness.emulator.control.createResourceGroup('paging');
    for (const name of ['p-1', 'p-2', 'p-3', 'p-4', 'p-5'])
      await create(name, containerGroup(region), 'paging');
    await harness.emulator.control.clearRequests();
    const names = (await collect(harness.client.containerGroups.listByResourceGroup('paging'))).map(
      (g) => g.name,
    );
    assert.deepEqual(names, ['p-1', 'p-2', 'p-3', 'p-4', 'p-5']);
    const listCalls = (await harness.emulator.control.requests()).filter((r) => r.method === 'GET');
    assert.equal(listCalls.length, 3, 'pages of 2: three GETs');
    const all = await collect(harness.client.containerGroups.list());
    assert.ok(all.length >= 5);
    assert.ok(
      all.every((g) => g.instanceView === undefined),
      'lists omit instance views',
    );
  });

  it('updates tags with PATCH and returns the whole group', async () => {
    await create('tags-1', containerGroup(region));
    const updated = await harness.client.containerGroups.update(rg, 'tags-1', { tags: { team: 'burst' } });
    assert.deepEqual(updated.tags, { team: 'burst' });
    assert.equal(updated.containers[0]?.image, 'nginx:1.27');
    assert.deepEqual((await harness.client.containerGroups.get(rg, 'tags-1')).tags, { team: 'burst' });
  });

  it('deletes a group (200 with its last state), then it is gone; deleting again succeeds', async () => {
    await create('delete-1', containerGroup(region));
    const deleted = await harness.client.containerGroups.beginDeleteAndWait(rg, 'delete-1', FAST_POLL);
    assert.equal(deleted.name, 'delete-1');
    await assert.rejects(harness.client.containerGroups.get(rg, 'delete-1'), { statusCode: 404 });
    await harness.client.containerGroups.beginDeleteAndWait(rg, 'delete-1', FAST_POLL);
  });

  it('stops, starts and restarts a group', async () => {
    await create('cycle-1', containerGroup(region));
    await harness.client.containerGroups.stop(rg, 'cycle-1');
    const stopped = await harness.client.containerGroups.get(rg, 'cycle-1');
    assert.equal(stopped.instanceView?.state, 'Stopped');
    assert.equal(firstContainer(stopped).currentState?.state, 'Terminated');
    await harness.client.containerGroups.beginStartAndWait(rg, 'cycle-1', FAST_POLL);
    const started = await harness.client.containerGroups.get(rg, 'cycle-1');
    assert.equal(started.instanceView?.state, 'Running');
    await harness.client.containerGroups.beginRestartAndWait(rg, 'cycle-1', FAST_POLL);
    await sleep(250);
    const restarted = await harness.client.containerGroups.get(rg, 'cycle-1');
    assert.equal(restarted.provisioningState, 'Succeeded');
    assert.equal(firstContainer(restarted).currentState?.state, 'Running');
  });

  it('returns logs with tail and timestamps', async () => {
    await create('logs-1', containerGroup(region, { image: 'aci-burst/run?log=one&log=two&log=three' }));
    const all = await harness.client.containers.listLogs(rg, 'logs-1', 'app');
    assert.equal(all.content, 'one\ntwo\nthree\n');
    const tail = await harness.client.containers.listLogs(rg, 'logs-1', 'app', { tail: 2 });
    assert.equal(tail.content, 'two\nthree\n');
    const stamped = await harness.client.containers.listLogs(rg, 'logs-1', 'app', {
      tail: 1,
      timestamps: true,
    });
    assert.match(stamped.content ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z three\n$/);
  });

  it('plays a command script: echo lines, then exit 3 under Never: group Failed, provisioning Succeeded', async () => {
    const group = containerGroup(
      region,
      { image: 'busybox', command: ['sh', '-c', 'echo hello; sleep 0.1; echo bye; exit 3'] },
      { restartPolicy: 'Never' },
    );
    await create('script-1', group);
    await sleep(300);
    const done = await harness.client.containerGroups.get(rg, 'script-1');
    assert.equal(done.provisioningState, 'Succeeded');
    assert.equal(done.instanceView?.state, 'Failed');
    assert.deepEqual(
      {
        state: firstContainer(done).currentState?.state,
        exitCode: firstContainer(done).currentState?.exitCode,
        detail: firstContainer(done).currentState?.detailStatus,
      },
      { state: 'Terminated', exitCode: 3, detail: 'Error' },
    );
    assert.equal((await harness.client.containers.listLogs(rg, 'script-1', 'app')).content, 'hello\nbye\n');
  });

  it('crash-loops under Always: restartCount grows, previousState keeps the exit, BackOff events', async () => {
    await create('crash-1', containerGroup(region, { image: 'aci-burst/crash:2?after=30ms' }));
    await sleep(600);
    const group = await harness.client.containerGroups.get(rg, 'crash-1');
    const view = firstContainer(group);
    assert.ok((view.restartCount ?? 0) >= 2, `restartCount ${String(view.restartCount)}`);
    assert.equal(view.previousState?.state, 'Terminated');
    assert.equal(view.previousState.exitCode, 2);
    assert.ok(view.events?.some((event) => event.name === 'BackOff' && event.type === 'Warning'));
    assert.equal(group.instanceView?.state, 'Running');
  });

  it('kills and restarts a container through the control API', async () => {
    await create('kill-1', containerGroup(region));
    await harness.emulator.control.killContainer(rg, 'kill-1', 'app');
    const killed = firstContainer(await harness.client.containerGroups.get(rg, 'kill-1'));
    assert.equal(killed.currentState?.exitCode, 137);
    assert.ok(killed.events?.some((event) => event.name === 'Killing'));
    await harness.emulator.control.restartContainer(rg, 'kill-1', 'app');
    const restarted = firstContainer(await harness.client.containerGroups.get(rg, 'kill-1'));
    assert.equal(restarted.currentState?.state, 'Running');
    assert.equal(restarted.restartCount, 1);
    assert.equal(restarted.previousState?.exitCode, 137);
  });

  it('fails the long-running operation when the image cannot be pulled (the SDK throws, classified)', async () => {
    const error: unknown = await create(
      'pull-1',
      containerGroup(region, { image: 'aci-burst/pull-fail' }),
    ).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof Error);
    assert.match(error.message, /^The long-running operation has failed\. InaccessibleImage\./);
    const classified = classifyAzureError(error);
    assert.deepEqual([classified.kind, classified.code], ['ImagePullFailed', 'InaccessibleImage']);
    const group = await harness.client.containerGroups.get(rg, 'pull-1');
    assert.equal(group.provisioningState, 'Failed');
    assert.ok(firstContainer(group).events?.some((event) => event.name === 'Failed'));
  });

  it('reports usages per region and capabilities', async () => {
    const usages = await collect(harness.client.location.listUsage(region));
    const groups = usages.find((usage) => usage.name?.value === 'ContainerGroups');
    assert.ok(groups && (groups.currentValue ?? 0) >= 1);
    assert.equal(groups.limit, 100);
    assert.ok(usages.some((usage) => usage.name?.value === 'StandardCores'));
    const capabilities = await collect(harness.client.location.listCapabilities(region));
    const linux = capabilities.find((c) => c.osType === 'Linux');
    assert.deepEqual([linux?.capabilities?.maxCpu, linux?.capabilities?.maxMemoryInGB], [4, 16]);
  });
});
