import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ContainerGroup } from '@azure/arm-containerinstance';
import { ACI_DNS_LIMITS } from '../../contract/index.ts';
import { ArmError } from './arm-error.ts';
import { containerGroup, FAST_POLL, httpGet, startHarness, type EmulatorHarness } from './testing.ts';
import {
  addressPool,
  checkDnsConfig,
  checkGroupSubnet,
  inPool,
  parsePrefix,
  prefixProblem,
  servedOnLoopback,
  type VirtualNetworkFixture,
} from './virtual-networks.ts';

const SUB = 'sub-1';
const subnetId = (network: string, subnet: string): string =>
  `/subscriptions/${SUB}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/${network}/subnets/${subnet}`;
const NETWORK: VirtualNetworkFixture = {
  resourceGroup: 'net',
  name: 'vnet',
  location: 'westus',
  subnets: [
    {
      name: 'aci',
      addressPrefix: '10.241.0.0/29',
      delegations: ['Microsoft.ContainerInstance/containerGroups'],
    },
    { name: 'nodes', addressPrefix: '10.240.0.0/16', delegations: [] },
  ],
};

describe('prefixes and pools', () => {
  const prefixes: { prefix: string; pool: [string, string] | undefined }[] = [
    { prefix: '10.241.0.0/24', pool: ['10.241.0.4', '10.241.0.254'] },
    { prefix: '10.241.0.0/29', pool: ['10.241.0.4', '10.241.0.6'] },
    { prefix: '10.241.0.0/30', pool: undefined },
    { prefix: '10.241.0.1/24', pool: undefined },
    { prefix: '10.241.0.0', pool: undefined },
    { prefix: '300.1.0.0/24', pool: undefined },
  ];
  for (const row of prefixes) {
    it(`${row.prefix}: ${row.pool ? row.pool.join(' to ') : 'refused'} (Azure keeps the first four and the last)`, () => {
      const pool = addressPool(row.prefix);
      if (row.pool === undefined) {
        assert.equal(pool, undefined);
        return;
      }
      assert.ok(pool);
      assert.ok(inPool(pool, row.pool[0]) && inPool(pool, row.pool[1]));
      assert.ok(!inPool(pool, row.prefix.replace(/\.0\/\d+$/, '.3')));
      assert.equal(pool.last - pool.first + 1, 2 ** (32 - (parsePrefix(row.prefix)?.bits ?? 0)) - 5);
    });
  }

  const served: { prefix: string; served: boolean; refused?: boolean }[] = [
    { prefix: '127.42.7.0/24', served: true },
    { prefix: '127.255.255.248/29', served: true },
    { prefix: '10.241.0.0/24', served: false },
    { prefix: '127.0.0.0/24', served: false, refused: true },
    { prefix: '127.0.0.0/8', served: false, refused: true },
  ];
  for (const row of served) {
    it(`${row.prefix}: ${row.refused ? 'refused (127.0.0.1 is the machine’s)' : row.served ? 'served on loopback' : 'handed out, never dialled'}`, () => {
      assert.equal(prefixProblem(row.prefix) !== undefined, row.refused === true);
      const pool = addressPool(row.prefix);
      if (pool && !row.refused) assert.equal(servedOnLoopback(pool), row.served);
    });
  }
});

