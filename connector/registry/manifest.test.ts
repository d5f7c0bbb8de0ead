import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type Descriptor,
  describePlatforms,
  digestOf,
  matchesDigest,
  MEDIA_TYPES,
  parseImageConfig,
  parseManifest,
  selectPlatform,
} from './manifest.ts';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

function entry(os: string, architecture: string, digest: string, variant?: string): Descriptor {
  return {
    mediaType: MEDIA_TYPES.ociManifest,
    digest,
    size: 10,
    platform: { os, architecture, variant },
  };
}

describe('parseManifest', () => {
  const config = { mediaType: MEDIA_TYPES.dockerConfig, digest: D1, size: 1469 };
  const cases: { name: string; body: Buffer; contentType?: string; expected: unknown }[] = [
    {
      name: 'Docker v2 schema 2',
      body: json({ schemaVersion: 2, mediaType: MEDIA_TYPES.dockerManifest, config, layers: [] }),
      expected: { ok: true, value: { kind: 'image', config: { ...config, platform: undefined } } },
    },
    {
      name: 'OCI manifest without mediaType, known by its Content-Type',
      body: json({ schemaVersion: 2, config }),
      contentType: `${MEDIA_TYPES.ociManifest}; charset=utf-8`,
      expected: { ok: true, value: { kind: 'image', config: { ...config, platform: undefined } } },
    },
    {
      name: 'OCI index without mediaType or Content-Type, known by its shape',
      body: json({
        schemaVersion: 2,
        manifests: [
          {
            mediaType: MEDIA_TYPES.ociManifest,
            digest: D2,
            size: 5,
            platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
          },
        ],
      }),
      expected: {
        ok: true,
        value: {
          kind: 'index',
          manifests: [
            {
              mediaType: MEDIA_TYPES.ociManifest,
              digest: D2,
              size: 5,
              platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
            },
          ],
        },
      },
    },
    {
      name: 'schema 1 is refused',
      body: json({ schemaVersion: 1, name: 'x', fsLayers: [] }),
      expected: { ok: false, problem: 'manifest schemaVersion 1 is not supported (only 2)' },
    },
    {
      name: 'not JSON',
      body: Buffer.from('<html>'),
      expected: { ok: false, problem: 'the manifest is not a JSON object' },
    },
    {
      name: 'a config descriptor with a bad digest',
      body: json({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        config: { digest: 'sha256:zz', size: 1 },
      }),
      expected: { ok: false, problem: 'the manifest has no valid config descriptor' },
    },
    {
      name: 'an index with a malformed entry',
      body: json({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociIndex,
        manifests: [{ digest: D1, size: -1 }],
      }),
      expected: { ok: false, problem: 'the index has a malformed manifests list' },
    },
    {
      name: 'another media type',
      body: json({ schemaVersion: 2, mediaType: 'application/vnd.cncf.helm.config.v1+json' }),
      expected: {
        ok: false,
        problem: 'unsupported manifest media type "application/vnd.cncf.helm.config.v1+json"',
      },
    },
  ];
  for (const { name, body, contentType, expected } of cases) {
    it(name, () => {
      assert.deepEqual(parseManifest(body, contentType), expected);
    });
  }
});

describe('selectPlatform', () => {
  const attestation: Descriptor = { ...entry('unknown', 'unknown', D1), mediaType: MEDIA_TYPES.ociManifest };
  const cases: { name: string; manifests: Descriptor[]; expected: string | undefined }[] = [
    {
      name: 'linux/amd64 among others',
      manifests: [entry('linux', 'arm64', D1), entry('linux', 'amd64', D2), attestation],
      expected: D2,
    },
    {
      name: 'amd64 v1 before v3',
      manifests: [entry('linux', 'amd64', D1, 'v3'), entry('linux', 'amd64', D2)],
      expected: D2,
    },
    {
      name: 'a later variant when it is the only one',
      manifests: [entry('linux', 'amd64', D1, 'v2')],
      expected: D1,
    },
    {
      name: 'no linux/amd64',
      manifests: [entry('linux', 'arm64', D1), entry('windows', 'amd64', D2)],
      expected: undefined,
    },
  ];
  for (const { name, manifests, expected } of cases) {
    it(name, () => {
      assert.equal(selectPlatform(manifests, { os: 'linux', architecture: 'amd64' })?.digest, expected);
    });
  }

  it('names the platforms offered, without attestations', () => {
    assert.equal(
      describePlatforms([
        entry('linux', 'arm64', D1, 'v8'),
        entry('linux', 's390x', D2),
        entry('unknown', 'unknown', D1),
      ]),
      'linux/arm64/v8, linux/s390x',
    );
  });
});

describe('parseImageConfig', () => {
  const cases: { name: string; body: Buffer; expected: unknown }[] = [
    {
      name: 'Entrypoint, Cmd, WorkingDir and platform',
      body: json({
        architecture: 'amd64',
        os: 'linux',
        config: { Entrypoint: ['/e'], Cmd: ['a'], WorkingDir: '/w', Env: ['X=1'] },
      }),
      expected: {
        ok: true,
        value: {
          config: { entrypoint: ['/e'], cmd: ['a'], workingDir: '/w' },
          platform: { os: 'linux', architecture: 'amd64' },
        },
      },
    },
    {
      name: 'null Entrypoint and no WorkingDir (busybox)',
      body: json({ config: { Entrypoint: null, Cmd: ['sh'] } }),
      expected: {
        ok: true,
        value: { config: { entrypoint: [], cmd: ['sh'], workingDir: '' }, platform: {} },
      },
    },
    {
      name: 'no config object at all',
      body: json({ rootfs: {} }),
      expected: { ok: true, value: { config: { entrypoint: [], cmd: [], workingDir: '' }, platform: {} } },
    },
    {
      name: 'Entrypoint as a string is malformed',
      body: json({ config: { Entrypoint: '/bin/sh -c x' } }),
      expected: {
        ok: false,
        problem: 'Entrypoint, Cmd or WorkingDir of the image configuration is malformed',
      },
    },
    {
      name: 'a JSON array',
      body: json([1]),
      expected: { ok: false, problem: 'the image configuration is not a JSON object' },
    },
  ];
  for (const { name, body, expected } of cases) {
    it(name, () => {
      assert.deepEqual(parseImageConfig(body), expected);
    });
  }
});

describe('digests', () => {
  it('verifies sha256 and sha512', () => {
    const body = Buffer.from('{}');
    assert.ok(matchesDigest(body, digestOf(body)));
    assert.ok(matchesDigest(body, digestOf(body, 'sha512')));
    assert.ok(!matchesDigest(Buffer.from('{ }'), digestOf(body)));
  });
});
