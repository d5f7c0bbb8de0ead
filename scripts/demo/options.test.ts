import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { examplesDeadlineMs, parseArguments, type ParsedArguments } from './options.ts';

describe('parseArguments', () => {
  const cases: { argv: string[]; expected: ParsedArguments }[] = [
    { argv: [], expected: { ok: true, options: { exitWhenDone: false, fast: false } } },
    { argv: ['--exit'], expected: { ok: true, options: { exitWhenDone: true, fast: false } } },
    { argv: ['--fast', '--exit'], expected: { ok: true, options: { exitWhenDone: true, fast: true } } },
    { argv: ['--help'], expected: { ok: false, help: true, problems: [] } },
    {
      argv: ['--exit', 'now', '--quick'],
      expected: {
        ok: false,
        help: false,
        problems: ['unknown argument "now"', 'unknown argument "--quick"'],
      },
    },
  ];
  for (const { argv, expected } of cases) {
    it(`[${argv.join(' ')}]`, () => {
      assert.deepEqual(parseArguments(argv), expected);
    });
  }
});

describe('examplesDeadlineMs', () => {
  it('allows three minutes with realistic timings, less with the fast ones', () => {
    assert.equal(examplesDeadlineMs({ exitWhenDone: true, fast: false }), 180_000);
    assert.ok(examplesDeadlineMs({ exitWhenDone: true, fast: true }) < 180_000);
  });
});
