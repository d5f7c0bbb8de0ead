import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_ACI_LIMITS } from '../../contract/index.ts';
import { behaviourFor } from './behaviour.ts';
import { advanceGroup, beginProvisioning, TIMELINES } from './lifecycle.ts';
import { parseGroupSpec } from './spec.ts';
import { groupView, operationView, type GroupRecord } from './views.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const SECRETS = ['env-secret', 'c2VjcmV0', 'storage-key', 'registry-pass', 'workspace-key'];

function record(): GroupRecord {
  const body = {
    location: 'westus',
    properties: {
      osType: 'Linux',
      containers: [
        {
          name: 'app',
          properties: {
            image: 'nginx',
            ports: [{ port: 80 }],
            environmentVariables: [
              { name: 'A', value: 'plain' },
              { name: 'B', secureValue: 'env-secret' },
            ],
            resources: { requests: { cpu: 1, memoryInGB: 1 } },
          },
        },
      ],
      initContainers: [
        {
          name: 'init',
          properties: { image: 'busybox', environmentVariables: [{ name: 'C', secureValue: 'env-secret' }] },
        },
      ],
      volumes: [
        { name: 's', secret: { f: 'c2VjcmV0' } },
        {
          name: 'f',
          azureFile: { shareName: 'x', storageAccountName: 'y', storageAccountKey: 'storage-key' },
        },
      ],
      imageRegistryCredentials: [{ server: 'r.io', username: 'u', password: 'registry-pass' }],
      diagnostics: { logAnalytics: { workspaceId: 'w', workspaceKey: 'workspace-key' } },
      ipAddress: { type: 'Public', ports: [{ port: 80 }], dnsNameLabel: 'web-burst' },
    },
  };
  const spec = parseGroupSpec(body, { groupName: 'web', regions: ['westus'], limits: DEFAULT_ACI_LIMITS });
  const runtime = beginProvisioning(
    spec.containers.map((c) => ({ name: c.name, image: c.image, behaviour: behaviourFor(c) })),
    { kind: 'Create', restartPolicy: spec.restartPolicy, region: 'westus' },
    T0,
    TIMELINES.fast,
  );
  return { subscriptionId: 'sub', resourceGroup: 'rg', name: 'web', body, tags: { a: 'b' }, spec, runtime };
}

describe('groupView', () => {
  it('never contains a secret, with or without instance views', () => {
    for (const instanceView of [true, false]) {
      const text = JSON.stringify(groupView(record(), T0, { instanceView }));
      for (const secret of SECRETS) assert.ok(!text.includes(secret), `${secret} leaked`);
    }
  });

  it('computes ARM fields: id, defaults, Pending on PUT, IP and FQDN', () => {
    const view = groupView({ ...record(), address: '127.9.8.7' }, T0, { instanceView: true }) as {
      id: string;
      properties: Record<string, unknown>;
    };
    assert.equal(
      view.id,
      '/subscriptions/sub/resourceGroups/rg/providers/Microsoft.ContainerInstance/containerGroups/web',
    );
    assert.equal(view.properties['provisioningState'], 'Pending');
    assert.equal(view.properties['sku'], 'Standard');
    assert.equal(view.properties['restartPolicy'], 'Always');
    assert.deepEqual(view.properties['instanceView'], { events: [], state: 'Pending' });
    const ip = view.properties['ipAddress'] as { ip: string; fqdn: string };
    assert.equal(ip.ip, '127.9.8.7');
    assert.equal(ip.fqdn, 'web-burst.westus.azurecontainer.io');
  });

  it('shows no ip until the group has its address', () => {
    const view = groupView(record(), T0, { instanceView: true }) as { properties: Record<string, unknown> };
    assert.deepEqual(Object.keys(view.properties['ipAddress'] as object).sort(), [
      'dnsNameLabel',
      'fqdn',
      'ports',
      'type',
    ]);
  });

  it('omits instance views in lists', () => {
    const base = record();
    const running = { ...base, runtime: advanceGroup(base.runtime, T0 + 1000, TIMELINES.fast) };
    const view = groupView(running, T0 + 1000, { instanceView: false }) as {
      properties: Record<string, unknown>;
    };
    assert.equal(view.properties['instanceView'], undefined);
    assert.ok(!JSON.stringify(view).includes('"instanceView"'));
    assert.equal(view.properties['provisioningState'], 'Succeeded');
  });
});

describe('operationView', () => {
  it('reports status by time and the error once failed', () => {
    const operation = {
      id: 'op',
      groupId: '/g',
      location: 'westus',
      provisioning: {
        kind: 'Create' as const,
        startedAt: T0,
        creatingAt: T0 + 10,
        finishedAt: T0 + 20,
        failure: { code: 'InaccessibleImage', message: 'no' },
      },
    };
    assert.deepEqual(
      [T0, T0 + 10, T0 + 20].map((now) => operationView(operation, now)['status']),
      ['Pending', 'Creating', 'Failed'],
    );
    assert.deepEqual(operationView(operation, T0 + 20)['error'], {
      code: 'InaccessibleImage',
      message: 'no',
    });
    assert.equal(operationView(operation, T0)['error'], undefined);
  });
});
