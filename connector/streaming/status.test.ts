import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { statusBytes, type CommandOutcome } from './status.ts';

describe('statusBytes', () => {
  const cases: [string, CommandOutcome, boolean, unknown][] = [
    ['success as JSON', { kind: 'success' }, true, { status: 'Success' }],
    ['exit 0 is success', { kind: 'exit', code: 0 }, true, { status: 'Success' }],
    [
      'a non-zero exit with the ExitCode cause kubectl reads',
      { kind: 'exit', code: 3 },
      true,
      {
        status: 'Failure',
        message: 'command terminated with non-zero exit code: exit status 3',
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: '3' }] },
      },
    ],
    [
      'an internal error',
      { kind: 'error', message: 'no shell' },
      true,
      { status: 'Failure', message: 'Internal error occurred: no shell', reason: 'InternalError', code: 500 },
    ],
  ];
  for (const [name, outcome, json, expected] of cases) {
    it(name, () => {
      const bytes = statusBytes(outcome, json);
      assert.deepEqual(JSON.parse(bytes?.toString() ?? 'null'), expected);
    });
  }

  it('writes nothing for success and the message for a failure before protocol v4', () => {
    assert.equal(statusBytes({ kind: 'success' }, false), undefined);
    assert.equal(
      statusBytes({ kind: 'exit', code: 2 }, false)?.toString(),
      'command terminated with non-zero exit code: exit status 2',
    );
  });
});
