// Reading the objects a pod references: by the webhook, to tell the user at `kubectl apply` time that a
// ConfigMap, Secret, key or ServiceAccount is missing, and by the connector, to build the container
// group. Each object is read by name (RBAC `get`, never `list`). The webhook asks for Secret values to
// be blanked at once: only which keys exist matters there, so no secret value stays in its memory.
import type { CoreV1Api, V1ConfigMap, V1Secret, V1ServiceAccount } from '@kubernetes/client-node';
import type { PodReferences, ReferencedObjects } from '../contract/capability.ts';
import { unlessKind } from './kubernetes-calls.ts';

/** One method per kind; `undefined` when the object does not exist. Tests pass plain objects. */
export interface ReferenceReader {
  configMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<V1Secret | undefined>;
  serviceAccount(namespace: string, name: string): Promise<V1ServiceAccount | undefined>;
}

export async function readReferencedObjects(
  reader: ReferenceReader,
  namespace: string,
  references: PodReferences,
): Promise<ReferencedObjects> {
  const [configMaps, secrets, serviceAccount] = await Promise.all([
    readAll(references.configMaps, (name) => reader.configMap(namespace, name)),
    readAll(references.secrets, (name) => reader.secret(namespace, name)),
    reader.serviceAccount(namespace, references.serviceAccountName),
  ]);
  return { configMaps, secrets, serviceAccount };
}

async function readAll<T>(
  names: readonly string[],
  read: (name: string) => Promise<T | undefined>,
): Promise<Map<string, T>> {
  const unique = [...new Set(names)];
  const objects = await Promise.all(unique.map(read));
  return new Map(
    unique.flatMap((name, index) => {
      const object = objects[index];
      return object === undefined ? [] : [[name, object] as const];
    }),
  );
}

/** Keeps a Secret's keys and type, drops its values. */
export function withoutSecretValues(secret: V1Secret): V1Secret {
  const blank = (data: Record<string, string> | undefined): Record<string, string> | undefined =>
    data === undefined ? undefined : Object.fromEntries(Object.keys(data).map((key) => [key, '']));
  return {
    ...secret,
    ...(secret.data !== undefined && { data: blank(secret.data) }),
    ...(secret.stringData !== undefined && { stringData: blank(secret.stringData) }),
  };
}

/**
 * The reader backed by the API server: 404 becomes `undefined`, anything else a ClassifiedError.
 * `secretValues: 'blank'` keeps only which keys a Secret has.
 */
export function kubernetesReferenceReader(
  core: CoreV1Api,
  options: { secretValues: 'keep' | 'blank' },
): ReferenceReader {
  return {
    configMap: (namespace, name) => unlessKind(core.readNamespacedConfigMap({ namespace, name }), 'NotFound'),
    secret: async (namespace, name) => {
      const secret = await unlessKind(core.readNamespacedSecret({ namespace, name }), 'NotFound');
      return secret && options.secretValues === 'blank' ? withoutSecretValues(secret) : secret;
    },
    serviceAccount: (namespace, name) =>
      unlessKind(core.readNamespacedServiceAccount({ namespace, name }), 'NotFound'),
  };
}
