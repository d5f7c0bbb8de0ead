import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImageConfig } from '../../contract/index.ts';
import { ClassifiedError } from '../../runtime/errors.ts';
import type { ImageLookup, ResolvedImage } from './client.ts';
import { formatReference } from './reference.ts';
import { ImageConfigResolver, REGISTRY_UNAVAILABLE } from './resolver.ts';

const CONFIG: ImageConfig = { entrypoint: ['/e'], cmd: [], workingDir: '' };

/** A registry client whose answers the test releases, one lookup at a time. */
class FakeClient {
  readonly lookups: ImageLookup[] = [];
  private readonly pending: { resolve: (value: ResolvedImage) => void; reject: (error: unknown) => void }[] =
    [];
  autoAnswer: ((lookup: ImageLookup) => ResolvedImage | Error) | undefined = () => ({
    config: CONFIG,
    manifestDigest: 'm',
    configDigest: 'c',
  });

  resolve(lookup: ImageLookup): Promise<ResolvedImage> {
    this.lookups.push(lookup);
    const answer = this.autoAnswer?.(lookup);
    if (answer instanceof Error) return Promise.reject(answer);
    if (answer) return Promise.resolve(answer);
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  answerNext(config: ImageConfig = CONFIG): void {
    this.pending.shift()?.resolve({ config, manifestDigest: 'm', configDigest: 'c' });
  }

  failNext(error: unknown): void {
    this.pending.shift()?.reject(error);
  }

  targets(): string[] {
    return this.lookups.map((lookup) => `${lookup.endpoint.host} ${formatReference(lookup.reference)}`);
  }
}

/** Sleeps end only when the test says so (or when the lookup they race settles first). */
class FakeTimers {
  private readonly sleepers: (() => void)[] = [];
  readonly deadlines: number[] = [];

  sleep(_ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      this.sleepers.push(resolve);
      signal.addEventListener('abort', () => {
        resolve();
      });
    });
  }

  deadline(ms: number): AbortSignal {
    this.deadlines.push(ms);
    return new AbortController().signal;
  }

  expireWaits(): void {
    for (const wake of this.sleepers.splice(0)) wake();
  }
}

