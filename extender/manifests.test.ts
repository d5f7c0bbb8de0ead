// The install manifests must agree with the code and with each other: the scheduler calls the
// Service the extender serves, trusts the CA of the Secret the extender creates (and may write), and
// runs the Kubernetes release the end-to-end tests run.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  loadAllYaml,
  type KubernetesObject,
  type V1ClusterRole,
  type V1ClusterRoleBinding,
  type V1ConfigMap,
  type V1Container,
  type V1Deployment,
  type V1Role,
  type V1RoleBinding,
  type V1Service,
} from '@kubernetes/client-node';
import { readConfig, certificateHosts } from './config.ts';

function manifest(name: string): KubernetesObject[] {
  return loadAllYaml(
    readFileSync(new URL(`../manifests/extender/${name}`, import.meta.url), 'utf8'),
  ) as KubernetesObject[];
}

const objects = [
  ...(loadAllYaml(
    readFileSync(new URL('../manifests/namespace.yaml', import.meta.url), 'utf8'),
  ) as KubernetesObject[]),
  ...manifest('extender.yaml'),
  ...manifest('scheduler.yaml'),
];

function find(kind: string, name: string): KubernetesObject {
  const found = objects.find((object) => object.kind === kind && object.metadata?.name === name);
  assert.ok(found, `${kind}/${name} in manifests/extender`);
  return found;
}

function onlyContainer(deployment: V1Deployment): V1Container {
  const containers = deployment.spec?.template.spec?.containers ?? [];
  assert.equal(containers.length, 1);
  return containers[0] as V1Container;
}

interface ExtenderEntry {
  urlPrefix: string;
  filterVerb: string;
  prioritizeVerb: string;
  weight: number;
  enableHTTPS: boolean;
  tlsConfig: { caFile: string };
  nodeCacheCapable: boolean;
  ignorable: boolean;
}

interface SchedulerConfig {
  leaderElection: { leaderElect: boolean; resourceName: string; resourceNamespace: string };
  profiles: { schedulerName: string }[];
  extenders: ExtenderEntry[];
}

const schedulerConfigMap = find('ConfigMap', 'aci-burst-scheduler-config') as V1ConfigMap;
const schedulerConfig = loadAllYaml(schedulerConfigMap.data?.['config.yaml'] ?? '')[0] as SchedulerConfig;
const extenderEntry = schedulerConfig.extenders[0] as ExtenderEntry;
const extender = find('Deployment', 'aci-burst-extender') as V1Deployment;
const extenderContainer = onlyContainer(extender);
const scheduler = find('Deployment', 'aci-burst-scheduler') as V1Deployment;
const schedulerContainer = onlyContainer(scheduler);

function mountedSecret(deployment: V1Deployment, container: V1Container, path: string): string | undefined {
  const mount = container.volumeMounts?.find((candidate) => path.startsWith(`${candidate.mountPath}/`));
  const volume = deployment.spec?.template.spec?.volumes?.find((candidate) => candidate.name === mount?.name);
  return volume?.secret?.secretName;
}

