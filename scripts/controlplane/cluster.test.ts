import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { readClusterState, startCluster, stopCluster, type ClusterState } from './cluster.ts';
import { binaryPaths, stateFiles } from './layout.ts';
import { isRunning, launch, StartupError } from './processes.ts';

const root = mkdtempSync(join(tmpdir(), 'aci-burst-cluster-'));
after(() => {
  rmSync(root, { recursive: true, force: true });
});

function fakeBinaries(script: string): ClusterState['binaries'] {
  const paths = binaryPaths(join(root, 'bin'), { kubernetes: 'v1.36.3', etcd: 'v3.6.16' });
  for (const path of Object.values(paths)) {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, `#!/bin/sh\n${script}\n`);
    chmodSync(path, 0o755);
  }
  return paths;
}

const options = (stateDir: string, binaries: ClusterState['binaries']) => ({
  stateDir,
  binaries,
  kubernetesVersion: 'v1.36.3',
  owner: 'cli' as const,
  report: () => undefined,
  now: new Date(),
  readyTimeoutMs: 10_000,
});

describe('startCluster', () => {
  it('ends with the log tail of a process that dies at start, its pid recorded for down', async () => {
    const stateDir = join(root, 'dies');
    const binaries = fakeBinaries(
      'echo "etcdmain: listen tcp 127.0.0.1:2379: bind: address already in use" >&2; exit 2',
    );
    await assert.rejects(
      startCluster(options(stateDir, binaries)),
      (error) =>
        error instanceof StartupError &&
        /etcd exited \(code 2\) during start/.test(error.message) &&
        /bind: address already in use/.test(error.message) &&
        error.message.includes(join(stateDir, 'logs', 'etcd.log')),
    );
    assert.deepEqual(
      readClusterState(stateDir)?.processes.map((p) => p.name),
      ['etcd'],
    );
  });

  it('refuses to start over a cluster that still runs, and down stops it', async () => {
    const stateDir = join(root, 'running');
    mkdirSync(stateDir, { recursive: true });
    const sleeper = launch('etcd', '/bin/sleep', ['30'], join(stateDir, 'etcd.log'));
    const state = { stateDir, processes: [sleeper.process] };
    writeFileSync(stateFiles(stateDir).state, JSON.stringify(state));
    await assert.rejects(startCluster(options(stateDir, fakeBinaries('exit 0'))), /already running/);
    assert.deepEqual(await stopCluster(stateDir), ['etcd']);
    assert.ok(!isRunning(sleeper.process));
    assert.equal(readClusterState(stateDir), undefined);
  });
});
