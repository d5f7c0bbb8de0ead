// The capability check and the translation must cost time linear in the size of the pod and of the
// objects it references: a pod is user input, and the webhook, the extender and the connector all walk
// it. Timing would be flaky, so these tests count work instead: every property the walk reads from the
// pod and its objects goes through a counting proxy, and doubling the input must no more than about
// double the count. A nested scan (each volume scanning every mount) quadruples it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1ConfigMap, V1Container, V1Pod } from '@kubernetes/client-node';
import { checkPod, DEFAULT_ACI_LIMITS } from './capability.ts';
import { toContainerGroup } from './translate.ts';
import { DEFAULT_NETWORK_SETTINGS } from './network.ts';
import type { ReferencedObjects } from './types.ts';

/** Wraps `value` so that every read of a property, at any depth, adds one to `counter.reads`. */
function counting<T extends object>(value: T, counter: { reads: number }): T {
  const proxies = new WeakMap<object, object>();
  const wrap = (target: unknown): unknown => {
    if (typeof target !== 'object' || target === null) return target;
    const known = proxies.get(target);
    if (known) return known;
    const proxy = new Proxy(target, {
      get(object, key, receiver) {
        counter.reads += 1;
        return wrap(Reflect.get(object, key, receiver));
      },
      ownKeys(object) {
        counter.reads += 1;
        return Reflect.ownKeys(object);
      },
    });
    proxies.set(target, proxy);
    return proxy;
  };
  return wrap(value) as T;
}

interface Input {
  pod: V1Pod;
  objects?: ReferencedObjects;
}

/** Reads made by the spec-only check, the check with objects and the translation, together. */
function workFor(input: Input): number {
  const counter = { reads: 0 };
  const pod = counting(input.pod, counter);
  checkPod(pod);
  if (input.objects) {
    const objects: ReferencedObjects = {
      ...input.objects,
      configMaps: new Map([...input.objects.configMaps].map(([name, map]) => [name, counting(map, counter)])),
      secrets: new Map([...input.objects.secrets].map(([name, secret]) => [name, counting(secret, counter)])),
      serviceAccountTokens: new Map(),
    };
    checkPod(pod, objects);
    toContainerGroup(pod, objects, {
      region: 'westus',
      nodeName: 'aci-connector',
      clusterId: 'c',
      limits: DEFAULT_ACI_LIMITS,
      network: DEFAULT_NETWORK_SETTINGS,
    });
  }
  return counter.reads;
}

function pod(spec: Partial<NonNullable<V1Pod['spec']>>, metadata: V1Pod['metadata'] = {}): V1Pod {
  return {
    metadata: { name: 'big', namespace: 'shop', ...metadata },
    spec: { containers: [{ name: 'app', image: 'app:1' }], ...spec },
  };
}

const specOnly = (value: V1Pod): Input => ({ pod: value });

const range = (n: number): number[] => Array.from({ length: n }, (_, index) => index);
const objectsWith = (configMap: V1ConfigMap): ReferencedObjects => ({
  configMaps: new Map([['settings', configMap]]),
  secrets: new Map(),
  serviceAccount: { metadata: { name: 'default' } },
});
const settingsMap = (n: number): V1ConfigMap => ({
  metadata: { name: 'settings' },
  data: Object.fromEntries(range(n).map((i) => [`key${i}`, `value ${i}`])),
});

