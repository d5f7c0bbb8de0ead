import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { stateFiles } from '../controlplane/layout.ts';
import type { ManagedProcess } from '../controlplane/processes.ts';
import { privateClusterDir, stopIfStillOwned, sweepAbandonedClusters } from './clusters.ts';

const parent = mkdtempSync(join(tmpdir(), 'aci-sweep-test-'));
after(() => {
  rmSync(parent, { recursive: true, force: true });
});

const etcd = (pid: number): ManagedProcess => ({ name: 'etcd', pid, binary: '/bin/etcd', logPath: '' });

/** A directory under `root`, with a state file recording `processes` unless they are undefined. */
function leftover(root: string, name: string, processes?: ManagedProcess[]): void {
  mkdirSync(join(root, name));
  if (processes !== undefined) {
    writeFileSync(stateFiles(join(root, name)).state, JSON.stringify({ processes }));
  }
}

describe('sweepAbandonedClusters', () => {
  it("removes the private clusters of dead owners, stopping what they recorded; another run's, or anything else, is left alone", async () => {
    const root = mkdtempSync(join(parent, 'sweep-'));
    const [live, dead] = [100, 200];
    leftover(root, `aci-chaos-${dead}-a`, [etcd(11)]);
    leftover(root, `aci-chaos-${dead}-b`); // killed before it wrote a state file
    leftover(root, `aci-chaos-${live}-c`, [etcd(12)]);
    leftover(root, 'aci-burst-cluster-0', [etcd(13)]); // the shared cluster
    leftover(root, 'aci-chaos-Xy12Zq'); // another naming: not known to be a private cluster
    const stops: [string, number[]][] = [];
    const result = await sweepAbandonedClusters(root, {
      alive: (pid) => pid === live,
      stop: (dir, processes) => {
        stops.push([basename(dir), processes.map((p) => p.pid)]);
        return Promise.resolve(processes.map((p) => p.name));
      },
    });
    assert.deepEqual(result.removed.map((dir) => basename(dir)).sort(), [
      `aci-chaos-${dead}-a`,
      `aci-chaos-${dead}-b`,
    ]);
    assert.deepEqual(stops.sort(), [
      [`aci-chaos-${dead}-a`, [11]],
      [`aci-chaos-${dead}-b`, []],
    ]);
    assert.deepEqual(readdirSync(root).sort(), [
      'aci-burst-cluster-0',
      `aci-chaos-${live}-c`,
      'aci-chaos-Xy12Zq',
    ]);
  });

  it("never removes this run's own directory", async () => {
    const root = mkdtempSync(join(parent, 'own-'));
    const own = privateClusterDir(root);
    await sweepAbandonedClusters(root);
    assert.ok(existsSync(own));
  });
});

describe('stopIfStillOwned', () => {
  it('signals a recorded process only while it runs the recorded binary with a command line naming the directory', async (t) => {
    const [ours, theirs] = [join(parent, 'aci-chaos-1-ours'), join(parent, 'aci-chaos-1-theirs')];
    // `; :` keeps the shell from replacing itself with sleep, so argv[0] stays /bin/sh.
    const child = spawn('/bin/sh', ['-c', 'sleep 30; :', 'sh', `${ours}/etcd-data`], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    t.after(() => child.kill('SIGKILL'));
    const recorded: ManagedProcess = { name: 'etcd', pid: child.pid ?? -1, binary: '/bin/sh', logPath: '' };
    assert.deepEqual(
      await stopIfStillOwned(theirs, [recorded]),
      [],
      "another run's directory: not signalled",
    );
    assert.deepEqual(
      await stopIfStillOwned(ours, [{ ...recorded, binary: '/bin/other' }]),
      [],
      'another binary',
    );
    assert.deepEqual(await stopIfStillOwned(ours, [recorded]), ['etcd']);
    assert.equal(await exited, null, 'ended by a signal');
  });
});
