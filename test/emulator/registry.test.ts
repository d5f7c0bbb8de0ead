// The loopback registry, read by the connector's own registry client over HTTPS (the code that runs
// against real registries), and the ACI emulator's pull decision for its images.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImageConfig } from '../../contract/index.ts';
import { TtlCache } from '../../connector/registry/cache.ts';
import { RegistryClient, type RegistryCredential } from '../../connector/registry/client.ts';
import { parseImageReference } from '../../connector/registry/reference.ts';
import { httpsTransport } from '../../connector/registry/transport.ts';
import { type ClassifiedError, classifyRegistryError } from '../../runtime/errors.ts';
import { createCertificateAuthority, issueCertificate } from '../../runtime/tls.ts';
import { type RegistryAuth, type RunningRegistry, startRegistry } from './registry.ts';
import { containerGroup, FAST_POLL, startHarness, type EmulatorHarness } from './testing.ts';

const ca = createCertificateAuthority({ commonName: 'registry test CA', now: new Date() });
const tls = issueCertificate(
  ca,
  { commonName: 'registry', hosts: ['127.0.0.1', 'localhost'], now: new Date() },
  'server',
);

function reader(registry: RunningRegistry) {
  const client = new RegistryClient({
    transport: httpsTransport({ caPem: ca.certPem }),
    configs: new TtlCache<string, ImageConfig>({ maxEntries: 10, ttlMs: 0, clock: { now: () => 0 } }),
  });
  return (image: string, credential?: RegistryCredential) => {
    const parsed = parseImageReference(image);
    if (!parsed.ok) assert.fail(parsed.problem);
    return client.resolve({
      reference: parsed.reference,
      endpoint: new URL(registry.url),
      credential,
      platform: { os: 'linux', architecture: 'amd64' },
      signal: AbortSignal.timeout(10_000),
    });
  };
}

async function failure(promise: Promise<unknown>): Promise<ClassifiedError> {
  const error: unknown = await promise.then(
    () => assert.fail('expected a failure'),
    (caught: unknown) => caught,
  );
  // Network failures arrive as plain errors; the resolver classifies them as the connector does here.
  return classifyRegistryError(error);
}

