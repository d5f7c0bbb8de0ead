// The connector's source of image configurations: which registry (or mirror) to ask, with which of
// the pod's credentials, what is cached, and how long a reconcile may wait. Lookups are shared: pods
// of one image wait on one lookup; a lookup outliving the reconcile's wait goes on in the background
// (bounded by its deadline, like a pull in progress) and its answer is cached for the next try.
import { createHash } from 'node:crypto';
import { type ImageConfig, registryServer } from '../../contract/index.ts';
import { ClassifiedError, classifyRegistryError } from '../../runtime/errors.ts';
import { type Clock, sleepUnlessAborted, systemTimers } from '../../runtime/clock.ts';
import { TtlCache } from './cache.ts';
import type { ImageLookup, RegistryCredential, ResolvedImage } from './client.ts';
import { DOCKER_HUB, formatReference, parseImageReference, type ImageReference } from './reference.ts';

/** The code of a registry that did not answer (refused, 5xx, 429, too slow): the pod waits and retries. */
export const REGISTRY_UNAVAILABLE = 'RegistryUnavailable';
/** ACI runs Linux containers on amd64 only. */
const ARCHITECTURE = 'amd64';
/** Docker Hub's registry API answers here, not on docker.io. */
const DOCKER_HUB_API = 'https://registry-1.docker.io';
export const MAX_CACHED = 1000;
/** How long one lookup may take in all, as a kubelet's pull gives up without progress (a minute). */
export const LOOKUP_DEADLINE_MS = 60_000;

export interface ImageResolverTimers {
  /** Resolves after `ms`, or at once when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
  /** A signal that aborts after `ms`: the deadline of one lookup. */
  deadline(ms: number): AbortSignal;
}

/** Node's timers; the sleep ends early (without error) when its signal aborts. */
export const NODE_TIMERS: ImageResolverTimers = {
  sleep: (ms, signal) => sleepUnlessAborted(systemTimers, ms, signal),
  deadline: (ms) => AbortSignal.timeout(ms),
};

export interface ImageResolverOptions {
  client: { resolve(lookup: ImageLookup): Promise<ResolvedImage> };
  /** Registry (as references name it: `docker.io`) -> the API base URL to read it from instead. */
  mirrors: ReadonlyMap<string, URL>;
  clock: Clock;
  /** How long a tag's configuration is reused. */
  cacheTtlMs: number;
  /** How long a reconcile waits for a lookup before the pod waits with an event. */
  waitMs: number;
  /** How long a lookup may go on in all (the background part included). */
  lookupDeadlineMs: number;
  timers: ImageResolverTimers;
}

/** The pod's credentials for one image's registry, keyed as pull secrets name registries. */
export type CredentialsByServer = ReadonlyMap<string, RegistryCredential>;

export class ImageConfigResolver {
  private readonly options: ImageResolverOptions;
  private readonly byReference: TtlCache<string, ImageConfig>;
  private readonly inFlight = new Map<string, Promise<ImageConfig>>();

  constructor(options: ImageResolverOptions) {
    this.options = options;
    this.byReference = new TtlCache({
      maxEntries: MAX_CACHED,
      ttlMs: options.cacheTtlMs,
      clock: options.clock,
    });
  }

  /**
   * The configuration of each image (as the pod names it) for `os`/amd64. Throws the first failure as
   * a ClassifiedError naming the image: ImagePullFailed when the registry says no, Transient or
   * Throttled (code RegistryUnavailable) when it does not answer in time.
   */
  async resolve(
    images: readonly string[],
    credentials: CredentialsByServer,
    os: string,
  ): Promise<Map<string, ImageConfig>> {
    return new Map(
      await Promise.all(
        images.map(async (image) => [image, await this.resolveOne(image, credentials, os)] as const),
      ),
    );
  }

  private async resolveOne(
    image: string,
    credentials: CredentialsByServer,
    os: string,
  ): Promise<ImageConfig> {
    const parsed = parseImageReference(image);
    if (!parsed.ok) {
      throw new ClassifiedError(
        'ImagePullFailed',
        `image "${image}" is not a valid reference: ${parsed.problem}`,
        {
          code: 'InvalidImageName',
        },
      );
    }
    const { reference } = parsed;
    const credential = credentials.get(registryServer(reference.registry));
    const key = `${formatReference(reference)}|${os}|${identity(credential)}`;
    const cached = this.byReference.get(key);
    if (cached) return cached;
    const endpoint = this.endpoint(reference);
    const lookup =
      this.inFlight.get(key) ??
      this.start(key, { reference, endpoint, credential, platform: { os, architecture: ARCHITECTURE } });
    const settled = new AbortController();
    try {
      const answer = await Promise.race([
        lookup.then((config) => ({ config })),
        this.options.timers.sleep(this.options.waitMs, settled.signal).then(() => undefined),
      ]);
      if (answer === undefined) {
        throw new ClassifiedError(
          'Transient',
          `registry ${endpoint.host} has not answered within ${Math.ceil(this.options.waitMs / 1000)}s; still reading in the background`,
          { code: REGISTRY_UNAVAILABLE },
        );
      }
      return answer.config;
    } catch (error) {
      throw describeFailure(image, endpoint, error);
    } finally {
      settled.abort();
    }
  }

  /** Starts a lookup shared by every caller of the same key until it settles. */
  private start(key: string, request: Omit<ImageLookup, 'signal'>): Promise<ImageConfig> {
    const lookup = this.options.client
      .resolve({ ...request, signal: this.options.timers.deadline(this.options.lookupDeadlineMs) })
      .then((resolved) => {
        this.byReference.set(key, resolved.config);
        return resolved.config;
      })
      .finally(() => {
        this.inFlight.delete(key);
      });
    // Nobody may be waiting when a background lookup fails: the next try asks again.
    lookup.catch(() => undefined);
    this.inFlight.set(key, lookup);
    return lookup;
  }

  private endpoint(reference: ImageReference): URL {
    const mirror = this.options.mirrors.get(reference.registry);
    if (mirror) return mirror;
    return new URL(reference.registry === DOCKER_HUB ? DOCKER_HUB_API : `https://${reference.registry}`);
  }
}

/** Results found with credentials are reused only with the same credentials (never anonymously). */
function identity(credential: RegistryCredential | undefined): string {
  if (credential === undefined) return 'anonymous';
  return createHash('sha256')
    .update(`${credential.username}\0${credential.password}`)
    .digest('hex')
    .slice(0, 16);
}

/** The failure as the pod shows it: the image first, and whether the registry said no or did not answer. */
function describeFailure(image: string, endpoint: URL, error: unknown): ClassifiedError {
  const classified = classifyRegistryError(error);
  if (classified.kind === 'ImagePullFailed') {
    return new ClassifiedError(classified.kind, `image "${image}": ${classified.message}`, {
      ...(classified.code !== undefined && { code: classified.code }),
      ...(classified.statusCode !== undefined && { statusCode: classified.statusCode }),
      cause: error,
    });
  }
  const message = classified.message.startsWith('registry ')
    ? classified.message
    : `registry ${endpoint.host} is unavailable: ${classified.message}`;
  return new ClassifiedError(classified.kind, `image "${image}": ${message}`, {
    code: REGISTRY_UNAVAILABLE,
    ...(classified.retryAfterMs !== undefined && { retryAfterMs: classified.retryAfterMs }),
    cause: error,
  });
}