describe('checkGroupSubnet', () => {
  const find = (rg: string, name: string): VirtualNetworkFixture | undefined =>
    rg === 'net' && name === 'vnet' ? NETWORK : undefined;
  const cases: {
    name: string;
    subnetId: string | undefined;
    type: 'Public' | 'Private' | undefined;
    location?: string;
    inUse?: number;
    code: string | undefined;
  }[] = [
    {
      name: 'a delegated subnet with room',
      subnetId: subnetId('vnet', 'aci'),
      type: 'Private',
      code: undefined,
    },
    { name: 'no subnet, public', subnetId: undefined, type: 'Public', code: undefined },
    { name: 'no subnet, private', subnetId: undefined, type: 'Private', code: 'InvalidIpAddressType' },
    {
      name: 'a subnet, public',
      subnetId: subnetId('vnet', 'aci'),
      type: 'Public',
      code: 'InvalidIpAddressType',
    },
    {
      name: 'a missing virtual network',
      subnetId: subnetId('other', 'aci'),
      type: 'Private',
      code: 'SubnetNotFound',
    },
    { name: 'a missing subnet', subnetId: subnetId('vnet', 'gone'), type: 'Private', code: 'SubnetNotFound' },
    {
      name: 'another subscription',
      subnetId: subnetId('vnet', 'aci').replace(SUB, 'sub-2'),
      type: 'Private',
      code: 'SubnetNotFound',
    },
    {
      name: 'an undelegated subnet',
      subnetId: subnetId('vnet', 'nodes'),
      type: 'Private',
      code: 'SubnetMissingRequiredDelegation',
    },
    {
      name: 'another region',
      subnetId: subnetId('vnet', 'aci'),
      type: 'Private',
      location: 'eastus',
      code: 'SubnetLocationMismatch',
    },
    {
      name: 'a full subnet (3 usable in a /29)',
      subnetId: subnetId('vnet', 'aci'),
      type: 'Private',
      inUse: 3,
      code: 'SubnetIsFull',
    },
  ];
  for (const row of cases) {
    it(`${row.name}: ${row.code ?? 'accepted'}`, () => {
      const check = (): unknown =>
        checkGroupSubnet(
          {
            groupName: 'web',
            location: row.location ?? 'westus',
            subnetId: row.subnetId,
            ipAddressType: row.type,
          },
          find,
          { subscriptionId: SUB, addressesInUse: () => row.inUse ?? 0 },
        );
      if (row.code === undefined) assert.doesNotThrow(check);
      else assert.throws(check, (error: unknown) => error instanceof ArmError && error.code === row.code);
    });
  }
});

describe('checkDnsConfig', () => {
  const cases: { name: string; dnsConfig: unknown; code: string | undefined }[] = [
    { name: 'absent', dnsConfig: undefined, code: undefined },
    {
      name: 'name servers, searches and options',
      dnsConfig: {
        nameServers: ['10.0.0.10'],
        searchDomains: 'a.svc.cluster.local svc.cluster.local',
        options: 'ndots:5',
      },
      code: undefined,
    },
    { name: 'no name servers', dnsConfig: { searchDomains: 'a.example' }, code: 'InvalidRequestContent' },
    {
      name: 'a name server that is no address',
      dnsConfig: { nameServers: ['kube-dns'] },
      code: 'InvalidDnsConfiguration',
    },
    {
      name: 'four name servers',
      dnsConfig: { nameServers: ['1.1.1.1', '1.0.0.1', '8.8.8.8', '8.8.4.4'] },
      code: 'InvalidDnsConfiguration',
    },
    {
      name: 'seven search domains',
      dnsConfig: { nameServers: ['1.1.1.1'], searchDomains: 'a b c d e f g' },
      code: 'InvalidDnsConfiguration',
    },
    {
      name: 'options that are no string',
      dnsConfig: { nameServers: ['1.1.1.1'], options: ['ndots:5'] },
      code: 'InvalidRequestContent',
    },
  ];
  for (const row of cases) {
    it(`${row.name}: ${row.code ?? 'accepted'}`, () => {
      const check = (): void => {
        checkDnsConfig(row.dnsConfig, 'web', ACI_DNS_LIMITS);
      };
      if (row.code === undefined) assert.doesNotThrow(check);
      else assert.throws(check, (error: unknown) => error instanceof ArmError && error.code === row.code);
    });
  }
});

