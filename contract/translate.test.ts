import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerGroup } from '@azure/arm-containerinstance';
import type { V1Container, V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { loadObjects, loadPod } from '../test/fixtures/pods/index.ts';
import { DEFAULT_ACI_LIMITS } from './capability.ts';
import { ACI_ANNOTATIONS, TAGS } from './names.ts';
import { DEFAULT_NETWORK_SETTINGS } from './network.ts';
import {
  clusterTag,
  containerGroupName,
  type GroupSettings,
  toContainerGroup,
  type Translation,
} from './translate.ts';
import type { Problem, ReferencedObjects } from './types.ts';

const settings: GroupSettings = {
  region: 'westus',
  nodeName: 'aci-connector',
  clusterId: 'cluster-7f3a',
  limits: DEFAULT_ACI_LIMITS,
  // Declared ports on a public IP, as before private networking: these tests are about the rest of the
  // group; contract/network.test.ts covers the addresses and DNS under every setting.
  network: { ...DEFAULT_NETWORK_SETTINGS, exposePortsPublicly: true },
};
const NO_OBJECTS: ReferencedObjects = {
  configMaps: new Map(),
  secrets: new Map(),
  serviceAccount: undefined,
};
const b64 = (text: string): string => Buffer.from(text).toString('base64');

function tags(namespace: string, podName: string, uid: string): Record<string, string> {
  return {
    [TAGS.podUid]: uid,
    [TAGS.namespace]: namespace,
    [TAGS.podName]: podName,
    [TAGS.nodeName]: 'aci-connector',
    [TAGS.clusterId]: 'cluster-7f3a',
  };
}

function ready(translation: Translation): { name: string; group: ContainerGroup } {
  assert.equal(translation.kind, 'ready', JSON.stringify(translation, null, 2));
  return translation;
}

function problemsOf(translation: Translation): Problem[] {
  assert.notEqual(translation.kind, 'ready');
  return translation.kind === 'ready' ? [] : translation.problems;
}

/** A minimal pod as the API server returns it, with `spec` and `metadata` fields overridden. */
function pod(spec: Partial<V1PodSpec> = {}, metadata: V1Pod['metadata'] = {}): V1Pod {
  return {
    metadata: { name: 'app', namespace: 'team', uid: 'uid-1', ...metadata },
    spec: { nodeName: 'aci-connector', containers: [{ name: 'app', image: 'app:1' }], ...spec },
  };
}

function container(fields: Partial<V1Container>): V1Container {
  return { name: 'app', image: 'app:1', ...fields };
}

const ROOT_CA =
  '-----BEGIN CERTIFICATE-----\nMIIBdzCCAR2gAwIBAgIBADAKBggqhkjOPQQDAjAjMSEwHwYDVQQDDBhrM3Mtc2Vy\n-----END CERTIFICATE-----\n';

describe('toContainerGroup on realistic pods', () => {
  it("translates the 2017 connector's nginx example exactly", () => {
    const objects: ReferencedObjects = {
      configMaps: new Map([['kube-root-ca.crt', { data: { 'ca.crt': ROOT_CA } }]]),
      secrets: new Map(),
      serviceAccount: { metadata: { name: 'default' } },
      serviceAccountTokens: new Map([['default||3607', 'eyJhbGciOiJSUzI1NiJ9.default']]),
    };
    const { name, group } = ready(toContainerGroup(loadPod('nginx-2017'), objects, settings));
    assert.equal(name, `default-nginx-${clusterTag(settings.clusterId)}`);
    assert.deepEqual(group, {
      location: 'westus',
      tags: tags('default', 'nginx', '5f0c6f0e-7f55-4a3e-9d8c-3b1a2f6d9e01'),
      osType: 'Linux',
      restartPolicy: 'Always',
      containers: [
        {
          name: 'nginx',
          image: 'nginx',
          volumeMounts: [
            {
              name: 'kube-api-access-7xk2p',
              mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
              readOnly: true,
            },
          ],
          ports: [
            { port: 80, protocol: 'TCP' },
            { port: 443, protocol: 'TCP' },
          ],
          resources: { requests: { cpu: 1, memoryInGB: 1.5 } },
        },
      ],
      ipAddress: {
        type: 'Public',
        ports: [
          { port: 80, protocol: 'TCP' },
          { port: 443, protocol: 'TCP' },
        ],
      },
      volumes: [
        {
          name: 'kube-api-access-7xk2p',
          secret: {
            'ca.crt': b64(ROOT_CA),
            namespace: b64('default'),
            token: b64('eyJhbGciOiJSUzI1NiJ9.default'),
          },
        },
      ],
    });
  });

  const webObjects = (): ReferencedObjects =>
    loadObjects('deployment-web', {
      serviceAccountTokens: new Map([
        ['web||3607', 'eyJ.kube-api'],
        ['web|vault|7200', 'eyJ.vault'],
      ]),
    });

  it("translates a Deployment's pod with ConfigMaps, Secrets, tokens and pull secrets exactly", () => {
    const { name, group } = ready(toContainerGroup(loadPod('deployment-web'), webObjects(), settings));
    assert.equal(name, `shop-web-7d9f8b6c5d-x2x4z-${clusterTag(settings.clusterId)}`);
    const serviceAccountMount = {
      name: 'kube-api-access-9qz4m',
      mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
      readOnly: true,
    };
    assert.deepEqual(group, {
      location: 'westus',
      tags: tags('shop', 'web-7d9f8b6c5d-x2x4z', '0b6c2a51-93e4-4d8e-a1f7-6c2d9e3b4a10'),
      osType: 'Linux',
      restartPolicy: 'Always',
      containers: [
        {
          name: 'web',
          image: 'shopacr.azurecr.io/shop/web:1.4.2',
          command: [
            '/app/server',
            '--listen=:8080',
            '--config=/etc/web/app.yaml',
            '--log-level=info',
            '$(NOT_EXPANDED)',
          ],
          environmentVariables: [
            { name: 'WEB_log-level', value: 'info' },
            { name: 'WEB_cache-ttl', value: '30s' },
            { name: 'PORT', value: '8080' },
            { name: 'LOG_LEVEL', value: 'info' },
            { name: 'DATABASE_PASSWORD', secureValue: 's3cr3t-canary-6f1d' },
            {
              name: 'DATABASE_URL',
              secureValue: 'postgres://shop:s3cr3t-canary-6f1d@db.shop.example:5432/shop',
            },
            { name: 'POD_NAME', value: 'web-7d9f8b6c5d-x2x4z' },
            { name: 'POD_UID', value: '0b6c2a51-93e4-4d8e-a1f7-6c2d9e3b4a10' },
            { name: 'APP_LABEL', value: 'web' },
            { name: 'NODE_NAME', value: 'aci-connector' },
            // 512Mi is 0.537 GB, which ACI rounds up to 0.6 GB: 572.2 MiB, rounded up like a kubelet.
            { name: 'MEMORY_LIMIT_MB', value: '573' },
            { name: 'CPU_REQUEST_MILLIS', value: '250' },
          ],
          volumeMounts: [
            { name: 'config', mountPath: '/etc/web', readOnly: true },
            { name: 'tls', mountPath: '/etc/web/tls', readOnly: true },
            { name: 'vault-token', mountPath: '/var/run/secrets/vault', readOnly: true },
            { name: 'logs', mountPath: '/var/log/web' },
            serviceAccountMount,
          ],
          securityContext: {
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
            runAsUser: 1000,
            runAsGroup: 1000,
          },
          ports: [{ port: 8080, protocol: 'TCP' }],
          resources: { requests: { cpu: 0.25, memoryInGB: 0.3 }, limits: { cpu: 0.5, memoryInGB: 0.6 } },
          livenessProbe: {
            exec: { command: ['/app/server', '--check'] },
            periodSeconds: 20,
            failureThreshold: 3,
            successThreshold: 1,
            timeoutSeconds: 2,
          },
          readinessProbe: {
            httpGet: { port: 8080, path: '/healthz', scheme: 'http' },
            initialDelaySeconds: 5,
            periodSeconds: 10,
            failureThreshold: 3,
            successThreshold: 1,
            timeoutSeconds: 1,
          },
        },
        {
          name: 'log-shipper',
          image: 'docker.io/fluent/fluent-bit:3.1',
          volumeMounts: [{ name: 'logs', mountPath: '/var/log/web', readOnly: true }, serviceAccountMount],
          securityContext: { runAsUser: 1000, runAsGroup: 1000 },
          resources: { requests: { cpu: 0.05, memoryInGB: 0.1 } },
        },
      ],
      ipAddress: { type: 'Public', ports: [{ port: 8080, protocol: 'TCP' }], dnsNameLabel: 'shop-web' },
      volumes: [
        { name: 'config', secret: { 'app.yaml': b64('listen: :8080\ncache:\n  ttl: 30s\n') } },
        {
          name: 'tls',
          secret: {
            'tls.crt': b64('-----BEGIN CERTIFICATE-----\nweb\n-----END CERTIFICATE-----\n'),
            'tls.key': b64('-----BEGIN EC PRIVATE KEY-----\nkey-canary-77ab\n-----END EC PRIVATE KEY-----\n'),
          },
        },
        {
          name: 'vault-token',
          secret: {
            labels: b64('app="web"\nazure.com/aci="required"\npod-template-hash="7d9f8b6c5d"'),
            token: b64('eyJ.vault'),
          },
        },
        { name: 'logs', emptyDir: {} },
        {
          name: 'kube-api-access-9qz4m',
          secret: { 'ca.crt': b64(ROOT_CA), namespace: b64('shop'), token: b64('eyJ.kube-api') },
        },
      ],
      imageRegistryCredentials: [
        { server: 'shopacr.azurecr.io', username: 'shopacr', password: 'acr-password-canary' },
        { server: 'index.docker.io', username: 'hubuser', password: 'hub:pass' },
      ],
    });
  });

  it('never sends a Secret value as a plain value', () => {
    const { group } = ready(toContainerGroup(loadPod('deployment-web'), webObjects(), settings));
    const plain = group.containers.flatMap((c) => c.environmentVariables ?? []).map((v) => v.value ?? '');
    assert.ok(plain.every((value) => !value.includes('s3cr3t-canary-6f1d')));
    assert.ok(!JSON.stringify(group.containers.map((c) => c.command)).includes('s3cr3t-canary-6f1d'));
  });

  it('waits for the service-account tokens the connector has not requested yet', () => {
    const translation = toContainerGroup(loadPod('deployment-web'), loadObjects('deployment-web'), settings);
    assert.equal(translation.kind, 'waiting');
    assert.deepEqual(
      problemsOf(translation).map((problem) => [problem.path, problem.kind]),
      [
        ['spec.volumes[2].projected.sources[0].serviceAccountToken', 'missing-reference'],
        ['spec.volumes[4].projected.sources[0].serviceAccountToken', 'missing-reference'],
      ],
    );
  });

  it('translates init containers, with emptyDir subPaths as volumes of their own', () => {
    const { name, group } = ready(toContainerGroup(loadPod('init-container'), NO_OBJECTS, settings));
    assert.equal(name, `billing-migrate-and-serve-${clusterTag(settings.clusterId)}`);
    const { location: _location, tags: _tags, ...properties } = group;
    assert.deepEqual(properties, {
      osType: 'Linux',
      restartPolicy: 'OnFailure',
      containers: [
        {
          name: 'api',
          image: 'billing.azurecr.io/api:2.3.0',
          volumeMounts: [{ name: 'scratch-5e1ecee0', mountPath: '/var/cache/api' }],
          ports: [{ port: 9000, protocol: 'TCP' }],
          resources: { requests: { cpu: 1, memoryInGB: 1.1 }, limits: { cpu: 2, memoryInGB: 2.2 } },
        },
      ],
      initContainers: [
        {
          name: 'wait-for-db',
          image: 'busybox:1.36',
          command: ['sh', '-c', 'until nc -z db.billing.example 5432; do echo waiting; sleep 2; done'],
        },
        {
          name: 'migrate',
          image: 'billing.azurecr.io/api:2.3.0',
          command: ['/app/migrate', '--to=latest'],
          environmentVariables: [{ name: 'DATABASE_HOST', value: 'db.billing.example' }],
          volumeMounts: [{ name: 'scratch-3bc801a3', mountPath: '/work' }],
        },
      ],
      ipAddress: { type: 'Public', ports: [{ port: 9000, protocol: 'TCP' }] },
      volumes: [
        { name: 'scratch-5e1ecee0', emptyDir: {} },
        { name: 'scratch-3bc801a3', emptyDir: {} },
      ],
    });
  });

  it('translates a GPU training pod with its SKU annotation', () => {
    const { name, group } = ready(toContainerGroup(loadPod('gpu'), NO_OBJECTS, settings));
    assert.equal(name, `ml-train-resnet-x7k2q-${clusterTag(settings.clusterId)}`);
    assert.equal(group.restartPolicy, 'Never');
    assert.equal(group.ipAddress, undefined);
    assert.deepEqual(group.containers[0]?.resources, {
      requests: { cpu: 4, memoryInGB: 15.1, gpu: { count: 1, sku: 'V100' } },
    });
  });

  it('refuses a pod with everything ACI lacks', () => {
    assert.equal(toContainerGroup(loadPod('everything-unsupported'), NO_OBJECTS, settings).kind, 'invalid');
  });
});

describe('containerGroupName', () => {
  const ACI_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
  const cluster = 'cluster-7f3a';
  const tag = clusterTag(cluster);
  const cases: { namespace: string; pod: string; expected: string | RegExp }[] = [
    { namespace: 'default', pod: 'nginx', expected: `default-nginx-${tag}` },
    { namespace: 'shop', pod: 'web-7d9f8b6c5d-x2x4z', expected: `shop-web-7d9f8b6c5d-x2x4z-${tag}` },
    // A hyphen in the namespace makes `<ns>-<pod>` ambiguous (a-b/c vs a/b-c): hashed.
    { namespace: 'kube-system', pod: 'coredns', expected: /^kube-system-coredns-[0-9a-f]{10}$/ },
    // Dots are not allowed in ACI names.
    { namespace: 'web', pod: 'api.v2', expected: /^web-api-v2-[0-9a-f]{10}$/ },
    // A pod name that ends like a hashed name still gets the plain form: the cluster tag follows it.
    { namespace: 'a', pod: 'b-0123456789', expected: `a-b-0123456789-${tag}` },
    { namespace: 'jobs', pod: 'x'.repeat(70), expected: new RegExp(`^jobs-x{47}-[0-9a-f]{10}$`) },
    // 54 characters plus the tag is the longest plain name.
    { namespace: 'n', pod: 'p'.repeat(52), expected: `n-${'p'.repeat(52)}-${tag}` },
    { namespace: 'n', pod: 'p'.repeat(53), expected: /^n-p{50}-[0-9a-f]{10}$/ },
  ];
  for (const { namespace, pod: podName, expected } of cases) {
    it(`names ${namespace}/${podName.slice(0, 20)} validly`, () => {
      const name = containerGroupName(namespace, podName, cluster);
      if (typeof expected === 'string') assert.equal(name, expected);
      else assert.match(name, expected);
      assert.match(name, ACI_NAME);
      assert.ok(name.length <= 63);
      assert.equal(containerGroupName(namespace, podName, cluster), name, 'deterministic');
    });
  }

  const pairs: [string, string][] = [
    ['a-b', 'c'],
    ['a', 'b-c'],
    ['team', 'x'.repeat(70)],
    ['team2', 'x'.repeat(70)],
    ['a', 'b.c'],
    ['a', 'b-c-0123456789'],
    ['a', 'b'],
    ['default', 'nginx'],
  ];

  it('keeps names apart across namespaces', () => {
    const names = pairs.map(([namespace, podName]) => containerGroupName(namespace, podName, cluster));
    assert.equal(new Set(names).size, names.length, names.join(' '));
  });

  it('keeps the same pod of two clusters sharing a resource group apart', () => {
    for (const [namespace, podName] of pairs) {
      assert.notEqual(
        containerGroupName(namespace, podName, 'cluster-a'),
        containerGroupName(namespace, podName, 'cluster-b'),
        `${namespace}/${podName}`,
      );
    }
  });
});

describe('command line', () => {
  const cases: { name: string; fields: Partial<V1Container>; command?: string[]; problem?: string }[] = [
    { name: 'image defaults', fields: {}, command: undefined },
    { name: 'command only', fields: { command: ['/bin/app'] }, command: ['/bin/app'] },
    {
      name: 'command and args joined',
      fields: { command: ['python', '-m'], args: ['http.server', '8000'] },
      command: ['python', '-m', 'http.server', '8000'],
    },
    {
      name: 'expands $(NAME), keeps undefined names and $$',
      fields: {
        command: ['echo'],
        args: ['$(GREETING) $(NOBODY) $$(GREETING)'],
        env: [{ name: 'GREETING', value: 'hello' }],
      },
      command: ['echo', 'hello $(NOBODY) $(GREETING)'],
    },
    {
      name: "args without command wait for the image's configuration (contract/image-config.test.ts)",
      fields: { args: ['--serve'] },
      problem: 'spec.containers[0].image',
    },
  ];
  for (const { name, fields, command, problem } of cases) {
    it(name, () => {
      const translation = toContainerGroup(pod({ containers: [container(fields)] }), NO_OBJECTS, settings);
      if (problem) {
        assert.deepEqual(
          problemsOf(translation).map((p) => p.path),
          [problem],
        );
      } else {
        assert.deepEqual(ready(translation).group.containers[0]?.command, command);
      }
    });
  }
});

describe('resources', () => {
  const cases: { name: string; resources: V1Container['resources']; expected: unknown }[] = [
    {
      name: 'defaults to 1 core and 1.5 GB',
      resources: undefined,
      expected: { requests: { cpu: 1, memoryInGB: 1.5 } },
    },
    {
      name: 'converts Gi to decimal GB and rounds up',
      resources: { requests: { cpu: '100m', memory: '1Gi' } },
      expected: { requests: { cpu: 0.1, memoryInGB: 1.1 } },
    },
    {
      name: 'takes limits as requests when only limits are set',
      resources: { limits: { cpu: '1500m', memory: '2G' } },
      expected: { requests: { cpu: 1.5, memoryInGB: 2 }, limits: { cpu: 1.5, memoryInGB: 2 } },
    },
    {
      name: 'rounds a thousandth of a core up to a hundredth',
      resources: { requests: { cpu: '1001m', memory: '100M' } },
      expected: { requests: { cpu: 1.01, memoryInGB: 0.1 } },
    },
  ];
  for (const { name, resources, expected } of cases) {
    it(name, () => {
      const translated = ready(
        toContainerGroup(pod({ containers: [container({ resources })] }), NO_OBJECTS, settings),
      );
      assert.deepEqual(translated.group.containers[0]?.resources, expected);
    });
  }

  it('refuses a group above the per-group maximum, naming the total', () => {
    const big = container({ resources: { requests: { cpu: '3', memory: '8Gi' } } });
    const problems = problemsOf(
      toContainerGroup(pod({ containers: [big, { ...big, name: 'second' }] }), NO_OBJECTS, settings),
    );
    assert.deepEqual(
      problems.map((p) => p.path),
      ['spec.containers'],
    );
    assert.match(problems[0]?.message ?? '', /6\.00 cores and 17\.2 GB/);
  });

  it('refuses a limit above the per-group maximum and an init container larger than the app', () => {
    const problems = problemsOf(
      toContainerGroup(
        pod({
          containers: [
            container({ resources: { requests: { cpu: '1', memory: '1G' }, limits: { cpu: '8' } } }),
          ],
          initContainers: [container({ name: 'init', resources: { requests: { cpu: '2', memory: '1G' } } })],
        }),
        NO_OBJECTS,
        settings,
      ),
    );
    assert.deepEqual(
      problems.map((p) => p.path),
      ['spec.containers[0].resources.limits.cpu', 'spec.initContainers[0].resources'],
    );
  });
});

describe('ports and restart policy', () => {
  it('lists each port once on the public IP, and none without ports', () => {
    const web = container({ ports: [{ containerPort: 80 }, { containerPort: 53, protocol: 'UDP' }] });
    const sidecar = container({ name: 'sidecar', ports: [{ containerPort: 80 }] });
    const { group } = ready(toContainerGroup(pod({ containers: [web, sidecar] }), NO_OBJECTS, settings));
    assert.deepEqual(group.ipAddress, {
      type: 'Public',
      ports: [
        { port: 80, protocol: 'TCP' },
        { port: 53, protocol: 'UDP' },
      ],
    });
    assert.equal(ready(toContainerGroup(pod(), NO_OBJECTS, settings)).group.ipAddress, undefined);
  });

  it('refuses the port beyond the per-group maximum', () => {
    const ports = [80, 81, 82, 83, 84, 85].map((containerPort) => ({ containerPort }));
    const problems = problemsOf(
      toContainerGroup(pod({ containers: [container({ ports })] }), NO_OBJECTS, settings),
    );
    assert.deepEqual(
      problems.map((p) => p.path),
      ['spec.containers[0].ports[5]'],
    );
  });

  for (const policy of ['Always', 'OnFailure', 'Never']) {
    it(`keeps restartPolicy ${policy}`, () => {
      const { group } = ready(toContainerGroup(pod({ restartPolicy: policy }), NO_OBJECTS, settings));
      assert.equal(group.restartPolicy, policy);
    });
  }
});

describe('environment from referenced objects', () => {
  const objects: ReferencedObjects = {
    configMaps: new Map([['settings', { data: { mode: 'fast' } }]]),
    secrets: new Map([['creds', { data: { token: b64('tok-123'), user: b64('svc') } }]]),
    serviceAccount: undefined,
  };
  const cases: { name: string; fields: Partial<V1Container>; env?: unknown; waitsOn?: string }[] = [
    {
      name: 'envFrom a Secret with a prefix, as secure values',
      fields: { envFrom: [{ secretRef: { name: 'creds' }, prefix: 'DB_' }] },
      env: [
        { name: 'DB_token', secureValue: 'tok-123' },
        { name: 'DB_user', secureValue: 'svc' },
      ],
    },
    {
      name: 'skips an optional key that is missing',
      fields: {
        env: [
          { name: 'A', valueFrom: { configMapKeyRef: { name: 'settings', key: 'absent', optional: true } } },
          { name: 'B', valueFrom: { configMapKeyRef: { name: 'settings', key: 'mode' } } },
        ],
      },
      env: [{ name: 'B', value: 'fast' }],
    },
    {
      name: 'skips an optional ConfigMap that is missing',
      fields: { envFrom: [{ configMapRef: { name: 'nowhere', optional: true } }] },
      env: undefined,
    },
    {
      name: 'waits for a required key',
      fields: { env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } }] },
      waitsOn: 'spec.containers[0].env[0].valueFrom.secretKeyRef',
    },
    {
      name: 'waits for a required ConfigMap',
      fields: { envFrom: [{ configMapRef: { name: 'nowhere' } }] },
      waitsOn: 'spec.containers[0].envFrom[0]',
    },
    {
      name: 'the later definition of a name wins, env over envFrom',
      fields: {
        envFrom: [{ configMapRef: { name: 'settings' } }],
        env: [{ name: 'mode', value: 'slow' }],
      },
      env: [{ name: 'mode', value: 'slow' }],
    },
  ];
  for (const { name, fields, env, waitsOn } of cases) {
    it(name, () => {
      const translation = toContainerGroup(pod({ containers: [container(fields)] }), objects, settings);
      if (waitsOn) {
        assert.equal(translation.kind, 'waiting');
        assert.deepEqual(
          problemsOf(translation).map((p) => p.path),
          [waitsOn],
        );
      } else {
        assert.deepEqual(ready(translation).group.containers[0]?.environmentVariables, env);
      }
    });
  }
});

