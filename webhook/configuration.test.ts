import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  loadAllYaml,
  type KubernetesObject,
  type V1ClusterRole,
  type V1Deployment,
  type V1MutatingWebhookConfiguration,
  type V1Role,
  type V1Service,
} from '@kubernetes/client-node';
import { ENVIRONMENT, readConfig } from './config.ts';
import {
  contains,
  publishCa,
  updateWebhookConfiguration,
  WEBHOOK_NAMES,
  WEBHOOK_PATHS,
  webhookConfiguration,
  withCaBundle,
  type WebhookConfigurations,
} from './configuration.ts';

function manifest(name: string): KubernetesObject[] {
  return loadAllYaml(
    readFileSync(new URL(`../manifests/webhook/${name}`, import.meta.url), 'utf8'),
  ) as KubernetesObject[];
}

const objects = [
  ...(loadAllYaml(
    readFileSync(new URL('../manifests/namespace.yaml', import.meta.url), 'utf8'),
  ) as KubernetesObject[]),
  ...manifest('webhook.yaml'),
  ...manifest('mutatingwebhookconfiguration.yaml'),
];

function find(kind: string, name: string): KubernetesObject {
  const found = objects.find((object) => object.kind === kind && object.metadata?.name === name);
  assert.ok(found, `${kind}/${name} in manifests/webhook`);
  return found;
}

/** The manifest objects are client-node model classes; compare their data. */
function plain(object: unknown): unknown {
  return JSON.parse(JSON.stringify(object));
}

const parsedDefaults = readConfig({});
assert.ok(parsedDefaults.ok);
const defaults = parsedDefaults.config;
const serviceTarget = { service: { namespace: defaults.namespace, name: defaults.serviceName, port: 443 } };
const deployment = find('Deployment', 'aci-burst-webhook') as V1Deployment;
const podSpec = deployment.spec?.template.spec;
const container = podSpec?.containers[0];
assert.ok(container);

describe('the manifests agree with the code', () => {
  it('the MutatingWebhookConfiguration is the one webhookConfiguration() builds', () => {
    const installed = find('MutatingWebhookConfiguration', defaults.configurationName);
    const built = webhookConfiguration({
      name: defaults.configurationName,
      namespace: defaults.namespace,
      target: serviceTarget,
    });
    assert.deepEqual(plain(installed), plain(built));
  });

  it('the Deployment runs 2 non-root replicas of webhook/main.ts, with a PodDisruptionBudget', () => {
    assert.equal(deployment.spec?.replicas, 2);
    assert.equal(deployment.metadata?.namespace, defaults.namespace);
    assert.equal(podSpec.securityContext?.runAsNonRoot, true);
    assert.deepEqual(container.command, ['node', 'webhook/main.ts']);
    assert.equal(container.image, 'ghcr.io/aci-burst/aci-burst:0.1.0');
    assert.ok(find('PodDisruptionBudget', 'aci-burst-webhook'));
  });

  it('the container sets only documented variables, naming what the code defaults to', () => {
    const env = new Map((container.env ?? []).map((variable) => [variable.name, variable.value]));
    for (const name of env.keys()) assert.ok(name in ENVIRONMENT, `${name} is documented`);
    assert.equal(env.get('WEBHOOK_SERVICE_NAME'), defaults.serviceName);
    assert.equal(env.get('WEBHOOK_CONFIGURATION_NAME'), defaults.configurationName);
    assert.equal(Number(env.get('WEBHOOK_PORT')), container.ports?.[0]?.containerPort);
  });

  it('probes over HTTPS and requests resources', () => {
    assert.equal(container.readinessProbe?.httpGet?.scheme, 'HTTPS');
    assert.equal(container.readinessProbe.httpGet.path, '/readyz');
    assert.equal(container.livenessProbe?.httpGet?.path, '/healthz');
    assert.ok(container.resources?.requests?.cpu !== undefined);
    assert.ok(container.resources.requests.memory !== undefined);
  });

  it('the Service sends port 443 to the container port, as the configuration expects', () => {
    const service = find('Service', defaults.serviceName) as V1Service;
    assert.equal(service.spec?.ports?.[0]?.port, serviceTarget.service.port);
    assert.equal(service.spec.ports[0].targetPort, container.ports?.[0]?.name);
  });

  it('RBAC grants the certificate Secret and the configuration by name, and only get elsewhere', () => {
    const role = find('Role', 'aci-burst-webhook') as V1Role;
    assert.equal(defaults.tls.source, 'secret');
    assert.deepEqual(role.rules?.[0]?.resourceNames, [defaults.tls.secretName]);
    const clusterRole = find('ClusterRole', 'aci-burst-webhook') as V1ClusterRole;
    assert.deepEqual(clusterRole.rules?.[0]?.resourceNames, [defaults.configurationName]);
    const verbs = new Set((clusterRole.rules ?? []).flatMap((rule) => rule.verbs));
    assert.deepEqual([...verbs].sort(), ['get', 'update']);
  });
});

