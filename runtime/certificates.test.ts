import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import forge from 'node-forge';
import { FakeClock } from './clock.ts';
import { silentLogger } from './logger.ts';
import { createCertificateAuthority, issueCertificate } from './tls.ts';
import {
  certificateHosts,
  chainStatus,
  fileCertificateSource,
  obtainChain,
  renewChain,
  watchCertificate,
  type CertificateChain,
  type CertificatePolicy,
  type ChainStatus,
  type ChainStore,
  type ServingIdentity,
} from './certificates.ts';

const DAY = 86_400_000;
const now = new Date('2026-11-25T19:00:00Z');
const policy: CertificatePolicy = {
  commonName: 'aci-burst-webhook.aci-burst-system.svc',
  hosts: ['aci-burst-webhook.aci-burst-system.svc', '127.0.0.1'],
  renewBeforeMs: 30 * DAY,
  caValidDays: 3650,
  servingValidDays: 365,
};

const fresh = renewChain(undefined, 'new-chain', policy, now);

function chainWith(options: { caDays?: number; servingDays?: number; hosts?: string[] }): CertificateChain {
  const ca = createCertificateAuthority({ commonName: 'ca', validDays: options.caDays ?? 3650, now });
  const serving = issueCertificate(
    ca,
    {
      commonName: 'webhook',
      hosts: options.hosts ?? policy.hosts,
      validDays: options.servingDays ?? 365,
      now,
    },
    'server',
  );
  return { caCertPem: ca.certPem, caKeyPem: ca.keyPem, certPem: serving.certPem, keyPem: serving.keyPem };
}

describe('chainStatus', () => {
  const other = chainWith({});
  const table: { name: string; chain: CertificateChain; at?: Date; status: ChainStatus }[] = [
    { name: 'a new chain', chain: fresh, status: 'valid' },
    {
      name: 'serving certificate 20 days from expiry',
      chain: fresh,
      at: new Date(now.getTime() + 345 * DAY),
      status: 'reissue-serving',
    },
    {
      name: 'a host missing',
      chain: chainWith({ hosts: ['aci-burst-webhook.aci-burst-system.svc'] }),
      status: 'reissue-serving',
    },
    {
      name: 'serving certificate from another CA',
      chain: { ...fresh, certPem: other.certPem, keyPem: other.keyPem },
      status: 'reissue-serving',
    },
    {
      name: 'garbage serving certificate',
      chain: { ...fresh, certPem: 'not a pem' },
      status: 'reissue-serving',
    },
    {
      name: 'a CA that would expire before the next serving certificate',
      chain: chainWith({ caDays: 200 }),
      status: 'new-chain',
    },
    {
      name: 'an empty Secret',
      chain: { caCertPem: '', caKeyPem: '', certPem: '', keyPem: '' },
      status: 'new-chain',
    },
  ];
  for (const row of table) {
    it(`${row.name} -> ${row.status}`, () => {
      assert.equal(chainStatus(row.chain, policy, row.at ?? now), row.status);
    });
  }
});

describe('renewChain', () => {
  it('keeps the CA when only the serving certificate is due, and covers every host', () => {
    const renewed = renewChain(fresh, 'reissue-serving', policy, new Date(now.getTime() + 340 * DAY));
    assert.equal(renewed.caCertPem, fresh.caCertPem);
    assert.notEqual(renewed.certPem, fresh.certPem);
    assert.deepEqual(certificateHosts(forge.pki.certificateFromPem(renewed.certPem)), policy.hosts);
    assert.equal(chainStatus(renewed, policy, new Date(now.getTime() + 340 * DAY)), 'valid');
  });
  it('makes a new CA for a new chain', () => {
    assert.notEqual(renewChain(fresh, 'new-chain', policy, now).caCertPem, fresh.caCertPem);
  });
});

/** A Secret in memory with resourceVersions; `interfere` lets a "second replica" write first. */
function memoryStore(
  initial?: CertificateChain,
): ChainStore & { writes: string[]; interfere?: () => void; set: (chain: CertificateChain) => void } {
  let stored = initial && { chain: initial, version: 1 };
  const store = {
    writes: [] as string[],
    interfere: undefined as (() => void) | undefined,
    set: (chain: CertificateChain) => {
      stored = { chain, version: (stored?.version ?? 0) + 1 };
    },
    read: () => Promise.resolve(stored && { chain: stored.chain, version: String(stored.version) }),
    create: (chain: CertificateChain) => {
      store.interfere?.();
      store.interfere = undefined;
      if (stored) return Promise.resolve(false);
      store.writes.push('create');
      store.set(chain);
      return Promise.resolve(true);
    },
    replace: (chain: CertificateChain, version: string) => {
      store.interfere?.();
      store.interfere = undefined;
      if (String(stored?.version) !== version) return Promise.resolve(false);
      store.writes.push('replace');
      store.set(chain);
      return Promise.resolve(true);
    },
  };
  return store;
}

