// The emulator registry's images, built in code: each a config blob, a layer and a manifest (Docker
// v2 schema 2 or OCI), some behind a manifest list or OCI index, exactly as a registry stores them
// (content-addressed by sha256). Pure: the same fixtures every time.
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';

export const MEDIA = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** What an image's config says (the parts a runtime reads), per platform. */
export interface FixtureConfig {
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
}

interface FixtureImage {
  repository: string;
  tags: string[];
  /** Only with the registry's credentials (a pull secret). */
  private?: boolean;
  format: 'docker' | 'oci';
  /** One platform: a single manifest; several: a manifest list or OCI index of them. */
  platforms: { architecture: string; config: FixtureConfig }[];
  /** An index also lists a BuildKit attestation manifest (platform unknown/unknown), as Docker Hub's do. */
  attestation?: boolean;
}

/** The images, by the names tests use. `library/*` stand in for Docker Hub's through a mirror. */
export const FIXTURE_IMAGES = {
  busybox: {
    repository: 'library/busybox',
    tags: ['latest', '1.36'],
    format: 'docker',
    platforms: [
      { architecture: 'amd64', config: { Cmd: ['sh'] } },
      { architecture: 'arm64', config: { Cmd: ['sh'] } },
    ],
  },
  nginx: {
    repository: 'library/nginx',
    tags: ['latest', '1.27'],
    format: 'docker',
    platforms: [
      {
        architecture: 'amd64',
        config: { Entrypoint: ['/docker-entrypoint.sh'], Cmd: ['nginx', '-g', 'daemon off;'] },
      },
    ],
  },
  single: {
    repository: 'fixtures/single',
    tags: ['1.0'],
    format: 'oci',
    platforms: [{ architecture: 'amd64', config: { Entrypoint: ['/app/server'], Cmd: ['--port=8080'] } }],
  },
  multiarch: {
    repository: 'fixtures/multiarch',
    tags: ['1.0'],
    format: 'oci',
    attestation: true,
    platforms: [
      { architecture: 'arm64', config: { Entrypoint: ['/bin/serve-arm64'] } },
      { architecture: 'amd64', config: { Entrypoint: ['/bin/serve-amd64'] } },
    ],
  },
  onlyCmd: {
    repository: 'fixtures/only-cmd',
    tags: ['1.0'],
    format: 'docker',
    platforms: [{ architecture: 'amd64', config: { Cmd: ['/bin/serve', '--default'] } }],
  },
  workdir: {
    repository: 'fixtures/workdir',
    tags: ['1.0'],
    format: 'oci',
    platforms: [
      { architecture: 'amd64', config: { Entrypoint: ['/entrypoint.sh'], WorkingDir: '/srv/app' } },
    ],
  },
  private: {
    repository: 'private/app',
    tags: ['1.0'],
    private: true,
    format: 'oci',
    platforms: [{ architecture: 'amd64', config: { Entrypoint: ['/app/private'], Cmd: ['--serve'] } }],
  },
  armOnly: {
    repository: 'fixtures/arm-only',
    tags: ['1.0'],
    format: 'oci',
    platforms: [{ architecture: 'arm64', config: { Entrypoint: ['/bin/arm'] } }],
  },
} as const satisfies Record<string, FixtureImage>;

export interface StoredManifest {
  mediaType: string;
  body: Buffer;
  /** For an index: whether it lists a linux/amd64 image (what ACI can pull). */
  runsOnAmd64: boolean;
}

export interface RegistryContent {
  /** Repository -> its tags (tag -> manifest digest) and whether it needs credentials. */
  repositories: Map<string, { private: boolean; tags: Map<string, string> }>;
  /** Manifest digest -> manifest, per repository (a digest is looked up within its repository). */
  manifests: Map<string, Map<string, StoredManifest>>;
  blobs: Map<string, Map<string, Buffer>>;
}

const sha256 = (body: Buffer): string => `sha256:${createHash('sha256').update(body).digest('hex')}`;
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value, null, 2));

