import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ENVIRONMENT, readConfig } from './config.ts';

const minimal = { AZURE_SUBSCRIPTION_ID: 'sub', ACI_RESOURCE_GROUP: 'rg' };

describe('readConfig', () => {
  it('applies the 2017 connector’s defaults', () => {
    const parsed = readConfig(minimal);
    assert.ok(parsed.ok);
    assert.equal(parsed.config.nodeName, 'aci-connector');
    assert.equal(parsed.config.azure.region, 'westus');
    assert.equal(parsed.config.node.kubeletPort, 10250);
    assert.equal(parsed.config.node.capacity.memoryBytes, 400 * 2 ** 30);
    assert.deepEqual(parsed.config.createLimits, [
      { limit: 100, windowMs: 300_000 },
      { limit: 300, windowMs: 3_600_000 },
    ]);
  });

  it('accepts the 2017 connector’s AZURE_CLIENT_KEY as the client secret', () => {
    const parsed = readConfig({
      ...minimal,
      AZURE_TENANT_ID: 't',
      AZURE_CLIENT_ID: 'c',
      AZURE_CLIENT_KEY: 's',
    });
    assert.ok(parsed.ok);
    assert.equal(parsed.config.azure.clientSecret, 's');
  });

  it('prefers AZURE_CLIENT_SECRET over the legacy name', () => {
    const parsed = readConfig({
      ...minimal,
      AZURE_TENANT_ID: 't',
      AZURE_CLIENT_ID: 'c',
      AZURE_CLIENT_SECRET: 'new',
      AZURE_CLIENT_KEY: 'old',
    });
    assert.ok(parsed.ok);
    assert.equal(parsed.config.azure.clientSecret, 'new');
  });

  it('reads the namespace allow-list, refusing names that cannot be namespaces', () => {
    const parsed = readConfig({ ...minimal, ACI_ALLOWED_NAMESPACES: ' shop, batch ,,' });
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.config.allowedNamespaces, ['shop', 'batch']);
    const none = readConfig(minimal);
    assert.ok(none.ok);
    assert.deepEqual(none.config.allowedNamespaces, []);
    const invalid = readConfig({ ...minimal, ACI_ALLOWED_NAMESPACES: 'shop,Kube System' });
    assert.ok(!invalid.ok);
    assert.match(
      invalid.problems.join('\n'),
      /ACI_ALLOWED_NAMESPACES must list namespace names.*"Kube System"/,
    );
  });

  const nodeRows: {
    env: Record<string, string>;
    labels?: Record<string, string>;
    taints?: unknown[];
    problem?: RegExp;
  }[] = [
    { env: {}, labels: {}, taints: [] },
    {
      env: {
        NODE_LABELS: 'team=batch, example.com/pool=east,,',
        NODE_TAINTS: 'example.com/region=eastus:NoSchedule,gpu:NoExecute',
      },
      labels: { team: 'batch', 'example.com/pool': 'east' },
      taints: [
        { key: 'example.com/region', value: 'eastus', effect: 'NoSchedule' },
        { key: 'gpu', effect: 'NoExecute' },
      ],
    },
    {
      env: { NODE_LABELS: 'node-role.kubernetes.io/aci=' },
      problem: /a node may not set the label node-role\.kubernetes\.io\/aci/,
    },
    { env: { NODE_LABELS: 'team' }, problem: /NODE_LABELS must be a list of key=value labels.*"team"/ },
    { env: { NODE_LABELS: 'team=a b' }, problem: /NODE_LABELS must be a list of key=value labels/ },
    { env: { NODE_TAINTS: 'region=east' }, problem: /NODE_TAINTS must be a list of taints.*"region=east"/ },
    { env: { NODE_TAINTS: 'region=east:Sometimes' }, problem: /NODE_TAINTS must be a list of taints/ },
  ];
  for (const row of nodeRows) {
    it(`reads the node's extra labels and taints: ${JSON.stringify(row.env)}`, () => {
      const parsed = readConfig({ ...minimal, ...row.env });
      if (row.problem !== undefined) {
        assert.ok(!parsed.ok);
        assert.match(parsed.problems.join('\n'), row.problem);
        return;
      }
      assert.ok(parsed.ok);
      assert.deepEqual([parsed.config.node.labels, parsed.config.node.taints], [row.labels, row.taints]);
    });
  }

  it('elects a leader only with a namespace for the Lease; the replica is named by POD_NAME, else HOSTNAME', () => {
    const alone = readConfig({ ...minimal, HOSTNAME: 'host-1' });
    assert.ok(alone.ok);
    assert.deepEqual(alone.config.leaderElection, {
      namespace: undefined,
      leaseSeconds: 10,
      identity: 'host-1',
    });
    const replicated = readConfig({
      ...minimal,
      LEADER_ELECTION_NAMESPACE: 'aci-burst-system',
      LEADER_ELECTION_LEASE_SECONDS: '15',
      POD_NAME: 'connector-abc',
      HOSTNAME: 'host-1',
    });
    assert.ok(replicated.ok);
    assert.deepEqual(replicated.config.leaderElection, {
      namespace: 'aci-burst-system',
      leaseSeconds: 15,
      identity: 'connector-abc',
    });
    const short = readConfig({ ...minimal, LEADER_ELECTION_LEASE_SECONDS: '5' });
    assert.ok(!short.ok);
    assert.match(short.problems.join('\n'), /LEADER_ELECTION_LEASE_SECONDS must be a whole number >= 6/);
  });

  it('takes the pod IP as the node address in a cluster', () => {
    const parsed = readConfig({ ...minimal, POD_IP: '10.244.1.7' });
    assert.ok(parsed.ok);
    assert.equal(parsed.config.node.internalIP, '10.244.1.7');
  });

  it('reads registry mirrors, the registry CA, timing and the working-directory shell', () => {
    const parsed = readConfig({
      ...minimal,
      REGISTRY_MIRRORS: 'docker.io=https://127.0.0.1:5443, quay.io=https://quay-mirror.example',
      REGISTRY_CA_FILE: '/ca.pem',
      REGISTRY_TIMEOUT_SECONDS: '3',
      REGISTRY_CACHE_SECONDS: '0',
      ACI_WORKING_DIR_SHELL: '/bin/sh',
    });
    assert.ok(parsed.ok);
    assert.deepEqual(
      [...parsed.config.registry.mirrors].map(([registry, url]) => `${registry}=${url.href}`),
      ['docker.io=https://127.0.0.1:5443/', 'quay.io=https://quay-mirror.example/'],
    );
    assert.deepEqual(
      [parsed.config.registry.caFile, parsed.config.registry.waitMs, parsed.config.registry.cacheTtlMs],
      ['/ca.pem', 3000, 0],
    );
    assert.equal(parsed.config.workingDirShell, '/bin/sh');
    const defaults = readConfig(minimal);
    assert.ok(defaults.ok);
    assert.deepEqual(defaults.config.registry.mirrors, new Map());
    assert.deepEqual(
      [defaults.config.registry.waitMs, defaults.config.registry.cacheTtlMs],
      [10_000, 60_000],
    );
    assert.equal(defaults.config.workingDirShell, undefined);
  });

  it('refuses mirrors that are not https registry roots, and a shell that is not a path', () => {
    const parsed = readConfig({
      ...minimal,
      REGISTRY_MIRRORS: 'docker.io=http://m.example,=https://x.example,quay.io=https://q.example/v2/prefix',
      ACI_WORKING_DIR_SHELL: 'sh -e',
    });
    assert.ok(!parsed.ok);
    assert.deepEqual(parsed.problems, [
      'REGISTRY_MIRRORS must list registry=https://host[:port] pairs, got "docker.io=http://m.example"',
      'REGISTRY_MIRRORS must list registry=https://host[:port] pairs, got "=https://x.example"',
      'REGISTRY_MIRRORS must list registry=https://host[:port] pairs, got "quay.io=https://q.example/v2/prefix"',
      'ACI_WORKING_DIR_SHELL must be an absolute path such as /bin/sh, got "sh -e"',
    ]);
  });

  it('lists every problem at once', () => {
    const parsed = readConfig({
      KUBELET_PORT: 'ten',
      NODE_MEMORY: 'lots',
      AZURE_CLIENT_SECRET: 's',
      AZURE_RESOURCE_MANAGER_ENDPOINT: 'not a url',
      KUBELET_TLS_CERT_FILE: '/cert.pem',
    });
    assert.equal(parsed.ok, false);
    assert.ok(!parsed.ok);
    const text = parsed.problems.join('\n');
    for (const expected of [
      'AZURE_SUBSCRIPTION_ID is required',
      'ACI_RESOURCE_GROUP is required',
      'KUBELET_PORT must be a whole number',
      'NODE_MEMORY must be a positive Kubernetes quantity',
      'needs AZURE_TENANT_ID and AZURE_CLIENT_ID',
      'AZURE_RESOURCE_MANAGER_ENDPOINT must be a URL',
      'KUBELET_TLS_CERT_FILE and KUBELET_TLS_KEY_FILE go together',
    ]) {
      assert.ok(text.includes(expected), `missing: ${expected}\n${text}`);
    }
    assert.equal(parsed.problems.length, 7);
  });

  it('takes half of the reads ARM reports left by default; the share is a percentage from 1 to 100', () => {
    const defaults = readConfig(minimal);
    assert.ok(defaults.ok);
    assert.equal(defaults.config.timing.readBudgetShare, 0.5);
    const all = readConfig({ ...minimal, ACI_READ_BUDGET_PERCENT: '100' });
    assert.ok(all.ok);
    assert.equal(all.config.timing.readBudgetShare, 1);
    for (const [value, problem] of [
      ['101', 'ACI_READ_BUDGET_PERCENT must be a whole number from 1 to 100, got "101"'],
      ['0', 'ACI_READ_BUDGET_PERCENT must be a whole number from 1 to 100, got "0"'],
    ] as const) {
      const wrong = readConfig({ ...minimal, ACI_READ_BUDGET_PERCENT: value });
      assert.ok(!wrong.ok);
      assert.deepEqual(wrong.problems, [problem]);
    }
  });

  it('reads Azure Monitor once a minute, at most 300 reads a minute; 0 turns the reads off', () => {
    const defaults = readConfig(minimal);
    assert.ok(defaults.ok);
    assert.deepEqual(defaults.config.metrics, { refreshIntervalMs: 60_000, maxReadsPerMinute: 300 });
    const off = readConfig({ ...minimal, ACI_METRICS_REFRESH_SECONDS: '0' });
    assert.ok(off.ok);
    assert.equal(off.config.metrics.refreshIntervalMs, 0);
    const wrong = readConfig({ ...minimal, ACI_METRICS_MAX_READS_PER_MINUTE: '0' });
    assert.ok(!wrong.ok);
    assert.deepEqual(wrong.problems, [
      'ACI_METRICS_MAX_READS_PER_MINUTE must be a whole number >= 1, got "0"',
    ]);
  });

  const SUBNET =
    '/subscriptions/sub/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aci';
  const networkCases: { name: string; env: Record<string, string>; network?: object; problem?: RegExp }[] = [
    {
      name: 'no subnet, public IPs on request only, cluster.local',
      env: {},
      network: {
        subnet: undefined,
        exposePortsPublicly: false,
        clusterDnsIP: undefined,
        clusterDomain: 'cluster.local',
      },
    },
    {
      name: 'a subnet, the DNS IP and domain',
      env: { ACI_SUBNET_ID: SUBNET, KUBE_DNS_IP: '10.0.0.10', CLUSTER_DOMAIN: 'k8s.internal' },
      network: {
        subnet: {
          id: SUBNET,
          subscriptionId: 'sub',
          resourceGroup: 'net',
          virtualNetwork: 'vnet',
          subnet: 'aci',
        },
        exposePortsPublicly: false,
        clusterDnsIP: '10.0.0.10',
        clusterDomain: 'k8s.internal',
      },
    },
    {
      name: 'the old default restored',
      env: { ACI_EXPOSE_PORTS_PUBLICLY: 'true' },
      network: {
        subnet: undefined,
        exposePortsPublicly: true,
        clusterDnsIP: undefined,
        clusterDomain: 'cluster.local',
      },
    },
    {
      name: 'a subnet name instead of its id',
      env: { ACI_SUBNET_ID: 'aci' },
      problem: /ACI_SUBNET_ID must be a subnet's ARM id/,
    },
    {
      name: 'a virtual network id',
      env: { ACI_SUBNET_ID: SUBNET.replace('/subnets/aci', '') },
      problem: /ACI_SUBNET_ID/,
    },
    {
      name: 'a DNS name for the DNS IP',
      env: { KUBE_DNS_IP: 'kube-dns' },
      problem: /KUBE_DNS_IP must be an IP address/,
    },
  ];
  for (const row of networkCases) {
    it(`reads the network settings: ${row.name}`, () => {
      const parsed = readConfig({ ...minimal, ...row.env });
      if (row.problem) {
        assert.ok(!parsed.ok);
        assert.match(parsed.problems.join('\n'), row.problem);
      } else {
        assert.ok(parsed.ok);
        assert.deepEqual(parsed.config.network, row.network);
      }
    });
  }

  it('reads the identity settings: the pull identity and its registries, the workload identity defaults', () => {
    const identity =
      '/subscriptions/0b1f6471-1bf0-4dda-aec3-cb9272f09590/resourceGroups/ids/providers/Microsoft.ManagedIdentity/userAssignedIdentities/pull';
    const defaults = readConfig({ ...minimal, AZURE_TENANT_ID: 'tenant' });
    assert.ok(defaults.ok);
    assert.deepEqual(defaults.config.identity, {
      workloadIdentity: {
        tenantId: 'tenant',
        authorityHost: 'https://login.microsoftonline.com/',
        recreateBeforeExpiry: false,
      },
      registryIdentity: undefined,
    });
    const set = readConfig({
      ...minimal,
      ACI_REGISTRY_IDENTITY: identity,
      ACI_REGISTRY_IDENTITY_SERVERS: 'shop.azurecr.io, *.example.com',
      ACI_WORKLOAD_IDENTITY_TENANT_ID: 'wi-tenant',
      ACI_WORKLOAD_IDENTITY_RECREATE: 'true',
    });
    assert.ok(set.ok);
    assert.deepEqual(set.config.identity.registryIdentity, {
      identity,
      servers: ['shop.azurecr.io', '*.example.com'],
    });
    assert.equal(set.config.identity.workloadIdentity.tenantId, 'wi-tenant');
    assert.equal(set.config.identity.workloadIdentity.recreateBeforeExpiry, true);
    const wrong = readConfig({
      ...minimal,
      ACI_REGISTRY_IDENTITY: 'pull-identity',
      ACI_REGISTRY_IDENTITY_SERVERS: 'https://shop.azurecr.io',
    });
    assert.ok(!wrong.ok);
    assert.deepEqual(
      wrong.problems.map((problem) => problem.split(' ')[0]),
      ['ACI_REGISTRY_IDENTITY', 'ACI_REGISTRY_IDENTITY_SERVERS'],
    );
  });

  it('documents every variable it reads', () => {
    for (const name of Object.keys(ENVIRONMENT))
      assert.ok(ENVIRONMENT[name as keyof typeof ENVIRONMENT].length > 10);
  });
});
