import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binaryCacheRoot, binaryPaths, defaultStateDir, requiredVersion } from './layout.ts';

const GO_MOD = `module github.com/aci-burst/controlplane/kubernetes

go 1.26.0

require k8s.io/kubernetes v1.36.3

require (
	go.etcd.io/etcd/server/v3 v3.6.16 // indirect
	k8s.io/kubernetes-extra v9.9.9 // indirect
)
`;

describe('requiredVersion', () => {
  const cases = [
    { module: 'k8s.io/kubernetes', expected: 'v1.36.3' },
    { module: 'go.etcd.io/etcd/server/v3', expected: 'v3.6.16' },
    { module: 'k8s.io/kubernetes-extra', expected: 'v9.9.9' },
  ];
  for (const { module, expected } of cases) {
    it(`reads ${module}`, () => {
      assert.equal(requiredVersion(GO_MOD, module), expected);
    });
  }
  it('names the module a go.mod does not require', () => {
    assert.throws(() => requiredVersion(GO_MOD, 'k8s.io/api'), /does not require k8s.io\/api/);
  });
});

describe('cache and state locations', () => {
  const cases = [
    {
      env: {},
      home: '/home/dev',
      cache: '/home/dev/.cache/aci-burst/bin',
      state: '/tmp/aci-burst-cluster-1000',
    },
    {
      env: { XDG_CACHE_HOME: '/xdg/cache', XDG_RUNTIME_DIR: '/run/user/1000' },
      home: '/home/dev',
      cache: '/xdg/cache/aci-burst/bin',
      state: '/run/user/1000/aci-burst-cluster',
    },
    {
      env: { XDG_CACHE_HOME: '', ACI_BURST_CLUSTER_DIR: '/srv/cluster', XDG_RUNTIME_DIR: '/run/user/1000' },
      home: '/root',
      cache: '/root/.cache/aci-burst/bin',
      state: '/srv/cluster',
    },
  ];
  for (const { env, home, cache, state } of cases) {
    it(`${JSON.stringify(env)} -> ${cache}, ${state}`, () => {
      assert.equal(binaryCacheRoot(env, home), cache);
      assert.equal(defaultStateDir(env, 1000), state);
    });
  }

  it('keys every binary by its version', () => {
    const paths = binaryPaths('/c', { kubernetes: 'v1.36.3', etcd: 'v3.6.16' });
    assert.deepEqual(paths, {
      etcd: '/c/etcd-v3.6.16/etcd',
      'kube-apiserver': '/c/kubernetes-v1.36.3/kube-apiserver',
      'kube-controller-manager': '/c/kubernetes-v1.36.3/kube-controller-manager',
      'kube-scheduler': '/c/kubernetes-v1.36.3/kube-scheduler',
      kubectl: '/c/kubernetes-v1.36.3/kubectl',
    });
  });
});
