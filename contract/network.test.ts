import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ContainerGroup } from '@azure/arm-containerinstance';
import type { V1Pod, V1PodSpec } from '@kubernetes/client-node';
import { checkPod, DEFAULT_ACI_LIMITS } from './capability.ts';
import type { ReferencedObjects } from './types.ts';
import { ACI_ANNOTATIONS } from './names.ts';
import {
  ACI_DNS_LIMITS,
  DEFAULT_NETWORK_SETTINGS,
  type NetworkSettings,
  PRIVATE_IP_PORT,
} from './network.ts';
import { toContainerGroup, type Translation } from './translate.ts';

const SUBNET =
  '/subscriptions/s/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aci';
const NO_OBJECTS: ReferencedObjects = {
  configMaps: new Map(),
  secrets: new Map(),
  serviceAccount: undefined,
};
const IN_SUBNET: NetworkSettings = {
  ...DEFAULT_NETWORK_SETTINGS,
  subnetId: SUBNET,
  clusterDnsIP: '10.96.0.10',
};
const PUBLIC_BY_DEFAULT: NetworkSettings = { ...DEFAULT_NETWORK_SETTINGS, exposePortsPublicly: true };

function pod(
  options: { ports?: boolean; annotations?: Record<string, string>; spec?: Partial<V1PodSpec> } = {},
): V1Pod {
  return {
    metadata: { name: 'web', namespace: 'shop', uid: 'u1', annotations: options.annotations ?? {} },
    spec: {
      containers: [
        {
          name: 'web',
          image: 'nginx',
          command: ['nginx'],
          resources: { requests: { cpu: '1', memory: '1Gi' } },
          ...(options.ports === false ? {} : { ports: [{ containerPort: 8080 }] }),
        },
      ],
      ...options.spec,
    },
  };
}

function translate(subject: V1Pod, network: NetworkSettings): Translation {
  return toContainerGroup(subject, NO_OBJECTS, {
    region: 'westus',
    nodeName: 'aci-connector',
    clusterId: 'c',
    limits: DEFAULT_ACI_LIMITS,
    network,
  });
}

function ready(translation: Translation): Extract<Translation, { kind: 'ready' }> {
  if (translation.kind !== 'ready') assert.fail(JSON.stringify(translation));
  return translation;
}

const reasons = (translation: Translation): string[] => ready(translation).notices.map((n) => n.reason);

