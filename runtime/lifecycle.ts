// The one lifecycle every long-running part of a process follows (controllers, watches, servers, the
// process itself): `start(signal)` starts the work and returns once it runs; aborting `signal` stops
// it; `done` settles once it has stopped, in-flight work finished. A process starts its parts with
// its one shutdown signal (runtime/shutdown.ts) and awaits every `done` before it logs that it stopped.

export interface Lifecycle {
  /** Starts the work; it stops when `signal` aborts. Resolves (or returns) once it runs. */
  start(signal: AbortSignal): Promise<void> | void;
  /** Settles once the part stopped after its signal aborted (resolved before it is started). */
  readonly done: Promise<void>;
}

/**
 * Runs `stop` once `signal` aborts (at once when it already has) and settles when `stop` has: what a
 * part's `done` is. A failing stop is reported through `onError`, never as a rejection, so awaiting
 * every part's `done` cannot throw halfway through a shutdown.
 */
export function stopOnAbort(
  signal: AbortSignal,
  stop: () => Promise<void> | void,
  onError: (error: unknown) => void,
): Promise<void> {
  return new Promise((resolve) => {
    const run = (): void => {
      Promise.resolve().then(stop).catch(onError).finally(resolve);
    };
    if (signal.aborted) run();
    else signal.addEventListener('abort', run, { once: true });
  });
}

/** Resolves once `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    signal.addEventListener(
      'abort',
      () => {
        resolve();
      },
      { once: true },
    );
  });
}
