// Builds the control-plane binaries from the Go wrapper modules beside this file and caches them
// by version, so only the first run pays for the compile. A missing Go, a failed module download
// or a failed compile ends with a message that says what to do.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  binaryCacheRoot,
  binaryPaths,
  ETCD_MODULE,
  KUBERNETES_COMMANDS,
  KUBERNETES_MODULE,
  requiredVersion,
  type BinaryPaths,
  type Versions,
} from './layout.ts';

/** Measured on this project's 2-core machines (docs/control-plane.md). */
export const COLD_BUILD_ESTIMATE =
  'usually 10-15 minutes on an idle 2-core machine, up to ~30 when it is busy (kube-apiserver is most of it), ' +
  'including ~0.9 GB of Go modules to download on a machine that never fetched them';

export interface BuildStep {
  /** The binary's name in progress lines and error messages (scripts/helm builds helm with the same steps). */
  binary: string;
  /** The Go wrapper module to build in. */
  moduleDir: string;
  packagePath: string;
  ldflags: string;
  output: string;
}

export interface CommandResult {
  exitCode: number | null;
  /** The last few kilobytes of stdout and stderr, interleaved. */
  outputTail: string;
  /** Set when the command could not be started at all (for example ENOENT: not installed). */
  spawnErrorCode?: string;
}

/** Runs `go` with arguments in a directory; production spawns it, tests pass a plain function. */
export type GoRunner = (args: readonly string[], cwd: string) => Promise<CommandResult>;

export class BuildError extends Error {
  override readonly name = 'BuildError';
}

/** What to build, in order (kube-apiserver first: it compiles most of what the others share). */
export function buildPlan(repoRoot: string, versions: Versions, paths: BinaryPaths): BuildStep[] {
  const kubernetesModule = join(repoRoot, 'scripts', 'controlplane', 'kubernetes');
  const [major, minor] = versions.kubernetes.replace(/^v/, '').split('.');
  const versionFlags = [
    `-X k8s.io/component-base/version.gitVersion=${versions.kubernetes}`,
    `-X k8s.io/component-base/version.gitMajor=${major ?? ''}`,
    `-X k8s.io/component-base/version.gitMinor=${minor ?? ''}`,
    '-X k8s.io/component-base/version.gitTreeState=clean',
    // kubectl reports its version through client-go's copy of the same variables.
    `-X k8s.io/client-go/pkg/version.gitVersion=${versions.kubernetes}`,
    `-X k8s.io/client-go/pkg/version.gitMajor=${major ?? ''}`,
    `-X k8s.io/client-go/pkg/version.gitMinor=${minor ?? ''}`,
  ];
  // -s -w drop the symbol tables: smaller binaries and a noticeably faster link.
  const kubernetesSteps = KUBERNETES_COMMANDS.map((command) => ({
    binary: command,
    moduleDir: kubernetesModule,
    packagePath: `k8s.io/kubernetes/cmd/${command}`,
    ldflags: ['-s', '-w', ...versionFlags].join(' '),
    output: paths[command],
  }));
  return [
    ...kubernetesSteps,
    {
      binary: 'etcd',
      moduleDir: join(repoRoot, 'scripts', 'controlplane', 'etcd'),
      packagePath: '.',
      ldflags: '-s -w',
      output: paths.etcd,
    },
  ];
}

export function goBuildArgs(step: BuildStep, output: string): string[] {
  return ['build', '-trimpath', '-ldflags', step.ldflags, '-o', output, step.packagePath];
}

const DOWNLOAD_FAILURE =
  /dial tcp|no such host|i\/o timeout|connection refused|TLS handshake|proxy\.golang\.org|GOPROXY|module lookup disabled|verifying .*: checksum mismatch|unexpected EOF|reading https?:\/\//;

/** A message naming the cause and the fix, for a `go` command that did not succeed. */
export function explainBuildFailure(step: BuildStep, result: CommandResult): string {
  if (result.spawnErrorCode === 'ENOENT') {
    return (
      "Go is not installed or not on PATH. The local control plane (and helm, for the chart's tests) is compiled from upstream Go modules: " +
      'install Go 1.26 or later (https://go.dev/dl/), make sure `go version` works, and run again.'
    );
  }
  if (result.spawnErrorCode !== undefined) {
    return `could not start \`go\` to build ${step.binary} (${result.spawnErrorCode}).`;
  }
  const tail = result.outputTail.trim();
  if (DOWNLOAD_FAILURE.test(tail)) {
    return (
      `downloading the Go modules for ${step.binary} failed: check that the Go module proxy is reachable ` +
      `(go env GOPROXY) and that there is disk space for the module cache (go env GOMODCACHE), then run again.\n${tail}`
    );
  }
  return (
    `compiling ${step.binary} failed (go build exited with ${String(result.exitCode)}). ` +
    `If the installed Go is too new or too old for the pinned release, pin another release in ` +
    `${join(step.moduleDir, 'go.mod')} (see docs/control-plane.md) or install the Go version it names.\n${tail}`
  );
}

