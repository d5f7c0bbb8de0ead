// A loopback OCI registry (distribution API v2, read-only) for the emulator: the fixtures of
// registry-fixtures.ts over HTTPS with the emulator's certificate, behind Docker Hub's bearer-token
// challenge (or Basic auth, as some private registries ask), with one private repository that
// needs the registry's credentials. The ACI emulator asks it whether an image on it can be pulled,
// as ACI pulls from the registry the image names. It can be stopped and started again on the same
// port, to play a registry that is down.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseImageReference } from '../../connector/registry/reference.ts';
import { buildRegistryContent, FIXTURE_IMAGES, type RegistryContent } from './registry-fixtures.ts';

export type RegistryAuth = 'bearer' | 'basic';

/** An imageRegistryCredentials entry of a container group, as the ACI emulator hands it over. */
export interface RegistryLogin {
  server: string;
  username: string;
  password: string;
  /** An identity-based credential: the user-assigned identity ACI pulls with (the emulator decides what it may pull). */
  identity?: string;
}

export interface RegistryRequest {
  method: string;
  path: string;
  query: string;
  status: number;
  /** How the request authenticated (the credentials themselves are never logged). */
  authorization: 'none' | 'basic' | 'bearer';
  time: string;
}

export interface RegistryOptions {
  /** The emulator's serving certificate (it names 127.0.0.1 and localhost). */
  tls: { keyPem: string; certPem: string };
  host?: string;
  port?: number;
  auth?: RegistryAuth;
  username?: string;
  password?: string;
  clock?: () => number;
}

export interface RunningRegistry {
  /** `127.0.0.1:<port>`: images on it are `<host>/fixtures/single:1.0`. */
  host: string;
  url: string;
  /** The credentials of the private repository (and of the token service). */
  username: string;
  password: string;
  /** Every fixture as an image reference on this registry, by the names of FIXTURE_IMAGES. */
  images: Record<keyof typeof FIXTURE_IMAGES, string>;
  requests(): RegistryRequest[];
  clearRequests(): void;
  /** Stops listening and drops open connections: clients get "connection refused". */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /** Whether ACI could pull `image` with these credentials; `undefined` for images of other registries. */
  canPull(image: string, logins: readonly RegistryLogin[]): boolean | undefined;
  close(): Promise<void>;
}

const SERVICE = 'aci-burst-emulator-registry';
const TOKEN_LIFETIME_MS = 300_000;
const MAX_LOG = 10_000;
const ROUTE = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/;
const STORAGE = /^\/storage\/(.+)\/blobs\/([^/]+)$/;
const SCOPE = /^repository:(.+):pull$/;

interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Bytes as they are, anything else as JSON. */
  body?: unknown;
}

function errors(status: number, code: string, message: string, detail?: unknown): Answer {
  return { status, body: { errors: [{ code, message, ...(detail !== undefined && { detail }) }] } };
}

function equalText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The registry's decisions, apart from sockets. */
class RegistryState {
  readonly content: RegistryContent = buildRegistryContent();
  readonly tokens = new Map<string, { repository: string | undefined; expiresAt: number }>();
  readonly log: RegistryRequest[] = [];
  private readonly options: Required<Pick<RegistryOptions, 'auth' | 'username' | 'password' | 'clock'>>;
  url = '';

  constructor(options: Required<Pick<RegistryOptions, 'auth' | 'username' | 'password' | 'clock'>>) {
    this.options = options;
  }

  private basicValid(authorization: string | undefined): boolean | undefined {
    if (!authorization?.startsWith('Basic ')) return undefined;
    const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return (
      equalText(decoded.slice(0, colon), this.options.username) &&
      equalText(decoded.slice(colon + 1), this.options.password)
    );
  }