function setup(mirrors: Record<string, string> = {}) {
  let now = 0;
  const client = new FakeClient();
  const timers = new FakeTimers();
  const resolver = new ImageConfigResolver({
    client,
    mirrors: new Map(Object.entries(mirrors).map(([registry, url]) => [registry, new URL(url)])),
    clock: { now: () => now },
    cacheTtlMs: 60_000,
    waitMs: 10_000,
    lookupDeadlineMs: 60_000,
    timers,
  });
  return {
    client,
    timers,
    resolver,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

const NONE = new Map();

async function failure(promise: Promise<unknown>): Promise<ClassifiedError> {
  const error: unknown = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof ClassifiedError, String(error));
  return error;
}

describe('ImageConfigResolver', () => {
  it('asks the registry each image names: Docker Hub at its API host, others over https', async () => {
    const { client, resolver, timers } = setup();
    const configs = await resolver.resolve(
      ['busybox', 'myacr.azurecr.io/app:2', '127.0.0.1:5000/x@sha256:' + 'a'.repeat(64)],
      NONE,
      'linux',
    );
    assert.deepEqual(
      [...configs.keys()],
      ['busybox', 'myacr.azurecr.io/app:2', `127.0.0.1:5000/x@sha256:${'a'.repeat(64)}`],
    );
    assert.deepEqual(client.targets(), [
      'registry-1.docker.io docker.io/library/busybox:latest',
      'myacr.azurecr.io myacr.azurecr.io/app:2',
      `127.0.0.1:5000 127.0.0.1:5000/x@sha256:${'a'.repeat(64)}`,
    ]);
    assert.deepEqual(client.lookups[0]?.platform, { os: 'linux', architecture: 'amd64' });
    assert.deepEqual(timers.deadlines, [60_000, 60_000, 60_000]);
  });

  it('reads a mirrored registry from its mirror, with the same repository', async () => {
    const { client, resolver } = setup({ 'docker.io': 'https://127.0.0.1:5443' });
    await resolver.resolve(['nginx:1.27', 'quay.io/a/b'], NONE, 'linux');
    assert.deepEqual(client.targets(), [
      '127.0.0.1:5443 docker.io/library/nginx:1.27',
      'quay.io quay.io/a/b:latest',
    ]);
  });

  it("uses the pod's credentials for the image's registry, Docker Hub's under its aliases", async () => {
    const { client, resolver } = setup();
    const credentials = new Map([
      ['index.docker.io', { username: 'hub', password: 'p1' }],
      ['myacr.azurecr.io', { username: 'acr', password: 'p2' }],
    ]);
    await resolver.resolve(['docker.io/team/app', 'myacr.azurecr.io/app', 'quay.io/x'], credentials, 'linux');
    assert.deepEqual(
      client.lookups.map((lookup) => lookup.credential?.username),
      ['hub', 'acr', undefined],
    );
  });

  it('shares one lookup between pods of one image, and caches it for its time to live', async () => {
    const { client, resolver, advance } = setup();
    client.autoAnswer = undefined;
    const first = resolver.resolve(['app:1'], NONE, 'linux');
    const second = resolver.resolve(['app:1'], NONE, 'linux');
    client.answerNext();
    assert.deepEqual([...(await first).values(), ...(await second).values()], [CONFIG, CONFIG]);
    advance(59_999);
    await resolver.resolve(['app:1'], NONE, 'linux');
    assert.equal(client.lookups.length, 1);
    advance(1);
    client.autoAnswer = () => ({ config: CONFIG, manifestDigest: 'm', configDigest: 'c' });
    await resolver.resolve(['app:1'], NONE, 'linux');
    assert.equal(client.lookups.length, 2);
  });

  it('never serves what was read with credentials to a pod with other credentials or none', async () => {
    const { client, resolver } = setup();
    const secret = new Map([['private.example', { username: 'u', password: 'p' }]]);
    await resolver.resolve(['private.example/app'], secret, 'linux');
    await resolver.resolve(['private.example/app'], NONE, 'linux');
    await resolver.resolve(
      ['private.example/app'],
      new Map([['private.example', { username: 'u', password: 'q' }]]),
      'linux',
    );
    await resolver.resolve(['private.example/app'], secret, 'linux');
    assert.equal(client.lookups.length, 3);
  });

  it('lets a slow lookup go on in the background and serves its answer on the next try', async () => {
    const { client, resolver, timers } = setup();
    client.autoAnswer = undefined;
    const waiting = failure(resolver.resolve(['slow.example/app:1'], NONE, 'linux'));
    timers.expireWaits();
    const error = await waiting;
    assert.deepEqual([error.kind, error.code], ['Transient', REGISTRY_UNAVAILABLE]);
    assert.match(
      error.message,
      /^image "slow\.example\/app:1": registry slow\.example has not answered within 10s/,
    );
    client.answerNext({ ...CONFIG, workingDir: '/late' });
    await new Promise((resolve) => setImmediate(resolve));
    const configs = await resolver.resolve(['slow.example/app:1'], NONE, 'linux');
    assert.equal(configs.get('slow.example/app:1')?.workingDir, '/late');
    assert.equal(client.lookups.length, 1);
  });

  it('says what the registry refused, naming the image; a failed background lookup is asked again', async () => {
    const { client, resolver, timers } = setup();
    client.autoAnswer = () =>
      new ClassifiedError('ImagePullFailed', 'the registry has no manifest for tag "9.9" of r/app', {
        code: 'MANIFEST_UNKNOWN',
        statusCode: 404,
      });
    const refused = await failure(resolver.resolve(['r.example/app:9.9'], NONE, 'linux'));
    assert.deepEqual(
      [refused.kind, refused.code, refused.statusCode],
      ['ImagePullFailed', 'MANIFEST_UNKNOWN', 404],
    );
    assert.equal(
      refused.message,
      'image "r.example/app:9.9": the registry has no manifest for tag "9.9" of r/app',
    );
    client.autoAnswer = undefined;
    const waiting = failure(resolver.resolve(['r.example/app:1'], NONE, 'linux'));
    timers.expireWaits();
    await waiting;
    client.failNext(new Error('connect ECONNREFUSED'));
    await new Promise((resolve) => setImmediate(resolve));
    client.autoAnswer = () => ({ config: CONFIG, manifestDigest: 'm', configDigest: 'c' });
    await resolver.resolve(['r.example/app:1'], NONE, 'linux');
    assert.equal(client.lookups.length, 3);
  });

  it('makes a registry that does not answer a retrying wait, keeping Retry-After', async () => {
    const { client, resolver } = setup();
    client.autoAnswer = () => new Error('r.example: connect ECONNREFUSED 127.0.0.1:443');
    const down = await failure(resolver.resolve(['r.example/app'], NONE, 'linux'));
    assert.deepEqual([down.kind, down.code], ['Transient', REGISTRY_UNAVAILABLE]);
    assert.match(
      down.message,
      /^image "r\.example\/app": registry r\.example is unavailable: r\.example: connect ECONNREFUSED/,
    );
    client.autoAnswer = () =>
      new ClassifiedError('Throttled', 'slow down', { retryAfterMs: 7000, statusCode: 429 });
    const busy = await failure(resolver.resolve(['r.example/other'], NONE, 'linux'));
    assert.deepEqual([busy.kind, busy.code, busy.retryAfterMs], ['Throttled', REGISTRY_UNAVAILABLE, 7000]);
  });

  it('refuses an invalid reference without asking anyone', async () => {
    const { client, resolver } = setup();
    const error = await failure(resolver.resolve(['Bad Image'], NONE, 'linux'));
    assert.deepEqual([error.kind, error.code], ['ImagePullFailed', 'InvalidImageName']);
    assert.equal(client.lookups.length, 0);
  });
});
