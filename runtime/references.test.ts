import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiException, type CoreV1Api, type V1ConfigMap, type V1Secret } from '@kubernetes/client-node';
import { ClassifiedError } from './errors.ts';
import { MAX_POD_REFERENCES } from '../contract/index.ts';
import {
  CONCURRENT_READS,
  kubernetesReferenceReader,
  readReferencedObjects,
  withoutSecretValues,
  type ReferenceReader,
} from './references.ts';

const existing = {
  configMaps: new Map<string, V1ConfigMap>([
    ['nginx-conf', { metadata: { name: 'nginx-conf' }, data: { 'nginx.conf': 'events {}' } }],
  ]),
  secrets: new Map<string, V1Secret>([['db', { metadata: { name: 'db' }, data: { password: 'c2VjcmV0' } }]]),
};

function recordingReader(calls: string[]): ReferenceReader {
  return {
    configMap: (namespace, name) => {
      calls.push(`configmap ${namespace}/${name}`);
      return Promise.resolve(existing.configMaps.get(name));
    },
    secret: (namespace, name) => {
      calls.push(`secret ${namespace}/${name}`);
      return Promise.resolve(existing.secrets.get(name));
    },
    serviceAccount: (namespace, name) => {
      calls.push(`serviceaccount ${namespace}/${name}`);
      return Promise.resolve(name === 'default' ? { metadata: { name } } : undefined);
    },
    claim: (namespace, name) => {
      calls.push(`claim ${namespace}/${name}`);
      return Promise.resolve(undefined);
    },
    persistentVolume: (name) => {
      calls.push(`persistentvolume ${name}`);
      return Promise.resolve(undefined);
    },
  };
}

describe('readReferencedObjects', () => {
  it('reads each named object once, by name, and leaves missing ones out', async () => {
    const calls: string[] = [];
    const objects = await readReferencedObjects(recordingReader(calls), 'batch', {
      configMaps: ['nginx-conf', 'absent', 'nginx-conf'],
      secrets: ['db', 'shipper-credentials'],
      serviceAccountName: 'builder',
      optionalConfigMaps: ['absent'],
      optionalSecrets: [],
      claims: [],
    });
    assert.deepEqual(calls.sort(), [
      'configmap batch/absent',
      'configmap batch/nginx-conf',
      'secret batch/db',
      'secret batch/shipper-credentials',
      'serviceaccount batch/builder',
    ]);
    assert.deepEqual([...objects.configMaps.keys()], ['nginx-conf']);
    assert.deepEqual([...objects.secrets.keys()], ['db']);
    assert.equal(objects.serviceAccount, undefined);
  });

  it("reads a claim, then the volume bound to it, then that volume's Secret where the volume names it", async () => {
    const calls: string[] = [];
    const reader: ReferenceReader = {
      ...recordingReader(calls),
      claim: (namespace, name) => {
        calls.push(`claim ${namespace}/${name}`);
        const bound = { spec: { volumeName: 'pv-uploads' }, status: { phase: 'Bound' } };
        return Promise.resolve(name === 'uploads' ? { metadata: { name }, ...bound } : undefined);
      },
      persistentVolume: (name) => {
        calls.push(`persistentvolume ${name}`);
        const csi = {
          driver: 'file.csi.azure.com',
          volumeHandle: 'rg#acct#uploads',
          nodeStageSecretRef: { name: 'db', namespace: 'storage' },
        };
        return Promise.resolve({ metadata: { name }, spec: { csi } });
      },
    };
    const objects = await readReferencedObjects(reader, 'batch', {
      configMaps: [],
      secrets: [],
      serviceAccountName: 'default',
      optionalConfigMaps: [],
      optionalSecrets: [],
      claims: ['uploads', 'absent'],
    });
    assert.deepEqual(calls, [
      'serviceaccount batch/default',
      'claim batch/uploads',
      'claim batch/absent',
      'persistentvolume pv-uploads',
      'secret storage/db',
    ]);
    assert.deepEqual([...(objects.claimed?.claims.keys() ?? [])], ['uploads']);
    assert.deepEqual([...(objects.claimed?.volumes.keys() ?? [])], ['pv-uploads']);
    assert.deepEqual([...(objects.claimed?.secrets.keys() ?? [])], ['storage/db']);
  });

  it('reads a few at a time', async () => {
    let inFlight = 0;
    let most = 0;
    const slow = async (): Promise<undefined> => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setImmediate(resolve));
      inFlight -= 1;
      return undefined;
    };
    const reader: ReferenceReader = {
      configMap: slow,
      secret: slow,
      serviceAccount: () => Promise.resolve(undefined),
      claim: () => Promise.resolve(undefined),
      persistentVolume: () => Promise.resolve(undefined),
    };
    const names = Array.from({ length: 40 }, (_, index) => `object-${index}`);
    await readReferencedObjects(reader, 'batch', {
      configMaps: names,
      secrets: names,
      serviceAccountName: 'default',
      optionalConfigMaps: [],
      optionalSecrets: [],
      claims: [],
    });
    assert.equal(most, CONCURRENT_READS);
  });

  it('reads nothing for a pod naming more objects than the bound, and says which bound', async () => {
    const calls: string[] = [];
    const names = Array.from({ length: 60_000 }, (_, index) => `map-${index % (MAX_POD_REFERENCES + 1)}`);
    await assert.rejects(
      readReferencedObjects(recordingReader(calls), 'batch', {
        configMaps: names,
        secrets: [],
        serviceAccountName: 'default',
        optionalConfigMaps: [],
        optionalSecrets: [],
        claims: [],
      }),
      (error: unknown) => {
        assert.ok(error instanceof ClassifiedError);
        assert.equal(error.kind, 'InvalidInput');
        assert.match(
          error.message,
          /references 101 ConfigMaps, Secrets and claims \(three reads each\), and at most 100 are read for one pod/,
        );
        return true;
      },
    );
    assert.deepEqual(calls, []);
  });
});