  /** Docker Hub's token service: anyone gets a token; it grants a private repository only to its owner. */
  token(query: URLSearchParams, authorization: string | undefined): Answer {
    const basic = this.basicValid(authorization);
    if (basic === false) return errors(401, 'UNAUTHORIZED', 'incorrect username or password');
    const repository = SCOPE.exec(query.get('scope') ?? '')?.[1];
    const known = repository === undefined ? undefined : this.content.repositories.get(repository);
    const granted = known && (!known.private || basic === true) ? repository : undefined;
    const token = randomBytes(24).toString('base64url');
    const now = this.options.clock();
    this.tokens.set(token, { repository: granted, expiresAt: now + TOKEN_LIFETIME_MS });
    for (const [old, grant] of this.tokens) if (grant.expiresAt < now) this.tokens.delete(old);
    return {
      status: 200,
      body: {
        token,
        access_token: token,
        expires_in: TOKEN_LIFETIME_MS / 1000,
        issued_at: new Date(now).toISOString(),
      },
    };
  }

  private challenge(repository: string, presented: boolean): Answer {
    if (this.options.auth === 'basic') {
      return {
        ...errors(401, 'UNAUTHORIZED', 'authentication required'),
        headers: { 'www-authenticate': 'Basic realm="aci-burst emulator registry"' },
      };
    }
    const error = presented ? ',error="insufficient_scope"' : '';
    return {
      ...errors(401, 'UNAUTHORIZED', 'authentication required', [
        { Type: 'repository', Name: repository, Action: 'pull' },
      ]),
      headers: {
        'www-authenticate': `Bearer realm="${this.url}/token",service="${SERVICE}",scope="repository:${repository}:pull"${error}`,
      },
    };
  }

  /** Whether the request may read `repository`: a bearer token for it, or (Basic mode) the credentials. */
  private allowed(repository: string, authorization: string | undefined): boolean {
    const isPrivate = this.content.repositories.get(repository)?.private ?? false;
    if (this.options.auth === 'basic') return !isPrivate || this.basicValid(authorization) === true;
    if (!authorization?.startsWith('Bearer ')) return false;
    const grant = this.tokens.get(authorization.slice(7));
    return grant !== undefined && grant.expiresAt >= this.options.clock() && grant.repository === repository;
  }

  answer(method: string, url: URL, authorization: string | undefined): Answer {
    if (method !== 'GET' && method !== 'HEAD') return errors(405, 'UNSUPPORTED', 'the registry is read-only');
    if (url.pathname === '/token') return this.token(url.searchParams, authorization);
    if (url.pathname === '/v2/' || url.pathname === '/v2') {
      return authorization === undefined ? this.challenge('', false) : { status: 200, body: {} };
    }
    const stored = STORAGE.exec(url.pathname);
    if (stored) return this.storage(stored);
    const route = ROUTE.exec(url.pathname);
    if (!route) return errors(404, 'UNSUPPORTED', 'not a registry route');
    const [, repository = '', kind, target = ''] = route;
    if (!this.allowed(repository, authorization)) {
      return this.challenge(repository, authorization !== undefined);
    }
    if (!this.content.repositories.has(repository)) {
      return errors(404, 'NAME_UNKNOWN', 'repository name not known to registry', { name: repository });
    }
    return kind === 'blobs' ? this.blob(repository, target) : this.manifest(repository, target);
  }

  /** Like Docker Hub, blobs are served by storage elsewhere: a redirect to a signed-looking URL. */
  private blob(repository: string, digest: string): Answer {
    if (!this.content.blobs.get(repository)?.has(digest)) {
      return errors(404, 'BLOB_UNKNOWN', 'blob unknown to registry', { digest });
    }
    const signature = randomBytes(8).toString('hex');
    return { status: 307, headers: { location: `/storage/${repository}/blobs/${digest}?sig=${signature}` } };
  }

  private manifest(repository: string, target: string): Answer {
    const byDigest = target.includes(':');
    const digest = byDigest ? target : this.content.repositories.get(repository)?.tags.get(target);
    const manifest = digest === undefined ? undefined : this.content.manifests.get(repository)?.get(digest);
    if (!manifest || digest === undefined) {
      return errors(
        404,
        'MANIFEST_UNKNOWN',
        'manifest unknown',
        byDigest ? { Digest: target } : { Tag: target },
      );
    }
    return {
      status: 200,
      headers: { 'content-type': manifest.mediaType, 'docker-content-digest': digest },
      body: manifest.body,
    };
  }