describe('volumes', () => {
  const objects: ReferencedObjects = {
    configMaps: new Map([['scripts', { data: { 'run.sh': 'echo ready\n' } }]]),
    secrets: new Map([
      [
        'storage',
        { data: { azurestorageaccountname: b64('shopfiles'), azurestorageaccountkey: b64('key==\n') } },
      ],
    ]),
    serviceAccount: undefined,
  };
  const mountAll = (names: string[]): V1Container =>
    container({ volumeMounts: names.map((name) => ({ name, mountPath: `/mnt/${name}` })) });

  it('mounts Azure Files shares by account name and key from their Secret', () => {
    const translation = toContainerGroup(
      pod({
        containers: [mountAll(['share', 'inline'])],
        volumes: [
          { name: 'share', azureFile: { secretName: 'storage', shareName: 'uploads', readOnly: true } },
          {
            name: 'inline',
            csi: {
              driver: 'file.csi.azure.com',
              volumeAttributes: { secretName: 'storage', shareName: 'cache' },
            },
          },
        ],
      }),
      objects,
      settings,
    );
    assert.deepEqual(ready(translation).group.volumes, [
      {
        name: 'share',
        azureFile: {
          shareName: 'uploads',
          storageAccountName: 'shopfiles',
          storageAccountKey: 'key==',
          readOnly: true,
        },
      },
      {
        name: 'inline',
        azureFile: { shareName: 'cache', storageAccountName: 'shopfiles', storageAccountKey: 'key==' },
      },
    ]);
  });

  it('maps gitRepo, and an optional ConfigMap that is missing to an empty read-only volume', () => {
    const { group } = ready(
      toContainerGroup(
        pod({
          containers: [mountAll(['source', 'maybe'])],
          volumes: [
            { name: 'source', gitRepo: { repository: 'https://github.com/shop/site.git', revision: 'v1' } },
            { name: 'maybe', configMap: { name: 'absent', optional: true } },
          ],
        }),
        objects,
        settings,
      ),
    );
    assert.deepEqual(group.volumes, [
      { name: 'source', gitRepo: { repository: 'https://github.com/shop/site.git', revision: 'v1' } },
      { name: 'maybe', emptyDir: {} },
    ]);
    assert.deepEqual(group.containers[0]?.volumeMounts, [
      { name: 'source', mountPath: '/mnt/source' },
      { name: 'maybe', mountPath: '/mnt/maybe', readOnly: true },
    ]);
  });

  it('writes downward-API files as a kubelet formats them', () => {
    const { group } = ready(
      toContainerGroup(
        pod(
          {
            containers: [
              container({
                resources: { limits: { cpu: '1500m', memory: '1G' } },
                volumeMounts: [{ name: 'info', mountPath: '/etc/podinfo' }],
              }),
            ],
            volumes: [
              {
                name: 'info',
                downwardAPI: {
                  items: [
                    { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
                    { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
                    {
                      path: 'cpu_limit_millis',
                      resourceFieldRef: { containerName: 'app', resource: 'limits.cpu', divisor: '1m' },
                    },
                  ],
                },
              },
            ],
          },
          { annotations: { 'team.example/owner': 'payments', build: '"42"' } },
        ),
        objects,
        settings,
      ),
    );
    assert.deepEqual(group.volumes, [
      {
        name: 'info',
        secret: {
          annotations: b64('build="\\"42\\""\nteam.example/owner="payments"'),
          cpu_limit_millis: b64('1500'),
          name: b64('app'),
        },
      },
    ]);
  });

  const refusals: { name: string; spec: Partial<V1PodSpec>; paths: string[] }[] = [
    {
      name: 'Azure Files mount options',
      spec: {
        containers: [mountAll(['inline'])],
        volumes: [
          {
            name: 'inline',
            csi: {
              driver: 'file.csi.azure.com',
              volumeAttributes: { secretName: 'storage', shareName: 'cache', mountOptions: 'dir_mode=0777' },
            },
          },
        ],
      },
      paths: ['spec.volumes[0].csi.volumeAttributes.mountOptions'],
    },
    {
      name: 'a subPath of an emptyDir another container mounts whole',
      spec: {
        containers: [
          container({ volumeMounts: [{ name: 'scratch', mountPath: '/a' }] }),
          container({ name: 'b', volumeMounts: [{ name: 'scratch', mountPath: '/b', subPath: 'b' }] }),
        ],
        volumes: [{ name: 'scratch', emptyDir: {} }],
      },
      paths: ['spec.containers[1].volumeMounts[0].subPath'],
    },
    {
      name: 'file modes other than 0644, on the volume and on an item',
      spec: {
        containers: [mountAll(['scripts'])],
        volumes: [
          {
            name: 'scripts',
            configMap: {
              name: 'scripts',
              defaultMode: 0o755,
              items: [{ key: 'run.sh', path: 'run.sh', mode: 0o700 }],
            },
          },
        ],
      },
      paths: ['spec.volumes[0].configMap.defaultMode', 'spec.volumes[0].configMap.items[0].mode'],
    },
    {
      name: 'more volumes than a group can have',
      spec: {
        containers: [container({})],
        volumes: Array.from({ length: 21 }, (_, index) => ({ name: `v${index}`, emptyDir: {} })),
      },
      paths: ['spec.volumes'],
    },
  ];
  for (const { name, spec, paths } of refusals) {
    it(`refuses ${name}`, () => {
      const translation = toContainerGroup(pod(spec), objects, settings);
      assert.equal(translation.kind, 'invalid');
      assert.deepEqual(
        problemsOf(translation).map((p) => p.path),
        paths,
      );
    });
  }
});

describe('service-account token volume when the admission plugin did not add one', () => {
  const objects = (
    automount: boolean | undefined,
    extra: Partial<ReferencedObjects> = {},
  ): ReferencedObjects => ({
    ...NO_OBJECTS,
    serviceAccount: { metadata: { name: 'default' }, automountServiceAccountToken: automount },
    serviceAccountTokens: new Map([['default||3607', 'eyJ.injected']]),
    clusterCaPem: ROOT_CA,
    ...extra,
  });
  const mount = {
    name: 'kube-api-access-aci',
    mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
    readOnly: true,
  };

  it('mounts token, ca.crt and namespace like the plugin would', () => {
    const { group } = ready(toContainerGroup(pod(), objects(undefined), settings));
    assert.deepEqual(group.volumes, [
      {
        name: 'kube-api-access-aci',
        secret: { 'ca.crt': b64(ROOT_CA), namespace: b64('team'), token: b64('eyJ.injected') },
      },
    ]);
    assert.deepEqual(group.containers[0]?.volumeMounts, [mount]);
  });

  const cases: {
    name: string;
    pod: boolean | undefined;
    serviceAccount: boolean | undefined;
    mounted: boolean;
  }[] = [
    { name: 'the ServiceAccount opts out', pod: undefined, serviceAccount: false, mounted: false },
    { name: 'the pod opts out', pod: false, serviceAccount: true, mounted: false },
    { name: 'the pod opts in over the ServiceAccount', pod: true, serviceAccount: false, mounted: true },
  ];
  for (const { name, pod: onPod, serviceAccount, mounted } of cases) {
    it(`honours automountServiceAccountToken when ${name}`, () => {
      const spec = onPod === undefined ? {} : { automountServiceAccountToken: onPod };
      const { group } = ready(toContainerGroup(pod(spec), objects(serviceAccount), settings));
      assert.deepEqual(group.containers[0]?.volumeMounts, mounted ? [mount] : undefined);
    });
  }

  it('waits for the cluster CA', () => {
    const translation = toContainerGroup(pod(), objects(undefined, { clusterCaPem: undefined }), settings);
    assert.equal(translation.kind, 'waiting');
    assert.deepEqual(
      problemsOf(translation).map((p) => p.path),
      ['spec.automountServiceAccountToken'],
    );
  });
});

describe('ACI annotations', () => {
  const annotated = (annotations: Record<string, string>, spec: Partial<V1PodSpec> = {}): V1Pod =>
    pod(spec, { annotations });
  const withPort = { containers: [container({ ports: [{ containerPort: 80 }] })] };
  const withGpu = { containers: [container({ resources: { limits: { 'nvidia.com/gpu': '1' } } })] };

  it('maps Spot priority, the Confidential SKU and a DNS name label', () => {
    const spot = ready(
      toContainerGroup(annotated({ [ACI_ANNOTATIONS.priority]: 'Spot' }), NO_OBJECTS, settings),
    );
    assert.equal(spot.group.priority, 'Spot');
    const confidential = ready(
      toContainerGroup(annotated({ [ACI_ANNOTATIONS.sku]: 'Confidential' }), NO_OBJECTS, settings),
    );
    assert.equal(confidential.group.sku, 'Confidential');
    const labelled = ready(
      toContainerGroup(
        annotated({ [ACI_ANNOTATIONS.dnsNameLabel]: 'shop-api' }, withPort),
        NO_OBJECTS,
        settings,
      ),
    );
    assert.equal(labelled.group.ipAddress?.dnsNameLabel, 'shop-api');
  });

  const refused: { name: string; pod: V1Pod; annotation: string }[] = [
    {
      name: 'an unknown priority',
      pod: annotated({ [ACI_ANNOTATIONS.priority]: 'Low' }),
      annotation: ACI_ANNOTATIONS.priority,
    },
    {
      name: 'an invalid DNS name label',
      pod: annotated({ [ACI_ANNOTATIONS.dnsNameLabel]: 'Shop_API' }, withPort),
      annotation: ACI_ANNOTATIONS.dnsNameLabel,
    },
    {
      name: 'a DNS name label without ports',
      pod: annotated({ [ACI_ANNOTATIONS.dnsNameLabel]: 'shop-api' }),
      annotation: ACI_ANNOTATIONS.dnsNameLabel,
    },
    { name: 'GPUs without a SKU', pod: annotated({}, withGpu), annotation: ACI_ANNOTATIONS.gpuSku },
    {
      name: 'a GPU SKU without GPUs',
      pod: annotated({ [ACI_ANNOTATIONS.gpuSku]: 'K80' }),
      annotation: ACI_ANNOTATIONS.gpuSku,
    },
    {
      name: 'Spot with a public IP',
      pod: annotated({ [ACI_ANNOTATIONS.priority]: 'Spot' }, withPort),
      annotation: ACI_ANNOTATIONS.priority,
    },
    {
      name: 'Confidential with GPUs',
      pod: annotated({ [ACI_ANNOTATIONS.sku]: 'Confidential', [ACI_ANNOTATIONS.gpuSku]: 'V100' }, withGpu),
      annotation: ACI_ANNOTATIONS.sku,
    },
  ];
  for (const { name, pod: annotatedPod, annotation } of refused) {
    it(`refuses ${name}`, () => {
      assert.deepEqual(
        problemsOf(toContainerGroup(annotatedPod, NO_OBJECTS, settings)).map((p) => p.path),
        [`metadata.annotations['${annotation}']`],
      );
    });
  }
});

describe('probes', () => {
  it('resolves named ports and refuses unknown ones', () => {
    const probed = container({
      ports: [{ name: 'admin', containerPort: 9901 }],
      livenessProbe: { httpGet: { path: '/ready', port: 'admin', scheme: 'HTTPS' } },
      readinessProbe: { httpGet: { path: '/ready', port: 'metrics' } },
    });
    const problems = problemsOf(toContainerGroup(pod({ containers: [probed] }), NO_OBJECTS, settings));
    assert.deepEqual(
      problems.map((p) => p.path),
      ['spec.containers[0].readinessProbe.httpGet.port'],
    );
    const fixed = { ...probed, readinessProbe: undefined };
    const { group } = ready(toContainerGroup(pod({ containers: [fixed] }), NO_OBJECTS, settings));
    assert.deepEqual(group.containers[0]?.livenessProbe, {
      httpGet: { port: 9901, path: '/ready', scheme: 'https' },
    });
  });
});
