import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createCertificateAuthority, issueCertificate } from '../../runtime/tls.ts';
import {
  freeLoopbackPorts,
  httpsStatus,
  isRunning,
  launch,
  StartupError,
  stopProcesses,
  waitUntilReady,
} from './processes.ts';

const logs = mkdtempSync(join(tmpdir(), 'aci-burst-processes-'));
after(() => {
  rmSync(logs, { recursive: true, force: true });
});

describe('freeLoopbackPorts', () => {
  it('returns distinct usable ports', async () => {
    const ports = await freeLoopbackPorts(5);
    assert.equal(new Set(ports).size, 5);
    assert.ok(ports.every((port) => port > 0 && port < 65536));
  });
});

describe('launch and stopProcesses', () => {
  it('starts a detached process, sees it run, and stops exactly it', async () => {
    const sleeper = launch('sleeper', '/bin/sleep', ['30'], join(logs, 'sleeper.log'));
    assert.ok(isRunning(sleeper.process));
    assert.deepEqual(await stopProcesses([sleeper.process]), ['sleeper']);
    assert.equal(await sleeper.exited, null, 'ended by a signal');
    assert.ok(!isRunning(sleeper.process));
  });

  it('never signals a pid now owned by another program', async () => {
    const impostor = {
      name: 'recycled',
      pid: process.pid,
      binary: '/usr/local/bin/etcd',
      logPath: '/dev/null',
    };
    assert.ok(!isRunning(impostor));
    assert.deepEqual(await stopProcesses([impostor]), []);
  });
});

describe('waitUntilReady', () => {
  it('fails at once with the log tail when the process exits during start', async () => {
    const failing = launch(
      'failing',
      '/bin/sh',
      ['-c', 'echo "bind: address already in use"; exit 3'],
      join(logs, 'failing.log'),
    );
    await assert.rejects(
      waitUntilReady(failing, () => Promise.resolve(false), 10_000),
      (error) =>
        error instanceof StartupError &&
        /failing exited \(code 3\)/.test(error.message) &&
        /bind: address already in use/.test(error.message),
    );
  });

  it('times out naming the process', async () => {
    const slow = launch('slow', '/bin/sleep', ['30'], join(logs, 'slow.log'));
    try {
      await assert.rejects(
        waitUntilReady(slow, () => Promise.resolve(false), 300),
        /slow not ready after 0.3s/,
      );
    } finally {
      await stopProcesses([slow.process]);
    }
  });

  it('returns once the probe holds', async () => {
    const ready = launch('ready', '/bin/sleep', ['30'], join(logs, 'ready.log'));
    let probes = 0;
    try {
      await waitUntilReady(ready, () => Promise.resolve(++probes === 3), 10_000);
      assert.equal(probes, 3);
    } finally {
      await stopProcesses([ready.process]);
    }
  });
});

describe('httpsStatus', () => {
  it('reports the status over verified TLS, and undefined when nothing listens', async () => {
    const ca = createCertificateAuthority({ commonName: 'test-ca', now: new Date() });
    const serving = issueCertificate(
      ca,
      { commonName: 'server', hosts: ['127.0.0.1'], now: new Date() },
      'server',
    );
    const server = createServer({ cert: serving.certPem, key: serving.keyPem }, (_req, res) => {
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      assert.equal(await httpsStatus(`https://127.0.0.1:${port}/readyz`, { ca: ca.certPem }), 204);
      const other = createCertificateAuthority({ commonName: 'other-ca', now: new Date() });
      assert.equal(await httpsStatus(`https://127.0.0.1:${port}/readyz`, { ca: other.certPem }), undefined);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    assert.equal(await httpsStatus(`https://127.0.0.1:${port}/readyz`, {}), undefined);
  });
});
