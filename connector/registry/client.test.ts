import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ImageConfig } from '../../contract/index.ts';
import { ClassifiedError } from '../../runtime/errors.ts';
import {
  type ConfigStore,
  type HttpRequest,
  type HttpResponse,
  type HttpTransport,
  MAX_REDIRECTS,
  RegistryClient,
  type RegistryCredential,
} from './client.ts';
import { digestOf, MEDIA_TYPES } from './manifest.ts';
import { type ImageReference, parseImageReference } from './reference.ts';

const ENDPOINT = new URL('https://registry.test');
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

function blob(value: unknown): { body: Buffer; digest: string; size: number } {
  const body = json(value);
  return { body, digest: digestOf(body), size: body.length };
}

const amd64Config = blob({
  architecture: 'amd64',
  os: 'linux',
  config: { Entrypoint: ['/bin/amd64'], Cmd: ['--x'], WorkingDir: '/w' },
});
const arm64Config = blob({ architecture: 'arm64', os: 'linux', config: { Entrypoint: ['/bin/arm64'] } });
const manifestOf = (config: { digest: string; size: number }): ReturnType<typeof blob> =>
  blob({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.dockerManifest,
    config: { mediaType: MEDIA_TYPES.dockerConfig, digest: config.digest, size: config.size },
    layers: [],
  });
const amd64Manifest = manifestOf(amd64Config);
const arm64Manifest = manifestOf(arm64Config);
const index = blob({
  schemaVersion: 2,
  mediaType: MEDIA_TYPES.ociIndex,
  manifests: [
    {
      mediaType: MEDIA_TYPES.dockerManifest,
      ...pick(arm64Manifest),
      platform: { os: 'linux', architecture: 'arm64' },
    },
    {
      mediaType: MEDIA_TYPES.dockerManifest,
      ...pick(amd64Manifest),
      platform: { os: 'linux', architecture: 'amd64' },
    },
  ],
});

function pick(value: { digest: string; size: number }): { digest: string; size: number } {
  return { digest: value.digest, size: value.size };
}

function answer(
  status: number,
  body: Buffer | string = '',
  headers: Record<string, string> = {},
): HttpResponse {
  return { status, headers, body: typeof body === 'string' ? Buffer.from(body) : body };
}

const errorBody = (code: string, message: string): string => JSON.stringify({ errors: [{ code, message }] });
const CHALLENGE = 'Bearer realm="https://auth.test/token",service="registry.test"';
const TOKEN_OK = answer(200, JSON.stringify({ token: 'tkn' }));

/** A registry as a function of the request; every request is kept for the assertions. */
class Scripted implements HttpTransport {
  readonly requests: HttpRequest[] = [];
  private readonly route: (request: HttpRequest) => HttpResponse;

  constructor(route: (request: HttpRequest) => HttpResponse) {
    this.route = route;
  }

  get(request: HttpRequest): Promise<HttpResponse> {
    this.requests.push(request);
    return Promise.resolve(this.route(request));
  }

  paths(): string[] {
    return this.requests.map((request) => `${request.url.host}${request.url.pathname}`);
  }
}

/** Serves the documents by path; with `token`, only to requests bearing it. */
function registry(
  documents: Record<string, Buffer>,
  options: { token?: string; contentTypes?: Record<string, string> } = {},
) {
  return (request: HttpRequest): HttpResponse => {
    if (request.url.host === 'auth.test') return TOKEN_OK;
    if (options.token !== undefined && request.headers.authorization !== `Bearer ${options.token}`) {
      return answer(401, errorBody('UNAUTHORIZED', 'authentication required'), {
        'www-authenticate': CHALLENGE,
      });
    }
    const body = documents[request.url.pathname];
    if (!body) return answer(404, errorBody('MANIFEST_UNKNOWN', 'manifest unknown'));
    if (body.length > request.maxBytes) throw new Error('too large');
    return answer(200, body, {
      'content-type': options.contentTypes?.[request.url.pathname] ?? 'application/json',
    });
  };
}

function reference(image: string): ImageReference {
  const parsed = parseImageReference(image);
  if (!parsed.ok) assert.fail(parsed.problem);
  return parsed.reference;
}