describe('the group address', () => {
  const cases: {
    name: string;
    subject: V1Pod;
    network: NetworkSettings;
    ipAddress: ContainerGroup['ipAddress'];
    subnet: boolean;
    notices: string[];
  }[] = [
    {
      name: 'subnet: a private IP on the declared ports',
      subject: pod(),
      network: IN_SUBNET,
      ipAddress: { type: 'Private', ports: [{ port: 8080, protocol: 'TCP' }] },
      subnet: true,
      notices: [],
    },
    {
      name: 'subnet, no declared port: a private IP all the same, on the placeholder port',
      subject: pod({ ports: false }),
      network: IN_SUBNET,
      ipAddress: { type: 'Private', ports: [PRIVATE_IP_PORT] },
      subnet: true,
      notices: [],
    },
    {
      name: 'subnet: never public, even when asked (and said so)',
      subject: pod({
        annotations: { [ACI_ANNOTATIONS.publicIP]: 'true', [ACI_ANNOTATIONS.dnsNameLabel]: 'shop-web' },
      }),
      network: { ...IN_SUBNET, exposePortsPublicly: true },
      ipAddress: { type: 'Private', ports: [{ port: 8080, protocol: 'TCP' }] },
      subnet: true,
      notices: ['PublicIPNotAllowed'],
    },
    {
      name: 'no subnet, asked with the annotation: public',
      subject: pod({ annotations: { [ACI_ANNOTATIONS.publicIP]: 'true' } }),
      network: DEFAULT_NETWORK_SETTINGS,
      ipAddress: { type: 'Public', ports: [{ port: 8080, protocol: 'TCP' }] },
      subnet: false,
      notices: [],
    },
    {
      name: 'no subnet, a DNS name label asks too',
      subject: pod({ annotations: { [ACI_ANNOTATIONS.dnsNameLabel]: 'shop-web' } }),
      network: DEFAULT_NETWORK_SETTINGS,
      ipAddress: { type: 'Public', ports: [{ port: 8080, protocol: 'TCP' }], dnsNameLabel: 'shop-web' },
      subnet: false,
      notices: [],
    },
    {
      name: 'no subnet, not asked: no address, and an event saying how to ask',
      subject: pod(),
      network: DEFAULT_NETWORK_SETTINGS,
      ipAddress: undefined,
      subnet: false,
      notices: ['NoIPAddress'],
    },
    {
      name: 'no subnet, the annotation set to false: no address',
      subject: pod({ annotations: { [ACI_ANNOTATIONS.publicIP]: 'false' } }),
      network: PUBLIC_BY_DEFAULT,
      ipAddress: undefined,
      subnet: false,
      notices: ['NoIPAddress'],
    },
    {
      name: 'no subnet, the operator restored public ports: public',
      subject: pod(),
      network: PUBLIC_BY_DEFAULT,
      ipAddress: { type: 'Public', ports: [{ port: 8080, protocol: 'TCP' }] },
      subnet: false,
      notices: [],
    },
    {
      name: 'no subnet, no ports, public by default: no address',
      subject: pod({ ports: false }),
      network: PUBLIC_BY_DEFAULT,
      ipAddress: undefined,
      subnet: false,
      notices: ['NoIPAddress'],
    },
  ];
  for (const row of cases) {
    it(row.name, () => {
      const translation = translate(row.subject, row.network);
      const { group } = ready(translation);
      assert.deepEqual(group.ipAddress, row.ipAddress);
      assert.deepEqual(group.subnetIds, row.subnet ? [{ id: SUBNET }] : undefined);
      assert.deepEqual(reasons(translation), row.notices);
      // ACI wants every port of the address on a container.
      const containerPorts = group.containers.flatMap((c) => c.ports ?? []).map((p) => p.port);
      for (const port of group.ipAddress?.ports ?? []) assert.ok(containerPorts.includes(port.port));
    });
  }

  it('tells a pod without ports how to ask for an address', () => {
    const [notice] = ready(translate(pod({ ports: false }), DEFAULT_NETWORK_SETTINGS)).notices;
    assert.match(
      notice?.message ?? '',
      /declare them and annotate the pod azure\.com\/aci-public-ip: "true"/,
    );
  });

  const refusals: { name: string; annotations: Record<string, string>; ports: boolean; message: RegExp }[] = [
    {
      name: 'a value other than true or false',
      annotations: { [ACI_ANNOTATIONS.publicIP]: 'yes' },
      ports: true,
      message: /not one of true, false/,
    },
    {
      name: 'a public IP without ports',
      annotations: { [ACI_ANNOTATIONS.publicIP]: 'true' },
      ports: false,
      message: /declares none/,
    },
  ];
  for (const row of refusals) {
    it(`refuses ${row.name}, whatever the settings`, () => {
      const subject = pod({ annotations: row.annotations, ports: row.ports });
      const problems = checkPod(subject);
      assert.deepEqual(
        problems.map((p) => p.path),
        [`metadata.annotations['${ACI_ANNOTATIONS.publicIP}']`],
      );
      assert.match(problems.map((p) => p.message).join('\n'), row.message);
      for (const network of [IN_SUBNET, DEFAULT_NETWORK_SETTINGS])
        assert.equal(translate(subject, network).kind, 'invalid');
    });
  }
});

