// `npm run demo` as a test runs it: `node scripts/demo.ts --exit --fast`, with ACI_BURST_CLUSTER_DIR
// pointing at an empty directory so it starts (and stops) a private control plane instead of touching
// the cluster other test files share (its webhook and simulated worker would change their scheduling).
// Cost: the private control plane (~10 s to ready on 2 cores) on top of the demo itself.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const repoRoot = new URL('../../', import.meta.url).pathname;
const workDir = mkdtempSync(join(tmpdir(), 'aci-burst-demo-test-'));
after(() => {
  rmSync(workDir, { recursive: true, force: true });
});

let runs = 0;

interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the demo; `interruptAfter` sends SIGINT once a line matching it appears. */
function runDemo(args: string[], interruptAfter?: RegExp): Promise<DemoRun> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ACI_BURST_CLUSTER_DIR: join(workDir, `cluster-${++runs}`),
  };
  // The child is a program, not a test file.
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['scripts/demo.ts', ...args], { cwd: repoRoot, env });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (interruptAfter?.test(stdout) === true && child.exitCode === null) {
      interruptAfter = undefined;
      child.kill('SIGINT');
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => {
    child.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

/** The pids the demo said it stopped ("stopping the webhook (pid 123)"). */
function reportedPids(stdout: string): number[] {
  return [...stdout.matchAll(/stopping .*\(pid (\d+)\)/g)].map((match) => Number(match[1]));
}

function assertNothingLeft(stdout: string): void {
  assert.match(stdout, /demo: stopped everything it started/);
  const pids = reportedPids(stdout);
  for (const pid of pids) assert.equal(existsSync(`/proc/${pid}`), false, `pid ${pid} still runs`);
  // The private cluster's state directory (every control-plane pid and log) is removed with it.
  assert.deepEqual(
    readdirSync(workDir).filter((name) => name.includes('-demo-')),
    [],
  );
}

describe('npm run demo', { timeout: 300_000 }, () => {
  it('--exit --fast: every example reaches Running, on ACI or the simulated worker, then everything stops', async () => {
    const run = await runDemo(['--exit', '--fast']);
    assert.equal(run.code, 0, `exit code ${String(run.code)}\n${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /demo: starting a private control plane/);
    assert.match(run.stdout, /webhook serving on https:\/\/127\.0\.0\.1:\d+\/, registered by URL/);
    assert.match(run.stdout, /called by a second kube-scheduler "aci-burst-scheduler"/);
    assert.match(run.stdout, /demo: every example reached Running/);
    assert.match(run.stdout, /^ {2}aci-burst-demo\/nginx: 1\/1 Running \(1 on aci-connector\)$/m);
    assert.match(
      run.stdout,
      /^ {2}aci-burst-demo\/nginx-tolerations: 1\/1 Running \(1 on (aci-connector|demo-worker-simulated)\)$/m,
    );
    // The burst: the simulated worker (2 cpu) takes what fits of the 4 x 750m replicas, ACI the rest.
    assert.match(
      run.stdout,
      /^ {2}aci-burst-demo-burst\/web: 4\/4 Running \((?=.*\d on aci-connector)(?=.*\d on demo-worker-simulated).*\)$/m,
    );
    assert.match(run.stdout, /^POD +PHASE +NODE +IP$/m);
    assert.equal(reportedPids(run.stdout).length, 4, 'webhook, extender, second scheduler and connector');
    assertNothingLeft(run.stdout);
    assert.doesNotMatch(run.stdout, /logs kept in/, 'a successful run removes its logs');
  });

  it('Ctrl-C while the control plane starts: stops what was started and exits 130', async () => {
    const run = await runDemo(['--fast'], /control plane: kube-apiserver ready/);
    assert.equal(run.code, 130, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /demo: interrupted/);
    assert.match(run.stdout, /demo: stopping the private cluster/);
    assertNothingLeft(run.stdout);
    // An unsuccessful run keeps its logs and says where.
    const kept = /demo: logs kept in (\S+)/.exec(run.stdout)?.[1];
    assert.ok(kept !== undefined && existsSync(kept), 'the kept log directory exists');
    rmSync(kept, { recursive: true, force: true });
  });
});