describe('manifests/extender', () => {
  it('puts everything namespaced in aci-burst-system', () => {
    const namespaced = objects.filter(
      (object) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(object.kind ?? ''),
    );
    const outside = namespaced.filter((object) => object.metadata?.namespace !== 'aci-burst-system');
    // Reading the authentication ConfigMap is the one grant that must live in kube-system.
    assert.deepEqual(
      outside.map((object) => `${object.kind ?? ''}/${object.metadata?.name ?? ''}`),
      ['RoleBinding/aci-burst-scheduler-authentication-reader'],
    );
  });

  it('runs the extender image with an environment the extender accepts', () => {
    assert.equal(extenderContainer.image, 'ghcr.io/aci-burst/aci-burst:0.1.0');
    assert.deepEqual(extenderContainer.command, ['node', 'extender/main.ts']);
    const env = Object.fromEntries(
      (extenderContainer.env ?? []).map((variable) => [variable.name, variable.value ?? 'aci-burst-system']),
    );
    const result = readConfig(env);
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.equal(extenderContainer.ports?.[0]?.containerPort, result.config.port);
    assert.deepEqual(result.config.tls, {
      kind: 'secret',
      secretName: 'aci-burst-extender-tls',
      hosts: certificateHosts('aci-burst-extender', 'aci-burst-system'),
    });
    // Mounting the Secret it creates would keep the pod from starting on a fresh install.
    assert.equal(extender.spec?.template.spec?.volumes, undefined);
    assert.equal(extenderContainer.volumeMounts, undefined);
    assert.equal(extenderContainer.readinessProbe?.httpGet?.path, '/readyz');
    assert.equal(extenderContainer.livenessProbe?.httpGet?.path, '/healthz');
  });

  it('lets the extender only list and watch nodes and namespaces, and write its own certificate Secret', () => {
    const clusterRole = find('ClusterRole', 'aci-burst-extender') as V1ClusterRole;
    // loadAllYaml returns client-node model instances; compare their JSON.
    assert.deepEqual(JSON.parse(JSON.stringify(clusterRole.rules)), [
      { apiGroups: [''], resources: ['nodes', 'namespaces'], verbs: ['list', 'watch'] },
    ]);
    const role = find('Role', 'aci-burst-extender') as V1Role;
    assert.deepEqual(JSON.parse(JSON.stringify(role.rules)), [
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: ['aci-burst-extender-tls'],
        verbs: ['get', 'update', 'patch'],
      },
      // create cannot be limited by name: the Role keeps it to this namespace.
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    ]);
    const binding = find('RoleBinding', 'aci-burst-extender') as V1RoleBinding;
    assert.equal(binding.roleRef.name, 'aci-burst-extender');
    assert.deepEqual(
      binding.subjects?.map((subject) => `${subject.namespace ?? ''}/${subject.name}`),
      [`aci-burst-system/${extender.spec?.template.spec?.serviceAccountName ?? ''}`],
    );
  });

  it('points the scheduler at the extender Service over TLS, ignorable and node-cache capable', () => {
    const service = find('Service', 'aci-burst-extender') as V1Service;
    const port = service.spec?.ports?.[0];
    assert.equal(port?.targetPort, extenderContainer.ports?.[0]?.name);
    assert.equal(
      extenderEntry.urlPrefix,
      `https://${service.metadata?.name ?? ''}.${service.metadata?.namespace ?? ''}.svc:${port?.port ?? 0}`,
    );
    assert.equal(extenderEntry.filterVerb, 'filter');
    assert.equal(extenderEntry.prioritizeVerb, 'prioritize');
    assert.equal(extenderEntry.enableHTTPS, true);
    assert.equal(extenderEntry.nodeCacheCapable, true);
    assert.equal(extenderEntry.ignorable, true);
    // Above the default score plugins' combined weight of about 12.
    assert.ok(extenderEntry.weight > 12);
    assert.equal(
      mountedSecret(scheduler, schedulerContainer, extenderEntry.tlsConfig.caFile),
      'aci-burst-extender-tls',
    );
  });

  it('runs kube-scheduler of the release the tests use, under its own name, with leader election', () => {
    const goMod = readFileSync(new URL('../scripts/controlplane/kubernetes/go.mod', import.meta.url), 'utf8');
    const version = /^require k8s\.io\/kubernetes (v\S+)$/m.exec(goMod)?.[1];
    assert.ok(version);
    assert.equal(schedulerContainer.image, `registry.k8s.io/kube-scheduler:${version}`);
    assert.deepEqual(
      schedulerConfig.profiles.map((profile) => profile.schedulerName),
      ['aci-burst-scheduler'],
    );
    assert.ok(
      schedulerContainer.command?.includes(
        `--config=${schedulerContainer.volumeMounts?.find((mount) => mount.name === 'config')?.mountPath ?? ''}/config.yaml`,
      ),
    );
    const { leaderElection } = schedulerConfig;
    assert.equal(leaderElection.leaderElect, true);
    const role = find('Role', 'aci-burst-scheduler-leader-election') as V1Role;
    assert.equal(role.metadata?.namespace, leaderElection.resourceNamespace);
    assert.ok(role.rules?.some((rule) => rule.resourceNames?.includes(leaderElection.resourceName)));
  });

  it('grants the scheduler the upstream scheduler roles and never cluster-admin', () => {
    const bindings = objects.filter(
      (object) => object.kind === 'ClusterRoleBinding',
    ) as V1ClusterRoleBinding[];
    assert.ok(bindings.every((binding) => binding.roleRef.name !== 'cluster-admin'));
    const schedulerRoles = bindings
      .filter((binding) => binding.subjects?.some((subject) => subject.name === 'aci-burst-scheduler'))
      .map((binding) => binding.roleRef.name);
    assert.deepEqual(schedulerRoles.sort(), ['system:kube-scheduler', 'system:volume-scheduler']);
  });
});
