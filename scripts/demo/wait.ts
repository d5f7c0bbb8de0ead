// Bounded waiting: every wait of the demo names what it waits for, ends with an error saying so, and
// stops at once when the demo is interrupted.
import { setTimeout as sleep } from 'node:timers/promises';

export class WaitTimeout extends Error {
  override readonly name = 'WaitTimeout';
}

/** Polls `probe` until it returns true; a probe that throws counts as "not yet" and its message is kept. */
export async function until(
  what: string,
  probe: () => Promise<boolean>,
  options: { timeoutMs: number; intervalMs?: number; signal: AbortSignal },
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let lastError = '';
  for (;;) {
    options.signal.throwIfAborted();
    try {
      if (await probe()) return;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      throw new WaitTimeout(
        `timed out after ${options.timeoutMs / 1000}s waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}`,
      );
    }
    await sleep(options.intervalMs ?? 250, undefined, { signal: options.signal });
  }
}
