import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod, V1Volume } from '@kubernetes/client-node';
import { loadObjects, loadPod } from '../test/fixtures/pods/index.ts';
import { checkPod, DEFAULT_ACI_LIMITS, describeProblems } from './capability.ts';
import { MAX_PROBLEM_TEXT } from './context.ts';
import { DEFAULT_NETWORK_SETTINGS, type NetworkSettings } from './network.ts';
import { toContainerGroup } from './translate.ts';
import { podReferences } from './references.ts';
import type { Problem } from './types.ts';

describe('checkPod', () => {
  it('names every field of a pod with everything ACI lacks, from the spec alone', () => {
    // Its args without command and its workingDir are absent: they depend on the image's
    // configuration, which only the connector reads (contract/image-config.ts).
    const problems = checkPod(loadPod('everything-unsupported'));
    assert.ok(problems.every((problem) => problem.kind === 'unsupported'));
    assert.deepEqual(problems.map((problem) => problem.path).sort(), [
      "metadata.annotations['azure.com/aci-priority']",
      'spec.activeDeadlineSeconds',
      'spec.containers[0].env[0].valueFrom.fieldRef',
      'spec.containers[0].lifecycle.preStop.tcpSocket',
      'spec.containers[0].livenessProbe.tcpSocket',
      'spec.containers[0].ports[0].protocol',
      'spec.containers[0].ports[1].hostPort',
      'spec.containers[0].securityContext.readOnlyRootFilesystem',
      'spec.containers[0].startupProbe',
      'spec.containers[0].stdin',
      'spec.containers[0].tty',
      'spec.containers[0].volumeMounts[0].subPath',
      'spec.containers[1].command[2]',
      'spec.containers[1].readinessProbe.grpc',
      "spec.containers[1].resources.limits['example.com/fpga']",
      'spec.hostAliases',
      'spec.hostNetwork',
      'spec.securityContext.fsGroup',
      'spec.securityContext.sysctls',
      'spec.shareProcessNamespace',
      'spec.volumes[0].hostPath',
      'spec.volumes[1].ephemeral',
      'spec.volumes[2].secret.defaultMode',
      'spec.volumes[3].configMap.items[0].path',
      'spec.volumes[4].csi.driver',
    ]);
  });

  it('finds nothing wrong with runnable pods, with or without their objects', () => {
    for (const name of ['nginx-2017', 'deployment-web', 'init-container', 'gpu'] as const) {
      assert.deepEqual(checkPod(loadPod(name)), [], name);
    }
    const tokens = new Map([
      ['web||3607', 'eyJ.a'],
      ['web|vault|7200', 'eyJ.b'],
    ]);
    const objects = loadObjects('deployment-web', { serviceAccountTokens: tokens });
    assert.deepEqual(checkPod(loadPod('deployment-web'), objects), []);
    // The webhook reads the objects but obtains no tokens: they are left out of its check.
    assert.deepEqual(checkPod(loadPod('deployment-web'), loadObjects('deployment-web')), []);
  });

  it('reports what is missing only when given the objects', () => {
    const pod = loadPod('deployment-web');
    const objects = loadObjects('deployment-web');
    objects.secrets = new Map([...objects.secrets].filter(([name]) => name !== 'web-db'));
    const missing = checkPod(pod, { ...objects, serviceAccount: undefined, serviceAccountTokens: new Map() });
    assert.deepEqual(
      missing.map((problem) => [problem.path, problem.kind]),
      [
        ['spec.serviceAccountName', 'missing-reference'],
        ['spec.containers[0].env[2].valueFrom.secretKeyRef', 'missing-reference'],
      ],
    );
    assert.match(missing[1]?.message ?? '', /Secret "web-db" does not exist in namespace "shop"/);
  });

  it('reports every refusal the translation reports, from the spec alone, whatever the network settings', () => {
    const networks: NetworkSettings[] = [
      DEFAULT_NETWORK_SETTINGS,
      { ...DEFAULT_NETWORK_SETTINGS, exposePortsPublicly: true },
      {
        ...DEFAULT_NETWORK_SETTINGS,
        subnetId:
          '/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/aci',
        clusterDnsIP: '10.0.0.10',
      },
    ];
    const objects = { configMaps: new Map(), secrets: new Map(), serviceAccount: undefined };
    for (const network of networks) {
      const settings = {
        region: 'westus',
        nodeName: 'aci-connector',
        clusterId: 'c',
        limits: DEFAULT_ACI_LIMITS,
        network,
      };
      for (const name of [
        'nginx-2017',
        'deployment-web',
        'init-container',
        'gpu',
        'everything-unsupported',
      ] as const) {
        const translation = toContainerGroup(loadPod(name), objects, settings);
        const refused =
          translation.kind === 'ready' ? [] : translation.problems.filter((p) => p.kind === 'unsupported');
        assert.deepEqual(checkPod(loadPod(name)), refused, name);
      }
    }
  });

  it('uses the limits it is given', () => {
    const pod: V1Pod = {
      metadata: { name: 'one', namespace: 'team' },
      spec: { containers: [{ name: 'a', image: 'a' }] },
    };
    const small = { ...DEFAULT_ACI_LIMITS, maxCpuPerGroup: 0.5 };
    assert.deepEqual(
      checkPod(pod, undefined, small).map((problem) => problem.path),
      ['spec.containers'],
    );
  });

  it('stays cheap enough for every scheduling cycle', () => {
    const pod = loadPod('deployment-web');
    const started = performance.now();
    for (let round = 0; round < 1000; round += 1) checkPod(pod);
    const perCheckMs = (performance.now() - started) / 1000;
    assert.ok(perCheckMs < 1, `${perCheckMs.toFixed(3)} ms per check`);
  });
});

