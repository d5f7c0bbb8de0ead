// What every part of the translation shares: the pod, the objects it references (when known), the
// limits, and the list the problems go to. One walk over the pod fills both the container group and
// the problems, so the capability check and the translation can never disagree.
import type { V1ConfigMap, V1Pod, V1Secret } from '@kubernetes/client-node';
import type { AciLimits, Problem, ReferencedObjects } from './types.ts';

export interface Context {
  readonly pod: V1Pod;
  /** `undefined`: only the spec is checked; references are neither resolved nor reported missing. */
  readonly objects: ReferencedObjects | undefined;
  readonly limits: AciLimits;
  /** The shell through which a container's workingDir is honoured; `undefined`: such containers are refused. */
  readonly workingDirShell: string | undefined;
  readonly problems: Problem[];
  /** Values computed once per walk (see `remembered`). */
  readonly memo: Map<string, Map<unknown, unknown>>;
  /** The bytes of values the group may still carry (see `spend`). */
  readonly budget: { remaining: number };
}

/**
 * What the container group may carry in environment values, command lines and files, together. A pod
 * is small (1.5 MiB in etcd), but what it expands into is not: `$(VAR)` references can double a value
 * at each step, and every file and variable can repeat a 1 MiB ConfigMap. The bound keeps the walk's
 * time and memory linear in its input. A group that large would be a very large ARM request; whether
 * and where ARM itself refuses one is unconfirmed.
 */
export const MAX_GROUP_CONTENT_BYTES = 4 * 1024 * 1024;

export function newContext(
  pod: V1Pod,
  objects: ReferencedObjects | undefined,
  settings: { limits: AciLimits; workingDirShell?: string | undefined },
): Context {
  return {
    pod,
    objects,
    limits: settings.limits,
    workingDirShell: settings.workingDirShell,
    problems: [],
    memo: new Map(),
    budget: { remaining: MAX_GROUP_CONTENT_BYTES },
  };
}

/**
 * `compute()` the first time `kind`/`key` is asked for in this walk, the same value afterwards: a pod
 * may name one container, object or map thousands of times, and each must cost its size once.
 */
export function remembered<T>(context: Context, kind: string, key: unknown, compute: () => T): T {
  let values = context.memo.get(kind);
  if (!values) {
    values = new Map();
    context.memo.set(kind, values);
  }
  if (values.has(key)) return values.get(key) as T;
  const value = compute();
  values.set(key, value);
  return value;
}

/**
 * Charges `bytes` of content to the group, at `path`. False once the group would carry more than
 * MAX_GROUP_CONTENT_BYTES: the first overrun is refused there, and callers stop producing content.
 */
export function spend(context: Context, path: string, bytes: number): boolean {
  if (context.budget.remaining < 0) return false;
  context.budget.remaining -= bytes;
  if (context.budget.remaining >= 0) return true;
  refuse(
    context,
    path,
    `the container group would carry more than ${MAX_GROUP_CONTENT_BYTES / 2 ** 20} MiB of environment values, command lines and files (counting every copy of a ConfigMap or Secret and every $(VAR) expansion)`,
    'mount large ConfigMaps and Secrets once, read big files from an Azure Files share, or expand fewer variables',
  );
  return false;
}

/** What is left of the budget: callers that build one value stop there. */
export function remainingBudget(context: Context): number {
  return Math.max(0, context.budget.remaining);
}

/**
 * The longest path, message and fix a problem keeps. They quote what the pod says (a resource name, an
 * annotation's value), and a pod can say 60,000 characters where a name is expected; every denial,
 * event and scheduling failure repeats the text.
 */
export const MAX_PROBLEM_TEXT = 400;

function shortened(text: string): string {
  return text.length <= MAX_PROBLEM_TEXT ? text : `${text.slice(0, MAX_PROBLEM_TEXT - 1)}…`;
}

function record(context: Context, problem: Problem): void {
  context.problems.push({
    ...problem,
    path: shortened(problem.path),
    message: shortened(problem.message),
    fix: shortened(problem.fix),
  });
}

/** Records a field ACI can never run as written. */
export function refuse(context: Context, path: string, message: string, fix: string): void {
  record(context, { path, message, fix, kind: 'unsupported' });
}

/** Records an object the pod needs that does not exist yet: the pod waits, as a kubelet would. */
export function awaitReference(context: Context, path: string, message: string, fix: string): void {
  record(context, { path, message, fix, kind: 'missing-reference' });
}

export interface ObjectReference {
  kind: 'ConfigMap' | 'Secret';
  /** Optional in the API types; an empty name never matches an object. */
  name?: string | undefined;
  optional?: boolean | undefined;
}

/** The object's contents as raw bytes per key (ConfigMap text and binary data, Secret data). */
function decodeContents(reference: ObjectReference, object: V1ConfigMap | V1Secret): Map<string, Buffer> {
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

/** A Secret's values as raw bytes per key (one named by a PersistentVolume, not by the pod). */
export function secretContents(secret: V1Secret): Map<string, Buffer> {
  return decodeContents({ kind: 'Secret' }, secret);
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
  const { objects } = context;
  const name = reference.name ?? '';
  const object = reference.kind === 'ConfigMap' ? objects.configMaps.get(name) : objects.secrets.get(name);
  if (object) return remembered(context, reference.kind, name, () => decodeContents(reference, object));
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

/**
 * `record[key]` when the record itself has that key. Keys users write (label names, field paths,
 * resource names) must never reach what every object inherits: `labels['constructor']` is a label that
 * does not exist, not Object's constructor.
 */
export function ownValue<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

export function namespaceOf(pod: V1Pod): string {
  return pod.metadata?.namespace ?? 'default';
}