describe('webhookConfiguration', () => {
  const configuration = webhookConfiguration({
    name: 'aci-burst-webhook',
    namespace: 'aci-burst-system',
    target: { url: 'https://127.0.0.1:8443/' },
    caBundlePem: 'PEM',
  });
  it('points each entry at its own path under the URL, with the caBundle', () => {
    assert.deepEqual(
      configuration.webhooks?.map((entry) => [
        entry.name,
        entry.clientConfig.url,
        entry.clientConfig.caBundle,
      ]),
      [
        [WEBHOOK_NAMES.burst, `https://127.0.0.1:8443${WEBHOOK_PATHS.burst}`, 'UEVN'],
        [WEBHOOK_NAMES.required, `https://127.0.0.1:8443${WEBHOOK_PATHS.required}`, 'UEVN'],
      ],
    );
  });
  it('is safe by construction: no side effects, short timeout, v1 only, system namespaces excluded', () => {
    for (const entry of configuration.webhooks ?? []) {
      assert.equal(entry.sideEffects, 'None');
      assert.ok((entry.timeoutSeconds ?? 30) <= 10);
      assert.deepEqual(entry.admissionReviewVersions, ['v1']);
      assert.deepEqual(entry.namespaceSelector?.matchExpressions?.[0]?.values, [
        'kube-system',
        'aci-burst-system',
      ]);
    }
    assert.deepEqual(
      configuration.webhooks?.map((entry) => entry.failurePolicy),
      ['Ignore', 'Fail'],
    );
  });
});

/** An API server in memory: resourceVersions, defaulting of unset fields, and writers that cut in. */
function memoryApi(): WebhookConfigurations & {
  stored: V1MutatingWebhookConfiguration | undefined;
  writes: number;
  cutIn: number;
} {
  const api = {
    stored: undefined as V1MutatingWebhookConfiguration | undefined,
    writes: 0,
    cutIn: 0,
    read: () => Promise.resolve(api.stored && structuredClone(api.stored)),
    create: (configuration: V1MutatingWebhookConfiguration) => {
      if (api.stored) return Promise.resolve(false);
      api.writes++;
      api.stored = defaulted(configuration, '1');
      return Promise.resolve(true);
    },
    replace: (configuration: V1MutatingWebhookConfiguration) => {
      const version = Number(api.stored?.metadata?.resourceVersion ?? 0);
      if (api.cutIn > 0) {
        api.cutIn--;
        api.stored = defaulted(api.stored ?? configuration, String(version + 1));
        return Promise.resolve(false);
      }
      if (configuration.metadata?.resourceVersion !== String(version)) return Promise.resolve(false);
      api.writes++;
      api.stored = defaulted(configuration, String(version + 1));
      return Promise.resolve(true);
    },
  };
  return api;
}

function defaulted(
  configuration: V1MutatingWebhookConfiguration,
  resourceVersion: string,
): V1MutatingWebhookConfiguration {
  return {
    ...structuredClone(configuration),
    metadata: { ...configuration.metadata, resourceVersion, uid: 'uid-1' },
    webhooks: configuration.webhooks?.map((entry) => ({ matchConditions: [], ...structuredClone(entry) })),
  };
}

describe('publishCa', () => {
  const url = new URL('https://127.0.0.1:40123');
  it('in URL mode creates the configuration, then writes nothing while it is unchanged', async () => {
    const api = memoryApi();
    assert.equal(
      await publishCa(api, { name: 'aci-burst-webhook', namespace: 'aci-burst-system', url }, 'CA1'),
      'written',
    );
    assert.equal(
      await publishCa(api, { name: 'aci-burst-webhook', namespace: 'aci-burst-system', url }, 'CA1'),
      'unchanged',
    );
    assert.equal(
      await publishCa(api, { name: 'aci-burst-webhook', namespace: 'aci-burst-system', url }, 'CA2'),
      'written',
    );
    assert.equal(api.writes, 2);
    assert.equal(api.stored?.webhooks?.[1]?.clientConfig.url, 'https://127.0.0.1:40123/mutate/required');
  });

  it('behind a Service sets the caBundle of the installed configuration only', async () => {
    const api = memoryApi();
    const options = { name: 'aci-burst-webhook', namespace: 'aci-burst-system', url: undefined };
    assert.equal(await publishCa(api, options, 'CA1'), 'unchanged', 'not installed yet: nothing to patch');
    await api.create(
      webhookConfiguration({
        name: 'aci-burst-webhook',
        namespace: 'aci-burst-system',
        target: serviceTarget,
      }),
    );
    api.cutIn = 2;
    assert.equal(await publishCa(api, options, 'CA1'), 'written');
    assert.deepEqual(
      api.stored?.webhooks?.map((entry) => entry.clientConfig.caBundle),
      ['Q0Ex', 'Q0Ex'],
    );
    assert.equal(api.stored.webhooks[0]?.clientConfig.service?.name, 'aci-burst-webhook');
    assert.equal(
      await publishCa(api, options, undefined),
      'unchanged',
      'mounted certificates: the cainjector owns it',
    );
  });

  it('gives up with a Conflict when writers keep cutting in', async () => {
    const api = memoryApi();
    await api.create(
      webhookConfiguration({ name: 'n', namespace: 'aci-burst-system', target: serviceTarget }),
    );
    api.cutIn = 100;
    await assert.rejects(
      updateWebhookConfiguration(api, 'n', (current) => withCaBundle(current, 'CA')),
      { kind: 'Conflict' },
    );
  });
});

describe('contains', () => {
  const table: [unknown, unknown, boolean][] = [
    [{ a: 1, b: 2 }, { a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, true],
    [{ a: 1 }, { a: 2 }, false],
    [{ a: [1, 2] }, { a: [1] }, false],
    [{ a: [{ x: 1, y: 2 }] }, { a: [{ x: 1 }] }, true],
    [undefined, { a: 1 }, false],
    ['x', 'x', true],
  ];
  for (const [actual, expected, result] of table) {
    it(`${JSON.stringify(actual)} contains ${JSON.stringify(expected)}: ${result}`, () => {
      assert.equal(contains(actual, expected), result);
    });
  }
});