describe('withoutSecretValues', () => {
  it('keeps the keys and type, blanks every value', () => {
    const secret: V1Secret = {
      metadata: { name: 'db' },
      type: 'Opaque',
      data: { password: 'c2VjcmV0', user: 'YWRtaW4=' },
      stringData: { url: 'postgres://admin:secret@db' },
    };
    assert.deepEqual(withoutSecretValues(secret), {
      metadata: { name: 'db' },
      type: 'Opaque',
      data: { password: '', user: '' },
      stringData: { url: '' },
    });
  });
});

describe('kubernetesReferenceReader', () => {
  const notFound = (): Promise<never> =>
    Promise.reject(new ApiException(404, 'not found', '{"kind":"Status","reason":"NotFound"}', {}));
  const forbidden = (): Promise<never> =>
    Promise.reject(
      new ApiException(
        403,
        'forbidden',
        '{"kind":"Status","reason":"Forbidden","message":"secrets \\"db\\" is forbidden"}',
        {},
      ),
    );
  const core = {
    readNamespacedConfigMap: notFound,
    readNamespacedSecret: ({ name }: { name: string }) =>
      name === 'db' ? Promise.resolve(existing.secrets.get('db')) : forbidden(),
    readNamespacedServiceAccount: () => Promise.resolve({ metadata: { name: 'default' } }),
  } as unknown as CoreV1Api;
  const reader = kubernetesReferenceReader(core, { secretValues: 'blank' });

  it('turns 404 into undefined', async () => {
    assert.equal(await reader.configMap('batch', 'absent'), undefined);
  });
  it('returns a secret without its values when asked to blank them (the webhook)', async () => {
    assert.deepEqual((await reader.secret('batch', 'db'))?.data, { password: '' });
  });
  it('keeps a secret’s values when the connector needs them', async () => {
    const keeping = kubernetesReferenceReader(core, { secretValues: 'keep' });
    assert.deepEqual((await keeping.secret('batch', 'db'))?.data, existing.secrets.get('db')?.data);
  });
  it('throws anything else classified', async () => {
    await assert.rejects(reader.secret('batch', 'other'), (error: unknown) => {
      assert.ok(error instanceof ClassifiedError);
      assert.equal(error.kind, 'Unauthorized');
      assert.equal(error.message, 'secrets "db" is forbidden');
      return true;
    });
  });
});
