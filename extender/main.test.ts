// The entry point as an operator meets it: a bad environment is refused with every problem listed,
// and `tls-secret` prints a Secret the Deployment and the second scheduler can use.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { V1Secret } from '@kubernetes/client-node';

const run = promisify(execFile);
const repoRoot = new URL('../', import.meta.url);

function runMain(args: string[], env: Record<string, string>): Promise<{ stdout: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.NODE_TEST_CONTEXT;
  return run(process.execPath, ['extender/main.ts', ...args], {
    cwd: repoRoot,
    env: childEnv,
    timeout: 20_000,
  });
}

describe('extender/main.ts', () => {
  it('refuses an invalid environment with exit code 1 and every problem in one log line', async () => {
    const failure = await runMain([], { PORT: 'http', LOG_LEVEL: 'chatty' }).then(
      () => assert.fail('main.ts accepted PORT=http'),
      (error: unknown) => error as { code: number; stdout: string },
    );
    assert.equal(failure.code, 1);
    const entry = JSON.parse(failure.stdout.trim()) as { level: string; problems: string[] };
    assert.equal(entry.level, 'fatal');
    assert.equal(entry.problems.length, 2);
  });

  it('prints a TLS Secret whose certificate the CA signed for the Service names', async () => {
    const { stdout } = await runMain(['tls-secret'], { POD_NAMESPACE: 'burst' });
    const secret = JSON.parse(stdout) as V1Secret;
    assert.equal(secret.metadata?.name, 'aci-burst-extender-tls');
    assert.equal(secret.metadata.namespace, 'burst');
    assert.equal(secret.type, 'kubernetes.io/tls');
    const decode = (key: string): string => Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
    const ca = new X509Certificate(decode('ca.crt'));
    const leaf = new X509Certificate(decode('tls.crt'));
    assert.ok(leaf.verify(ca.publicKey));
    assert.equal(leaf.checkHost('aci-burst-extender.burst.svc'), 'aci-burst-extender.burst.svc');
    assert.equal(leaf.checkIP('127.0.0.1'), '127.0.0.1');
    assert.ok(leaf.checkPrivateKey(createPrivateKey(decode('tls.key'))));
  });
});
