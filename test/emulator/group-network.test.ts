import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../runtime/logger.ts';
import { documentationAddress, GroupNetwork, loopbackAddress } from './group-network.ts';
import { RequestLog } from './request-log.ts';
import { containerGroup, FAST_POLL, httpGet, startHarness, type EmulatorHarness } from './testing.ts';

function network(requestLog = new RequestLog(), random = (): number => 0): GroupNetwork {
  return new GroupNetwork({ mode: 'loopback', random, logger: silentLogger(), requestLog, clock: Date.now });
}

describe('addresses', () => {
  it('walks 127.1.0.1 to 127.254.255.254, never 127.0.x.x, never .0 or .255 last', () => {
    assert.equal(loopbackAddress(0), '127.1.0.1');
    assert.equal(loopbackAddress(253), '127.1.0.254');
    assert.equal(loopbackAddress(254), '127.1.1.1');
    assert.equal(loopbackAddress(254 * 256 * 254 - 1), '127.254.255.254');
    assert.equal(loopbackAddress(254 * 256 * 254), '127.1.0.1', 'wraps around');
  });

  it('gives documentation mode stable addresses that route nowhere', () => {
    const publicIp = documentationAddress(
      '/subscriptions/s/resourceGroups/rg/providers/x/containerGroups/web',
      'Public',
    );
    assert.match(publicIp, /^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d+$/);
    assert.equal(documentationAddress('/g', 'Public'), documentationAddress('/g', 'Public'));
    assert.match(documentationAddress('/g', 'Private'), /^10\.0\.\d+\.\d+$/);
  });

  it('never hands out an address another emulator holds, even from the same starting point', async () => {
    const first = network();
    const second = network();
    try {
      const a = await first.claim('/a', 'Public');
      const b = await second.claim('/b', 'Public');
      const c = await first.claim('/c', 'Public');
      assert.equal(new Set([a, b, c]).size, 3, `${a} ${b} ${c}`);
      first.releaseExcept(new Set([c]));
      const third = network();
      assert.equal(await third.claim('/d', 'Public'), a, 'a released address is free again');
      third.close();
    } finally {
      first.close();
      second.close();
    }
  });
});

describe('listeners', () => {
  it('logs and records a port it cannot bind, and carries on', async () => {
    const requestLog = new RequestLog();
    const net = network(requestLog, () => 0.5);
    const address = await net.claim('/g', 'Public');
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(8080, address, resolve));
    try {
      const spec = { address, group: 'g', container: 'app', run: 1 };
      await Promise.all(
        net.setListeners(address, [
          { ...spec, port: 8080 },
          { ...spec, port: 8081 },
        ]),
      );
      const [entry] = requestLog.list();
      assert.equal(entry?.method, 'LISTEN');
      assert.equal(entry.path, `/${address}:8080`);
      assert.match(entry.error ?? '', /EADDRINUSE/);
      assert.equal(await httpGet(address, 8081, '/x'), 'hello from g/app port 8081: GET /x\n');
      assert.equal(requestLog.list().length, 1, 'not retried during the same run');
      await Promise.all(
        net.setListeners(address, [
          { ...spec, port: 8080 },
          { ...spec, port: 8081 },
        ]),
      );
      assert.equal(requestLog.list().length, 1);
    } finally {
      squatter.close();
      net.close();
    }
  });
});

