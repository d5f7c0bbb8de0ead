// The documents of the OCI distribution API, read as a container runtime reads them: an image
// manifest (Docker v2 schema 2 or OCI) names the config blob; a manifest list or OCI index names one
// manifest per platform. Pure: bytes in, typed data or a problem out. Registries are untrusted, so
// every field is checked for type and every digest for form before it is used.
import { createHash } from 'node:crypto';
import type { ImageConfig } from '../../contract/index.ts';
import { DIGEST } from './reference.ts';

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
} as const;

/** What the manifest endpoint is asked for, preferred first (the Accept header). */
export const MANIFEST_ACCEPT = [
  MEDIA_TYPES.ociIndex,
  MEDIA_TYPES.dockerList,
  MEDIA_TYPES.ociManifest,
  MEDIA_TYPES.dockerManifest,
].join(', ');

const INDEX_TYPES = new Set<string>([MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList]);
const MANIFEST_TYPES = new Set<string>([MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest]);

export interface Platform {
  os: string;
  architecture: string;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform: (Platform & { variant: string | undefined }) | undefined;
}

export type ManifestDocument =
  { kind: 'index'; manifests: Descriptor[] } | { kind: 'image'; config: Descriptor };

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function parseJson(body: Buffer): Json | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `sha256:<hex>` of the bytes, in the digest's own algorithm. */
export function digestOf(body: Buffer, algorithm: 'sha256' | 'sha512' = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(body).digest('hex')}`;
}

/** True when `body` hashes to `digest` (sha256 or sha512). */
export function matchesDigest(body: Buffer, digest: string): boolean {
  return digest.startsWith('sha512:') ? digestOf(body, 'sha512') === digest : digestOf(body) === digest;
}

function readPlatform(value: unknown): Descriptor['platform'] {
  if (!isObject(value)) return undefined;
  const { os, architecture, variant } = value;
  if (typeof os !== 'string' || typeof architecture !== 'string') return undefined;
  return { os, architecture, variant: typeof variant === 'string' ? variant : undefined };
}

function readDescriptor(value: unknown): Descriptor | undefined {
  if (!isObject(value)) return undefined;
  const { mediaType, digest, size, platform } = value;
  if (typeof digest !== 'string' || !DIGEST.test(digest)) return undefined;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) return undefined;
  return {
    mediaType: typeof mediaType === 'string' ? mediaType : '',
    digest,
    size,
    platform: readPlatform(platform),
  };
}

/**
 * The document's kind: its own `mediaType` field, else the Content-Type it was served with, else its
 * shape (OCI made the field optional). Schema 1 manifests (signed, deprecated) are not read.
 */
function documentType(json: Json, contentType: string | undefined): string {
  if (typeof json.mediaType === 'string') return json.mediaType;
  const served = (contentType ?? '').split(';')[0]?.trim() ?? '';
  if (INDEX_TYPES.has(served) || MANIFEST_TYPES.has(served)) return served;
  if (Array.isArray(json.manifests)) return MEDIA_TYPES.ociIndex;
  return isObject(json.config) ? MEDIA_TYPES.ociManifest : served;
}

export function parseManifest(body: Buffer, contentType: string | undefined): Parsed<ManifestDocument> {
  const json = parseJson(body);
  if (!json) return { ok: false, problem: 'the manifest is not a JSON object' };
  if (json.schemaVersion !== 2) {
    return {
      ok: false,
      problem: `manifest schemaVersion ${String(json.schemaVersion)} is not supported (only 2)`,
    };
  }
  const type = documentType(json, contentType);
  if (INDEX_TYPES.has(type)) {
    const entries = Array.isArray(json.manifests) ? json.manifests : [];
    const manifests = entries.map(readDescriptor);
    if (!Array.isArray(json.manifests) || manifests.some((entry) => entry === undefined)) {
      return { ok: false, problem: 'the index has a malformed manifests list' };
    }
    return {
      ok: true,
      value: { kind: 'index', manifests: manifests.filter((entry) => entry !== undefined) },
    };
  }
  if (MANIFEST_TYPES.has(type)) {
    const config = readDescriptor(json.config);
    if (!config) return { ok: false, problem: 'the manifest has no valid config descriptor' };
    return { ok: true, value: { kind: 'image', config } };
  }
  return { ok: false, problem: `unsupported manifest media type "${type.slice(0, 100)}"` };
}

/**
 * The index entry for the platform, as containerd's default matcher picks it: same OS and
 * architecture; for amd64 without a variant or with v1 preferred (later variants need newer CPUs).
 */
export function selectPlatform(manifests: readonly Descriptor[], platform: Platform): Descriptor | undefined {
  const matching = manifests.filter(
    (entry) =>
      entry.platform?.os === platform.os &&
      entry.platform.architecture === platform.architecture &&
      !INDEX_TYPES.has(entry.mediaType),
  );
  return matching.find((entry) => (entry.platform?.variant ?? 'v1') === 'v1') ?? matching[0];
}

/** The platforms an index offers, for the message when none fits. */
export function describePlatforms(manifests: readonly Descriptor[]): string {
  const names = manifests.flatMap(({ platform }) =>
    platform === undefined || platform.os === 'unknown'
      ? []
      : [`${platform.os}/${platform.architecture}${platform.variant ? `/${platform.variant}` : ''}`],
  );
  return names.length > 0 ? [...new Set(names)].join(', ') : 'none';
}

function stringList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) return undefined;
  return value as string[];
}

/** The image's configuration, and the platform it declares (`undefined` parts when it declares none). */
export function parseImageConfig(body: Buffer): Parsed<{ config: ImageConfig; platform: Partial<Platform> }> {
  const json = parseJson(body);
  if (!json) return { ok: false, problem: 'the image configuration is not a JSON object' };
  const config = json.config ?? {};
  if (!isObject(config)) return { ok: false, problem: 'the image configuration has no config object' };
  const entrypoint = stringList(config.Entrypoint);
  const cmd = stringList(config.Cmd);
  const workingDir = config.WorkingDir ?? '';
  if (!entrypoint || !cmd || typeof workingDir !== 'string') {
    return { ok: false, problem: 'Entrypoint, Cmd or WorkingDir of the image configuration is malformed' };
  }
  const { os, architecture } = json;
  return {
    ok: true,
    value: {
      config: { entrypoint, cmd, workingDir },
      platform: {
        ...(typeof os === 'string' && { os }),
        ...(typeof architecture === 'string' && { architecture }),
      },
    },
  };
}