class Repository {
  readonly manifests = new Map<string, StoredManifest>();
  readonly blobs = new Map<string, Buffer>();

  blob(body: Buffer): { digest: string; size: number } {
    const digest = sha256(body);
    this.blobs.set(digest, body);
    return { digest, size: body.length };
  }

  manifest(mediaType: string, value: unknown, runsOnAmd64: boolean): { digest: string; size: number } {
    const body = json(value);
    const digest = sha256(body);
    this.manifests.set(digest, { mediaType, body, runsOnAmd64 });
    return { digest, size: body.length };
  }
}

function platformManifest(
  repository: Repository,
  image: FixtureImage,
  platform: FixtureImage['platforms'][number],
): { digest: string; size: number; mediaType: string } {
  const oci = image.format === 'oci';
  const config = repository.blob(
    json({
      architecture: platform.architecture,
      os: 'linux',
      config: {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        ...platform.config,
      },
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
  // An empty tar archive (two zero blocks), gzipped: a layer a runtime could unpack.
  const layer = repository.blob(gzipSync(Buffer.alloc(1024)));
  const mediaType = oci ? MEDIA.ociManifest : MEDIA.dockerManifest;
  const manifest = repository.manifest(
    mediaType,
    {
      schemaVersion: 2,
      mediaType,
      config: { mediaType: oci ? MEDIA.ociConfig : MEDIA.dockerConfig, ...config },
      layers: [{ mediaType: oci ? MEDIA.ociLayer : MEDIA.dockerLayer, ...layer }],
    },
    platform.architecture === 'amd64',
  );
  return { ...manifest, mediaType };
}

function attestationManifest(repository: Repository, subject: string): Record<string, unknown> {
  const statement = repository.blob(json({ _type: 'https://in-toto.io/Statement/v0.1' }));
  const manifest = repository.manifest(
    MEDIA.ociManifest,
    {
      schemaVersion: 2,
      mediaType: MEDIA.ociManifest,
      config: { mediaType: MEDIA.ociConfig, ...repository.blob(json({})) },
      layers: [{ mediaType: 'application/vnd.in-toto+json', ...statement }],
    },
    false,
  );
  return {
    mediaType: MEDIA.ociManifest,
    ...manifest,
    platform: { architecture: 'unknown', os: 'unknown' },
    annotations: {
      'vnd.docker.reference.digest': subject,
      'vnd.docker.reference.type': 'attestation-manifest',
    },
  };
}

function storeImage(repository: Repository, image: FixtureImage): string {
  const [only, ...others] = image.platforms;
  const manifests = image.platforms.map((platform) => ({
    platform,
    ...platformManifest(repository, image, platform),
  }));
  if (only !== undefined && others.length === 0) return manifests[0]?.digest ?? '';
  const entries: Record<string, unknown>[] = manifests.map(({ platform, digest, size, mediaType }) => ({
    mediaType,
    digest,
    size,
    platform: { architecture: platform.architecture, os: 'linux' },
  }));
  const amd64 = manifests.find(({ platform }) => platform.architecture === 'amd64');
  if (image.attestation && amd64) entries.push(attestationManifest(repository, amd64.digest));
  const mediaType = image.format === 'oci' ? MEDIA.ociIndex : MEDIA.dockerList;
  return repository.manifest(
    mediaType,
    { schemaVersion: 2, mediaType, manifests: entries },
    amd64 !== undefined,
  ).digest;
}

export function buildRegistryContent(
  images: readonly FixtureImage[] = Object.values(FIXTURE_IMAGES),
): RegistryContent {
  const content: RegistryContent = { repositories: new Map(), manifests: new Map(), blobs: new Map() };
  for (const image of images) {
    const repository = new Repository();
    const digest = storeImage(repository, image);
    content.repositories.set(image.repository, {
      private: image.private ?? false,
      tags: new Map(image.tags.map((tag) => [tag, digest])),
    });
    content.manifests.set(image.repository, repository.manifests);
    content.blobs.set(image.repository, repository.blobs);
  }
  return content;
}
