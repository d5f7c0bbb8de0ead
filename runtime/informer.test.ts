import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CoreV1Api, type V1Namespace } from '@kubernetes/client-node';
import { FakeClock } from './clock.ts';
import { watchResource, withoutManagedFields, type WatchedCache } from './informer.ts';
import { silentLogger } from './logger.ts';
import { type RecordedRequest, startFakeApiServer, status, until } from './testing/fake-api-server.ts';

const isList = (request: RecordedRequest): boolean =>
  request.method === 'GET' && !request.url.includes('watch=true');
const isWatch = (request: RecordedRequest): boolean => request.url.includes('watch=true');

const shop: V1Namespace = { metadata: { name: 'shop', resourceVersion: '7', labels: { team: 'a' } } };

/** An API server whose namespace list fails `failures` times, then answers; watches stay open. */
async function apiServer(failures: number) {
  let lists = 0;
  return startFakeApiServer((request, response) => {
    if (isWatch(request)) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.flushHeaders();
      return 'handled';
    }
    lists += 1;
    if (lists <= failures) return status(500, 'InternalError');
    return {
      status: 200,
      body: { apiVersion: 'v1', kind: 'NamespaceList', metadata: { resourceVersion: '7' }, items: [shop] },
    };
  });
}

function watchNamespaces(
  server: Awaited<ReturnType<typeof apiServer>>,
  clock: FakeClock,
  signal: AbortSignal,
): WatchedCache<V1Namespace> {
  const core = server.kubeConfig.makeApiClient(CoreV1Api);
  return watchResource<V1Namespace>(
    server.kubeConfig,
    { name: 'namespaces', path: '/api/v1/namespaces', list: () => core.listNamespace() },
    { logger: silentLogger(), signal, timers: clock },
  );
}

describe('watchResource', () => {
  it('lists, then watches from the list’s resource version, and serves the objects', async (t) => {
    const server = await apiServer(0);
    const stop = new AbortController();
    t.after(async () => {
      stop.abort();
      await server.close();
    });
    const cache = watchNamespaces(server, new FakeClock(), stop.signal);
    await until('the first list', () => cache.synced());
    assert.deepEqual(cache.get('shop')?.metadata?.labels, { team: 'a' });
    await server.waitFor(isWatch);
    assert.match(server.requests.find(isWatch)?.url ?? '', /resourceVersion=7/);
  });

  it('restarts a failed list after a backoff that doubles, and is not synced meanwhile', async (t) => {
    const server = await apiServer(2);
    const clock = new FakeClock();
    const stop = new AbortController();
    t.after(async () => {
      stop.abort();
      await server.close();
    });
    const cache = watchNamespaces(server, clock, stop.signal);
    await until('a restart to be scheduled', () => clock.pendingTimers === 1);
    assert.equal(cache.synced(), false);
    assert.equal(server.requests.filter(isList).length, 1);

    await clock.advance(999);
    assert.equal(clock.pendingTimers, 1, 'not restarted before the first backoff (1 s)');
    await clock.advance(1);
    await server.waitFor(isList, 2);
    await until('the second restart to be scheduled', () => clock.pendingTimers === 1);

    await clock.advance(1999);
    assert.equal(clock.pendingTimers, 1, 'the second backoff is 2 s');
    await clock.advance(1);
    await until('the list after two failures', () => cache.synced());
    assert.equal(cache.list().length, 1);
  });

  it('stops restarting once its signal aborts', async (t) => {
    const server = await apiServer(1);
    const clock = new FakeClock();
    const stop = new AbortController();
    t.after(() => server.close());
    watchNamespaces(server, clock, stop.signal);
    await until('a restart to be scheduled', () => clock.pendingTimers === 1);
    stop.abort();
    assert.equal(clock.pendingTimers, 0, 'the restart timer is cancelled');
    await clock.advance(60_000);
    assert.equal(server.requests.filter(isList).length, 1);
  });

  it('keeps only what `keep` keeps of listed and watched objects', async (t) => {
    const managedFields = [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:metadata': {} } }];
    const server = await startFakeApiServer((request, response) => {
      if (isWatch(request)) {
        response.writeHead(200, { 'content-type': 'application/json' });
        const shopLabelled = {
          metadata: { name: 'shop', resourceVersion: '8', labels: { team: 'b' }, managedFields },
        };
        response.write(`${JSON.stringify({ type: 'MODIFIED', object: shopLabelled })}\n`);
        response.write(
          `${JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'bar', managedFields } } })}\n`,
        );
        return 'handled';
      }
      const listed = { ...shop, metadata: { ...shop.metadata, managedFields } };
      return {
        status: 200,
        body: { kind: 'NamespaceList', metadata: { resourceVersion: '7' }, items: [listed] },
      };
    });
    const stop = new AbortController();
    t.after(async () => {
      stop.abort();
      await server.close();
    });
    const core = server.kubeConfig.makeApiClient(CoreV1Api);
    const kept: string[] = [];
    const cache = watchResource<V1Namespace>(
      server.kubeConfig,
      {
        name: 'namespaces',
        path: '/api/v1/namespaces',
        list: () => core.listNamespace(),
        keep: (namespace) => {
          kept.push(namespace.metadata?.name ?? '');
          return withoutManagedFields(namespace);
        },
      },
      { logger: silentLogger(), signal: stop.signal, timers: new FakeClock() },
    );
    await until('the watched namespace', () => cache.get('bar') !== undefined);
    assert.deepEqual(kept, ['shop', 'shop', 'bar']);
    assert.deepEqual(cache.get('shop')?.metadata, {
      name: 'shop',
      resourceVersion: '8',
      labels: { team: 'b' },
    });
    assert.deepEqual(cache.get('bar')?.metadata, { name: 'bar' });
  });
});

describe('withoutManagedFields', () => {
  it('drops metadata.managedFields and nothing else, without changing the object it was given', () => {
    const pod = { metadata: { name: 'web', uid: 'u', managedFields: [{ manager: 'kubectl' }] }, spec: {} };
    assert.deepEqual(withoutManagedFields(pod), { metadata: { name: 'web', uid: 'u' }, spec: {} });
    assert.equal(pod.metadata.managedFields.length, 1);
    const bare = { metadata: { name: 'web' } };
    assert.equal(withoutManagedFields(bare), bare);
  });
});
