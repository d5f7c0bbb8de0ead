// A small client of the OCI distribution API, only as much as reading an image's configuration
// takes: GET the manifest (following an index to the platform), GET the config blob, verify both.
// It authenticates as a container runtime does: anonymously first, then on a 401 challenge with a
// bearer token from the realm (Basic credentials from the pod's pull secret at the token service),
// or with Basic credentials when the registry asks for Basic.
//
// No npm package was used: the maintained one (@snyk/docker-registry-v2-client) brings its own HTTP
// stack (needle), which cannot take an injected transport, a per-call CA or body limits. Registries
// are untrusted input (any pod may name any registry), so every answer is bounded in size, every
// digest verified, redirects counted and kept on https, and credentials sent only to the registry's
// own origin and its token realm.
import type { ImageConfig } from '../../contract/index.ts';
import { ClassifiedError, classifyRegistryAnswer, retryAfterFromHeaders } from '../../runtime/errors.ts';
import { parseChallenges } from './challenge.ts';
import {
  describePlatforms,
  type Descriptor,
  digestOf,
  MANIFEST_ACCEPT,
  matchesDigest,
  parseImageConfig,
  parseManifest,
  type ManifestDocument,
  type Platform,
  selectPlatform,
} from './manifest.ts';
import { DIGEST, formatReference, type ImageReference } from './reference.ts';

export interface HttpRequest {
  url: URL;
  headers: Record<string, string>;
  signal: AbortSignal;
  /** The body may be no longer: the transport stops reading and rejects beyond it. */
  maxBytes: number;
}

export interface HttpResponse {
  status: number;
  /** Header names in lowercase; repeated headers joined with ", ". */
  headers: Readonly<Record<string, string>>;
  body: Buffer;
}

/** One GET, redirects not followed. Rejects on network failures, timeouts and oversized bodies. */
export interface HttpTransport {
  get(request: HttpRequest): Promise<HttpResponse>;
}

export interface RegistryCredential {
  username: string;
  password: string;
}

export interface ImageLookup {
  reference: ImageReference;
  /** The registry's API base URL: `https://<registry>`, Docker Hub's API host, or a mirror. */
  endpoint: URL;
  credential: RegistryCredential | undefined;
  platform: Platform;
  signal: AbortSignal;
}

export interface ResolvedImage {
  config: ImageConfig;
  /** Digest of the platform's image manifest. */
  manifestDigest: string;
  configDigest: string;
}

/** Configurations by config digest: content-addressed, so shared by every lookup that reaches one. */
export interface ConfigStore {
  get(digest: string): ImageConfig | undefined;
  set(digest: string, config: ImageConfig): void;
}

/** The distribution spec's limit on manifests, used for every answer; configs are far smaller. */
export const MAX_DOCUMENT_BYTES = 4 * 1024 * 1024;
const MAX_TOKEN_BYTES = 1024 * 1024;
export const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = 'aci-burst-connector';

/** A verdict on what the registry served: the image cannot be used as it is. */
function unusable(message: string): ClassifiedError {
  return new ClassifiedError('ImagePullFailed', message);
}

/** The first error of a distribution API error body, printable and short, for messages. */
function registryReason(response: HttpResponse): { code: string | undefined; text: string } {
  let code: string | undefined;
  let message = '';
  try {
    const parsed = JSON.parse(response.body.toString('utf8')) as {
      errors?: { code?: unknown; message?: unknown }[];
    };
    const first = parsed.errors?.[0];
    code = typeof first?.code === 'string' ? first.code : undefined;
    message = typeof first?.message === 'string' ? first.message : '';
  } catch {
    // Not the API's error format: the status alone explains it.
  }
  const clean = (text: string): string => text.replace(/[^\x20-\x7e]/g, '').slice(0, 200);
  const codeText = code === undefined ? '' : ` ${clean(code)}`;
  const messageText = message === '' ? '' : `: ${clean(message)}`;
  return { code: code && clean(code), text: `${response.status}${codeText}${messageText}` };
}

