import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../runtime/clock.ts';
import { ClassifiedError } from '../runtime/errors.ts';
import { silentLogger } from '../runtime/logger.ts';
import {
  ACI_DELEGATION,
  parseSubnetId,
  SubnetCheck,
  subnetCondition,
  type VirtualNetworkView,
  virtualNetworkView,
} from './subnet.ts';

const ID =
  '/subscriptions/sub-1/resourceGroups/net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aci';
const REF = { id: ID, subscriptionId: 'sub-1', resourceGroup: 'net', virtualNetwork: 'vnet', subnet: 'aci' };

const network = (
  over: { location?: string; delegations?: string[]; name?: string } = {},
): VirtualNetworkView => ({
  location: over.location ?? 'westus',
  subnets: [
    {
      name: over.name ?? 'aci',
      addressPrefixes: ['10.241.0.0/24'],
      delegations: over.delegations ?? [ACI_DELEGATION],
    },
  ],
});

describe('parseSubnetId', () => {
  const cases: { text: string; parsed: boolean }[] = [
    { text: ID, parsed: true },
    { text: ID.toLowerCase(), parsed: true },
    { text: `  ${ID}  `, parsed: true },
    { text: 'aci', parsed: false },
    { text: ID.replace('/subnets/aci', ''), parsed: false },
    { text: `${ID}/extra`, parsed: false },
    { text: ID.replace('Microsoft.Network', 'Microsoft.Compute'), parsed: false },
  ];
  for (const row of cases) {
    it(`${row.parsed ? 'reads' : 'refuses'} ${JSON.stringify(row.text.slice(0, 60))}`, () => {
      assert.equal(parseSubnetId(row.text) !== undefined, row.parsed);
    });
  }
  it('keeps the parts', () => {
    assert.deepEqual(parseSubnetId(ID), REF);
  });
});

describe('subnetCondition', () => {
  const cases: { name: string; network: VirtualNetworkView | undefined; reason: string; message: RegExp }[] =
    [
      { name: 'usable', network: network(), reason: 'SubnetReady', message: /10\.241\.0\.0\/24/ },
      {
        name: 'usable, region spelt as Azure displays it',
        network: network({ location: 'West US' }),
        reason: 'SubnetReady',
        message: /delegated/,
      },
      { name: 'no virtual network', network: undefined, reason: 'SubnetNotFound', message: /does not exist/ },
      {
        name: 'no such subnet',
        network: network({ name: 'other' }),
        reason: 'SubnetNotFound',
        message: /subnet 'aci' of virtual network 'vnet'/,
      },
      {
        name: 'not delegated',
        network: network({ delegations: [] }),
        reason: 'SubnetNotDelegated',
        message: /--delegations Microsoft\.ContainerInstance\/containerGroups/,
      },
      {
        name: 'delegated to another service',
        network: network({ delegations: ['Microsoft.Web/serverFarms'] }),
        reason: 'SubnetNotDelegated',
        message: /not delegated/,
      },
      {
        name: 'another region',
        network: network({ location: 'eastus' }),
        reason: 'SubnetInOtherRegion',
        message: /'eastus'.*'westus'/,
      },
    ];
  for (const row of cases) {
    it(row.name, () => {
      const condition = subnetCondition(REF, 'westus', row.network);
      assert.equal(condition.reason, row.reason);
      assert.equal(condition.ok, row.reason === 'SubnetReady');
      assert.match(condition.message, row.message);
    });
  }
});

describe('virtualNetworkView', () => {
  it('reads location, prefixes and delegations from the wire shape', () => {
    const view = virtualNetworkView({
      location: 'westus',
      properties: {
        subnets: [
          {
            name: 'aci',
            properties: {
              addressPrefix: '10.241.0.0/24',
              delegations: [{ name: 'd', properties: { serviceName: ACI_DELEGATION } }],
            },
          },
          { name: 'nodes', properties: { addressPrefixes: ['10.240.0.0/16'] } },
        ],
      },
    });
    assert.deepEqual(view, {
      location: 'westus',
      subnets: [
        { name: 'aci', addressPrefixes: ['10.241.0.0/24'], delegations: [ACI_DELEGATION] },
        { name: 'nodes', addressPrefixes: ['10.240.0.0/16'], delegations: [] },
      ],
    });
  });
});

describe('SubnetCheck', () => {
  function check(answers: (VirtualNetworkView | undefined | Error)[]) {
    const timers = new FakeClock(0);
    let reads = 0;
    const subject = new SubnetCheck({
      api: {
        read: () => {
          const answer = answers[Math.min(reads, answers.length - 1)];
          reads += 1;
          return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
        },
      },
      subnet: REF,
      region: 'westus',
      timers,
      logger: silentLogger(),
      recheckMs: 300_000,
      refreshMs: 30_000,
    });
    return { subject, timers, advance: (ms: number) => timers.advance(ms), reads: () => reads };
  }

  it('is not ready before the first read', () => {
    assert.equal(check([network()]).subject.condition.ok, false);
  });

  it('reads a usable subnet again only after the recheck interval', async () => {
    const { subject, advance, reads } = check([network()]);
    await subject.refresh();
    await subject.refresh();
    assert.equal(reads(), 1);
    await advance(300_000);
    await subject.refresh();
    assert.equal(reads(), 2);
  });

  it('reads an unusable subnet on every call, and recovers', async () => {
    const { subject, reads } = check([network({ delegations: [] }), network()]);
    await subject.refresh();
    assert.equal(subject.condition.reason, 'SubnetNotDelegated');
    await subject.refresh();
    assert.equal(reads(), 2);
    assert.equal(subject.condition.ok, true);
  });

  it('keeps a usable subnet usable when a later read fails, and names a read it may not do', async () => {
    const failing = new ClassifiedError('Transient', 'connection reset');
    const usable = check([network(), failing]);
    await usable.subject.refresh();
    await usable.advance(300_000);
    await usable.subject.refresh();
    assert.equal(usable.subject.condition.ok, true);

    const forbidden = check([new ClassifiedError('Unauthorized', 'AuthorizationFailed')]);
    await forbidden.subject.refresh();
    assert.equal(forbidden.subject.condition.reason, 'SubnetNotReadable');
    assert.match(forbidden.subject.condition.message, /subnets\/join\/action/);
  });

  it('reads at start, then on its interval, and stops reading when its signal aborts', async () => {
    const { subject, timers, reads } = check([network({ delegations: [] })]);
    const stop = new AbortController();
    await subject.start(stop.signal);
    assert.equal(reads(), 1);
    await timers.advance(30_000);
    assert.equal(reads(), 2, 'an unusable subnet is read on every tick');
    stop.abort();
    await subject.done;
    await timers.advance(300_000);
    assert.equal(reads(), 2);
    assert.equal(timers.pendingTimers, 0);
  });
});
