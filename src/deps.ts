/**
 * What a build step is given rather than reaching for globals: the log, the command runner and the clock.
 * main.ts makes the real ones; unit tests pass fakes (test/fakes/).
 */
import type { Executor } from './exec.js';
import type { Clock, Logger } from './logger.js';

export interface Deps {
  log: Logger;
  exec: Executor;
  clock: Clock;
}
