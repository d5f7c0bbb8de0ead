// One AbortController per process: SIGTERM/SIGINT abort it, components watch its signal and
// drain; a second signal exits at once for the impatient operator.
import type { Logger } from './logger.ts';

export function abortOnSignals(logger: Logger): AbortController {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) {
      logger.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    logger.info({ signal }, 'shutting down');
    controller.abort(new Error(`received ${signal}`));
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return controller;
}
