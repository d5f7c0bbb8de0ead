import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { advanceGroup, beginProvisioning, groupStateAt, provisioningStateAt } from './lifecycle.ts';
import type { AzureFileShare, GroupSpec } from './spec.ts';
import { containersFailingMounts, shareMountFailure, type StorageAccountFixture } from './storage.ts';

const ACCOUNTS: StorageAccountFixture[] = [{ name: 'shopfiles', key: 'a2V5PT0=', shares: ['uploads'] }];
const share = (overrides: Partial<AzureFileShare>): AzureFileShare => ({
  shareName: 'uploads',
  storageAccountName: 'shopfiles',
  storageAccountKey: 'a2V5PT0=',
  readOnly: false,
  ...overrides,
});

describe('shareMountFailure', () => {
  const table: { name: string; share: AzureFileShare; failure: RegExp | undefined }[] = [
    { name: 'the right account, key and share', share: share({}), failure: undefined },
    {
      name: 'names in another case',
      share: share({ storageAccountName: 'ShopFiles', shareName: 'Uploads' }),
      failure: undefined,
    },
    {
      name: 'a wrong key',
      share: share({ storageAccountKey: 'd3Jvbmc=' }),
      failure: /key of storage account 'shopfiles' is wrong/,
    },
    { name: 'no key', share: share({ storageAccountKey: undefined }), failure: /key .* is wrong/ },
    {
      name: 'a missing share',
      share: share({ shareName: 'backups' }),
      failure: /share 'backups' does not exist/,
    },
    {
      name: 'an unknown account',
      share: share({ storageAccountName: 'other' }),
      failure: /storage account 'other' does not exist/,
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      const failure = shareMountFailure(row.share, ACCOUNTS);
      if (row.failure === undefined) assert.equal(failure, undefined);
      else assert.match(failure ?? '', row.failure);
    });
  }
});

describe('a container mounting a share that does not mount', () => {
  const spec = (key: string): GroupSpec => ({
    location: 'westus',
    osType: 'Linux',
    restartPolicy: 'Always',
    cpu: 1,
    memoryInGB: 1,
    initContainers: [],
    userAssignedIdentities: [],
    volumes: [{ name: 'data', kind: 'azureFile', files: {}, share: share({ storageAccountKey: key }) }],
    containers: ['app', 'sidecar'].map((name) => ({
      name,
      image: 'nginx',
      command: [],
      environmentVariables: [],
      ports: [],
      volumeMounts: name === 'app' ? [{ name: 'data', mountPath: '/data', readOnly: false }] : [],
      cpu: 0.5,
      memoryInGB: 0.5,
    })),
  });

  it('is named only with fixtures, and only when it mounts the share', () => {
    assert.deepEqual([...containersFailingMounts(spec('wrong'), ACCOUNTS).keys()], ['app']);
    assert.deepEqual([...containersFailingMounts(spec('a2V5PT0='), ACCOUNTS).keys()], []);
    assert.deepEqual([...containersFailingMounts(spec('wrong'), undefined).keys()], []);
  });

  it('waits with FailedMountAzureFileVolume after provisioning succeeds, as Azure shows it', () => {
    const timeline = { pendingMs: 10, creatingMs: 20, backoffBaseMs: 100, backoffMaxMs: 100 };
    const runtime = beginProvisioning(
      [{ name: 'app', image: 'nginx', behaviour: { kind: 'mount-fail' } }],
      { kind: 'Create', restartPolicy: 'Always', region: 'westus' },
      0,
      timeline,
    );
    const later = advanceGroup(runtime, 1000, timeline);
    assert.equal(provisioningStateAt(later.provisioning, 1000), 'Succeeded');
    assert.equal(groupStateAt(later, 1000), 'Running');
    const [app] = later.containers;
    assert.ok(app);
    assert.equal(app.currentState.state, 'Waiting');
    assert.deepEqual(app.events.map((event) => [event.name, event.type, event.message]).at(-1), [
      'FailedMountAzureFileVolume',
      'Warning',
      'Failed to mount Azure File Volume.',
    ]);
  });
});
