// imagePullSecrets -> imageRegistryCredentials. Both Docker config formats, every registry in them;
// only the registries the pod's images come from are sent, because ACI refuses a group with more
// credentials than containers (MoreImageRegistryCredentialsThanContainers).
import type { ImageRegistryCredential } from '@azure/arm-containerinstance';
import { type Context, readObject, refuse } from './context.ts';

const DOCKER_HUB = 'index.docker.io';
const DOCKER_HUB_ALIASES = new Set([
  'docker.io',
  'index.docker.io',
  'registry-1.docker.io',
  'registry.hub.docker.com',
]);
const CONFIG_KEYS = ['.dockerconfigjson', '.dockercfg'] as const;

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

/** The registry an image is pulled from: its first path part when that looks like a host, else Docker Hub. */
export function imageRegistry(image: string): string {
  const first = image.split('/')[0] ?? '';
  const isHost = image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
  return isHost ? registryServer(first) : DOCKER_HUB;
}

function credentialsFromConfig(text: string, key: (typeof CONFIG_KEYS)[number]): Map<string, DockerAuth> {
  const parsed = JSON.parse(text) as Record<string, unknown>;
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
 * Credentials for the registries of the pod's images, from its imagePullSecrets in order (the first
 * secret naming a registry wins). A pull secret that does not exist is skipped, as a kubelet does.
 */
export function registryCredentials(context: Context): ImageRegistryCredential[] {
  const spec = context.pod.spec;
  const needed = new Set(
    [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].map((container) =>
      imageRegistry(container.image ?? ''),
    ),
  );
  const credentials = new Map<string, ImageRegistryCredential>();
  (spec?.imagePullSecrets ?? []).forEach((reference, index) => {
    const path = `spec.imagePullSecrets[${index}]`;
    const contents = readObject(context, path, {
      kind: 'Secret',
      name: reference.name ?? '',
      optional: true,
    });
    if (!contents) return;
    const key = CONFIG_KEYS.find((candidate) => contents.has(candidate));
    let auths: Map<string, DockerAuth> | undefined;
    try {
      auths = key && credentialsFromConfig(contents.get(key)?.toString('utf8') ?? '', key);
    } catch {
      auths = undefined;
    }
    if (!auths) {
      refuse(
        context,
        path,
        `Secret "${reference.name ?? ''}" holds no Docker registry configuration`,
        `use a Secret of type kubernetes.io/dockerconfigjson (key ${CONFIG_KEYS[0]}) or kubernetes.io/dockercfg`,
      );
      return;
    }
    for (const [server, auth] of auths) {
      if (needed.has(server) && !credentials.has(server)) credentials.set(server, toCredential(server, auth));
    }
  });
  return [...credentials.values()];
}
