/**
 * What a build step is given rather than reaching for globals: the log, the command runner and the clock.
 * main.ts makes the real ones; unit tests pass fakes (test/fakes/).
 */
import type { Env } from './cnb/env.js';
import type { Clock, Logger } from './logger.js';

export interface Execution {
  command: string;
  args: string[];
  cwd: string;
  env: Env;
  /** Cancels the command: it and every process it started are sent SIGTERM, and the outcome is `io`. */
  signal?: AbortSignal;
}

export type CommandOutcome =
  | { kind: 'ok'; output: string }
  | { kind: 'exit'; status: number; output: string }
  | { kind: 'io'; message: string };

export interface Executor {
  /** Streams merged stdout and stderr to the log while keeping them for error messages. */
  stream(execution: Execution, log: Logger): Promise<CommandOutcome>;
  /** Captures merged output without logging it. */
  capture(execution: Execution): Promise<CommandOutcome>;
}

export interface Deps {
  log: Logger;
  exec: Executor;
  clock: Clock;
}
