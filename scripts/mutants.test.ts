import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { allKilled, MUTANTS, runMutants, type Mutant } from './mutants.ts';

const PROJECT = join(import.meta.dirname, '..');

describe('npm run mutants', () => {
  it('every listed mutant applies once and fails a unit test', () => {
    const outcomes = runMutants(PROJECT);
    assert.deepEqual(
      outcomes.filter((o) => !o.killed || o.problem !== undefined),
      [],
      'a mutant survived or no longer applies',
    );
    assert.equal(outcomes.length, MUTANTS.length);
    assert.ok(allKilled(outcomes));
  });

  it('reports a mutant whose code is gone, and one the tests do not notice, as not killed', () => {
    const harmless: Mutant = {
      name: 'comment-changed',
      breaks: 'nothing',
      file: 'connector/pacing.ts',
      from: '// Paces container-group creates',
      to: '// paces container-group creates',
      tests: ['connector/pacing.test.ts'],
    };
    const stale: Mutant = { ...harmless, name: 'stale', from: 'text that is not in the file' };
    const outcomes = runMutants(PROJECT, [harmless, stale]);
    assert.deepEqual(
      outcomes.map((o) => [o.mutant, o.killed, o.problem !== undefined]),
      [
        ['comment-changed', false, false],
        ['stale', false, true],
      ],
    );
    assert.equal(allKilled(outcomes), false);
  });
});