export function formatElapsed(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return seconds < 60
    ? `${seconds}s`
    : `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}

export interface EnsureBinariesOptions {
  plan: readonly BuildStep[];
  go: GoRunner;
  /** One line of progress for a person (which binary, elapsed time). */
  report: (line: string) => void;
  /** Defaults to Date.now; tests pass a fake clock. */
  now?: () => number;
  /** How often a build still running reports its elapsed time. */
  progressIntervalMs?: number;
  /** What a cold build costs, for the first progress line; defaults to the control plane's. */
  coldBuildEstimate?: string;
}

/** Builds each missing binary of the plan; returns at once when every binary is cached. */
export async function ensureBinaries(options: EnsureBinariesOptions): Promise<void> {
  const missing = options.plan.filter((step) => !existsSync(step.output));
  if (missing.length === 0) return;
  const now = options.now ?? Date.now;
  const started = now();
  options.report(
    `building ${missing.map((step) => step.binary).join(', ')} (cold build: ${options.coldBuildEstimate ?? COLD_BUILD_ESTIMATE}; cached afterwards)`,
  );
  for (const [index, step] of missing.entries()) {
    await buildOne(step, `${index + 1}/${missing.length}`, options);
  }
  options.report(`built ${missing.length} binaries in ${formatElapsed(now() - started)}`);
}

async function buildOne(step: BuildStep, position: string, options: EnsureBinariesOptions): Promise<void> {
  const now = options.now ?? Date.now;
  const started = now();
  options.report(`[${position}] building ${step.binary} ...`);
  const ticker = setInterval(() => {
    options.report(`[${position}] building ${step.binary}: ${formatElapsed(now() - started)} elapsed`);
  }, options.progressIntervalMs ?? 30_000);
  // A private partial name, renamed into place only when complete: a concurrent or interrupted
  // build never leaves a truncated binary where the cache looks for one.
  const partial = `${step.output}.${process.pid}.partial`;
  mkdirSync(dirname(step.output), { recursive: true });
  try {
    const result = await options.go(goBuildArgs(step, partial), step.moduleDir);
    if (result.exitCode !== 0 || result.spawnErrorCode !== undefined) {
      throw new BuildError(explainBuildFailure(step, result));
    }
    renameSync(partial, step.output);
  } finally {
    clearInterval(ticker);
    rmSync(partial, { force: true });
  }
  options.report(`[${position}] built ${step.binary} in ${formatElapsed(now() - started)}`);
}

const TAIL_BYTES = 4096;

/** The production GoRunner: `go` from PATH, CGO off (pure-Go static binaries), output tail kept. */
export function goRunner(env: Readonly<Record<string, string | undefined>>): GoRunner {
  return (args, cwd) =>
    new Promise((resolve) => {
      const child = spawn('go', args, {
        cwd,
        env: { ...env, CGO_ENABLED: '0' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let tail = '';
      const keep = (chunk: Buffer): void => {
        tail = (tail + chunk.toString('utf8')).slice(-TAIL_BYTES);
      };
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('error', (error: NodeJS.ErrnoException) => {
        resolve({ exitCode: null, outputTail: tail, spawnErrorCode: error.code ?? 'unknown' });
      });
      child.on('close', (exitCode) => {
        resolve({ exitCode, outputTail: tail });
      });
    });
}

export interface ControlPlaneBinaries {
  versions: Versions;
  paths: BinaryPaths;
}

/** Reads the pinned versions from the wrapper modules and builds whatever the cache lacks. */
export async function buildControlPlane(options: {
  repoRoot: string;
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  report: (line: string) => void;
}): Promise<ControlPlaneBinaries> {
  const moduleFile = (name: string): string =>
    readFileSync(join(options.repoRoot, 'scripts', 'controlplane', name, 'go.mod'), 'utf8');
  const versions: Versions = {
    kubernetes: requiredVersion(moduleFile('kubernetes'), KUBERNETES_MODULE),
    etcd: requiredVersion(moduleFile('etcd'), ETCD_MODULE),
  };
  const paths = binaryPaths(binaryCacheRoot(options.env, options.home), versions);
  await ensureBinaries({
    plan: buildPlan(options.repoRoot, versions, paths),
    go: goRunner(options.env),
    report: options.report,
  });
  return { versions, paths };
}
