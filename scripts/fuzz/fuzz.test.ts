// `npm run fuzz`, small and seeded: a few thousand cases against the real handlers, in process and
// over HTTPS, on every test run. The full run (100,000 cases and more) is `npm run fuzz`.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runFuzz } from './engine.ts';
import { fuzzTargets } from './targets.ts';

it('answers 3,000 generated and mutated requests without a crash, a hang or a malformed answer', async () => {
  const report = await runFuzz(await fuzzTargets(), {
    seed: 20_261_130,
    cases: 3_000,
    deadline: Date.now() + 300_000,
  });
  const summary = JSON.stringify({ ...report, byTarget: undefined });
  assert.deepEqual([report.crashes, report.hangs, report.malformed], [0, 0, 0], summary);
  assert.ok(report.cases > 0, summary);
});