describe('DNS', () => {
  const cases: {
    name: string;
    spec: Partial<V1PodSpec>;
    network: NetworkSettings;
    dnsConfig: ContainerGroup['dnsConfig'];
    notices?: string[];
  }[] = [
    {
      name: 'ClusterFirst (the default) in the subnet: the cluster DNS, its search list and ndots:5',
      spec: {},
      network: IN_SUBNET,
      dnsConfig: {
        nameServers: ['10.96.0.10'],
        searchDomains: 'shop.svc.cluster.local svc.cluster.local cluster.local',
        options: 'ndots:5',
      },
    },
    {
      name: 'ClusterFirst merged with the pod dnsConfig: pod entries after the cluster, its options override',
      spec: {
        dnsConfig: {
          nameservers: ['10.96.0.10', '1.1.1.1'],
          searches: ['corp.example', 'svc.cluster.local'],
          options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }],
        },
      },
      network: { ...IN_SUBNET, clusterDomain: 'k8s.internal' },
      dnsConfig: {
        nameServers: ['10.96.0.10', '1.1.1.1'],
        searchDomains: 'shop.svc.k8s.internal svc.k8s.internal k8s.internal corp.example svc.cluster.local',
        options: 'ndots:2 edns0',
      },
    },
    {
      name: 'ClusterFirst in the subnet without a known cluster DNS: Azure resolver, and the kubelet event',
      spec: {},
      network: { ...IN_SUBNET, clusterDnsIP: undefined },
      dnsConfig: undefined,
      notices: ['MissingClusterDNS'],
    },
    {
      name: 'ClusterFirst without a subnet: the cluster DNS is out of reach, Azure resolver',
      spec: {},
      network: { ...DEFAULT_NETWORK_SETTINGS, clusterDnsIP: '10.96.0.10' },
      dnsConfig: undefined,
      notices: ['NoIPAddress'],
    },
    {
      name: 'Default: Azure resolver',
      spec: { dnsPolicy: 'Default' },
      network: IN_SUBNET,
      dnsConfig: undefined,
    },
    {
      name: 'None: the pod dnsConfig only',
      spec: { dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['corp.example'] } },
      network: IN_SUBNET,
      dnsConfig: { nameServers: ['1.1.1.1'], searchDomains: 'corp.example' },
    },
  ];
  for (const row of cases) {
    it(row.name, () => {
      const translation = translate(pod({ spec: row.spec }), row.network);
      assert.deepEqual(ready(translation).group.dnsConfig, row.dnsConfig);
      assert.deepEqual(reasons(translation), row.notices ?? []);
    });
  }

  const long = (index: number): string => `${String(index).padStart(2, '0')}-${'a'.repeat(60)}.example`;
  const refusals: { name: string; spec: Partial<V1PodSpec>; path: string; message: RegExp }[] = [
    {
      name: 'ClusterFirstWithHostNet',
      spec: { dnsPolicy: 'ClusterFirstWithHostNet' },
      path: 'spec.dnsPolicy',
      message: /no host/,
    },
    {
      name: `more than ${ACI_DNS_LIMITS.nameServers} name servers with the cluster's`,
      spec: { dnsConfig: { nameservers: ['1.1.1.1', '1.0.0.1', '8.8.8.8'] } },
      path: 'spec.dnsConfig.nameservers',
      message: /at most 3 name servers and the pod would have 4 with the cluster DNS server/,
    },
    {
      name: `more than ${ACI_DNS_LIMITS.searchDomains} search domains with the cluster's three`,
      spec: { dnsConfig: { searches: ['a.example', 'b.example', 'c.example', 'd.example'] } },
      path: 'spec.dnsConfig.searches',
      message: /at most 6 search domains .* would have 7/,
    },
    {
      name: `a search line over ${ACI_DNS_LIMITS.searchLineLength} characters`,
      spec: {
        dnsPolicy: 'None',
        dnsConfig: { nameservers: ['1.1.1.1'], searches: [1, 2, 3, 4, 5].map(long) },
      },
      path: 'spec.dnsConfig.searches',
      message: /in 256 characters/,
    },
    {
      name: 'searches without name servers under Default',
      spec: { dnsPolicy: 'Default', dnsConfig: { searches: ['corp.example'] } },
      path: 'spec.dnsConfig.nameservers',
      message: /only together with name servers/,
    },
  ];
  for (const row of refusals) {
    it(`refuses ${row.name}, from the spec alone as in the translation`, () => {
      const subject = pod({ spec: row.spec });
      const problems = checkPod(subject);
      assert.deepEqual(
        problems.map((p) => p.path),
        [row.path],
      );
      assert.match(problems[0]?.message ?? '', row.message);
      assert.equal(translate(subject, IN_SUBNET).kind, 'invalid');
      assert.equal(translate(subject, DEFAULT_NETWORK_SETTINGS).kind, 'invalid');
    });
  }

  it('accepts exactly the limits', () => {
    const subject = pod({
      spec: {
        dnsConfig: { nameservers: ['1.1.1.1', '1.0.0.1'], searches: ['a.example', 'b.example', 'c.example'] },
      },
    });
    assert.deepEqual(checkPod(subject), []);
  });
});