describe('describeProblems', () => {
  it('lists at most its maximum and counts the rest', () => {
    const problems: Problem[] = Array.from({ length: 5 }, (_, index) => ({
      path: `spec.containers[${index}].tty`,
      message: 'no terminal',
      fix: 'remove tty',
      kind: 'unsupported',
    }));
    assert.equal(
      describeProblems(problems, 2),
      'spec.containers[0].tty: no terminal; remove tty\nspec.containers[1].tty: no terminal; remove tty\n... and 3 more problems',
    );
    assert.equal(
      describeProblems(Array.from({ length: 60_000 }, () => problems[0] as Problem)).split('\n').length,
      51,
    );
  });

  it('writes one line per problem: path, message, fix', () => {
    const problems: Problem[] = [
      { path: 'spec.hostNetwork', message: 'no host', fix: 'remove it', kind: 'unsupported' },
      { path: 'spec.volumes[0].configMap', message: 'missing', fix: 'create it', kind: 'missing-reference' },
    ];
    assert.equal(
      describeProblems(problems),
      'spec.hostNetwork: no host; remove it\nspec.volumes[0].configMap: missing; create it',
    );
  });
});

describe('podReferences', () => {
  it('lists the objects of a Deployment pod, and which are optional', () => {
    assert.deepEqual(podReferences(loadPod('deployment-web')), {
      configMaps: ['kube-root-ca.crt', 'web-config', 'web-flags', 'web-settings'],
      secrets: ['acr-pull', 'old-hub-login', 'web-db', 'web-tls'],
      serviceAccountName: 'web',
      optionalConfigMaps: ['web-flags'],
      optionalSecrets: ['acr-pull', 'old-hub-login'],
      claims: [],
    });
  });

  it('includes the Secrets of Azure Files volumes, and a name required anywhere is required', () => {
    const pod: V1Pod = {
      spec: {
        containers: [
          {
            name: 'a',
            envFrom: [{ secretRef: { name: 'shared', optional: true } }],
            env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'shared', key: 'x' } } }],
          },
        ],
        volumes: [
          { name: 'files', azureFile: { secretName: 'storage', shareName: 'data' } },
          {
            name: 'inline',
            csi: { driver: 'file.csi.azure.com', nodePublishSecretRef: { name: 'storage-2' } },
          },
        ],
      },
    };
    assert.deepEqual(podReferences(pod), {
      configMaps: [],
      secrets: ['shared', 'storage', 'storage-2'],
      serviceAccountName: 'default',
      optionalConfigMaps: [],
      optionalSecrets: [],
      claims: [],
    });
  });
});

