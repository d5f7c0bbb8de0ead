// What every part of the translation shares: the pod, the objects it references (when known), the
// limits, and the list the problems go to. One walk over the pod fills both the container group and
// the problems, so the capability check and the translation can never disagree.
import type { V1ConfigMap, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { AciLimits, Problem, ReferencedObjects } from './capability.ts';

export interface Context {
  readonly pod: V1Pod;
  /** `undefined`: only the spec is checked; references are neither resolved nor reported missing. */
  readonly objects: ReferencedObjects | undefined;
  readonly limits: AciLimits;
  /** The shell through which a container's workingDir is honoured; `undefined`: such containers are refused. */
  readonly workingDirShell: string | undefined;
  readonly problems: Problem[];
}

/** Records a field ACI can never run as written. */
export function refuse(context: Context, path: string, message: string, fix: string): void {
  context.problems.push({ path, message, fix, kind: 'unsupported' });
}

/** Records an object the pod needs that does not exist yet: the pod waits, as a kubelet would. */
function awaitReference(context: Context, path: string, message: string, fix: string): void {
  context.problems.push({ path, message, fix, kind: 'missing-reference' });
}

export interface ObjectReference {
  kind: 'ConfigMap' | 'Secret';
  /** Optional in the API types; an empty name never matches an object. */
  name?: string | undefined;
  optional?: boolean | undefined;
}

/** The object's contents as raw bytes per key (ConfigMap text and binary data, Secret data). */
function contentsOf(reference: ObjectReference, object: V1ConfigMap | V1Secret): Map<string, Buffer> {
  const contents = new Map<string, Buffer>();
  if (reference.kind === 'ConfigMap') {
    const configMap = object as V1ConfigMap;
    for (const [key, text] of Object.entries(configMap.data ?? {}))
      contents.set(key, Buffer.from(text, 'utf8'));
    for (const [key, base64] of Object.entries(configMap.binaryData ?? {})) {
      contents.set(key, Buffer.from(base64, 'base64'));
    }
  } else {
    const secret = object as V1Secret;
    for (const [key, text] of Object.entries(secret.stringData ?? {}))
      contents.set(key, Buffer.from(text, 'utf8'));
    for (const [key, base64] of Object.entries(secret.data ?? {}))
      contents.set(key, Buffer.from(base64, 'base64'));
  }
  return contents;
}

/**
 * The referenced object's contents, or `undefined` when they are unknown (spec-only check) or absent.
 * A required object that is absent is recorded as a missing reference; an optional one is skipped.
 */
export function readObject(
  context: Context,
  path: string,
  reference: ObjectReference,
): Map<string, Buffer> | undefined {
  if (!context.objects) return undefined;
  const name = reference.name ?? '';
  const object =
    reference.kind === 'ConfigMap' ? context.objects.configMaps.get(name) : context.objects.secrets.get(name);
  if (object) return contentsOf(reference, object);
  if (reference.optional !== true) {
    awaitReference(
      context,
      path,
      `${reference.kind} "${name}" does not exist in namespace "${namespaceOf(context.pod)}"`,
      `create the ${reference.kind}, or mark the reference optional: true`,
    );
  }
  return undefined;
}

/** One key of a referenced object, with the same rules as `readObject` for the object and the key. */
export function readKey(
  context: Context,
  path: string,
  reference: ObjectReference & { key: string },
): Buffer | undefined {
  const contents = readObject(context, path, reference);
  if (!contents) return undefined;
  const value = contents.get(reference.key);
  if (value === undefined && reference.optional !== true) {
    awaitReference(
      context,
      path,
      `key "${reference.key}" is not in ${reference.kind} "${reference.name ?? ''}"`,
      `add the key to the ${reference.kind}, or mark the reference optional: true`,
    );
  }
  return value;
}

/** Records a value the connector itself must supply (a token, the cluster CA) and has not. */
export function awaitSuppliedValue(context: Context, path: string, what: string): void {
  awaitReference(
    context,
    path,
    `${what} has not been obtained yet`,
    'wait: the connector requests it before creating the container group',
  );
}

/** The object without its undefined fields: ACI's JSON stays as small as what the pod asked for. */
export function compact<T extends object>(object: T): Partial<T> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Partial<T>;
}

export function namespaceOf(pod: V1Pod): string {
  return pod.metadata?.namespace ?? 'default';
}