describe('group addresses through the emulator (loopback)', { timeout: 30_000 }, () => {
  let harness: EmulatorHarness;
  let rg: string;
  before(async () => {
    harness = await startHarness();
    rg = harness.emulator.resourceGroup;
  });
  after(() => harness.close());

  const webGroup = () =>
    containerGroup(
      harness.emulator.region,
      { command: ['sh', '-c', 'sleep infinity'] },
      {
        ipAddress: {
          type: 'Public',
          ports: [
            { port: 80, protocol: 'TCP' },
            { port: 8080, protocol: 'TCP' },
          ],
        },
      },
    );

  async function createWeb(name: string): Promise<string> {
    const group = webGroup();
    const container = group.containers[0];
    assert.ok(container);
    container.ports = [{ port: 80 }, { port: 8080 }];
    const created = await harness.client.containerGroups.beginCreateOrUpdateAndWait(
      rg,
      name,
      group,
      FAST_POLL,
    );
    assert.equal(created.instanceView?.state, 'Running');
    const ip = created.ipAddress?.ip ?? '';
    assert.match(ip, /^127\.(?!0\.)\d+\.\d+\.\d+$/);
    return ip;
  }

  it('serves each declared port on the group’s own address while it runs', async () => {
    const ip = await createWeb('net-1');
    assert.equal(await httpGet(ip, 8080, '/healthz'), 'hello from net-1/app port 8080: GET /healthz\n');
    assert.equal(await httpGet(ip, 80), 'hello from net-1/app port 80: GET /\n');
    assert.equal(await httpGet(ip, 8081), 'ECONNREFUSED', 'an undeclared port is closed');
  });

  it('gives every group its own address, kept across an update', async () => {
    const first = await createWeb('net-2');
    const second = await createWeb('net-3');
    assert.notEqual(first, second);
    assert.equal(await createWeb('net-2'), first);
  });

  it('closes the listeners when the group stops, opens them on start, closes them on delete', async () => {
    const ip = await createWeb('net-4');
    await harness.client.containerGroups.stop(rg, 'net-4');
    assert.equal(await httpGet(ip, 8080), 'ECONNREFUSED');
    await harness.client.containerGroups.beginStartAndWait(rg, 'net-4', FAST_POLL);
    await harness.client.containerGroups.get(rg, 'net-4');
    assert.equal(await httpGet(ip, 8080, '/again'), 'hello from net-4/app port 8080: GET /again\n');
    await harness.client.containerGroups.beginDeleteAndWait(rg, 'net-4', FAST_POLL);
    assert.equal(await httpGet(ip, 8080), 'ECONNREFUSED');
  });

  it('closes the listeners when the container is killed and does not restart', async () => {
    await harness.emulator.control.createResourceGroup('net-crash');
    const group = { ...webGroup(), restartPolicy: 'Never' };
    const container = group.containers[0];
    assert.ok(container);
    container.ports = [{ port: 80 }, { port: 8080 }];
    const created = await harness.client.containerGroups.beginCreateOrUpdateAndWait(
      'net-crash',
      'net-5',
      group,
      FAST_POLL,
    );
    const ip = created.ipAddress?.ip ?? '';
    await harness.emulator.control.killContainer('net-crash', 'net-5', 'app');
    assert.equal(await httpGet(ip, 8080), 'ECONNREFUSED');
  });

  it('closes every listener when the emulator shuts down', async () => {
    const other = await startHarness();
    const group = webGroup();
    const container = group.containers[0];
    assert.ok(container);
    container.ports = [{ port: 80 }, { port: 8080 }];
    const created = await other.client.containerGroups.beginCreateOrUpdateAndWait(
      other.emulator.resourceGroup,
      'net-6',
      group,
      FAST_POLL,
    );
    const ip = created.ipAddress?.ip ?? '';
    assert.match(await httpGet(ip, 8080), /^hello from net-6/);
    await other.close();
    assert.equal(await httpGet(ip, 8080), 'ECONNREFUSED');
  });
});

describe('group addresses in documentation mode', () => {
  it('reports a documentation address', async () => {
    const harness = await startHarness({ addresses: 'documentation' });
    try {
      const group = containerGroup(
        harness.emulator.region,
        {},
        { ipAddress: { type: 'Public', ports: [{ port: 80 }] } },
      );
      const container = group.containers[0];
      assert.ok(container);
      container.ports = [{ port: 80 }];
      const created = await harness.client.containerGroups.beginCreateOrUpdateAndWait(
        harness.emulator.resourceGroup,
        'doc-1',
        group,
        FAST_POLL,
      );
      assert.match(created.ipAddress?.ip ?? '', /^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d+$/);
    } finally {
      await harness.close();
    }
  });
});
