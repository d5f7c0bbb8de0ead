import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  apiserverArgs,
  controllerManagerArgs,
  etcdArgs,
  schedulerArgs,
  schedulerConfiguration,
  type ClusterPorts,
} from './flags.ts';
import type { PkiFiles } from './pki.ts';

const ports: ClusterPorts = {
  etcdClient: 2379,
  etcdPeer: 2380,
  apiserver: 6443,
  controllerManager: 10257,
  scheduler: 10259,
};
const pki: PkiFiles = {
  caCert: '/p/ca.crt',
  caKey: '/p/ca.key',
  apiserverCert: '/p/apiserver.crt',
  apiserverKey: '/p/apiserver.key',
  kubeletClientCert: '/p/kc.crt',
  kubeletClientKey: '/p/kc.key',
  serviceAccountCert: '/p/sa.crt',
  serviceAccountKey: '/p/sa.key',
  frontProxyCaCert: '/p/fp-ca.crt',
  frontProxyClientCert: '/p/fp.crt',
  frontProxyClientKey: '/p/fp.key',
  admissionControlConfig: '/p/admission.json',
};
const component = { kubeconfig: '/s/k.kubeconfig', certDir: '/s/certs' };

describe('command lines', () => {
  const cases: { process: string; args: string[]; required: string[] }[] = [
    {
      process: 'etcd',
      args: etcdArgs(ports, '/s/etcd'),
      required: [
        '--listen-client-urls=http://127.0.0.1:2379',
        '--initial-cluster=aci-burst=http://127.0.0.1:2380',
        '--data-dir=/s/etcd',
      ],
    },
    {
      process: 'kube-apiserver',
      args: apiserverArgs(ports, pki),
      required: [
        '--etcd-servers=http://127.0.0.1:2379',
        '--bind-address=127.0.0.1',
        '--secure-port=6443',
        '--client-ca-file=/p/ca.crt',
        '--service-account-issuer=https://127.0.0.1:6443',
        '--service-account-key-file=/p/sa.crt',
        '--service-account-signing-key-file=/p/sa.key',
        '--kubelet-preferred-address-types=InternalIP',
        '--kubelet-client-certificate=/p/kc.crt',
        '--kubelet-client-key=/p/kc.key',
        '--requestheader-client-ca-file=/p/fp-ca.crt',
        '--authorization-mode=Node,RBAC',
        '--enable-admission-plugins=NodeRestriction',
        '--admission-control-config-file=/p/admission.json',
      ],
    },
    {
      process: 'kube-controller-manager',
      args: controllerManagerArgs(10257, component, pki),
      required: [
        '--kubeconfig=/s/k.kubeconfig',
        '--authentication-kubeconfig=/s/k.kubeconfig',
        '--secure-port=10257',
        '--service-account-private-key-file=/p/sa.key',
        '--root-ca-file=/p/ca.crt',
        '--controllers=*',
        '--cluster-signing-cert-file=/p/ca.crt',
        '--cluster-signing-key-file=/p/ca.key',
        '--leader-elect=false',
      ],
    },
    {
      process: 'kube-scheduler',
      args: schedulerArgs(10259, component, '/s/config.json'),
      required: [
        '--config=/s/config.json',
        '--bind-address=127.0.0.1',
        '--secure-port=10259',
        '--cert-dir=/s/certs',
      ],
    },
  ];
  for (const { process, args, required } of cases) {
    it(`${process} gets ${required.length} essential flags, each once`, () => {
      for (const flag of required) assert.ok(args.includes(flag), `${flag} in ${args.join(' ')}`);
      const names = args.map((arg) => arg.split('=')[0]);
      assert.equal(new Set(names).size, names.length, 'no flag repeated');
    });
  }
});

describe('schedulerConfiguration', () => {
  it('names the scheduler, turns leader election off and uses the given kubeconfig', () => {
    const config = JSON.parse(
      schedulerConfiguration('/s/k.kubeconfig', { schedulerName: 'second' }),
    ) as Record<string, unknown>;
    assert.deepEqual(config, {
      apiVersion: 'kubescheduler.config.k8s.io/v1',
      kind: 'KubeSchedulerConfiguration',
      clientConnection: { kubeconfig: '/s/k.kubeconfig' },
      leaderElection: { leaderElect: false },
      profiles: [{ schedulerName: 'second' }],
    });
  });

  it('passes extenders through field for field', () => {
    const extender = {
      urlPrefix: 'https://127.0.0.1:8765/scheduler',
      filterVerb: 'filter',
      prioritizeVerb: 'prioritize',
      weight: 1,
      enableHTTPS: true,
      tlsConfig: { caData: 'LS0tLS1CRUdJTg==' },
      nodeCacheCapable: true,
      ignorable: false,
    };
    const config = JSON.parse(
      schedulerConfiguration('/k', { schedulerName: 'aci', extenders: [extender] }),
    ) as { extenders: unknown[] };
    assert.deepEqual(config.extenders, [extender]);
  });
});
