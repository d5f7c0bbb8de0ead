// Pods for the fuzz suite: the realistic fixtures, and pods assembled at random from every field the
// contract reads (so mutations land where the code looks), then mutated.
import { readdirSync, readFileSync } from 'node:fs';
import type { Random } from './random.ts';
import { hostileString, mutate, objectWith, randomValue, type Json, type JsonObject } from './values.ts';

const FIXTURES = new URL('../../test/fixtures/', import.meta.url);

function readFixture(path: string): JsonObject {
  return JSON.parse(readFileSync(new URL(path, FIXTURES), 'utf8')) as JsonObject;
}

/** Every pod fixture, and the pods inside the recorded AdmissionReviews. */
export const FIXTURE_PODS: readonly JsonObject[] = [
  ...readdirSync(new URL('pods/', FIXTURES))
    .filter((file) => file.endsWith('.json') && !file.endsWith('.objects.json'))
    .map((file) => readFixture(`pods/${file}`)),
  ...readdirSync(new URL('admission/', FIXTURES))
    .filter((file) => file.endsWith('.json'))
    .map((file) => (readFixture(`admission/${file}`).request as JsonObject).object as JsonObject),
];

/** The recorded AdmissionReviews the API server sent. */
export const FIXTURE_REVIEWS: readonly JsonObject[] = readdirSync(new URL('admission/', FIXTURES))
  .filter((file) => file.endsWith('.json'))
  .map((file) => readFixture(`admission/${file}`));

/** The recorded ExtenderArgs, in both modes. */
export const FIXTURE_EXTENDER_ARGS: readonly JsonObject[] = [
  'scheduler/args-nodes.json',
  'scheduler/args-node-names.json',
].map(readFixture);

const NAMES = ['app', 'web', 'sidecar', 'init', 'nginx', 'c0', 'c1', 'settings', 'db', 'tls', 'default'];
const QUANTITIES = [
  '100m',
  '250m',
  '1',
  '2',
  '0.5',
  '64Mi',
  '1Gi',
  '1.5Gi',
  '2e3',
  '1G',
  '512Mi',
  '10',
  '1000',
];

function name(random: Random): string {
  return random.chance(0.9) ? random.pick(NAMES) : hostileString(random);
}

function quantity(random: Random): Json {
  return random.chance(0.85) ? random.pick(QUANTITIES) : randomValue(random, 0);
}

function resources(random: Random): JsonObject {
  const amounts = (): JsonObject =>
    objectWith(
      ['cpu', 'memory', 'ephemeral-storage', 'nvidia.com/gpu', 'example.com/fpga']
        .filter(() => random.chance(0.4))
        .map((resource) => [resource, quantity(random)] as const),
    );
  return { requests: amounts(), limits: amounts() };
}

const FIELD_PATHS = [
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'spec.nodeName',
  'spec.serviceAccountName',
  'metadata.labels',
  'metadata.annotations',
  "metadata.labels['app']",
  "metadata.labels['constructor']",
  "metadata.annotations['example.com/a']",
  'status.podIP',
];
const RESOURCE_FIELDS = [
  'requests.cpu',
  'limits.cpu',
  'requests.memory',
  'limits.memory',
  'limits.ephemeral-storage',
  'constructor',
];

function envVar(random: Random, index: number): JsonObject {
  const variable: JsonObject = { name: random.chance(0.9) ? `V${index}` : hostileString(random) };
  switch (random.int(6)) {
    case 0:
      variable.valueFrom = {
        configMapKeyRef: { name: name(random), key: name(random), optional: random.chance(0.3) },
      };
      break;
    case 1:
      variable.valueFrom = { secretKeyRef: { name: name(random), key: name(random) } };
      break;
    case 2:
      variable.valueFrom = { fieldRef: { fieldPath: random.pick(FIELD_PATHS) } };
      break;
    case 3:
      variable.valueFrom = {
        resourceFieldRef: {
          containerName: name(random),
          resource: random.pick(RESOURCE_FIELDS),
          divisor: quantity(random),
        },
      };
      break;
    default:
      variable.value = random.chance(0.5)
        ? `$(V${random.int(index + 1)})$(V${random.int(index + 1)})`
        : hostileString(random);
  }
  return variable;
}

function probe(random: Random): JsonObject {
  return random.pick<JsonObject>([
    { httpGet: { path: '/', port: random.chance(0.5) ? 'http' : 8080 } },
    { exec: { command: ['true'] } },
    { tcpSocket: { port: 80 } },
    { grpc: { port: 9000 } },
    {},
  ]);
}

