// imagePullSecrets -> imageRegistryCredentials. Both Docker config formats, every registry in them;
// only the registries the pod's images come from are sent, because ACI refuses a group with more
// credentials than containers (MoreImageRegistryCredentialsThanContainers).
import type { ImageRegistryCredential } from '@azure/arm-containerinstance';
import type { V1Pod, V1Secret } from '@kubernetes/client-node';
import { type Context, ownValue, refuse } from './context.ts';

const DOCKER_HUB = 'index.docker.io';
const DOCKER_HUB_ALIASES = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
]);
/** The pull-secret types a kubelet reads, and the key each keeps its configuration under. */
const CONFIG_KEYS: Record<string, string> = {
  'kubernetes.io/dockerconfigjson': '.dockerconfigjson',
  'kubernetes.io/dockercfg': '.dockercfg',
};

interface DockerAuth {
  username?: string;
  password?: string;
  auth?: string;
}

/** A registry as ACI names it: the host (and port), Docker Hub's aliases folded into one. */
export function registryServer(reference: string): string {
  const host = reference.replace(/^[a-z]+:\/\//, '').split('/')[0] ?? '';
  return DOCKER_HUB_ALIASES.has(host) ? DOCKER_HUB : host;
}

/**
 * The registry an image is pulled from: its first path part when that looks like a host (a dot, a
 * port, `localhost`, or capitals, as Docker decides), else Docker Hub.
 */
export function imageRegistry(image: string): string {
  const first = image.split('/')[0] ?? '';
  const isHost =
    image.includes('/') &&
    (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase());
  return isHost ? registryServer(first) : DOCKER_HUB;
}

/**
 * The registries in a pull secret. The API server validates these secrets' JSON, so text that does not
 * parse has had its values removed (the webhook reads Secrets without values): no credentials then.
 */
function credentialsFromSecret(secret: V1Secret): Map<string, DockerAuth> {
  const key = ownValue(CONFIG_KEYS, secret.type ?? '') ?? '';
  const text = Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return new Map();
  }
  const auths = (key === '.dockerconfigjson' ? parsed.auths : parsed) as
    Record<string, DockerAuth> | undefined;
  return new Map(Object.entries(auths ?? {}).map(([server, auth]) => [registryServer(server), auth]));
}

function toCredential(server: string, auth: DockerAuth): ImageRegistryCredential {
  if (auth.username !== undefined) return { server, username: auth.username, password: auth.password ?? '' };
  const decoded = Buffer.from(auth.auth ?? '', 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return { server, username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Every registry's credentials in the pod's imagePullSecrets, by server, the first secret naming a
 * registry winning (as a kubelet reads them). A pull secret that does not exist is skipped, as a
 * kubelet does; one of another type is handed to `wrongType`.
 */
export function pullSecretCredentials(
  pod: V1Pod,
  secrets: ReadonlyMap<string, V1Secret>,
  wrongType: (index: number, name: string, secret: V1Secret) => void = () => undefined,
): Map<string, ImageRegistryCredential> {
  const credentials = new Map<string, ImageRegistryCredential>();
  // A Secret named again adds nothing (the first naming of a registry wins), and is not parsed again.
  const seen = new Set<string>();
  (pod.spec?.imagePullSecrets ?? []).forEach((reference, index) => {
    const name = reference.name ?? '';
    const secret = seen.has(name) ? undefined : secrets.get(name);
    seen.add(name);
    if (!secret) return;
    if (ownValue(CONFIG_KEYS, secret.type ?? '') === undefined) {
      wrongType(index, name, secret);
      return;
    }
    for (const [server, auth] of credentialsFromSecret(secret)) {
      if (!credentials.has(server)) credentials.set(server, toCredential(server, auth));
    }
  });
  return credentials;
}

/**
 * Credentials for the registries of the pod's images only (ACI refuses more credentials than
 * containers), and the registries of its images no pull secret covers.
 */
export function registryCredentials(context: Context): {
  credentials: ImageRegistryCredential[];
  uncovered: string[];
} {
  const spec = context.pod.spec;
  const needed = new Set(
    [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].map((container) =>
      imageRegistry(container.image ?? ''),
    ),
  );
  const all = pullSecretCredentials(
    context.pod,
    context.objects?.secrets ?? new Map(),
    (index, name, secret) => {
      refuse(
        context,
        `spec.imagePullSecrets[${index}]`,
        `Secret "${name}" is of type ${secret.type ?? 'Opaque'}, not a Docker registry configuration`,
        'use a Secret of type kubernetes.io/dockerconfigjson (kubectl create secret docker-registry) or kubernetes.io/dockercfg',
      );
    },
  );
  const credentials = [...all.values()].filter((credential) => needed.has(credential.server));
  const covered = new Set(credentials.map((credential) => credential.server));
  return { credentials, uncovered: [...needed].filter((server) => !covered.has(server)) };
}
