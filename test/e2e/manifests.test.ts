// What an operator installs is what a real API server accepts: `kubectl apply -k manifests/`, every
// example, and the Helm chart (rendered by a helm built from its Go module) pass a server-side dry
// run on the local control plane; the raw manifests are the chart rendered (scripts/manifests.ts), so
// the chart is the one definition of every object; the chart's values name every variable the
// connector reads, so the two never drift apart.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  CoreV1Api,
  loadAllYaml,
  type KubernetesObject,
  type V1Deployment,
  type V1EnvVar,
  type V1Pod,
  type V1PodSpec,
} from '@kubernetes/client-node';
import { checkPod, describeProblems } from '../../contract/index.ts';
import { ENVIRONMENT } from '../../connector/config.ts';
import { classifyKubernetesError } from '../../runtime/errors.ts';
import { buildHelm } from '../../scripts/helm/build.ts';
import { renderManifests } from '../../scripts/manifests.ts';
import { useTestCluster, type TestCluster } from '../support/cluster.ts';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const manifests = join(repoRoot, 'manifests');
const chart = join(manifests, 'charts', 'aci-burst');
const examples = join(manifests, 'examples');
const SYSTEM_NAMESPACE = 'aci-burst-system';

function objectsIn(path: string): KubernetesObject[] {
  return (loadAllYaml(readFileSync(path, 'utf8')) as (KubernetesObject | null)[]).filter(
    (object): object is KubernetesObject => object !== null,
  );
}

interface ChartValues {
  env: Record<string, string>;
  connector: { config: Record<string, string> };
}

describe('the chart values and the examples (no cluster)', () => {
  const valuesText = readFileSync(join(chart, 'values.yaml'), 'utf8');
  const values = loadAllYaml(valuesText)[0] as ChartValues;

  it('values.yaml names every variable the connector reads', () => {
    const unnamed = Object.keys(ENVIRONMENT).filter((name) => !new RegExp(`\\b${name}\\b`).test(valuesText));
    assert.deepEqual(unnamed, [], 'variables of connector/config.ts ENVIRONMENT missing from values.yaml');
  });

  it('connector.config holds only variables the connector reads', () => {
    const unknown = Object.keys(values.connector.config).filter((name) => !(name in ENVIRONMENT));
    assert.deepEqual(unknown, []);
  });

  it("keeps the 2017 chart's env.* values", () => {
    assert.deepEqual(Object.keys(values.env).sort(), [
      'aciRegion',
      'aciResourceGroup',
      'azureClientId',
      'azureClientKey',
      'azureSubscriptionId',
      'azureTenantId',
    ]);
  });

  for (const file of ['nginx-pod.yaml', 'nginx-pod-tolerations.yaml', 'burst-namespace.yaml']) {
    it(`${file}: ACI can run its pods`, () => {
      const pods = objectsIn(join(examples, file)).flatMap((object): V1Pod[] => {
        if (object.kind === 'Pod') return [object];
        const template = (object as V1Deployment).spec?.template;
        return object.kind === 'Deployment' && template
          ? [{ metadata: template.metadata, spec: template.spec }]
          : [];
      });
      assert.ok(pods.length > 0, `${file} has a pod`);
      for (const pod of pods) assert.equal(describeProblems(checkPod(pod)), '');
    });
  }
});

describe('the raw manifests (no cluster)', () => {
  it('are the chart rendered with its default values (npm run manifests)', async () => {
    const helm = await buildHelm({
      repoRoot,
      env: process.env,
      home: homedir(),
      report: (line) => process.stderr.write(`[helm] ${line}\n`),
    });
    for (const [file, text] of await renderManifests(helm, repoRoot))
      assert.equal(
        readFileSync(join(repoRoot, file), 'utf8'),
        text,
        `${file} is stale: run npm run manifests`,
      );
  });
});