/** Pods (and objects) that grow with `n` along one dimension each, where a nested scan once hid. */
const SHAPES: { name: string; input: (n: number) => Input }[] = [
  {
    name: 'a workload identity pod with many containers, each with variables',
    input: (n) => ({
      pod: pod(
        {
          containers: range(n).map((i) => ({
            name: `c${i}`,
            image: 'app:1',
            command: ['run'],
            env: range(5).map((j) => ({ name: `V${j}`, value: 'x' })),
          })),
        },
        { labels: { 'azure.workload.identity/use': 'true' } },
      ),
      objects: {
        configMaps: new Map(),
        secrets: new Map(),
        serviceAccount: {
          metadata: { name: 'default', annotations: { 'azure.workload.identity/client-id': 'c' } },
        },
      },
    }),
  },
  {
    name: 'images of many registries pulled by the pod identity',
    input: (n) =>
      specOnly(
        pod(
          {
            containers: range(n).map((i) => ({
              name: `c${i}`,
              image: `r${i}.example.com/app:1`,
              command: ['run'],
            })),
          },
          {
            annotations: {
              'azure.com/aci-registry-identity':
                '/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pull',
            },
          },
        ),
      ),
  },
  {
    name: 'emptyDir volumes each mounted by subPath',
    input: (n) =>
      specOnly(
        pod({
          volumes: range(n).map((i) => ({ name: `scratch-${i}`, emptyDir: {} })),
          containers: [
            {
              name: 'app',
              image: 'app:1',
              volumeMounts: range(n).map((i) => ({
                name: `scratch-${i}`,
                mountPath: `/s/${i}`,
                subPath: 'a',
              })),
            },
          ],
        }),
      ),
  },
  {
    name: 'containers whose resourceFieldRef names another container',
    input: (n) =>
      specOnly(
        pod({
          containers: range(n).map((i) => ({
            name: `c${i}`,
            image: 'app:1',
            resources: { limits: { cpu: '100m', memory: '64Mi' } },
            env: [
              {
                name: 'CPU',
                valueFrom: { resourceFieldRef: { containerName: 'c0', resource: 'limits.cpu' } },
              },
            ],
          })),
        }),
      ),
  },
  {
    name: 'downward-API files of the whole annotation map',
    input: (n) =>
      specOnly(
        pod(
          {
            volumes: [
              {
                name: 'info',
                downwardAPI: {
                  items: range(n).map((i) => ({
                    path: `a${i}`,
                    fieldRef: { fieldPath: 'metadata.annotations' },
                  })),
                },
              },
            ],
          },
          { annotations: Object.fromEntries(range(n).map((i) => [`example.com/a${i}`, `v${i}`])) },
        ),
      ),
  },
  {
    name: 'envFrom entries naming the same ConfigMap',
    input: (n) => ({
      pod: pod({
        containers: [
          {
            name: 'app',
            image: 'app:1',
            envFrom: range(n).map(() => ({ configMapRef: { name: 'settings' } })),
          },
        ],
      }),
      objects: objectsWith(settingsMap(n)),
    }),
  },
  {
    name: 'ConfigMap volume items, each a key of the same ConfigMap',
    input: (n) => ({
      pod: pod({
        volumes: [
          {
            name: 'settings',
            configMap: { name: 'settings', items: range(n).map((i) => ({ key: `key${i}`, path: `k${i}` })) },
          },
        ],
      }),
      objects: objectsWith(settingsMap(n)),
    }),
  },
  {
    name: 'env entries each reading a key of the same ConfigMap',
    input: (n) => ({
      pod: pod({
        containers: [
          {
            name: 'app',
            image: 'app:1',
            env: range(n).map((i) => ({
              name: `V${i}`,
              valueFrom: { configMapKeyRef: { name: 'settings', key: `key${i}` } },
            })),
          },
        ],
      }),
      objects: objectsWith(settingsMap(n)),
    }),
  },
  {
    name: 'containers with ports and probes naming them',
    input: (n) =>
      specOnly(
        pod({
          containers: range(n).map((i): V1Container => ({
            name: `c${i}`,
            image: 'app:1',
            ports: [{ name: 'http', containerPort: 8080 }],
            livenessProbe: { httpGet: { port: 'http', path: '/' } },
          })),
        }),
      ),
  },
];

describe('work grows linearly with the pod', () => {
  for (const shape of SHAPES) {
    it(`for ${shape.name}`, () => {
      const small = workFor(shape.input(200));
      const large = workFor(shape.input(400));
      // Linear work doubles (plus a constant); a nested scan would quadruple.
      assert.ok(large / small < 2.5, `reads went from ${small} to ${large} when the input doubled`);
    });
  }
});
