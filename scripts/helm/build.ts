// Builds helm from its Go module (go.mod beside this file pins the release) with the control plane's
// build steps and binary cache, so the chart's tests can `helm template` on a machine with only Go.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBinaries, goRunner, type BuildStep } from '../controlplane/build.ts';
import { binaryCacheRoot, requiredVersion } from '../controlplane/layout.ts';

export const HELM_MODULE = 'helm.sh/helm/v3';
const CLIENT_GO_MODULE = 'k8s.io/client-go';

/** Measured on this project's 2-core machines while other builds ran. */
export const HELM_COLD_BUILD_ESTIMATE =
  '5 to 10 minutes on 2 cores, plus ~300 MB of Go modules to download on a machine that never fetched them';

/**
 * The build of the helm the go.mod pins, cached under `helm-<version>`. The version flags are the ones
 * helm's own Makefile sets: without them `helm version` is vague and `helm template` assumes Kubernetes
 * 1.20, older than the chart's kubeVersion allows.
 */
export function helmBuildStep(repoRoot: string, goMod: string, cacheRoot: string): BuildStep {
  const version = requiredVersion(goMod, HELM_MODULE);
  // client-go v0.37.0 ships with Kubernetes 1.37.
  const [, clientMinor] = requiredVersion(goMod, CLIENT_GO_MODULE).replace(/^v/, '').split('.');
  const kubernetesFlags = ['pkg/chartutil', 'pkg/lint/rules'].flatMap((pkg) => [
    `-X ${HELM_MODULE}/${pkg}.k8sVersionMajor=1`,
    `-X ${HELM_MODULE}/${pkg}.k8sVersionMinor=${clientMinor ?? ''}`,
  ]);
  return {
    binary: 'helm',
    moduleDir: join(repoRoot, 'scripts', 'helm'),
    packagePath: `${HELM_MODULE}/cmd/helm`,
    ldflags: ['-s', '-w', `-X ${HELM_MODULE}/internal/version.version=${version}`, ...kubernetesFlags].join(
      ' ',
    ),
    output: join(cacheRoot, `helm-${version}`, 'helm'),
  };
}

/** The path of a helm binary, built first (with progress lines) when the cache lacks it. */
export async function buildHelm(options: {
  repoRoot: string;
  env: Readonly<Record<string, string | undefined>>;
  home: string;
  report: (line: string) => void;
}): Promise<string> {
  const goMod = readFileSync(join(options.repoRoot, 'scripts', 'helm', 'go.mod'), 'utf8');
  const step = helmBuildStep(options.repoRoot, goMod, binaryCacheRoot(options.env, options.home));
  await ensureBinaries({
    plan: [step],
    go: goRunner(options.env),
    report: options.report,
    coldBuildEstimate: HELM_COLD_BUILD_ESTIMATE,
  });
  return step.output;
}