for (const auth of ['bearer', 'basic'] as RegistryAuth[]) {
  describe(`the emulator registry (${auth} auth), read by the connector's client`, () => {
    let registry: RunningRegistry;
    let read: ReturnType<typeof reader>;
    let owner: RegistryCredential;

    before(async () => {
      registry = await startRegistry({ tls, auth });
      read = reader(registry);
      owner = { username: registry.username, password: registry.password };
    });
    after(() => registry.close());

    const expected: { name: keyof RunningRegistry['images']; config: ImageConfig }[] = [
      { name: 'single', config: { entrypoint: ['/app/server'], cmd: ['--port=8080'], workingDir: '' } },
      { name: 'multiarch', config: { entrypoint: ['/bin/serve-amd64'], cmd: [], workingDir: '' } },
      { name: 'onlyCmd', config: { entrypoint: [], cmd: ['/bin/serve', '--default'], workingDir: '' } },
      { name: 'workdir', config: { entrypoint: ['/entrypoint.sh'], cmd: [], workingDir: '/srv/app' } },
      { name: 'busybox', config: { entrypoint: [], cmd: ['sh'], workingDir: '' } },
      {
        name: 'nginx',
        config: {
          entrypoint: ['/docker-entrypoint.sh'],
          cmd: ['nginx', '-g', 'daemon off;'],
          workingDir: '',
        },
      },
    ];
    for (const { name, config } of expected) {
      it(`serves ${name}`, async () => {
        assert.deepEqual((await read(registry.images[name])).config, config);
      });
    }

    it('serves the private image only with its credentials', async () => {
      const anonymous = await failure(read(registry.images.private));
      assert.equal(anonymous.kind, 'ImagePullFailed');
      assert.match(anonymous.message, /requires authentication and the pod has no pull secret/);
      const wrong = await failure(read(registry.images.private, { ...owner, password: 'wrong' }));
      assert.match(wrong.message, /rejected the pull secret's credentials/);
      assert.deepEqual((await read(registry.images.private, owner)).config.entrypoint, ['/app/private']);
    });

    it('names a missing tag, and a platform it lacks', async () => {
      const missing = await failure(read(`${registry.host}/fixtures/single:9.9`));
      assert.match(
        missing.message,
        /no manifest for tag "9\.9" of 127\.0\.0\.1:\d+\/fixtures\/single \(404 MANIFEST_UNKNOWN/,
      );
      const arm = await failure(read(registry.images.armOnly));
      assert.match(arm.message, /the image is for linux\/arm64/);
    });
  });
}

describe('the emulator registry as a server', () => {
  let registry: RunningRegistry;

  before(async () => {
    registry = await startRegistry({ tls });
  });
  after(() => registry.close());

  it("logs Docker Hub's flow: challenge, token, manifest, blob redirected to storage", async () => {
    registry.clearRequests();
    await reader(registry)(registry.images.single);
    assert.deepEqual(
      registry.requests().map((r) => `${r.status} ${r.authorization} ${r.path.replace(/sha256:\w+/, 'D')}`),
      [
        '401 none /v2/fixtures/single/manifests/1.0',
        '200 none /token',
        '200 bearer /v2/fixtures/single/manifests/1.0',
        '307 bearer /v2/fixtures/single/blobs/D',
        '200 bearer /storage/fixtures/single/blobs/D',
      ],
    );
  });

  it('refuses connections while stopped and serves again on the same address once started', async () => {
    await registry.stop();
    const down = await failure(reader(registry)(registry.images.single));
    assert.equal(down.kind, 'Transient');
    // Refused, or a pooled keep-alive connection found closed.
    assert.match(down.message, /ECONNREFUSED|socket hang up|ECONNRESET/);
    assert.equal(registry.canPull(registry.images.single, []), false, 'ACI cannot pull from it either');
    await registry.start();
    assert.deepEqual((await reader(registry)(registry.images.single)).config.entrypoint, ['/app/server']);
  });

  it("decides ACI's pull of its own images, and has no opinion on others", () => {
    const login = { server: registry.host, username: registry.username, password: registry.password };
    const cases: { image: string; logins: (typeof login)[]; expected: boolean | undefined }[] = [
      { image: registry.images.single, logins: [], expected: true },
      { image: registry.images.multiarch, logins: [], expected: true },
      { image: registry.images.private, logins: [], expected: false },
      { image: registry.images.private, logins: [{ ...login, password: 'x' }], expected: false },
      { image: registry.images.private, logins: [login], expected: true },
      { image: `${registry.host}/fixtures/single:9.9`, logins: [], expected: false },
      { image: `${registry.host}/nothing/here:1`, logins: [], expected: false },
      { image: registry.images.armOnly, logins: [], expected: false },
      { image: 'nginx:1.27', logins: [], expected: undefined },
      { image: 'myacr.azurecr.io/app:1', logins: [], expected: undefined },
    ];
    for (const { image, logins, expected } of cases) {
      assert.equal(registry.canPull(image, logins), expected, image);
    }
  });
});

describe("ACI's pull of images on the emulator registry", () => {
  let harness: EmulatorHarness;

  before(async () => {
    harness = await startHarness();
  });
  after(() => harness.close());

  it('refuses a private image without its registry credentials (InaccessibleImage), accepts it with them', async () => {
    const { emulator, client } = harness;
    const { registry } = emulator;
    const create = (name: string, withLogin: boolean) =>
      client.containerGroups.beginCreateOrUpdateAndWait(
        emulator.resourceGroup,
        name,
        containerGroup(
          emulator.region,
          { image: registry.images.private },
          withLogin
            ? {
                imageRegistryCredentials: [
                  { server: registry.host, username: registry.username, password: registry.password },
                ],
              }
            : {},
        ),
        FAST_POLL,
      );
    const refused: unknown = await create('private-1', false).catch((caught: unknown) => caught);
    assert.match(String((refused as { code?: string }).code), /InaccessibleImage/);
    const created = await create('private-2', true);
    assert.equal(created.provisioningState, 'Succeeded');
  });
});
