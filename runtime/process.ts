// How every process runs, from its main.ts: read the configuration once (every problem at once, then
// exit 1), make the logger, abort one signal on SIGTERM/SIGINT (runtime/shutdown.ts), run the
// process's parts until that signal aborts and they have stopped. A part that fails to start fails
// the process: its reason is the last log line, everything started is stopped, the exit code is 1.
import { systemTimers, type Timers } from './clock.ts';
import type { ConfigResult, Environment } from './environment.ts';
import { createLogger, type Logger } from './logger.ts';
import { abortOnSignals } from './shutdown.ts';

/** How long a failed process waits for its parts to stop before it exits anyway. */
const FAILED_EXIT_AFTER_MS = 10_000;

export interface ProcessContext {
  logger: Logger;
  /** Aborts on SIGTERM or SIGINT, or when the process failed: every part stops on it. */
  signal: AbortSignal;
  timers: Timers;
}

export interface ProcessDefinition<Config extends { logLevel: string }> {
  /** The logger's `component`: connector, webhook, extender. */
  component: string;
  readConfig(env: Environment): ConfigResult<Config>;
  /** Starts the parts, and resolves once they have stopped after `context.signal` aborted. */
  run(config: Config, context: ProcessContext): Promise<void>;
  /** The fatal log line when `run` throws (what an operator greps for). */
  failure: string;
  /**
   * Rejections nobody awaited that are known to do no harm: logged as warnings, where Node would end
   * the process. Any other unhandled rejection still ends it.
   */
  harmlessRejection?: (reason: unknown) => boolean;
}

/** Logs a harmless rejection; any other is thrown on, so the process ends as Node would end it. */
export function unhandledRejectionHandler(
  harmless: (reason: unknown) => boolean,
  logger: Logger,
): (reason: unknown) => void {
  return (reason) => {
    if (!harmless(reason)) throw reason;
    logger.warn({ err: reason }, 'a rejection nobody waited for, known to be harmless');
  };
}

export async function runProcess<Config extends { logLevel: string }>(
  definition: ProcessDefinition<Config>,
  env: Environment,
): Promise<void> {
  const parsed = definition.readConfig(env);
  const logger = createLogger({
    component: definition.component,
    level: parsed.ok ? parsed.config.logLevel : 'info',
  });
  if (!parsed.ok) {
    logger.fatal({ problems: parsed.problems }, `invalid configuration:\n- ${parsed.problems.join('\n- ')}`);
    process.exitCode = 1;
    return;
  }
  if (definition.harmlessRejection !== undefined) {
    process.on('unhandledRejection', unhandledRejectionHandler(definition.harmlessRejection, logger));
  }
  const shutdown = abortOnSignals(logger);
  try {
    await definition.run(parsed.config, { logger, signal: shutdown.signal, timers: systemTimers });
  } catch (error) {
    logger.fatal({ err: error }, definition.failure);
    process.exitCode = 1;
    shutdown.abort(error);
    // Parts stop on the signal and the process then exits by itself; one that does not must not keep
    // a failed process alive (the timer itself does not).
    systemTimers.after(FAILED_EXIT_AFTER_MS, () => process.exit(1));
  }
}
