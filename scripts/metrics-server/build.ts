// Builds metrics-server from its Go module (go.mod beside this file pins the release) with the control
// plane's build steps and binary cache, so the metrics end-to-end test runs the real aggregated API
// server against the local cluster on a machine with only Go.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBinaries, goRunner, type BuildStep } from '../controlplane/build.ts';
import { binaryCacheRoot, requiredVersion } from '../controlplane/layout.ts';

export const METRICS_SERVER_MODULE = 'sigs.k8s.io/metrics-server';

/** Measured on this project's 2-core machine (docs/control-plane.md). */
export const METRICS_SERVER_COLD_BUILD_ESTIMATE =
  '7 minutes measured on a busy 2-core machine (4.3 CPU-minutes, so 2-3 minutes idle), plus the Go modules it needs beyond the control plane’s on a machine that never fetched them';

/**
 * The build of the metrics-server the go.mod pins, cached under `metrics-server-<version>`. The
 * version flag is the one metrics-server's own Makefile sets (client-go's version variables), so
 * `metrics-server --version` names the release.
 */
export function metricsServerBuildStep(repoRoot: string, goMod: string, cacheRoot: string): BuildStep {
  const version = requiredVersion(goMod, METRICS_SERVER_MODULE);
  return {
    binary: 'metrics-server',
    moduleDir: join(repoRoot, 'scripts', 'metrics-server'),
    packagePath: `${METRICS_SERVER_MODULE}/cmd/metrics-server`,
    ldflags: ['-s', '-w', `-X k8s.io/client-go/pkg/version.gitVersion=${version}`].join(' '),
    output: join(cacheRoot, `metrics-server-${version}`, 'metrics-server'),
  };
}

/** The path of a metrics-server binary, built first (with progress lines) when the cache lacks it. */
export async function buildMetricsServer(options: {
  repoRoot: string;
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  report: (line: string) => void;
}): Promise<string> {
  const goMod = readFileSync(join(options.repoRoot, 'scripts', 'metrics-server', 'go.mod'), 'utf8');
  const step = metricsServerBuildStep(options.repoRoot, goMod, binaryCacheRoot(options.env, options.home));
  await ensureBinaries({
    plan: [step],
    go: goRunner(options.env),
    report: options.report,
    coldBuildEstimate: METRICS_SERVER_COLD_BUILD_ESTIMATE,
  });
  return step.output;
}