function basic(credential: RegistryCredential): string {
  return `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
}

/** Tags cannot contain a colon; digests always do. */
const isDigest = (target: string): boolean => target.includes(':');

function describeTarget(target: string): string {
  return isDigest(target) ? `digest "${target}"` : `tag "${target}"`;
}

/** One lookup's conversation with one registry: the authorization it earned is kept for its requests. */
class Session {
  private readonly transport: HttpTransport;
  private readonly lookup: ImageLookup;
  private authorization: string | undefined;
  private authorized = false;

  constructor(transport: HttpTransport, lookup: ImageLookup) {
    this.transport = transport;
    this.lookup = lookup;
  }

  private get name(): string {
    return `${this.lookup.reference.registry}/${this.lookup.reference.repository}`;
  }

  /** GET under /v2/<repository>/, authenticating on the first 401 and following redirects. */
  async get(path: string, accept: string, maxBytes: number): Promise<HttpResponse> {
    const url = new URL(`/v2/${this.lookup.reference.repository}/${path}`, this.lookup.endpoint);
    let response = await this.follow(url, accept, maxBytes);
    if (response.status === 401 && !this.authorized) {
      await this.authorize(response);
      response = await this.follow(url, accept, maxBytes);
    }
    if (response.status === 401 || response.status === 403) throw this.refused(response);
    return response;
  }

  /**
   * GETs `start`, following at most MAX_REDIRECTS redirects on https. The registry's authorization
   * goes only to its own origin: a blob redirected to storage elsewhere is fetched without it.
   */
  private async follow(start: URL, accept: string, maxBytes: number): Promise<HttpResponse> {
    let url = start;
    for (let redirects = 0; ; redirects += 1) {
      const sameOrigin = url.origin === this.lookup.endpoint.origin;
      const authorization = sameOrigin ? this.authorization : undefined;
      const response = await this.transport.get({
        url,
        headers: {
          accept,
          'user-agent': USER_AGENT,
          ...(authorization !== undefined && { authorization }),
        },
        signal: this.lookup.signal,
        maxBytes,
      });
      const location = response.headers.location;
      if (!REDIRECTS.has(response.status) || location === undefined) return response;
      if (redirects === MAX_REDIRECTS)
        throw unusable(`the registry redirected more than ${MAX_REDIRECTS} times`);
      url = new URL(location, url);
      if (url.protocol !== 'https:')
        throw unusable(`the registry redirected to ${url.protocol} (https only)`);
    }
  }

  /** Answers the 401's challenge: a bearer token from the realm, or Basic credentials. */
  private async authorize(response: HttpResponse): Promise<void> {
    this.authorized = true;
    const challenges = parseChallenges(response.headers['www-authenticate']);
    const bearer = challenges.find((challenge) => challenge.scheme === 'bearer');
    const { credential } = this.lookup;
    if (bearer?.scheme === 'bearer') {
      this.authorization = `Bearer ${await this.token(bearer.realm, bearer.service)}`;
    } else if (challenges.some((challenge) => challenge.scheme === 'basic') && credential) {
      this.authorization = basic(credential);
    } else {
      throw this.refused(response);
    }
  }

  /** A pull token for this repository; the pod's credentials go to the token service as Basic auth. */
  private async token(realm: string, service: string | undefined): Promise<string> {
    if (!URL.canParse(realm) || new URL(realm).protocol !== 'https:') {
      throw unusable(`the registry's token realm "${realm.slice(0, 200)}" is not an https URL`);
    }
    const url = new URL(realm);
    if (service !== undefined) url.searchParams.set('service', service);
    url.searchParams.set('scope', `repository:${this.lookup.reference.repository}:pull`);
    const { credential } = this.lookup;
    const response = await this.transport.get({
      url,
      headers: {
        accept: 'application/json',
        'user-agent': USER_AGENT,
        ...(credential && { authorization: basic(credential) }),
      },
      signal: this.lookup.signal,
      maxBytes: MAX_TOKEN_BYTES,
    });
    if (response.status !== 200) throw this.refused(response, 'token service');
    let token: unknown;
    try {
      const body = JSON.parse(response.body.toString('utf8')) as { token?: unknown; access_token?: unknown };
      token = body.token ?? body.access_token;
    } catch {
      token = undefined;
    }
    if (typeof token !== 'string' || token === '' || /[\r\n]/.test(token)) {
      throw unusable("the registry's token service answered without a token");
    }
    return token;
  }

  /** A refusal (401, 403) or any other failed answer, said in terms of the pod's credentials. */
  private refused(response: HttpResponse, who = 'registry'): ClassifiedError {
    const reason = registryReason(response);
    const retryAfterMs = retryAfterFromHeaders((name) => response.headers[name]);
    const details = {
      ...(reason.code !== undefined && { code: reason.code }),
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    };
    const server = this.lookup.reference.registry;
    let what = `the ${who} answered`;
    if (response.status === 401) {
      what = this.lookup.credential
        ? `the ${who} rejected the pull secret's credentials for ${server}`
        : `the ${who} requires authentication and the pod has no pull secret for ${server}`;
    } else if (response.status === 403) {
      what = `the ${who} denied access to ${this.name}`;
    }
    return classifyRegistryAnswer(response.status, `${what} (${reason.text})`, details);
  }

  /** A manifest by tag or digest; by digest (or with a served digest) the bytes must hash to it. */
  async manifest(
    target: string,
    expected?: Descriptor,
  ): Promise<{ document: ManifestDocument; digest: string }> {
    const maxBytes = Math.min(expected?.size ?? MAX_DOCUMENT_BYTES, MAX_DOCUMENT_BYTES);
    const response = await this.get(`manifests/${target}`, MANIFEST_ACCEPT, maxBytes);
    if (response.status === 404) {
      const reason = registryReason(response);
      const missing =
        reason.code === 'NAME_UNKNOWN'
          ? `the registry has no repository ${this.name}`
          : `the registry has no manifest for ${describeTarget(target)} of ${this.name}`;
      throw classifyRegistryAnswer(404, `${missing} (${reason.text})`, {
        ...(reason.code && { code: reason.code }),
      });
    }
    if (response.status !== 200) throw this.refused(response);
    const served = response.headers['docker-content-digest'];
    const servedDigest = served !== undefined && DIGEST.test(served) ? served : undefined;
    const digest = isDigest(target) ? target : (servedDigest ?? digestOf(response.body));
    if (!matchesDigest(response.body, digest)) {
      throw unusable(`the manifest of ${describeTarget(target)} does not match its digest ${digest}`);
    }
    const parsed = parseManifest(response.body, response.headers['content-type']);
    if (!parsed.ok) throw unusable(parsed.problem);
    return { document: parsed.value, digest };
  }

  /** A blob whose descriptor we hold: its size and digest are checked. */
  async blob(descriptor: Descriptor): Promise<Buffer> {
    if (descriptor.size > MAX_DOCUMENT_BYTES) {
      throw unusable(`the image configuration is ${descriptor.size} bytes, more than ${MAX_DOCUMENT_BYTES}`);
    }
    const response = await this.get(`blobs/${descriptor.digest}`, '*/*', descriptor.size);
    if (response.status !== 200) throw this.refused(response);
    if (response.body.length !== descriptor.size || !matchesDigest(response.body, descriptor.digest)) {
      throw unusable(`the image configuration does not match its digest ${descriptor.digest}`);
    }
    return response.body;
  }
}

