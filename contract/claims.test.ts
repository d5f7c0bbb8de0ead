import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type {
  V1PersistentVolume,
  V1PersistentVolumeClaim,
  V1PersistentVolumeSpec,
  V1Pod,
  V1Secret,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { checkPod, DEFAULT_ACI_LIMITS } from './capability.ts';
import { volumeSecret } from './claims.ts';
import { DEFAULT_NETWORK_SETTINGS } from './network.ts';
import { podReferences, referenceCount } from './references.ts';
import { type GroupSettings, toContainerGroup } from './translate.ts';
import type { ClaimedVolumes, ReferencedObjects } from './types.ts';

const settings: GroupSettings = {
  region: 'westus',
  nodeName: 'aci-connector',
  clusterId: 'cluster-7f3a',
  limits: DEFAULT_ACI_LIMITS,
  network: DEFAULT_NETWORK_SETTINGS,
};
const b64 = (text: string): string => Buffer.from(text).toString('base64');

function podWith(volume: V1Volume, mount: Partial<V1VolumeMount> = {}): V1Pod {
  return {
    metadata: { name: 'app', namespace: 'shop', uid: 'uid-1' },
    spec: {
      containers: [
        { name: 'app', image: 'app:1', volumeMounts: [{ name: 'data', mountPath: '/data', ...mount }] },
      ],
      volumes: [volume],
      automountServiceAccountToken: false,
    },
  };
}
const claimVolume = (readOnly?: boolean): V1Volume => ({
  name: 'data',
  persistentVolumeClaim: { claimName: 'uploads', ...(readOnly === undefined ? {} : { readOnly }) },
});

function boundClaim(volumeName = 'pv-uploads'): V1PersistentVolumeClaim {
  return {
    metadata: { name: 'uploads', namespace: 'shop' },
    spec: { volumeName, accessModes: ['ReadWriteMany'] },
    status: { phase: 'Bound' },
  };
}
function persistentVolume(spec: V1PersistentVolumeSpec): V1PersistentVolume {
  return {
    metadata: { name: 'pv-uploads' },
    spec: { claimRef: { namespace: 'shop', name: 'uploads' }, accessModes: ['ReadWriteMany'], ...spec },
  };
}
const CSI_PV = persistentVolume({
  csi: {
    driver: 'file.csi.azure.com',
    volumeHandle: 'storage-rg#shopfiles#uploads#',
    volumeAttributes: { shareName: 'uploads' },
    nodeStageSecretRef: { name: 'azure-storage', namespace: 'storage' },
  },
});
const STORAGE_SECRET: V1Secret = {
  metadata: { name: 'azure-storage' },
  data: { azurestorageaccountname: b64('shopfiles\n'), azurestorageaccountkey: b64('a2V5PT0=') },
};

function objects(claimed: Partial<ClaimedVolumes>): ReferencedObjects {
  return {
    configMaps: new Map(),
    secrets: new Map(),
    serviceAccount: { metadata: { name: 'default' } },
    claimed: {
      claims: new Map([['uploads', boundClaim()]]),
      volumes: new Map([['pv-uploads', CSI_PV]]),
      secrets: new Map([['storage/azure-storage', STORAGE_SECRET]]),
      ...claimed,
    },
  };
}

describe('persistentVolumeClaim volumes', () => {
  const mapped: {
    name: string;
    volume?: V1Volume;
    mount?: Partial<V1VolumeMount>;
    claimed?: Partial<ClaimedVolumes>;
    azureFile: object;
    mountReadOnly: boolean;
  }[] = [
    {
      name: 'a static file.csi.azure.com volume, its Secret in another namespace',
      azureFile: { shareName: 'uploads', storageAccountName: 'shopfiles', storageAccountKey: 'a2V5PT0=' },
      mountReadOnly: false,
    },
    {
      name: 'the account from the volumeHandle when the Secret has only the key',
      claimed: {
        secrets: new Map([['storage/azure-storage', { data: { azurestorageaccountkey: b64('a2V5PT0=') } }]]),
        volumes: new Map([
          [
            'pv-uploads',
            persistentVolume({
              csi: {
                driver: 'file.csi.azure.com',
                volumeHandle: 'storage-rg#handleaccount#handleshare',
                nodeStageSecretRef: { name: 'azure-storage', namespace: 'storage' },
              },
            }),
          ],
        ]),
      },
      azureFile: {
        shareName: 'handleshare',
        storageAccountName: 'handleaccount',
        storageAccountKey: 'a2V5PT0=',
      },
      mountReadOnly: false,
    },
    {
      name: 'an in-tree azureFile volume, read-only, its Secret in the claim namespace',
      claimed: {
        volumes: new Map([
          [
            'pv-uploads',
            persistentVolume({ azureFile: { secretName: 'files', shareName: 'docs', readOnly: true } }),
          ],
        ]),
        secrets: new Map([['shop/files', STORAGE_SECRET]]),
      },
      azureFile: {
        shareName: 'docs',
        storageAccountName: 'shopfiles',
        storageAccountKey: 'a2V5PT0=',
        readOnly: true,
      },
      mountReadOnly: true,
    },
    {
      name: 'a claim the pod mounts read-only',
      volume: claimVolume(true),
      azureFile: {
        shareName: 'uploads',
        storageAccountName: 'shopfiles',
        storageAccountKey: 'a2V5PT0=',
        readOnly: true,
      },
      mountReadOnly: true,
    },
    {
      name: 'a read-only mount of a writable claim',
      mount: { readOnly: true },
      azureFile: { shareName: 'uploads', storageAccountName: 'shopfiles', storageAccountKey: 'a2V5PT0=' },
      mountReadOnly: true,
    },
  ];
  for (const row of mapped) {
    it(`mounts ${row.name} as an ACI azureFile volume`, () => {
      const translation = toContainerGroup(
        podWith(row.volume ?? claimVolume(), row.mount),
        objects(row.claimed ?? {}),
        settings,
      );
      assert.ok(translation.kind === 'ready', JSON.stringify(translation));
      assert.deepEqual(translation.group.volumes, [{ name: 'data', azureFile: row.azureFile }]);
      assert.deepEqual(translation.group.containers[0]?.volumeMounts, [
        { name: 'data', mountPath: '/data', ...(row.mountReadOnly ? { readOnly: true } : {}) },
      ]);
    });
  }

  const waiting: { name: string; claimed: Partial<ClaimedVolumes>; path: string; message: RegExp }[] = [
    {
      name: 'a claim that does not exist',
      claimed: { claims: new Map() },
      path: 'spec.volumes[0].persistentVolumeClaim.claimName',
      message: /PersistentVolumeClaim "uploads" does not exist in namespace "shop"/,
    },
    {
      name: 'an unbound claim',
      claimed: {
        claims: new Map([
          ['uploads', { metadata: { name: 'uploads' }, spec: {}, status: { phase: 'Pending' } }],
        ]),
      },
      path: 'spec.volumes[0].persistentVolumeClaim.claimName',
      message: /is not bound to a PersistentVolume yet \(phase Pending\)/,
    },
    {
      name: 'a hostPath volume',
      claimed: { volumes: new Map([['pv-uploads', persistentVolume({ hostPath: { path: '/srv' } })]]) },
      path: 'spec.volumes[0].persistentVolumeClaim',
      message:
        /bound to PersistentVolume "pv-uploads" \(hostPath\), and ACI can mount only Azure Files shares/,
    },
    {
      name: 'a volume of another CSI driver',
      claimed: {
        volumes: new Map([
          ['pv-uploads', persistentVolume({ csi: { driver: 'disk.csi.azure.com', volumeHandle: 'disk-1' } })],
        ]),
      },
      path: 'spec.volumes[0].persistentVolumeClaim',
      message: /\(CSI driver disk.csi.azure.com\), and ACI can mount only Azure Files shares/,
    },
    {
      name: 'a CSI volume naming its Secret only in volumeAttributes (the node may not read it)',
      claimed: {
        volumes: new Map([
          [
            'pv-uploads',
            persistentVolume({
              csi: {
                driver: 'file.csi.azure.com',
                volumeHandle: 'rg#acct#share',
                volumeAttributes: { secretName: 'azure-storage' },
              },
            }),
          ],
        ]),
      },
      path: 'spec.volumes[0].persistentVolumeClaim',
      message: /names no Secret .* in spec.csi.nodeStageSecretRef \(volumeAttributes names "azure-storage"\)/,
    },
    {
      name: 'an NFS share',
      claimed: {
        volumes: new Map([
          [
            'pv-uploads',
            persistentVolume({
              csi: { driver: 'file.csi.azure.com', volumeHandle: 'h', volumeAttributes: { protocol: 'nfs' } },
            }),
          ],
        ]),
      },
      path: 'spec.volumes[0].persistentVolumeClaim',
      message: /over nfs, and ACI mounts Azure Files shares over SMB only/,
    },
    {
      name: 'mount options',
      claimed: {
        volumes: new Map([
          ['pv-uploads', { ...CSI_PV, spec: { ...CSI_PV.spec, mountOptions: ['dir_mode=0777'] } }],
        ]),
      },
      path: 'spec.volumes[0].persistentVolumeClaim',
      message: /sets mountOptions/,
    },
    {
      name: 'a missing Secret',
      claimed: { secrets: new Map() },
      path: 'spec.volumes[0].persistentVolumeClaim',
      message:
        /Secret "azure-storage" in namespace "storage", named by the claim's PersistentVolume \(spec.csi.nodeStageSecretRef\), does not exist/,
    },
    {
      name: 'a Secret without the key',
      claimed: {
        secrets: new Map([['storage/azure-storage', { data: { azurestorageaccountname: b64('a') } }]]),
      },
      path: 'spec.volumes[0].persistentVolumeClaim',
      message: /has no azurestorageaccountkey/,
    },
  ];
  for (const row of waiting) {
    it(`keeps the pod waiting on ${row.name}, naming the field`, () => {
      const translation = toContainerGroup(podWith(claimVolume()), objects(row.claimed), settings);
      assert.ok(translation.kind === 'waiting', JSON.stringify(translation));
      assert.deepEqual(
        translation.problems.map((problem) => [problem.path, problem.kind]),
        [[row.path, 'missing-reference']],
      );
      assert.match(translation.problems[0]?.message ?? '', row.message);
    });
  }

  it('refuses a subPath of a claim: ACI mounts whole shares', () => {
    const problems = checkPod(podWith(claimVolume(), { subPath: 'tenant-a' }));
    assert.deepEqual(
      problems.map((problem) => [problem.path, problem.kind]),
      [['spec.containers[0].volumeMounts[0].subPath', 'unsupported']],
    );
  });

  it('accepts a claim from the spec alone, which cannot say what it is bound to', () => {
    assert.deepEqual(checkPod(podWith(claimVolume())), []);
  });

  it('names each claim once, and counts three reads for it', () => {
    const pod = podWith(claimVolume());
    pod.spec?.volumes?.push({ name: 'again', persistentVolumeClaim: { claimName: 'uploads' } });
    assert.deepEqual(podReferences(pod).claims, ['uploads']);
    assert.equal(referenceCount(pod), 3);
  });
});

describe('volumeSecret', () => {
  const table: { name: string; volume: V1PersistentVolume; secret: object | undefined }[] = [
    { name: 'nodeStageSecretRef', volume: CSI_PV, secret: { namespace: 'storage', name: 'azure-storage' } },
    {
      name: "nodeStageSecretRef without a namespace: the driver's default",
      volume: persistentVolume({
        csi: { driver: 'file.csi.azure.com', volumeHandle: 'h', nodeStageSecretRef: { name: 's' } },
      }),
      secret: { namespace: 'default', name: 's' },
    },
    {
      name: 'in-tree azureFile without secretNamespace: the claim namespace',
      volume: persistentVolume({ azureFile: { secretName: 's', shareName: 'x' } }),
      secret: { namespace: 'shop', name: 's' },
    },
    {
      name: 'in-tree azureFile with secretNamespace',
      volume: persistentVolume({ azureFile: { secretName: 's', shareName: 'x', secretNamespace: 'vault' } }),
      secret: { namespace: 'vault', name: 's' },
    },
    {
      name: 'another driver: none',
      volume: persistentVolume({
        csi: { driver: 'disk.csi.azure.com', volumeHandle: 'h', nodeStageSecretRef: { name: 's' } },
      }),
      secret: undefined,
    },
  ];
  for (const row of table) {
    it(row.name, () => {
      assert.deepEqual(volumeSecret(row.volume, 'shop'), row.secret);
    });
  }
});
