import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { REDACTED, redactSecrets, TRUNCATED } from './logger.ts';
import { capturingLogger } from './testing/capturing-logger.ts';

describe('createLogger', () => {
  it('redacts the secure values of a container group logged whole (five levels down and more)', () => {
    const { logger, lines } = capturingLogger();
    const group = {
      properties: {
        containers: [
          { name: 'app', properties: { environmentVariables: [{ name: 'DB', secureValue: 'hunter2' }] } },
        ],
        volumes: [{ name: 'tls', secret: { 'tls.key': 'LS0t' } }],
        imageRegistryCredentials: [{ server: 'r.example', username: 'u', password: 'pw' }],
      },
    };
    logger.info({ group, request: { headers: { authorization: 'Bearer eyJ' } } }, 'creating');
    const text = JSON.stringify(lines[0]);
    for (const secret of ['hunter2', 'pw"', 'eyJ']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    assert.match(text, /"secureValue":"\[REDACTED\]"/);
  });

  it('redacts what an error carries, keeping its type and message', () => {
    const { logger, lines } = capturingLogger();
    const error = Object.assign(new Error('forbidden'), {
      body: { deep: { deeper: { data: { key: 'c2VjcmV0' } } } },
    });
    logger.warn({ err: error }, 'failed');
    const logged = lines[0]?.err as Record<string, unknown>;
    assert.equal(logged.type, 'Error');
    assert.equal(logged.message, 'forbidden');
    assert.deepEqual(logged.body, { deep: { deeper: { data: REDACTED } } });
  });
});

describe('redactSecrets', () => {
  it('redacts at any depth within its bound, and truncates beyond it', () => {
    let nested: Record<string, unknown> = { token: 'eyJ', keep: 1 };
    for (let level = 0; level < 20; level += 1) nested = { level: nested };
    const redacted = JSON.stringify(redactSecrets(nested));
    assert.ok(!redacted.includes('eyJ'));
    assert.ok(redacted.includes('"keep":1'));
    let deep: Record<string, unknown> = { token: 'eyJ' };
    for (let level = 0; level < 1000; level += 1) deep = { level: deep };
    const truncated = JSON.stringify(redactSecrets(deep));
    assert.ok(!truncated.includes('eyJ'));
    assert.ok(truncated.includes(TRUNCATED));
  });

  it('walks a bounded number of objects, cuts cycles and keeps dates', () => {
    const many = Array.from({ length: 100_000 }, (_, index) => ({ index, password: 'pw' }));
    const walked = redactSecrets(many) as unknown[];
    assert.ok(walked.length <= 10_000);
    assert.ok(walked.includes(TRUNCATED));
    assert.ok(!JSON.stringify(walked).includes('"pw"'));
    const cyclic: Record<string, unknown> = { at: new Date('2026-01-01T00:00:00Z') };
    cyclic.self = cyclic;
    assert.deepEqual(redactSecrets(cyclic), { at: new Date('2026-01-01T00:00:00Z'), self: '[Circular]' });
  });
});
