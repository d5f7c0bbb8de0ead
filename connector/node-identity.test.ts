import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, it } from 'node:test';
import type { V1CertificateSigningRequest } from '@kubernetes/client-node';
import forge from 'node-forge';
import { ClassifiedError } from '../runtime/errors.ts';
import { createLogger } from '../runtime/logger.ts';
import { createCertificateAuthority, serialNumber, type KeyPairPem } from '../runtime/tls.ts';
import {
  KUBELET_CLIENT_SIGNER,
  NodeIdentity,
  csrOutcome,
  nodeCsrObject,
  renewalAt,
  requestNodeCredential,
  type CsrApi,
} from './node-identity.ts';

const logger = createLogger({ component: 'test', level: 'silent' });
const ca = createCertificateAuthority({ commonName: 'test-cluster-ca', now: new Date() });
const HOUR = 3_600_000;

/** What kube-controller-manager's csrsigning controller does: the requested key and subject, signed by the CA. */
function sign(authority: KeyPairPem, csrPem: string, notBefore: number, lifetimeMs: number): string {
  const request = forge.pki.certificationRequestFromPem(csrPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = request.publicKey as forge.pki.PublicKey;
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(notBefore);
  cert.validity.notAfter = new Date(notBefore + lifetimeMs);
  cert.setSubject(request.subject.attributes);
  cert.setIssuer(forge.pki.certificateFromPem(authority.certPem).subject.attributes);
  cert.sign(forge.pki.privateKeyFromPem(authority.keyPem), forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** A fake clock whose sleeps advance it, so waits take no real time. */
function fakeTime(start: number): {
  clock: { now: () => number };
  sleep: (ms: number) => Promise<void>;
  sleeps: number[];
} {
  let now = start;
  const sleeps: number[] = [];
  return {
    clock: { now: () => now },
    sleep: (ms) => {
      sleeps.push(ms);
      now += ms;
      return Promise.resolve();
    },
    sleeps,
  };
}

/**
 * A CSR API whose requests are answered after `readsBeforeAnswer` reads with `answer` (approve and
 * sign with a one-day certificate from `now()`, deny, or nothing).
 */
function fakeCsrApi(options: {
  answer: 'sign' | 'deny' | 'never';
  readsBeforeAnswer?: number;
  now: () => number;
  lifetimeMs?: number;
}): CsrApi & { created: V1CertificateSigningRequest[] } {
  const created: V1CertificateSigningRequest[] = [];
  const reads = new Map<string, number>();
  return {
    created,
    create: (csr) => {
      created.push(csr);
      return Promise.resolve(`csr-${created.length}`);
    },
    read: (name) => {
      const count = (reads.get(name) ?? 0) + 1;
      reads.set(name, count);
      const csr = created[Number(name.slice(4)) - 1];
      if (csr === undefined) return Promise.resolve(undefined);
      if (count <= (options.readsBeforeAnswer ?? 0) || options.answer === 'never') {
        return Promise.resolve({ ...csr, status: {} });
      }
      if (options.answer === 'deny') {
        return Promise.resolve({
          ...csr,
          status: { conditions: [{ type: 'Denied', status: 'True', reason: 'ByPolicy', message: 'no' }] },
        });
      }
      const pem = Buffer.from(csr.spec.request, 'base64').toString('utf8');
      const certPem = sign(ca, pem, options.now(), options.lifetimeMs ?? 24 * HOUR);
      return Promise.resolve({
        ...csr,
        status: {
          conditions: [{ type: 'Approved', status: 'True', reason: 'AutoApproved', message: '' }],
          certificate: Buffer.from(certPem).toString('base64'),
        },
      });
    },
  };
}

describe('the node certificate request', () => {
  it('asks the kubelet client signer for CN=system:node:<node>, O=system:nodes, no SANs, client auth', () => {
    const object = nodeCsrObject('aci-connector', '-----BEGIN CERTIFICATE REQUEST-----\n');
    assert.equal(object.spec.signerName, KUBELET_CLIENT_SIGNER);
    // The usage set pkg/apis/certificates.IsKubeletClientCSR accepts for an RSA key, and nothing more.
    assert.deepEqual([...(object.spec.usages ?? [])].sort(), [
      'client auth',
      'digital signature',
      'key encipherment',
    ]);
    assert.equal(object.metadata?.generateName, 'aci-burst-aci-connector-');
  });

  it('builds a PKCS#10 request the approver recognises as a kubelet client request', async () => {
    const time = fakeTime(Date.UTC(2030, 0, 1));
    const api = fakeCsrApi({ answer: 'sign', now: time.clock.now });
    await requestNodeCredential({
      api,
      nodeName: 'vn-1',
      clock: time.clock,
      sleep: time.sleep,
      signal: new AbortController().signal,
      timeoutMs: 60_000,
      pollMs: 500,
    });
    const sent = api.created[0];
    assert.ok(sent);
    const request = forge.pki.certificationRequestFromPem(
      Buffer.from(sent.spec.request, 'base64').toString(),
    );
    assert.ok(request.verify(), 'self-signed with its key');
    assert.deepEqual(
      request.subject.attributes.map(
        (attribute) => `${attribute.shortName ?? ''}=${String(attribute.value)}`,
      ),
      ['O=system:nodes', 'CN=system:node:vn-1'],
    );
    assert.equal(request.getAttribute({ name: 'extensionRequest' }), null, 'no SANs, no extensions');
  });
});

describe('csrOutcome', () => {
  const table: [string, V1CertificateSigningRequest['status'], string][] = [
    ['no status yet', undefined, 'pending'],
    ['approved, not signed yet', { conditions: [{ type: 'Approved', status: 'True' }] }, 'pending'],
    ['signed', { certificate: Buffer.from('PEM').toString('base64') }, 'issued'],
    ['denied', { conditions: [{ type: 'Denied', status: 'True', reason: 'Policy' }] }, 'refused'],
    [
      'failed signing',
      { conditions: [{ type: 'Failed', status: 'True', reason: 'SignerError' }] },
      'refused',
    ],
  ];
  for (const [name, status, expected] of table) {
    it(`${name}: ${expected}`, () => {
      const outcome = csrOutcome({ spec: { request: '', signerName: KUBELET_CLIENT_SIGNER }, status });
      assert.equal(outcome.state, expected);
    });
  }
});

describe('requestNodeCredential', () => {
  const base = (api: CsrApi, time: ReturnType<typeof fakeTime>) => ({
    api,
    nodeName: 'vn-1',
    clock: time.clock,
    sleep: time.sleep,
    signal: new AbortController().signal,
    timeoutMs: 10_000,
    pollMs: 1000,
  });

  it('waits for approval and signing, and keeps the key that matches the certificate', async () => {
    const time = fakeTime(Date.UTC(2030, 0, 1));
    const api = fakeCsrApi({ answer: 'sign', readsBeforeAnswer: 2, now: time.clock.now });
    const credential = await requestNodeCredential(base(api, time));
    assert.deepEqual(time.sleeps, [1000, 1000]);
    const certificate = new X509Certificate(credential.certPem);
    assert.ok(certificate.checkPrivateKey(createPrivateKey(credential.keyPem)));
    assert.equal(credential.requestName, 'csr-1');
    assert.equal(credential.notAfter - credential.notBefore, 24 * HOUR);
  });

  it('says a refused request was refused, naming it', async () => {
    const time = fakeTime(0);
    const api = fakeCsrApi({ answer: 'deny', now: time.clock.now });
    await assert.rejects(requestNodeCredential(base(api, time)), (error: unknown) => {
      assert.ok(error instanceof ClassifiedError);
      assert.match(error.message, /csr-1 for system:node:vn-1 was refused \(Denied: ByPolicy no\)/);
      return true;
    });
  });

  it('gives up after the timeout, naming the permission and the manual approval', async () => {
    const time = fakeTime(0);
    const api = fakeCsrApi({ answer: 'never', now: time.clock.now });
    await assert.rejects(
      requestNodeCredential(base(api, time)),
      /certificatesigningrequests\/nodeclient.*kubectl certificate approve csr-1/s,
    );
    assert.equal(time.sleeps.length, 10, 'bounded: one read per poll until the timeout');
  });
});

describe('requestNodeCredential on shutdown', () => {
  it('stops waiting for approval when the signal aborts, instead of polling until the timeout', async () => {
    const time = fakeTime(0);
    const api = fakeCsrApi({ answer: 'never', now: time.clock.now });
    const stop = new AbortController();
    const sleep = async (ms: number): Promise<void> => {
      await time.sleep(ms);
      if (time.sleeps.length === 2) stop.abort();
    };
    await assert.rejects(
      requestNodeCredential({
        api,
        nodeName: 'vn-1',
        clock: time.clock,
        sleep,
        signal: stop.signal,
        timeoutMs: 600_000,
        pollMs: 1000,
      }),
      /stopped while CertificateSigningRequest csr-1 waited/,
    );
    assert.equal(time.sleeps.length, 2);
  });
});

describe('renewal', () => {
  const table: [number, number][] = [
    [0, 0.7],
    [0.5, 0.8],
    [1, 0.9],
  ];
  for (const [random, fraction] of table) {
    it(`renews at ${fraction * 100} % of the lifetime when the draw is ${random}`, () => {
      assert.equal(
        renewalAt({ notBefore: 1000, notAfter: 1000 + 100 * HOUR }, random),
        Math.round(1000 + fraction * 100 * HOUR),
      );
    });
  }

  it('swaps a renewed certificate into the same KubeConfig before the old one expires, and retries a failure', async () => {
    const start = Date.UTC(2030, 0, 1);
    const time = fakeTime(start);
    const signer = fakeCsrApi({ answer: 'sign', now: time.clock.now });
    // The first renewal (the second request) fails once.
    let requests = 0;
    const api: CsrApi = {
      create: (csr) => {
        requests += 1;
        if (requests === 2) return Promise.reject(new ClassifiedError('Transient', 'API server unavailable'));
        return signer.create(csr);
      },
      read: (name) => signer.read(name),
    };
    const stop = new AbortController();
    const identity = new NodeIdentity({
      api,
      nodeName: 'vn-1',
      clock: time.clock,
      sleep: async (ms) => {
        await time.sleep(ms);
        if (time.clock.now() - start > 60 * HOUR) stop.abort();
      },
      timeoutMs: 10_000,
      pollMs: 1000,
      cluster: { name: 'local', server: 'https://127.0.0.1:6443', skipTLSVerify: false },
      logger,
      random: () => 0.5,
    });
    await identity.start(stop.signal);
    const first = identity.current;
    assert.ok(first);
    const userBefore = identity.kubeConfig.getCurrentUser();
    assert.equal(
      Buffer.from(userBefore?.certData ?? '', 'base64').toString(),
      first.certPem,
      'the KubeConfig holds the node certificate',
    );
    await identity.done;
    const renewals = Number(identity.kubeConfig.getCurrentUser()?.name.split('#')[1]) - 1;
    // 60 hours of one-day certificates renewed at 80 %: 19.2 h, +30 s (one failed try), 38.4 h, 57.6 h.
    assert.equal(renewals, 3);
    assert.equal(
      time.sleeps[0],
      Math.round(0.8 * 24 * HOUR),
      'the first renewal waits until 80 % of the life',
    );
    assert.equal(time.sleeps[1], 30_000, 'a failed renewal is tried again after 30 s');
    assert.ok(identity.current.notAfter > first.notAfter);
    assert.ok(first.notAfter > start + 0.8 * 24 * HOUR, 'renewed before the first one expired');
  });
});