function container(random: Random, size: number): JsonObject {
  const mounts = Array.from({ length: random.count(size) }, () => ({
    name: name(random),
    mountPath: random.chance(0.9) ? `/mnt/${name(random)}` : hostileString(random),
    ...(random.chance(0.3) && { subPath: name(random) }),
    ...(random.chance(0.1) && { readOnly: true }),
  }));
  return {
    name: name(random),
    image: random.chance(0.9)
      ? random.pick(['nginx', 'quay.io/org/app:1', 'registry.example:5000/x', 'localhost/y'])
      : hostileString(random),
    ...(random.chance(0.5) && { command: ['sh', '-c', hostileString(random)] }),
    ...(random.chance(0.3) && { args: [hostileString(random), '$(V0)'] }),
    env: Array.from({ length: random.count(size) }, (_, index) => envVar(random, index)),
    ...(random.chance(0.4) && {
      envFrom: Array.from({ length: random.count(size) }, () =>
        random.chance(0.5)
          ? { configMapRef: { name: name(random) }, ...(random.chance(0.3) && { prefix: 'P_' }) }
          : { secretRef: { name: name(random), optional: true } },
      ),
    }),
    ...(random.chance(0.6) && { resources: resources(random) }),
    ...(random.chance(0.5) && {
      ports: Array.from({ length: random.count(10) }, () => ({
        name: 'http',
        containerPort: random.pick([80, 8080, 443, 53]),
        ...(random.chance(0.2) && { protocol: random.pick(['UDP', 'SCTP', 'TCP']) }),
      })),
    }),
    volumeMounts: mounts,
    ...(random.chance(0.3) && { livenessProbe: probe(random) }),
    ...(random.chance(0.2) && { readinessProbe: probe(random) }),
    ...(random.chance(0.1) && { securityContext: { runAsNonRoot: true, privileged: random.chance(0.5) } }),
  };
}

function volume(random: Random, size: number): JsonObject {
  const items = (): Json[] =>
    Array.from({ length: random.count(size) }, () => ({ key: name(random), path: name(random) }));
  const kinds: (() => JsonObject)[] = [
    () => ({ emptyDir: {} }),
    () => ({ configMap: { name: name(random), ...(random.chance(0.5) && { items: items() }) } }),
    () => ({ secret: { secretName: name(random), optional: random.chance(0.5) } }),
    () => ({
      projected: {
        sources: [
          { configMap: { name: name(random) } },
          {
            serviceAccountToken: { path: 'token', audience: hostileString(random), expirationSeconds: 3600 },
          },
          { downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: random.pick(FIELD_PATHS) } }] } },
        ],
      },
    }),
    () => ({
      downwardAPI: {
        items: Array.from({ length: random.count(size) }, () => ({
          path: name(random),
          fieldRef: { fieldPath: random.pick(FIELD_PATHS) },
        })),
      },
    }),
    () => ({ azureFile: { secretName: name(random), shareName: name(random) } }),
    () => ({
      csi: { driver: 'file.csi.azure.com', volumeAttributes: { secretName: name(random), shareName: 's' } },
    }),
    () => ({ hostPath: { path: '/var/log' } }),
    () => ({ gitRepo: { repository: 'https://example.com/r.git' } }),
  ];
  return { name: name(random), ...random.pick(kinds)() };
}

/** A pod built from the fields the contract reads; `size` bounds the lists in it. */
export function assembledPod(random: Random, size: number): JsonObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: random.chance(0.9) ? 'fuzz' : hostileString(random),
      namespace: 'shop',
      uid: '6f1c1d6e-0000-4000-8000-000000000001',
      labels: objectWith([
        ['app', 'web'],
        ...(random.chance(0.3) ? [['azure.com/aci', random.pick(['required', 'never', 'x'])] as const] : []),
      ]),
      annotations: objectWith(
        Array.from({ length: random.count(size) }, () => [
          random.chance(0.7)
            ? random.pick([
                'azure.com/aci-dns-name-label',
                'azure.com/aci-gpu-sku',
                'azure.com/aci-priority',
                'azure.com/aci-sku',
                'example.com/a',
              ])
            : hostileString(random),
          hostileString(random),
        ]),
      ),
    },
    spec: {
      containers: Array.from({ length: random.count(size) }, () => container(random, size)),
      ...(random.chance(0.3) && {
        initContainers: Array.from({ length: random.count(4) }, () => container(random, size)),
      }),
      volumes: Array.from({ length: random.count(size) }, () => volume(random, size)),
      ...(random.chance(0.2) && { imagePullSecrets: [{ name: name(random) }, { name: 'registry' }] }),
      ...(random.chance(0.2) && { serviceAccountName: name(random) }),
      ...(random.chance(0.2) && {
        dnsConfig: { nameservers: ['1.1.1.1'], searches: ['a'], options: [{ name: 'ndots', value: '2' }] },
      }),
      ...(random.chance(0.1) && { hostNetwork: true }),
      restartPolicy: random.pick(['Always', 'OnFailure', 'Never']),
    },
  };
}

/** A pod to feed a handler: a fixture or an assembled one, mutated. */
export function fuzzedPod(random: Random): JsonObject {
  const size = random.chance(0.97) ? 6 : 400;
  const base = random.chance(0.4) ? random.pick(FIXTURE_PODS) : assembledPod(random, size);
  return random.chance(0.2) ? base : mutate(random, base);
}
