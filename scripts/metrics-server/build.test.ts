import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { METRICS_SERVER_MODULE, metricsServerBuildStep } from './build.ts';

const goMod = readFileSync(new URL('go.mod', import.meta.url), 'utf8');

describe('metricsServerBuildStep', () => {
  const cases: { name: string; goMod: string; output: string; version: RegExp }[] = [
    {
      name: 'the pinned module',
      goMod,
      output: '/cache/metrics-server-v0.9.0/metrics-server',
      version: /client-go\/pkg\/version\.gitVersion=v0\.9\.0/,
    },
    {
      name: 'another release, another cache directory',
      goMod: `module m\n\nrequire (\n\t${METRICS_SERVER_MODULE} v0.8.1\n)\n`,
      output: '/cache/metrics-server-v0.8.1/metrics-server',
      version: /gitVersion=v0\.8\.1/,
    },
  ];
  for (const { name, goMod: text, output, version } of cases) {
    it(name, () => {
      const step = metricsServerBuildStep('/repo', text, '/cache');
      assert.equal(step.output, output);
      assert.equal(step.moduleDir, '/repo/scripts/metrics-server');
      assert.equal(step.packagePath, 'sigs.k8s.io/metrics-server/cmd/metrics-server');
      assert.match(step.ldflags, version);
    });
  }

  it('refuses a go.mod that does not pin metrics-server', () => {
    assert.throws(
      () => metricsServerBuildStep('/repo', 'module m\n', '/cache'),
      /does not require sigs\.k8s\.io\/metrics-server/,
    );
  });
});