  private storage([, repository = '', digest = '']: RegExpExecArray): Answer {
    const body = this.content.blobs.get(repository)?.get(digest);
    return body
      ? { status: 200, headers: { 'content-type': 'application/octet-stream' }, body }
      : { status: 404 };
  }

  record(entry: RegistryRequest): void {
    this.log.push(entry);
    if (this.log.length > MAX_LOG) this.log.splice(0, this.log.length - MAX_LOG);
  }

  /** ACI's pull: the image exists, its registry's credentials are given if it is private, and it has linux/amd64. */
  canPull(host: string, image: string, logins: readonly RegistryLogin[]): boolean | undefined {
    const parsed = parseImageReference(image);
    if (!parsed.ok || parsed.reference.registry !== host) return undefined;
    const { repository, tag, digest } = parsed.reference;
    const known = this.content.repositories.get(repository);
    const manifestDigest = digest ?? (tag === undefined ? undefined : known?.tags.get(tag));
    const manifest =
      manifestDigest === undefined ? undefined : this.content.manifests.get(repository)?.get(manifestDigest);
    if (!known || !manifest) return false;
    const login = logins.find((candidate) => candidate.server === host);
    const authorized =
      !known.private ||
      (login !== undefined &&
        login.username === this.options.username &&
        login.password === this.options.password);
    return authorized && manifest.runsOnAmd64;
  }
}

function send(response: ServerResponse, method: string, answer: Answer): void {
  const body =
    answer.body === undefined
      ? Buffer.alloc(0)
      : Buffer.isBuffer(answer.body)
        ? answer.body
        : Buffer.from(JSON.stringify(answer.body));
  response.writeHead(answer.status, {
    'docker-distribution-api-version': 'registry/2.0',
    ...(answer.body !== undefined && !Buffer.isBuffer(answer.body) && { 'content-type': 'application/json' }),
    ...answer.headers,
    'content-length': String(body.length),
  });
  response.end(method === 'HEAD' ? undefined : body);
}

function authorizationKind(header: string | undefined): RegistryRequest['authorization'] {
  if (header?.startsWith('Bearer ')) return 'bearer';
  return header?.startsWith('Basic ') ? 'basic' : 'none';
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startRegistry(options: RegistryOptions): Promise<RunningRegistry> {
  const host = options.host ?? '127.0.0.1';
  const clock = options.clock ?? Date.now;
  const username = options.username ?? 'aci-burst-pull';
  const password = options.password ?? `pull-${randomBytes(12).toString('hex')}`;
  const state = new RegistryState({ auth: options.auth ?? 'bearer', username, password, clock });
  const server = createServer(
    { key: options.tls.keyPem, cert: options.tls.certPem },
    (request: IncomingMessage, response) => {
      const url = new URL(request.url ?? '/', state.url);
      const method = request.method ?? 'GET';
      const answer = state.answer(method, url, request.headers.authorization);
      state.record({
        method,
        path: url.pathname,
        query: url.search,
        status: answer.status,
        authorization: authorizationKind(request.headers.authorization),
        time: new Date(clock()).toISOString(),
      });
      send(response, method, answer);
    },
  );
  await listen(server, options.port ?? 0, host);
  const { port } = server.address() as AddressInfo;
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  state.url = `https://${address}`;
  const images = Object.fromEntries(
    Object.entries(FIXTURE_IMAGES).map(([name, image]) => [
      name,
      `${address}/${image.repository}:${image.tags[0]}`,
    ]),
  ) as Record<keyof typeof FIXTURE_IMAGES, string>;
  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      if (!server.listening) {
        resolve();
        return;
      }
      server.close(() => {
        resolve();
      });
      server.closeAllConnections();
    });
  return {
    host: address,
    url: state.url,
    username,
    password,
    images,
    requests: () => [...state.log],
    clearRequests: () => {
      state.log.length = 0;
    },
    stop,
    start: () => (server.listening ? Promise.resolve() : listen(server, port, host)),
    canPull: (image, logins) => {
      // A registry that is down serves nobody, ACI included.
      const verdict = state.canPull(address, image, logins);
      return verdict === undefined || server.listening ? verdict : false;
    },
    close: stop,
  };
}