export class RegistryClient {
  private readonly transport: HttpTransport;
  private readonly configs: ConfigStore;

  constructor(deps: { transport: HttpTransport; configs: ConfigStore }) {
    this.transport = deps.transport;
    this.configs = deps.configs;
  }

  /** The image's configuration for the platform. Errors are ClassifiedErrors. */
  async resolve(lookup: ImageLookup): Promise<ResolvedImage> {
    const session = new Session(this.transport, lookup);
    const { reference, platform } = lookup;
    const target = reference.digest ?? reference.tag ?? 'latest';
    let { document, digest } = await session.manifest(target);
    if (document.kind === 'index') {
      const chosen = selectPlatform(document.manifests, platform);
      if (!chosen) {
        throw unusable(
          `${formatReference(reference)} has no ${platform.os}/${platform.architecture} image (it has ${describePlatforms(document.manifests)})`,
        );
      }
      ({ document, digest } = await session.manifest(chosen.digest, chosen));
      if (document.kind === 'index') throw unusable('an index inside an index is not supported');
    }
    const configDigest = document.config.digest;
    const config =
      this.configs.get(configDigest) ?? (await this.readConfig(session, document.config, platform));
    this.configs.set(configDigest, config);
    return { config, manifestDigest: digest, configDigest };
  }

  private async readConfig(
    session: Session,
    descriptor: Descriptor,
    platform: Platform,
  ): Promise<ImageConfig> {
    const parsed = parseImageConfig(await session.blob(descriptor));
    if (!parsed.ok) throw unusable(parsed.problem);
    const { os, architecture } = parsed.value.platform;
    if (
      (os ?? platform.os) !== platform.os ||
      (architecture ?? platform.architecture) !== platform.architecture
    ) {
      throw unusable(
        `the image is for ${os ?? '?'}/${architecture ?? '?'}; ACI runs ${platform.os}/${platform.architecture}`,
      );
    }
    return parsed.value.config;
  }
}
