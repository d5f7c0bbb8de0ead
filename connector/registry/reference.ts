// Image references as Docker and containerd read them (github.com/distribution/reference): an
// optional registry host (with port), a repository path, a tag and/or a digest. Short names are
// Docker Hub's: `busybox` is docker.io/library/busybox:latest. Pod specs are user input, so the
// text is bounded first and matched with patterns that run in linear time.

export interface ImageReference {
  /** Host and optional port; `docker.io` for Docker Hub whichever alias the image used. */
  registry: string;
  /** The repository path on that registry: `library/busybox`, `team/app`. */
  repository: string;
  /** `latest` when the image names neither a tag nor a digest. */
  tag: string | undefined;
  /** `sha256:<64 hex>` or `sha512:<128 hex>`; wins over the tag when both are given, as for Docker. */
  digest: string | undefined;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
/** The distribution spec's bound on a repository name, plus room for a host, a tag and a digest. */
const MAX_NAME_LENGTH = 255;
const MAX_REFERENCE_LENGTH = 1024;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_HOST = /^\[[0-9a-fA-F:.]+\]$/;
const PORT = /^[0-9]{1,5}$/;
const TAG = /^\w[\w.-]{0,127}$/;
/** The digests whose content this client can verify. */
export const DIGEST = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export type ParsedReference = { ok: true; reference: ImageReference } | { ok: false; problem: string };

function invalid(problem: string): ParsedReference {
  return { ok: false, problem };
}

/** A registry as references name it: Docker Hub's aliases folded into `docker.io`. */
export function normalizeRegistry(host: string): string {
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

/** A first path part is a registry when it has a dot or a port, is `localhost`, or has capitals. */
function looksLikeHost(part: string): boolean {
  return part.includes('.') || part.includes(':') || part === 'localhost' || part !== part.toLowerCase();
}

function validHost(host: string): boolean {
  const colon = host.lastIndexOf(':');
  const hasPort = colon > host.lastIndexOf(']');
  const name = hasPort ? host.slice(0, colon) : host;
  if (hasPort && !PORT.test(host.slice(colon + 1))) return false;
  return IPV6_HOST.test(name) || name.split('.').every((component) => DOMAIN_COMPONENT.test(component));
}

/** Splits `name[:tag][@digest]`; a colon is a tag separator only after the last slash. */
function splitReference(image: string): {
  name: string;
  tag: string | undefined;
  digest: string | undefined;
} {
  const at = image.indexOf('@');
  const digest = at >= 0 ? image.slice(at + 1) : undefined;
  const rest = at >= 0 ? image.slice(0, at) : image;
  const colon = rest.lastIndexOf(':');
  const hasTag = colon > rest.lastIndexOf('/');
  return {
    name: hasTag ? rest.slice(0, colon) : rest,
    tag: hasTag ? rest.slice(colon + 1) : undefined,
    digest,
  };
}

/** The registry and repository of a name without tag or digest. */
function splitName(name: string): { registry: string; repository: string } | { problem: string } {
  const slash = name.indexOf('/');
  const first = slash >= 0 ? name.slice(0, slash) : '';
  const hasHost = slash >= 0 && looksLikeHost(first);
  if (hasHost && !validHost(first)) return { problem: `"${first}" is not a valid registry host` };
  const registry = normalizeRegistry(hasHost ? first : DOCKER_HUB);
  const path = hasHost ? name.slice(slash + 1) : name;
  const repository = registry === DOCKER_HUB && !path.includes('/') ? `library/${path}` : path;
  if (path.length === 0 || `${registry}/${repository}`.length > MAX_NAME_LENGTH) {
    return { problem: `the repository name is empty or longer than ${MAX_NAME_LENGTH} characters` };
  }
  if (!repository.split('/').every((component) => PATH_COMPONENT.test(component))) {
    return {
      problem: `"${repository}" is not a valid repository (lowercase letters, digits, . _ - separators)`,
    };
  }
  return { registry, repository };
}

export function parseImageReference(image: string): ParsedReference {
  if (image === '') return invalid('the image is empty');
  if (image.length > MAX_REFERENCE_LENGTH) {
    return invalid(`it is longer than ${MAX_REFERENCE_LENGTH} characters`);
  }
  const { name, tag, digest } = splitReference(image);
  if (digest !== undefined && !DIGEST.test(digest)) {
    return invalid(`"${digest}" is not a sha256 or sha512 digest in lowercase hex`);
  }
  if (tag !== undefined && !TAG.test(tag)) return invalid(`"${tag}" is not a valid tag`);
  const split = splitName(name);
  if ('problem' in split) return invalid(split.problem);
  return {
    ok: true,
    reference: { ...split, tag: tag ?? (digest === undefined ? 'latest' : undefined), digest },
  };
}

/** What the manifest endpoint is asked for: the digest when there is one, else the tag. */
export function manifestTarget(reference: ImageReference): string {
  return reference.digest ?? reference.tag ?? 'latest';
}

/** The canonical form, for messages and cache keys: `docker.io/library/busybox:latest`. */
export function formatReference(reference: ImageReference): string {
  const tag = reference.tag === undefined ? '' : `:${reference.tag}`;
  const digest = reference.digest === undefined ? '' : `@${reference.digest}`;
  return `${reference.registry}/${reference.repository}${tag}${digest}`;
}
