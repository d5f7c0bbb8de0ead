import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  BuildError,
  buildPlan,
  ensureBinaries,
  explainBuildFailure,
  formatElapsed,
  goBuildArgs,
  type BuildStep,
  type CommandResult,
  type GoRunner,
} from './build.ts';
import { binaryPaths } from './layout.ts';

const versions = { kubernetes: 'v1.36.3', etcd: 'v3.6.16' };

describe('buildPlan', () => {
  const plan = buildPlan('/repo', versions, binaryPaths('/cache', versions));

  it('builds kube-apiserver first and etcd from its own module', () => {
    assert.deepEqual(
      plan.map((step) => [step.binary, step.moduleDir, step.packagePath]),
      [
        ['kube-apiserver', '/repo/scripts/controlplane/kubernetes', 'k8s.io/kubernetes/cmd/kube-apiserver'],
        [
          'kube-controller-manager',
          '/repo/scripts/controlplane/kubernetes',
          'k8s.io/kubernetes/cmd/kube-controller-manager',
        ],
        ['kube-scheduler', '/repo/scripts/controlplane/kubernetes', 'k8s.io/kubernetes/cmd/kube-scheduler'],
        ['kubectl', '/repo/scripts/controlplane/kubernetes', 'k8s.io/kubernetes/cmd/kubectl'],
        ['etcd', '/repo/scripts/controlplane/etcd', '.'],
      ],
    );
  });

  it('stamps the Kubernetes version (else the binaries report v0.0.0-master)', () => {
    const apiserver = plan[0];
    assert.ok(apiserver);
    assert.match(apiserver.ldflags, /component-base\/version\.gitVersion=v1\.36\.3/);
    assert.match(apiserver.ldflags, /gitMajor=1 /);
    assert.match(apiserver.ldflags, /gitMinor=36 /);
    assert.deepEqual(goBuildArgs(apiserver, '/out'), [
      'build',
      '-trimpath',
      '-ldflags',
      apiserver.ldflags,
      '-o',
      '/out',
      'k8s.io/kubernetes/cmd/kube-apiserver',
    ]);
  });
});

describe('explainBuildFailure', () => {
  const step: BuildStep = {
    binary: 'kube-apiserver',
    moduleDir: '/m',
    packagePath: 'p',
    ldflags: '',
    output: '/o',
  };
  const cases: { name: string; result: CommandResult; expected: RegExp }[] = [
    {
      name: 'Go missing',
      result: { exitCode: null, outputTail: '', spawnErrorCode: 'ENOENT' },
      expected: /install Go 1\.26/,
    },
    {
      name: 'not startable',
      result: { exitCode: null, outputTail: '', spawnErrorCode: 'EACCES' },
      expected: /EACCES/,
    },
    {
      name: 'proxy unreachable',
      result: {
        exitCode: 1,
        outputTail:
          'go: k8s.io/api@v0.36.3: Get "https://proxy.golang.org/k8s.io/api/@v/v0.36.3.mod": dial tcp: lookup proxy.golang.org: no such host',
      },
      expected: /downloading the Go modules for kube-apiserver failed.*GOPROXY/s,
    },
    {
      name: 'compile error',
      result: { exitCode: 1, outputTail: 'vendor/x.go:12:3: undefined: foo' },
      expected: /compiling kube-apiserver failed \(go build exited with 1\).*\/m\/go\.mod.*undefined: foo/s,
    },
  ];
  for (const { name, result, expected } of cases) {
    it(name, () => {
      assert.match(explainBuildFailure(step, result), expected);
    });
  }
});

describe('formatElapsed', () => {
  const cases: [number, string][] = [
    [0, '0s'],
    [59_400, '59s'],
    [60_000, '1m00s'],
    [367_000, '6m07s'],
  ];
  for (const [ms, text] of cases) {
    it(`${ms} ms -> ${text}`, () => {
      assert.equal(formatElapsed(ms), text);
    });
  }
});

describe('ensureBinaries', () => {
  const cache = mkdtempSync(join(tmpdir(), 'aci-burst-build-'));
  after(() => {
    rmSync(cache, { recursive: true, force: true });
  });
  const plan = buildPlan('/repo', versions, binaryPaths(cache, versions));

  /** A Go that "builds" by writing the -o file, and records what it was asked. */
  function fakeGo(fail?: string): { go: GoRunner; built: string[] } {
    const built: string[] = [];
    const go: GoRunner = (args) => {
      const output = args[args.indexOf('-o') + 1] ?? '';
      const target = args.at(-1) ?? '';
      built.push(target);
      if (target === fail) return Promise.resolve({ exitCode: 2, outputTail: 'syntax error' });
      writeFileSync(output, 'binary');
      return Promise.resolve({ exitCode: 0, outputTail: '' });
    };
    return { go, built };
  }

  it('builds only what the cache lacks, reporting each binary', async () => {
    const etcd = plan.find((step) => step.binary === 'etcd');
    assert.ok(etcd);
    mkdirSync(dirname(etcd.output), { recursive: true });
    writeFileSync(etcd.output, 'cached');
    const { go, built } = fakeGo();
    const lines: string[] = [];
    await ensureBinaries({ plan, go, report: (line) => lines.push(line) });
    assert.deepEqual(
      built,
      plan.slice(0, 4).map((step) => step.packagePath),
    );
    assert.ok(plan.every((step) => existsSync(step.output)));
    assert.match(
      lines[0] ?? '',
      /^building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl \(cold build: usually \d+-\d+ minutes/,
    );
    assert.ok(lines.includes('[4/4] building kubectl ...'));
    assert.match(lines.at(-1) ?? '', /^built 4 binaries in \d+s$/);
  });

  it('does nothing when everything is cached', async () => {
    const { go, built } = fakeGo();
    const lines: string[] = [];
    await ensureBinaries({ plan, go, report: (line) => lines.push(line) });
    assert.deepEqual(built, []);
    assert.deepEqual(lines, []);
  });

  it('fails with the explanation and leaves no partial binary behind', async () => {
    rmSync(cache, { recursive: true, force: true });
    const { go } = fakeGo('k8s.io/kubernetes/cmd/kube-scheduler');
    await assert.rejects(
      ensureBinaries({ plan, go, report: () => undefined }),
      (error) => error instanceof BuildError && /compiling kube-scheduler failed/.test(error.message),
    );
    const kubernetesDir = dirname(plan[0]?.output ?? '');
    assert.deepEqual(readdirSync(kubernetesDir).sort(), ['kube-apiserver', 'kube-controller-manager']);
  });
});