describe('subnets through the emulator (loopback)', { timeout: 30_000 }, () => {
  let harness: EmulatorHarness;
  // A /29 of its own per run, so parallel emulators do not meet: three usable addresses.
  const third = 1 + Math.floor(Math.random() * 250);
  const prefix = `127.${200 + Math.floor(Math.random() * 50)}.${third}.0/29`;
  const id = (subnet: string, harnessOf = harness): string =>
    `/subscriptions/${harnessOf.emulator.subscriptionId}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/${subnet}`;
  before(async () => {
    harness = await startHarness({
      virtualNetworks: [
        {
          name: 'vnet',
          resourceGroup: 'net',
          subnets: [
            {
              name: 'aci',
              addressPrefix: prefix,
              delegations: ['Microsoft.ContainerInstance/containerGroups'],
            },
          ],
        },
      ],
    });
    await harness.emulator.control.putVirtualNetwork({
      name: 'plain',
      resourceGroup: 'net',
      subnets: [{ name: 'nodes', addressPrefix: '127.201.0.0/24' }],
    });
  });
  after(() => harness.close());

  const inSubnet = (subnet: string, ports = [{ port: 8080, protocol: 'TCP' }]): ContainerGroup => {
    const group = containerGroup(
      harness.emulator.region,
      { command: ['sh', '-c', 'sleep infinity'] },
      { subnetIds: [{ id: subnet }], ipAddress: { type: 'Private', ports } },
    );
    const [container] = group.containers;
    if (container) container.ports = ports;
    return group;
  };
  const create = (name: string, group: ContainerGroup): Promise<ContainerGroup> =>
    harness.client.containerGroups.beginCreateOrUpdateAndWait(
      harness.emulator.resourceGroup,
      name,
      group,
      FAST_POLL,
    );
  const codeOf = async (promise: Promise<unknown>): Promise<string | undefined> =>
    promise.then(
      () => undefined,
      (error: unknown) => (error as { code?: string }).code,
    );

  it('serves the virtual network to a GET, in Microsoft.Network’s shape', async () => {
    const response = await harness.raw(
      'GET',
      `/subscriptions/${harness.emulator.subscriptionId}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet?api-version=2024-05-01`,
    );
    assert.equal(response.status, 200);
    const body = response.body as {
      location: string;
      properties: { subnets: { name: string; properties: { addressPrefix: string } }[] };
    };
    assert.equal(body.location, harness.emulator.region);
    assert.deepEqual(
      body.properties.subnets.map((s) => [s.name, s.properties.addressPrefix]),
      [['aci', prefix]],
    );
    const missing = await harness.raw(
      'GET',
      `/subscriptions/${harness.emulator.subscriptionId}/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/nope?api-version=2024-05-01`,
    );
    assert.equal(missing.status, 404);
  });

  it('gives groups private addresses from the subnet, served on their ports, until it is full', async () => {
    const pool = addressPool(prefix);
    assert.ok(pool);
    const addresses: string[] = [];
    for (const name of ['one', 'two', 'three']) {
      const created = await create(name, inSubnet(id('aci')));
      assert.equal(created.ipAddress?.type, 'Private');
      const ip = created.ipAddress.ip ?? '';
      assert.ok(inPool(pool, ip), `${ip} in ${prefix}`);
      assert.match(await httpGet(ip, 8080), /hello from one|hello from two|hello from three/);
      addresses.push(ip);
    }
    assert.equal(new Set(addresses).size, 3);
    assert.equal(await codeOf(create('four', inSubnet(id('aci')))), 'SubnetIsFull');
    await harness.client.containerGroups.beginDeleteAndWait(harness.emulator.resourceGroup, 'one', FAST_POLL);
    const again = await create('four', inSubnet(id('aci')));
    assert.ok(inPool(pool, again.ipAddress?.ip ?? ''));
  });

  it('refuses what Azure refuses', async () => {
    assert.equal(await codeOf(create('gone', inSubnet(id('missing')))), 'SubnetNotFound');
    const undelegated = id('nodes').replace('/vnet/', '/plain/');
    assert.equal(await codeOf(create('plain', inSubnet(undelegated))), 'SubnetMissingRequiredDelegation');
    const publicInSubnet = {
      ...inSubnet(id('aci')),
      ipAddress: { type: 'Public', ports: [{ port: 8080, protocol: 'TCP' }] },
    };
    assert.equal(await codeOf(create('public', publicInSubnet)), 'InvalidIpAddressType');
    const noPorts = { ...inSubnet(id('aci')), ipAddress: { type: 'Private', ports: [] } };
    assert.equal(await codeOf(create('noports', noPorts)), 'MissingIpAddressPorts');
  });

  it('hands out a private range’s addresses without serving them, and refuses 127.0.0.0/16', async () => {
    await harness.emulator.control.putVirtualNetwork({
      name: 'private',
      resourceGroup: 'net',
      subnets: [
        {
          name: 'aci',
          addressPrefix: '10.241.0.0/24',
          delegations: ['Microsoft.ContainerInstance/containerGroups'],
        },
      ],
    });
    const created = await create('private', inSubnet(id('aci').replace('/vnet/', '/private/')));
    const pool = addressPool('10.241.0.0/24');
    assert.ok(pool && inPool(pool, created.ipAddress?.ip ?? ''), created.ipAddress?.ip);
    const listens = (await harness.emulator.control.requests()).filter((r) => r.method === 'LISTEN');
    assert.deepEqual(listens, [], 'no bind was tried on the private address');
    await assert.rejects(
      harness.emulator.control.putVirtualNetwork({
        name: 'own',
        subnets: [{ name: 'a', addressPrefix: '127.0.0.0/24' }],
      }),
      /InvalidVirtualNetwork/,
    );
  });
});