/** `kubectl apply --dry-run=server`: fails the test with kubectl's own words; the objects as the server would store them. */
async function dryRun(cluster: TestCluster, source: string[]): Promise<KubernetesObject[]> {
  try {
    const { stdout } = await run(
      cluster.kubectlPath,
      ['--kubeconfig', cluster.kubeconfigPath, 'apply', '--dry-run=server', '-o', 'json', ...source],
      { maxBuffer: 32 * 1024 * 1024 },
    );
    const output = JSON.parse(stdout) as KubernetesObject & { items?: KubernetesObject[] };
    return output.items ?? [output];
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? String(error);
    assert.fail(`kubectl apply --dry-run=server ${source.join(' ')} was refused:\n${stderr}`);
  }
}

const key = (object: KubernetesObject): string =>
  `${object.kind ?? ''}/${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;

/** What an object asks of the cluster, without what differs between installs (labels, assigned IPs). */
function substance(object: KubernetesObject): unknown {
  const { metadata: _metadata, status: _status, ...rest } = object as KubernetesObject & { status?: unknown };
  if (object.kind === 'Deployment') {
    const spec = (object as V1Deployment).spec;
    const podSpec = spec?.template.spec as V1PodSpec;
    const byName = (a: V1EnvVar, b: V1EnvVar): number => a.name.localeCompare(b.name);
    return {
      replicas: spec?.replicas,
      strategy: spec?.strategy,
      selector: spec?.selector,
      pod: {
        ...podSpec,
        containers: podSpec.containers.map((container) => ({
          ...container,
          env: [...(container.env ?? [])].sort(byName),
        })),
      },
    };
  }
  if (object.kind === 'ConfigMap') {
    // The same configuration, whatever its comments.
    const data = (object as { data?: Record<string, string> }).data ?? {};
    return Object.fromEntries(Object.entries(data).map(([name, text]) => [name, loadAllYaml(text)]));
  }
  if (object.kind === 'Service') {
    const { clusterIP: _ip, clusterIPs: _ips, ...spec } = (object as { spec: Record<string, unknown> }).spec;
    return spec;
  }
  return rest;
}

describe('server-side dry run on the local control plane', () => {
  let cluster: TestCluster;
  let helm: string;
  let createdSystemNamespace = false;
  const scratch = mkdtempSync(join(tmpdir(), 'aci-burst-manifests-'));

  async function renderChart(values: Record<string, string>): Promise<string> {
    const set = Object.entries(values).flatMap(([name, value]) => ['--set', `${name}=${value}`]);
    const { stdout } = await run(
      helm,
      [
        'template',
        'aci-burst',
        chart,
        '--namespace',
        SYSTEM_NAMESPACE,
        '--kube-version',
        cluster.kubernetesVersion,
        ...set,
      ],
      { maxBuffer: 32 * 1024 * 1024 },
    );
    const file = join(scratch, `chart-${Object.keys(values).length}-${Date.now()}.yaml`);
    writeFileSync(file, stdout);
    return file;
  }

  before(async () => {
    cluster = await useTestCluster();
    // Namespaced objects are refused by a dry run unless their namespace exists for real.
    const core = cluster.kubeConfig.makeApiClient(CoreV1Api);
    try {
      await core.createNamespace({ body: { metadata: { name: SYSTEM_NAMESPACE } } });
      createdSystemNamespace = true;
    } catch (error) {
      if (classifyKubernetesError(error).code !== 'AlreadyExists') throw classifyKubernetesError(error);
    }
    helm = await buildHelm({
      repoRoot,
      env: process.env,
      home: homedir(),
      report: (line) => process.stderr.write(`[helm] ${line}\n`),
    });
  });

  after(async () => {
    rmSync(scratch, { recursive: true, force: true });
    if (createdSystemNamespace) {
      await cluster.kubeConfig.makeApiClient(CoreV1Api).deleteNamespace({ name: SYSTEM_NAMESPACE });
    }
  });

  it('kubectl apply -k manifests/ installs the connector, the webhook, the extender and the second scheduler', async () => {
    const objects = await dryRun(cluster, ['-k', manifests]);
    const deployments = objects.filter((object) => object.kind === 'Deployment').map(key);
    assert.deepEqual(deployments.sort(), [
      'Deployment/aci-burst-system/aci-burst-connector',
      'Deployment/aci-burst-system/aci-burst-extender',
      'Deployment/aci-burst-system/aci-burst-scheduler',
      'Deployment/aci-burst-system/aci-burst-webhook',
    ]);
    assert.ok(
      !objects.some((object) => JSON.stringify(object).includes('cluster-admin')),
      'nothing is bound to cluster-admin',
    );
  });

  it('the connector alone, as the 2017 aci-connector.yaml installed it: namespace.yaml and connector/', async () => {
    const objects = await dryRun(cluster, [
      '-f',
      join(manifests, 'namespace.yaml'),
      '-f',
      join(manifests, 'connector'),
    ]);
    assert.ok(objects.some((object) => key(object) === 'Deployment/aci-burst-system/aci-burst-connector'));
    assert.ok(objects.some((object) => key(object) === 'Secret/aci-burst-system/aci-burst-azure'));
  });

  for (const file of [...readdirSync(examples), '../connector/azure-secret.example.yaml']) {
    it(`manifests/examples/${file}`, async () => {
      const objects = await dryRun(cluster, ['-f', join(examples, file)]);
      assert.equal(objects.length, objectsIn(join(examples, file)).length);
    });
  }

  it('the chart with default values installs what the kustomization installs', async () => {
    const fromChart = await dryRun(cluster, ['-f', await renderChart({})]);
    const fromKustomize = await dryRun(cluster, ['-k', manifests]);
    // Helm creates the namespace (--create-namespace).
    const kustomizeOnly = new Set(['Namespace//aci-burst-system']);
    const chartObjects = new Map(fromChart.map((o) => [key(o), o]));
    const kustomizeObjects = new Map(
      fromKustomize.filter((o) => !kustomizeOnly.has(key(o))).map((o) => [key(o), o]),
    );
    assert.deepEqual([...chartObjects.keys()].sort(), [...kustomizeObjects.keys()].sort());
    for (const [name, object] of kustomizeObjects) {
      assert.deepEqual(substance(chartObjects.get(name) as KubernetesObject), substance(object), name);
    }
  });

  it("the chart with the 2017 chart's env.* values creates the connector's Secret", async () => {
    const objects = await dryRun(cluster, [
      '-f',
      await renderChart({
        'env.azureClientId': '5f0c6f0e-0000-4000-8000-000000000001',
        'env.azureClientKey': 'not-a-real-secret',
        'env.azureTenantId': '5f0c6f0e-0000-4000-8000-000000000002',
        'env.azureSubscriptionId': '5f0c6f0e-0000-4000-8000-000000000003',
        'env.aciResourceGroup': 'aci-burst-test',
        'env.aciRegion': 'westeurope',
      }),
    ]);
    const secret: (KubernetesObject & { data?: Record<string, string> }) | undefined = objects.find(
      (o) => key(o) === 'Secret/aci-burst-system/aci-burst-azure',
    );
    assert.ok(secret, 'the Secret aci-burst-azure');
    const decoded = Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([name, value]) => [
        name,
        Buffer.from(value, 'base64').toString(),
      ]),
    );
    assert.deepEqual(decoded, {
      ACI_REGION: 'westeurope',
      ACI_RESOURCE_GROUP: 'aci-burst-test',
      AZURE_CLIENT_ID: '5f0c6f0e-0000-4000-8000-000000000001',
      AZURE_CLIENT_SECRET: 'not-a-real-secret',
      AZURE_SUBSCRIPTION_ID: '5f0c6f0e-0000-4000-8000-000000000003',
      AZURE_TENANT_ID: '5f0c6f0e-0000-4000-8000-000000000002',
    });
  });

  it('the chart writes NODE_NAME and ACI_ALLOWED_NAMESPACES into the opt-in policy, and can leave CSR approval to a person', async () => {
    const objects = await dryRun(cluster, [
      '-f',
      await renderChart({
        'connector.config.NODE_NAME': 'aci-west',
        'connector.config.ACI_ALLOWED_NAMESPACES': 'shop\\,batch',
        'connector.autoApproveNodeCertificates': 'false',
      }),
    ]);
    const policy = objects.find((o) => key(o) === 'ValidatingAdmissionPolicy//aci-burst-opt-in') as
      (KubernetesObject & { spec: { variables: { name: string; expression: string }[] } }) | undefined;
    const variable = (name: string): string | undefined =>
      policy?.spec.variables.find((entry) => entry.name === name)?.expression;
    assert.equal(variable('virtualNodes'), '["aci-west"]');
    assert.equal(variable('allowedNamespaces'), '["shop","batch"]');
    const role = objects.find((o) => key(o) === 'ClusterRole//aci-burst-connector') as
      (KubernetesObject & { rules: { resources: string[] }[] }) | undefined;
    const resources = role?.rules.flatMap((rule) => rule.resources) ?? [];
    assert.ok(resources.includes('certificatesigningrequests'));
    assert.ok(!resources.includes('certificatesigningrequests/nodeclient'), 'no automatic approval');
  });

  it('the chart with connector.nodes runs one connector Deployment per virtual node, each its own Lease and budget', async () => {
    const objects = await dryRun(cluster, [
      '-f',
      await renderChart({
        'connector.nodes[0].name': 'aci-west',
        'connector.nodes[1].name': 'aci-east',
        'connector.nodes[1].secretName': 'aci-burst-azure-east',
        'connector.nodes[1].config.NODE_LABELS': 'example.com/pool=east',
      }),
    ]);
    const deployment = (node: string): V1Deployment | undefined =>
      objects.find(
        (o): o is V1Deployment => key(o) === `Deployment/aci-burst-system/aci-burst-connector-${node}`,
      );
    const envOf = (node: string): Record<string, string | undefined> =>
      Object.fromEntries(
        (deployment(node)?.spec?.template.spec?.containers[0]?.env ?? []).map((v) => [v.name, v.value]),
      );
    assert.deepEqual(
      objects
        .filter((o) => o.kind === 'Deployment' && o.metadata?.name?.startsWith('aci-burst-connector'))
        .map(key),
      [
        'Deployment/aci-burst-system/aci-burst-connector-aci-west',
        'Deployment/aci-burst-system/aci-burst-connector-aci-east',
      ],
    );
    assert.deepEqual([envOf('aci-west').NODE_NAME, envOf('aci-east').NODE_NAME], ['aci-west', 'aci-east']);
    assert.deepEqual(
      [envOf('aci-west').NODE_LABELS, envOf('aci-east').NODE_LABELS],
      [undefined, 'example.com/pool=east'],
    );
    assert.equal(
      deployment('aci-east')?.spec?.template.spec?.containers[0]?.envFrom?.[0]?.secretRef?.name,
      'aci-burst-azure-east',
    );
    // Selectors apart, so neither Deployment adopts the other's pods.
    assert.deepEqual(deployment('aci-east')?.spec?.selector.matchLabels, {
      'app.kubernetes.io/name': 'aci-burst-connector',
      'aci-burst.io/virtual-node': 'aci-east',
    });
    const budgets = objects.filter(
      (o) => o.kind === 'PodDisruptionBudget' && o.metadata?.name?.startsWith('aci-burst-connector'),
    );
    assert.deepEqual(
      budgets.map((o) => o.metadata?.name),
      ['aci-burst-connector-aci-west', 'aci-burst-connector-aci-east'],
    );
    const election = objects.find(
      (o) => key(o) === 'Role/aci-burst-system/aci-burst-connector-leader-election',
    ) as (KubernetesObject & { rules: { resourceNames?: string[] }[] }) | undefined;
    assert.deepEqual(
      election?.rules.flatMap((rule) => rule.resourceNames ?? []),
      ['aci-west', 'aci-east'],
    );
    const policy = objects.find((o) => key(o) === 'ValidatingAdmissionPolicy//aci-burst-opt-in') as
      (KubernetesObject & { spec: { variables: { name: string; expression: string }[] } }) | undefined;
    assert.equal(
      policy?.spec.variables.find((v) => v.name === 'virtualNodes')?.expression,
      '["aci-west","aci-east"]',
    );
  });

  it('a kustomize overlay adds a virtual node: manifests/ plus examples/aci-east.yaml, its name patched into the Role and the policy', async () => {
    const overlay = mkdtempSync(join(scratch, 'two-regions-'));
    writeFileSync(join(overlay, 'aci-east.yaml'), readFileSync(join(examples, 'aci-east.yaml')));
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources:',
        `  - ${relative(overlay, manifests)}`,
        '  - aci-east.yaml',
        'patches:',
        '  - target: { kind: Role, name: aci-burst-connector-leader-election }',
        '    patch: |',
        '      - { op: add, path: /rules/1/resourceNames/-, value: aci-east }',
        '  - target: { kind: ValidatingAdmissionPolicy, name: aci-burst-opt-in }',
        '    patch: |',
        `      - { op: replace, path: /spec/variables/0/expression, value: '["aci-connector","aci-east"]' }`,
        '',
      ].join('\n'),
    );
    const objects = await dryRun(cluster, ['-k', overlay]);
    const names = objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata?.name);
    assert.ok(
      names.includes('aci-burst-connector') && names.includes('aci-burst-connector-aci-east'),
      names.join(),
    );
    const election = objects.find(
      (o) => key(o) === 'Role/aci-burst-system/aci-burst-connector-leader-election',
    ) as (KubernetesObject & { rules: { resourceNames?: string[] }[] }) | undefined;
    assert.deepEqual(
      election?.rules.flatMap((rule) => rule.resourceNames ?? []),
      ['aci-connector', 'aci-east'],
    );
  });

  it('the webhook’s optional NetworkPolicy: the file and the chart’s networkPolicy.enabled agree', async () => {
    const file = await dryRun(cluster, ['-f', join(manifests, 'webhook', 'networkpolicy.yaml')]);
    const fromChart = await dryRun(cluster, [
      '-f',
      await renderChart({ 'webhook.networkPolicy.enabled': 'true' }),
    ]);
    const policy = fromChart.find((o) => key(o) === 'NetworkPolicy/aci-burst-system/aci-burst-webhook');
    assert.ok(policy, 'rendered when enabled');
    assert.deepEqual(substance(policy), substance(file[0] as KubernetesObject));
  });

  it('the chart with webhook.clientCaConfigMap mounts that CA and gives it to the webhook as CLIENT_CA_FILE', async () => {
    const objects = await dryRun(cluster, [
      '-f',
      await renderChart({ 'webhook.clientCaConfigMap': 'apiserver-webhook-ca' }),
    ]);
    const webhook = objects.find(
      (o) => key(o) === 'Deployment/aci-burst-system/aci-burst-webhook',
    ) as V1Deployment;
    const pod = webhook.spec?.template.spec;
    assert.ok(pod);
    assert.deepEqual(
      pod.containers[0]?.env?.find((variable) => variable.name === 'CLIENT_CA_FILE')?.value,
      '/etc/aci-burst/client-ca/ca.crt',
    );
    assert.equal(
      pod.volumes?.find((volume) => volume.name === 'client-ca')?.configMap?.name,
      'apiserver-webhook-ca',
    );
  });

  it('the chart with workload identity labels the connector pod and annotates its ServiceAccount', async () => {
    const clientId = '5f0c6f0e-0000-4000-8000-000000000004';
    const objects = await dryRun(cluster, [
      '-f',
      await renderChart({
        'connector.workloadIdentity.enabled': 'true',
        'connector.workloadIdentity.clientId': clientId,
      }),
    ]);
    const account = objects.find((o) => key(o) === 'ServiceAccount/aci-burst-system/aci-burst-connector');
    assert.equal(account?.metadata?.annotations?.['azure.workload.identity/client-id'], clientId);
    const connector = objects.find(
      (o) => key(o) === 'Deployment/aci-burst-system/aci-burst-connector',
    ) as V1Deployment;
    assert.equal(connector.spec?.template.metadata?.labels?.['azure.workload.identity/use'], 'true');
  });
});
