import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { loadObjects, loadPod } from '../test/fixtures/pods/index.ts';
import { checkPod, DEFAULT_ACI_LIMITS, describeProblems, podReferences, type Problem } from './capability.ts';
import { IMAGE_DEPENDENT_FIELDS } from './image-config.ts';
import { ACI_ANNOTATIONS } from './names.ts';
import { DEFAULT_NETWORK_SETTINGS, type NetworkSettings } from './network.ts';
import { toContainerGroup } from './translate.ts';
import { CONTAINER_REFUSALS, POD_REFUSALS } from './pod-fields.ts';

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
      'spec.containers[0].lifecycle.preStop',
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
      'spec.volumes[1].persistentVolumeClaim',
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
    });
  });
});

describe('README pod-field table', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const section = readme.slice(
    readme.indexOf('<!-- section:pod-fields -->'),
    readme.indexOf('<!-- /section:pod-fields -->'),
  );
  const refusals = [...POD_REFUSALS, ...CONTAINER_REFUSALS];
  for (const refusal of refusals) {
    it(`shows users the message for ${refusal.field}`, () => {
      assert.ok(section.includes(`\`${refusal.field}\``) || section.includes(`\`spec.${refusal.field}\``));
      assert.ok(section.includes(`${refusal.message}; ${refusal.fix}`), refusal.message);
    });
  }
  for (const entry of IMAGE_DEPENDENT_FIELDS) {
    it(`says how the connector decides ${entry.field} from the image`, () => {
      assert.ok(section.includes(`\`${entry.field}\``), entry.field);
      assert.ok(section.includes(entry.decision), entry.decision);
    });
  }
  it('documents every ACI annotation', () => {
    for (const annotation of Object.values(ACI_ANNOTATIONS))
      assert.ok(section.includes(`\`${annotation}\``), annotation);
  });
});
