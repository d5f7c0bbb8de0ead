import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aborted, stopOnAbort } from './lifecycle.ts';

describe('stopOnAbort', () => {
  it('stops only once the signal aborts, and settles once the stop has', async () => {
    const steps: string[] = [];
    const controller = new AbortController();
    let finishStop = (): void => undefined;
    const done = stopOnAbort(
      controller.signal,
      () =>
        new Promise<void>((resolve) => {
          steps.push('stopping');
          finishStop = resolve;
        }),
      () => undefined,
    );
    void done.then(() => steps.push('done'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(steps, [], 'nothing stops before the signal');
    controller.abort();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(steps, ['stopping'], 'done waits for the stop');
    finishStop();
    await done;
    assert.deepEqual(steps, ['stopping', 'done']);
  });

  it('stops at once for a signal that already aborted', async () => {
    let stopped = false;
    await stopOnAbort(
      AbortSignal.abort(),
      () => {
        stopped = true;
      },
      () => undefined,
    );
    assert.equal(stopped, true);
  });

  it('reports a failing stop instead of rejecting, so a shutdown awaiting every part goes on', async () => {
    const errors: unknown[] = [];
    await stopOnAbort(
      AbortSignal.abort(),
      () => Promise.reject(new Error('close failed')),
      (error) => errors.push(error),
    );
    assert.equal((errors[0] as Error).message, 'close failed');
  });
});

describe('aborted', () => {
  it('resolves when the signal aborts', async () => {
    const controller = new AbortController();
    const waiting = aborted(controller.signal);
    controller.abort();
    await waiting;
    await aborted(controller.signal);
  });
});
