// What the fuzz suite feeds the handlers: realistic documents (the fixtures, pods built from the
// fields the contract knows) bent by random mutations: wrong types, hostile strings, keys every
// object inherits, long runs, deep nesting, repeated array items.
import type { Random } from './random.ts';

export type Json = null | boolean | number | string | Json[] | JsonObject;
export type JsonObject = { [key: string]: Json | undefined };

/** Strings that have broken parsers, lookups and expansions before. */
export const HOSTILE_STRINGS: readonly string[] = [
  '',
  ' ',
  '0',
  '-1',
  '1e400',
  'NaN',
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  '$(',
  '$(A)',
  '$$(A)',
  '$(A$(B)',
  "metadata.labels['constructor']",
  "metadata.annotations['__proto__']",
  'metadata.labels',
  'status.podIP',
  'limits.cpu',
  'requests.memory',
  '../../etc/passwd',
  '/var/run/secrets/kubernetes.io/serviceaccount//',
  '\u0000',
  '\ud800',
  '😀',
  '%',
  '%E0%A4%A',
  'https://h:99999/x',
  '250m',
  '1Gi',
  '1.5Gi',
  '2e3',
  '.5',
  '+1',
  '1.5.5',
  'Ki',
  'nvidia.com/gpu',
  'file.csi.azure.com',
  'kubernetes.io/dockerconfigjson',
  'RuntimeDefault',
  'Always',
  'Never',
  'TCP',
  'SCTP',
  'required',
  'never',
  'prefer',
  'Spot',
  'Confidential',
  'V100',
  'not-a-date',
  '2026-11-25T19:59:30Z',
  'x'.repeat(64),
];

/** Runs that a regex or a scan may handle in quadratic time. */
const RUN_UNITS: readonly string[] = ['1', '$(', '/', 'a', ' ', '"', '\\', '-', '$$', '.', "'", '0.'];

export function longString(random: Random): string {
  const length = random.chance(0.95) ? 100 + random.int(5_000) : 10_000 + random.int(60_000);
  return random.pick(RUN_UNITS).repeat(Math.ceil(length / 2)) + random.pick(['x', '', 'Gi', ')', 'm']);
}

export function hostileString(random: Random): string {
  return random.chance(0.15) ? longString(random) : random.pick(HOSTILE_STRINGS);
}

/** Any JSON value, at most `depth` levels deep. */
export function randomValue(random: Random, depth = 3): Json {
  switch (random.int(depth > 0 ? 9 : 6)) {
    case 0:
      return null;
    case 1:
      return random.chance(0.5);
    case 2:
      return random.pick([0, -1, 1, 2 ** 31, -(2 ** 53), 1e308, 0.5, 65536, 3607, 255]);
    case 3:
    case 4:
    case 5:
      return hostileString(random);
    case 6:
      return Array.from({ length: random.count(50) }, () => randomValue(random, depth - 1));
    case 7:
      return deeplyNested(random);
    default:
      return objectWith(
        Array.from({ length: random.count(20) }, () => [
          hostileString(random),
          randomValue(random, depth - 1),
        ]),
      );
  }
}

/** Arrays in arrays, up to a thousand levels: recursion in a walker would overflow the stack there. */
function deeplyNested(random: Random): Json {
  let value: Json = 'bottom';
  const depth = random.chance(0.9) ? random.int(50) : random.int(1_000);
  for (let level = 0; level < depth; level += 1) value = random.chance(0.5) ? [value] : { nested: value };
  return value;
}

/** An object with these entries as its own properties, `__proto__` included (as JSON.parse makes it). */
export function objectWith(entries: readonly (readonly [string, Json])[]): JsonObject {
  const object: JsonObject = {};
  for (const [key, value] of entries) defineOwn(object, key, value);
  return object;
}

/** A deep copy, through JSON, as a server receives it. */
export function clone<T extends Json>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

interface Slot {
  parent: Json[] | JsonObject;
  key: string | number;
}

/** A random place in the document: a random walk down from the root, stopping anywhere. */
function randomSlot(random: Random, root: JsonObject | Json[]): Slot | undefined {
  let parent: Json[] | JsonObject = root;
  for (let depth = 0; depth < 40; depth += 1) {
    const keys: (string | number)[] = Array.isArray(parent)
      ? parent.map((_, index) => index)
      : Object.keys(parent);
    if (keys.length === 0) return undefined;
    const key = random.pick(keys);
    const child: Json | undefined = Array.isArray(parent) ? parent[key as number] : parent[key as string];
    if (random.chance(0.3) || typeof child !== 'object' || child === null) return { parent, key };
    parent = child;
  }
  return undefined;
}

/** Sets an own, enumerable property, `__proto__` included. */
function defineOwn(object: JsonObject, key: string, value: Json): void {
  Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
}

function setSlot(slot: Slot, value: Json): void {
  if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = value;
  else defineOwn(slot.parent, String(slot.key), value);
}

function getSlot(slot: Slot): Json | undefined {
  return Array.isArray(slot.parent) ? slot.parent[slot.key as number] : slot.parent[slot.key as string];
}

type Mutation = (random: Random, slot: Slot, current: Json | undefined) => void;

/** What one duplicating mutation may add, and what a mutated document may grow to. */
const MAX_COPIES_BYTES = 2 * 2 ** 20;
const MAX_DOCUMENT_BYTES = 6 * 2 ** 20;

const MUTATIONS: readonly Mutation[] = [
  (random, slot) => {
    setSlot(slot, randomValue(random));
  },
  (random, slot) => {
    setSlot(slot, hostileString(random));
  },
  (_random, slot) => {
    if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
    else Reflect.deleteProperty(slot.parent, slot.key);
  },
  (random, slot, current) => {
    // The same item many times over: a nested scan shows here. Up to ~2 MiB, or copies of copies explode.
    if (!Array.isArray(slot.parent)) return;
    const item = current ?? null;
    const fits = Math.floor(MAX_COPIES_BYTES / (JSON.stringify(item).length + 1));
    const times = Math.min(fits, random.chance(0.9) ? random.int(20) : random.int(3_000));
    slot.parent.push(...Array.from({ length: times }, () => clone(item)));
  },
  (random, slot, current) => {
    setSlot(
      slot,
      random.chance(0.5) ? [current ?? null] : objectWith([[hostileString(random), current ?? null]]),
    );
  },
  (random, _slot, current) => {
    if (typeof current !== 'object' || current === null || Array.isArray(current)) return;
    defineOwn(
      current,
      random.pick(['__proto__', 'constructor', 'toString', hostileString(random)]),
      randomValue(random),
    );
  },
  (random, slot, current) => {
    if (typeof current === 'string') setSlot(slot, current + longString(random));
    else if (typeof current === 'number')
      setSlot(slot, random.pick([-current, current * 1e6, current + 0.5, -1]));
  },
];

/** One mutation, in place, at a random place. */
function mutateOnce(random: Random, root: JsonObject | Json[]): void {
  const slot = randomSlot(random, root);
  if (slot) random.pick(MUTATIONS)(random, slot, getSlot(slot));
}

/** A mutated copy of `value`: a few mutations usually, dozens sometimes. */
export function mutate<T extends JsonObject | Json[]>(random: Random, value: T): T {
  const copy = clone(value);
  const times = random.chance(0.8) ? 1 + random.int(3) : 1 + random.int(40);
  for (let index = 0; index < times; index += 1) {
    mutateOnce(random, copy);
    // Larger than the API server or any of the servers' body limits would ever pass on: enough.
    if (JSON.stringify(copy).length > MAX_DOCUMENT_BYTES) break;
  }
  return copy;
}