class MapStore implements ConfigStore {
  readonly map = new Map<string, ImageConfig>();
  get(digest: string): ImageConfig | undefined {
    return this.map.get(digest);
  }
  set(digest: string, config: ImageConfig): void {
    this.map.set(digest, config);
  }
}

function resolve(
  transport: HttpTransport,
  image: string,
  credential?: RegistryCredential,
  configs = new MapStore(),
) {
  return new RegistryClient({ transport, configs }).resolve({
    reference: reference(image),
    endpoint: ENDPOINT,
    credential,
    platform: { os: 'linux', architecture: 'amd64' },
    signal: new AbortController().signal,
  });
}

async function failure(promise: Promise<unknown>): Promise<ClassifiedError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof ClassifiedError, String(error));
  return error;
}

const SINGLE = {
  '/v2/team/app/manifests/1.0': amd64Manifest.body,
  [`/v2/team/app/blobs/${amd64Config.digest}`]: amd64Config.body,
};

describe('RegistryClient', () => {
  it('answers the bearer challenge anonymously and reads Entrypoint, Cmd and WorkingDir', async () => {
    const transport = new Scripted(registry(SINGLE, { token: 'tkn' }));
    const resolved = await resolve(transport, 'registry.test/team/app:1.0');
    assert.deepEqual(resolved.config, { entrypoint: ['/bin/amd64'], cmd: ['--x'], workingDir: '/w' });
    assert.equal(resolved.manifestDigest, amd64Manifest.digest);
    assert.deepEqual(transport.paths(), [
      'registry.test/v2/team/app/manifests/1.0',
      'auth.test/token',
      'registry.test/v2/team/app/manifests/1.0',
      `registry.test/v2/team/app/blobs/${amd64Config.digest}`,
    ]);
    const tokenRequest = transport.requests[1];
    assert.equal(tokenRequest?.url.searchParams.get('scope'), 'repository:team/app:pull');
    assert.equal(tokenRequest.url.searchParams.get('service'), 'registry.test');
    assert.equal(tokenRequest.headers.authorization, undefined, 'anonymous');
    assert.match(transport.requests[0]?.headers.accept ?? '', /manifest\.list\.v2\+json.*manifest\.v2\+json/);
  });

  it("sends the pull secret's credentials to the token service as Basic auth", async () => {
    const transport = new Scripted(registry(SINGLE, { token: 'tkn' }));
    await resolve(transport, 'registry.test/team/app:1.0', { username: 'u', password: 'p' });
    assert.equal(
      transport.requests[1]?.headers.authorization,
      `Basic ${Buffer.from('u:p').toString('base64')}`,
    );
    assert.equal(transport.requests[2]?.headers.authorization, 'Bearer tkn');
  });

  it('answers a Basic challenge with the credentials, or says the pod has no pull secret', async () => {
    const basicOnly = (request: HttpRequest): HttpResponse =>
      request.headers.authorization === `Basic ${Buffer.from('u:p').toString('base64')}`
        ? registry(SINGLE)(request)
        : answer(401, errorBody('UNAUTHORIZED', 'login'), { 'www-authenticate': 'Basic realm="r"' });
    const resolved = await resolve(new Scripted(basicOnly), 'registry.test/team/app:1.0', {
      username: 'u',
      password: 'p',
    });
    assert.deepEqual(resolved.config.entrypoint, ['/bin/amd64']);
    const refused = await failure(resolve(new Scripted(basicOnly), 'registry.test/team/app:1.0'));
    assert.equal(refused.kind, 'ImagePullFailed');
    assert.match(
      refused.message,
      /requires authentication and the pod has no pull secret for registry\.test \(401 UNAUTHORIZED: login\)/,
    );
  });

  it('says the credentials were rejected when the token service refuses them', async () => {
    const transport = new Scripted((request) =>
      request.url.host === 'auth.test'
        ? answer(401, errorBody('UNAUTHORIZED', 'bad password'))
        : answer(401, '', { 'www-authenticate': CHALLENGE }),
    );
    const error = await failure(
      resolve(transport, 'registry.test/team/app:1.0', { username: 'u', password: 'wrong' }),
    );
    assert.equal(error.kind, 'ImagePullFailed');
    assert.match(error.message, /token service rejected the pull secret's credentials for registry\.test/);
  });

  it('follows an index to linux/amd64 and never reads the other platforms', async () => {
    const transport = new Scripted(
      registry({
        '/v2/team/multi/manifests/2': index.body,
        [`/v2/team/multi/manifests/${amd64Manifest.digest}`]: amd64Manifest.body,
        [`/v2/team/multi/blobs/${amd64Config.digest}`]: amd64Config.body,
      }),
    );
    const resolved = await resolve(transport, 'registry.test/team/multi:2');
    assert.deepEqual(resolved.config.entrypoint, ['/bin/amd64']);
    assert.ok(!transport.paths().some((path) => path.includes(arm64Manifest.digest)));
    assert.equal(transport.requests[1]?.maxBytes, amd64Manifest.size, 'bounded by the descriptor');
  });

  it('names the platforms an index has when linux/amd64 is not among them', async () => {
    const armOnly = blob({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [
        {
          mediaType: MEDIA_TYPES.ociManifest,
          ...pick(arm64Manifest),
          platform: { os: 'linux', architecture: 'arm64' },
        },
      ],
    });
    const error = await failure(
      resolve(new Scripted(registry({ '/v2/a/manifests/1': armOnly.body })), 'registry.test/a:1'),
    );
    assert.equal(error.kind, 'ImagePullFailed');
    assert.match(error.message, /has no linux\/amd64 image \(it has linux\/arm64\)/);
  });

  it('refuses a single-platform image built for another architecture', async () => {
    const transport = new Scripted(
      registry({
        '/v2/a/manifests/1': arm64Manifest.body,
        [`/v2/a/blobs/${arm64Config.digest}`]: arm64Config.body,
      }),
    );
    const error = await failure(resolve(transport, 'registry.test/a:1'));
    assert.match(error.message, /the image is for linux\/arm64; ACI runs linux\/amd64/);
  });

  it('names the missing tag, or the missing repository', async () => {
    const tag = await failure(resolve(new Scripted(registry(SINGLE)), 'registry.test/team/app:9.9'));
    assert.equal(tag.kind, 'ImagePullFailed');
    assert.equal(tag.code, 'MANIFEST_UNKNOWN');
    assert.match(
      tag.message,
      /no manifest for tag "9\.9" of registry\.test\/team\/app \(404 MANIFEST_UNKNOWN: manifest unknown\)/,
    );
    const repository = await failure(
      resolve(
        new Scripted(() => answer(404, errorBody('NAME_UNKNOWN', 'repository name not known'))),
        'registry.test/x:1',
      ),
    );
    assert.match(repository.message, /has no repository registry\.test\/x/);
  });

  it('verifies digests: a manifest by digest, the served digest of a tag, the config blob', async () => {
    const byDigest = await failure(
      resolve(
        new Scripted(registry({ [`/v2/a/manifests/${arm64Manifest.digest}`]: amd64Manifest.body })),
        `registry.test/a@${arm64Manifest.digest}`,
      ),
    );
    assert.match(byDigest.message, /does not match its digest/);
    const served = await failure(
      resolve(
        new Scripted(() =>
          answer(200, amd64Manifest.body, { 'docker-content-digest': arm64Manifest.digest }),
        ),
        'registry.test/a:1',
      ),
    );
    assert.match(served.message, /does not match its digest/);
    const config = await failure(
      resolve(
        new Scripted(
          registry({
            '/v2/a/manifests/1': amd64Manifest.body,
            [`/v2/a/blobs/${amd64Config.digest}`]: Buffer.from(
              amd64Config.body.toString().replace('"/w"', '"/v"'),
            ),
          }),
        ),
        'registry.test/a:1',
      ),
    );
    assert.equal(config.kind, 'ImagePullFailed');
    assert.match(config.message, /configuration does not match its digest/);
  });

  it('refuses a config larger than 4 MiB without fetching it', async () => {
    const huge = blob({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociManifest,
      config: { digest: amd64Config.digest, size: 5 * 1024 * 1024 },
    });
    const transport = new Scripted(registry({ '/v2/a/manifests/1': huge.body }));
    const error = await failure(resolve(transport, 'registry.test/a:1'));
    assert.match(error.message, /5242880 bytes, more than 4194304/);
    assert.equal(transport.requests.length, 1);
  });

  it('follows a blob redirect to other storage without the registry token', async () => {
    const transport = new Scripted((request) => {
      if (request.url.host === 'storage.test') return answer(200, amd64Config.body);
      if (request.url.pathname.includes('/blobs/')) {
        return answer(307, '', { location: `https://storage.test/b?sig=1` });
      }
      return registry(SINGLE, { token: 'tkn' })(request);
    });
    await resolve(transport, 'registry.test/team/app:1.0');
    const last = transport.requests.at(-1);
    assert.equal(last?.url.host, 'storage.test');
    assert.equal(last.headers.authorization, undefined);
    assert.equal(transport.requests.at(-2)?.headers.authorization, 'Bearer tkn');
  });

  it(`stops after ${MAX_REDIRECTS} redirects, and never follows one to http`, async () => {
    const loop = new Scripted((request) => answer(302, '', { location: `${request.url.pathname}x` }));
    const error = await failure(resolve(loop, 'registry.test/a:1'));
    assert.match(error.message, /redirected more than 5 times/);
    assert.equal(loop.requests.length, MAX_REDIRECTS + 1);
    const plain = await failure(
      resolve(
        new Scripted(() => answer(301, '', { location: 'http://registry.test/x' })),
        'registry.test/a:1',
      ),
    );
    assert.match(plain.message, /redirected to http: \(https only\)/);
  });

  it('refuses a token realm that is not https, sending it nothing', async () => {
    const transport = new Scripted(() =>
      answer(401, '', { 'www-authenticate': 'Bearer realm="http://169.254.169.254/token"' }),
    );
    const error = await failure(resolve(transport, 'registry.test/a:1', { username: 'u', password: 'p' }));
    assert.match(error.message, /token realm "http:\/\/169\.254\.169\.254\/token" is not an https URL/);
    assert.equal(transport.requests.length, 1);
  });

  it('retries what a busy or broken registry says: 429 with Retry-After, 5xx', async () => {
    const busy = await failure(
      resolve(
        new Scripted(() => answer(429, errorBody('TOOMANYREQUESTS', 'slow down'), { 'retry-after': '7' })),
        'registry.test/a:1',
      ),
    );
    assert.deepEqual([busy.kind, busy.retryAfterMs], ['Throttled', 7000]);
    const down = await failure(
      resolve(new Scripted(() => answer(503, 'upstream connect error')), 'registry.test/a:1'),
    );
    assert.equal(down.kind, 'Transient');
    assert.match(down.message, /the registry answered \(503\)/);
  });

  it('reads a config it has seen by digest only once', async () => {
    const configs = new MapStore();
    const transport = new Scripted(
      registry({ ...SINGLE, '/v2/team/app/manifests/latest': amd64Manifest.body }),
    );
    await resolve(transport, 'registry.test/team/app:1.0', undefined, configs);
    await resolve(transport, 'registry.test/team/app', undefined, configs);
    assert.equal(transport.paths().filter((path) => path.includes('/blobs/')).length, 1);
  });

  it('refuses what is not an image manifest, and schema 1', async () => {
    const helm = blob({ schemaVersion: 2, mediaType: 'application/vnd.cncf.helm.chart.v1+json' });
    const error = await failure(
      resolve(new Scripted(registry({ '/v2/a/manifests/1': helm.body })), 'registry.test/a:1'),
    );
    assert.match(error.message, /unsupported manifest media type/);
    const old = blob({ schemaVersion: 1 });
    const schema1 = await failure(
      resolve(new Scripted(registry({ '/v2/a/manifests/1': old.body })), 'registry.test/a:1'),
    );
    assert.match(schema1.message, /schemaVersion 1 is not supported/);
  });
});
