// The entry point as an operator meets it: a bad environment is refused with every problem listed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repoRoot = new URL('../', import.meta.url);

function runMain(env: Record<string, string>): Promise<{ stdout: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.NODE_TEST_CONTEXT;
  return run(process.execPath, ['extender/main.ts'], {
    cwd: repoRoot,
    env: childEnv,
    timeout: 20_000,
  });
}

describe('extender/main.ts', () => {
  it('refuses an invalid environment with exit code 1 and every problem in one log line', async () => {
    const failure = await runMain({ PORT: 'http', LOG_LEVEL: 'chatty' }).then(
      () => assert.fail('main.ts accepted PORT=http'),
      (error: unknown) => error as { code: number; stdout: string },
    );
    assert.equal(failure.code, 1);
    const entry = JSON.parse(failure.stdout.trim()) as { level: string; problems: string[] };
    assert.equal(entry.level, 'fatal');
    assert.equal(entry.problems.length, 2);
  });
});
