// Teardown, the live table's two modes, and the bounded wait.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Teardown } from './teardown.ts';
import { LiveTable } from './terminal.ts';
import { until, WaitTimeout } from './wait.ts';

describe('Teardown', () => {
  it('runs steps last-registered first, once, and goes on after a failure', async () => {
    const teardown = new Teardown();
    const ran: string[] = [];
    teardown.add('cluster', () => Promise.resolve(ran.push('cluster')));
    teardown.add('webhook', () => Promise.reject(new Error('already gone')));
    teardown.add('connector', () => Promise.resolve(ran.push('connector')));
    const lines: string[] = [];
    const report = (line: string): void => {
      lines.push(line);
    };
    const [first, second] = await Promise.all([teardown.run(report), teardown.run(report)]);
    assert.deepEqual(ran, ['connector', 'cluster']);
    assert.deepEqual(first, ['webhook: already gone']);
    assert.equal(second, first);
    assert.deepEqual(lines, [
      'stopping connector',
      'stopping webhook',
      'could not stop webhook: already gone',
      'stopping cluster',
    ]);
  });
});

describe('LiveTable', () => {
  it('on a terminal, moves the cursor back over the previous table', () => {
    let text = '';
    const table = new LiveTable((chunk) => (text += chunk), true);
    table.show('t=0', ['a', 'b']);
    table.show('t=2', ['a', 'c']);
    assert.equal(text, 't=0\na\nb\n\u001b[3A\u001b[Jt=2\na\nc\n');
  });
  it('elsewhere, appends only tables that changed', () => {
    let text = '';
    const table = new LiveTable((chunk) => (text += chunk), false);
    table.show('t=0', ['a']);
    table.show('t=2', ['a']);
    table.show('t=4', ['b']);
    assert.equal(text, 't=0\na\nt=4\nb\n');
  });
});

describe('until', () => {
  it('returns once the probe holds, counting a throwing probe as not yet', async () => {
    let calls = 0;
    await until(
      'the third call',
      () => {
        calls++;
        if (calls === 1) return Promise.reject(new Error('connection refused'));
        return Promise.resolve(calls === 3);
      },
      { timeoutMs: 5000, intervalMs: 1, signal: new AbortController().signal },
    );
    assert.equal(calls, 3);
  });
  it('times out naming what it waited for and the last error', async () => {
    await assert.rejects(
      until('the webhook', () => Promise.reject(new Error('connection refused')), {
        timeoutMs: 20,
        intervalMs: 5,
        signal: new AbortController().signal,
      }),
      (error: unknown) =>
        error instanceof WaitTimeout &&
        /waiting for the webhook \(last error: connection refused\)/.test(error.message),
    );
  });
  it('stops at once when aborted', async () => {
    const controller = new AbortController();
    setTimeout(() => {
      controller.abort(new Error('received SIGINT'));
    }, 10);
    await assert.rejects(
      until('something that never comes', () => Promise.resolve(false), {
        timeoutMs: 60_000,
        intervalMs: 5,
        signal: controller.signal,
      }),
      /abort/i,
    );
  });
});
