// Reading the objects a pod references: by the webhook, to tell the user at `kubectl apply` time that a
// ConfigMap, Secret, key or ServiceAccount is missing, and by the connector, to build the container
// group. Each object is read by name (RBAC `get`, never `list`), once however often the pod names it,
// a few at a time, and never more than the contract's MAX_POD_REFERENCES for one pod. The webhook asks
// for Secret values to be blanked at once: only which keys exist matters there, so no secret value
// stays in its memory.
import type { CoreV1Api, V1ConfigMap, V1Secret, V1ServiceAccount } from '@kubernetes/client-node';
import { MAX_POD_REFERENCES, type PodReferences, type ReferencedObjects } from '../contract/index.ts';
import { ClassifiedError } from './errors.ts';
import { unlessKind } from './kubernetes-calls.ts';

/** Reads in flight at once for one pod: enough to hide latency, few enough not to burst the API server. */
export const CONCURRENT_READS = 4;

/** One method per kind; `undefined` when the object does not exist. Tests pass plain objects. */
export interface ReferenceReader {
  configMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
  secret(namespace: string, name: string): Promise<V1Secret | undefined>;
  serviceAccount(namespace: string, name: string): Promise<V1ServiceAccount | undefined>;
}

/**
 * The pod's ConfigMaps, Secrets and ServiceAccount, each read once. Callers compare the pod's
 * `referenceCount` with MAX_POD_REFERENCES first (the contract refuses such a pod without its
 * objects); asked for more anyway, this reads nothing and throws InvalidInput naming the bound.
 */
export async function readReferencedObjects(
  reader: ReferenceReader,
  namespace: string,
  references: PodReferences,
): Promise<ReferencedObjects> {
  const reads = [
    ...[...new Set(references.configMaps)].map((name) => ({ kind: 'ConfigMap' as const, name })),
    ...[...new Set(references.secrets)].map((name) => ({ kind: 'Secret' as const, name })),
  ];
  if (reads.length > MAX_POD_REFERENCES) {
    throw new ClassifiedError(
      'InvalidInput',
      `the pod references ${reads.length} ConfigMaps and Secrets, and at most ${MAX_POD_REFERENCES} are read for one pod`,
      { code: 'TooManyReferences' },
    );
  }
  const configMaps = new Map<string, V1ConfigMap>();
  const secrets = new Map<string, V1Secret>();
  await eachConcurrently(reads, CONCURRENT_READS, async ({ kind, name }) => {
    if (kind === 'ConfigMap') {
      const object = await reader.configMap(namespace, name);
      if (object) configMaps.set(name, object);
    } else {
      const object = await reader.secret(namespace, name);
      if (object) secrets.set(name, object);
    }
  });
  const serviceAccount = await reader.serviceAccount(namespace, references.serviceAccountName);
  return { configMaps, secrets, serviceAccount };
}

/** Runs `work` on every item, at most `concurrency` at a time; rejects with the first failure. */
export async function eachConcurrently<T>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
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
