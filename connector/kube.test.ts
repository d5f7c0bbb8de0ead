import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { MAX_POD_REFERENCES } from '../contract/index.ts';
import { KubePodApi } from './kube.ts';

/** A client for an API server that is not there: any request it sends fails. */
function unreachableApiServer(): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'none', server: 'https://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'nobody' }],
    contexts: [{ name: 'none', cluster: 'none', user: 'nobody' }],
    currentContext: 'none',
  });
  return kubeConfig;
}

function podNaming(configMaps: number): V1Pod {
  const envFrom = Array.from({ length: configMaps }, (_, index) => ({
    configMapRef: { name: `map-${index}` },
  }));
  return {
    metadata: { name: 'p', namespace: 'shop', uid: 'u' },
    spec: { containers: [{ name: 'app', image: 'app:1', envFrom }] },
  };
}

describe('KubePodApi.fetchReferences', () => {
  const api = new KubePodApi(unreachableApiServer(), undefined);

  it('reads nothing for a pod naming more objects than the bound (the translation refuses it)', async () => {
    assert.deepEqual(await api.fetchReferences(podNaming(MAX_POD_REFERENCES + 1)), {
      configMaps: new Map(),
      secrets: new Map(),
      serviceAccount: undefined,
    });
  });

  it('reads the objects of a pod within the bound', async () => {
    await assert.rejects(api.fetchReferences(podNaming(MAX_POD_REFERENCES)));
  });
});