describe('hostile pods', () => {
  const container = { name: 'app', image: 'app:1' };
  const podWith = (spec: Partial<NonNullable<V1Pod['spec']>>, metadata: V1Pod['metadata'] = {}): V1Pod => ({
    metadata: { name: 'p', namespace: 'shop', ...metadata },
    spec: { containers: [container], ...spec },
  });
  const empty = { configMaps: new Map(), secrets: new Map(), serviceAccount: undefined };

  it('refuses a pod naming more objects than are read for one pod, and resolves none of them', () => {
    const envFrom = Array.from({ length: 60_000 }, (_, index) => ({
      configMapRef: { name: `map-${index}` },
    }));
    const pod = podWith({ containers: [{ ...container, envFrom }] });
    for (const problems of [checkPod(pod), checkPod(pod, empty)]) {
      assert.deepEqual(
        problems.map((problem) => [problem.path, problem.kind]),
        [['spec', 'unsupported']],
      );
      assert.match(
        problems[0]?.message ?? '',
        /references 60000 ConfigMaps, Secrets and service-account tokens, and at most 100 are read/,
      );
    }
    const atTheBound = podWith({ containers: [{ ...container, envFrom: envFrom.slice(0, 100) }] });
    assert.equal(checkPod(atTheBound, empty).length, 100, 'each missing ConfigMap is named');
  });

  it('quotes a bounded part of what the pod says in each problem', () => {
    const name = 'x'.repeat(60_000);
    const pod = podWith(
      { containers: [{ ...container, resources: { limits: { [name]: '1' } } }] },
      { annotations: { 'azure.com/aci-sku': name } },
    );
    const problems = checkPod(pod);
    assert.equal(problems.length, 2);
    for (const problem of problems) {
      assert.ok(problem.path.length <= MAX_PROBLEM_TEXT && problem.message.length <= MAX_PROBLEM_TEXT);
      assert.ok(problem.message.endsWith('…'));
    }
  });

  it('stops a $(VAR) expansion that doubles at every step at the content budget', () => {
    const env = [{ name: 'V0', value: 'x'.repeat(64) }];
    for (let step = 1; step < 64; step += 1)
      env.push({ name: `V${step}`, value: `$(V${step - 1})$(V${step - 1})` });
    const problems = checkPod(podWith({ containers: [{ ...container, env, command: ['echo', '$(V63)'] }] }));
    assert.deepEqual(
      problems.map((problem) => problem.path),
      ['spec.containers[0].env[16]'],
    );
    assert.match(
      problems[0]?.message ?? '',
      /more than 4 MiB of environment values, command lines and files/,
    );
  });

  it('stops files that repeat a large map at the content budget', () => {
    const annotations = { 'example.com/big': 'x'.repeat(200_000) };
    const items = Array.from({ length: 100 }, (_, index) => ({
      path: `copy-${index}`,
      fieldRef: { fieldPath: 'metadata.annotations' },
    }));
    const pod = podWith({ volumes: [{ name: 'info', downwardAPI: { items } }] }, { annotations });
    assert.deepEqual(
      checkPod(pod, empty).map((problem) => problem.path),
      ['spec.volumes[0].downwardAPI.items[20]'],
    );
  });

  it('reads label and field names as the pod’s own, never what every object inherits', () => {
    const env = [
      { name: 'LABEL', valueFrom: { fieldRef: { fieldPath: "metadata.labels['constructor']" } } },
      { name: 'FIELD', valueFrom: { fieldRef: { fieldPath: 'constructor' } } },
      { name: 'RESOURCE', valueFrom: { resourceFieldRef: { resource: 'constructor' } } },
    ];
    const items = [{ path: 'label', fieldRef: { fieldPath: "metadata.labels['toString']" } }];
    const pod = podWith({
      containers: [{ ...container, env }],
      volumes: [
        { name: 'info', downwardAPI: { items } },
        { name: 'odd', constructor: {} } as unknown as V1Volume,
      ],
    });
    assert.deepEqual(
      checkPod(pod, empty).map((problem) => [problem.path, problem.message]),
      [
        ['spec.volumes[1].constructor', 'volume "odd" is of kind constructor, which ACI cannot mount'],
        [
          'spec.containers[0].env[1].valueFrom.fieldRef',
          'the field "constructor" cannot be passed to a container',
        ],
        [
          'spec.containers[0].env[2].valueFrom.resourceFieldRef',
          'the resource "constructor" cannot be passed to a container on ACI',
        ],
      ],
    );
    const valid = podWith(
      {
        containers: [{ ...container, env: env.slice(0, 1) }],
        volumes: [{ name: 'info', downwardAPI: { items } }],
      },
      { labels: { app: 'web' } },
    );
    const group = toContainerGroup(valid, empty, {
      region: 'westus',
      nodeName: 'aci-connector',
      clusterId: 'c',
      limits: DEFAULT_ACI_LIMITS,
      network: DEFAULT_NETWORK_SETTINGS,
    });
    assert.ok(group.kind === 'ready');
    assert.deepEqual(group.group.containers[0]?.environmentVariables, [{ name: 'LABEL', value: '' }]);
    assert.deepEqual(group.group.volumes?.[0], { name: 'info', secret: { label: '' } });
  });
});