describe('obtainChain', () => {
  it('creates the Secret when there is none, then reuses it', async () => {
    const store = memoryStore();
    const first = await obtainChain(store, policy, () => now);
    const second = await obtainChain(store, policy, () => now);
    assert.deepEqual(second, first);
    assert.deepEqual(store.writes, ['create']);
  });

  it('uses the chain of the replica that created the Secret first (409, re-read)', async () => {
    const store = memoryStore();
    const winner = chainWith({});
    store.interfere = () => {
      store.set(winner);
    };
    assert.deepEqual(await obtainChain(store, policy, () => now), winner);
    assert.deepEqual(store.writes, []);
  });

  it('renews a due serving certificate, and re-reads when another replica renewed first', async () => {
    const store = memoryStore(fresh);
    const later = new Date(now.getTime() + 340 * DAY);
    const theirs = renewChain(fresh, 'reissue-serving', policy, later);
    store.interfere = () => {
      store.set(theirs);
    };
    assert.deepEqual(await obtainChain(store, policy, () => later), theirs);
    const mine = await obtainChain(memoryStore(fresh), policy, () => later);
    assert.equal(mine.caCertPem, fresh.caCertPem);
    assert.equal(chainStatus(mine, policy, later), 'valid');
  });

  it('gives up with a Conflict when the Secret never settles', async () => {
    const store = memoryStore(fresh);
    store.replace = () => Promise.resolve(false);
    await assert.rejects(
      obtainChain(store, policy, () => new Date(now.getTime() + 340 * DAY)),
      { kind: 'Conflict' },
    );
  });
});

describe('fileCertificateSource', () => {
  it('reads both files on every call, without a CA', async () => {
    const files = new Map([
      ['/tls/tls.crt', 'CERT'],
      ['/tls/tls.key', 'KEY'],
    ]);
    const source = fileCertificateSource({ certFile: '/tls/tls.crt', keyFile: '/tls/tls.key' }, (path) =>
      Promise.resolve(files.get(path) ?? ''),
    );
    assert.deepEqual(await source(), { certPem: 'CERT', keyPem: 'KEY', caPem: undefined });
    files.set('/tls/tls.crt', 'ROTATED');
    assert.equal((await source()).certPem, 'ROTATED');
  });
});

describe('watchCertificate', () => {
  it('applies the latest identity every interval, survives a failed refresh, stops on abort', async () => {
    const current: ServingIdentity = { certPem: fresh.certPem, keyPem: fresh.keyPem, caPem: fresh.caCertPem };
    let calls = 0;
    const applied: string[] = [];
    const controller = new AbortController();
    const clock = new FakeClock();
    const renewed = renewChain(fresh, 'reissue-serving', policy, now);
    watchCertificate({
      source: () => {
        calls++;
        if (calls === 1) return Promise.reject(new Error('API server unavailable'));
        return Promise.resolve({
          certPem: renewed.certPem,
          keyPem: renewed.keyPem,
          caPem: renewed.caCertPem,
        });
      },
      current,
      apply: (identity) => {
        applied.push(identity.certPem);
        if (applied.length === 2) controller.abort();
        return Promise.resolve();
      },
      intervalMs: 5,
      signal: controller.signal,
      logger: silentLogger(),
      timers: clock,
    });
    await clock.advance(4);
    assert.equal(calls, 0, 'nothing before the first interval');
    await clock.advance(15);
    assert.equal(calls, 3);
    assert.ok(controller.signal.aborted);
    await clock.advance(50);
    assert.equal(calls, 3, 'no refresh after abort');
    assert.equal(clock.pendingTimers, 0);
    assert.deepEqual(applied, [renewed.certPem, renewed.certPem]);
  });
});

describe('a client certificate beside the serving one', () => {
  const withClient: CertificatePolicy = { ...policy, clientCommonName: 'aci-burst-scheduler' };
  const chain = renewChain(undefined, 'new-chain', withClient, now);

  it('is issued by the same CA for client authentication, with the name asked for', () => {
    assert.ok(chain.client);
    const ca = forge.pki.certificateFromPem(chain.caCertPem);
    const client = forge.pki.certificateFromPem(chain.client.certPem);
    assert.ok(ca.verify(client));
    assert.equal((client.subject.getField('CN') as { value?: unknown } | null)?.value, 'aci-burst-scheduler');
    const usage = client.getExtension('extKeyUsage') as { clientAuth?: boolean; serverAuth?: boolean };
    assert.deepEqual([usage.clientAuth, usage.serverAuth === true], [true, false]);
    assert.equal(chainStatus(chain, withClient, now), 'valid');
    assert.equal(renewChain(undefined, 'new-chain', policy, now).client, undefined, 'only when asked for');
  });

  const table: { name: string; chain: CertificateChain; at?: Date; status: ChainStatus }[] = [
    {
      name: 'missing (a Secret from before)',
      chain: { ...chain, client: undefined },
      status: 'reissue-serving',
    },
    {
      name: 'signed by another CA',
      chain: { ...chain, client: renewChain(undefined, 'new-chain', withClient, now).client },
      status: 'reissue-serving',
    },
    { name: 'due for renewal', chain, at: new Date(now.getTime() + 340 * DAY), status: 'reissue-serving' },
    {
      name: 'for another name',
      chain: renewChain(undefined, 'new-chain', { ...withClient, clientCommonName: 'someone' }, now),
      status: 'reissue-serving',
    },
  ];
  for (const row of table) {
    it(`${row.name}: ${row.status}`, () => {
      assert.equal(chainStatus(row.chain, withClient, row.at ?? now), row.status);
    });
  }

  it('renewal keeps the CA and reissues the client certificate with the serving one', () => {
    const later = new Date(now.getTime() + 340 * DAY);
    const renewed = renewChain(chain, 'reissue-serving', withClient, later);
    assert.equal(renewed.caCertPem, chain.caCertPem);
    assert.notEqual(renewed.client?.certPem, chain.client?.certPem);
    assert.equal(chainStatus(renewed, withClient, later), 'valid');
  });
});
