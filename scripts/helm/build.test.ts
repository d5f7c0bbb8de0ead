import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { HELM_MODULE, helmBuildStep } from './build.ts';

const goMod = readFileSync(new URL('go.mod', import.meta.url), 'utf8');

describe('helmBuildStep', () => {
  const cases: { name: string; goMod: string; output: string; flags: RegExp[] }[] = [
    {
      name: 'the pinned module',
      goMod,
      output: '/cache/helm-v3.22.0/helm',
      flags: [/internal\/version\.version=v3\.22\.0/, /chartutil\.k8sVersionMinor=37/],
    },
    {
      name: 'another release, another cache directory and Kubernetes minor',
      goMod: `module m\n\nrequire (\n\t${HELM_MODULE} v3.19.1\n\tk8s.io/client-go v0.34.2 // indirect\n)\n`,
      output: '/cache/helm-v3.19.1/helm',
      flags: [/version\.version=v3\.19\.1/, /chartutil\.k8sVersionMinor=34/, /rules\.k8sVersionMinor=34/],
    },
  ];
  for (const { name, goMod: text, output, flags } of cases) {
    it(name, () => {
      const step = helmBuildStep('/repo', text, '/cache');
      assert.equal(step.output, output);
      assert.equal(step.moduleDir, '/repo/scripts/helm');
      assert.equal(step.packagePath, 'helm.sh/helm/v3/cmd/helm');
      for (const flag of flags) assert.match(step.ldflags, flag);
    });
  }

  it('refuses a go.mod that does not pin helm', () => {
    assert.throws(
      () => helmBuildStep('/repo', 'module m\n', '/cache'),
      /does not require helm\.sh\/helm\/v3/,
    );
  });
});
