/**
 * How a failure reaches the user: its message from the catalogue, on stderr through the log (so credentials
 * are masked), and, with BP_LOG_LEVEL=DEBUG, the stack of the underlying error.
 */
import { BuildpackError } from './failure.js';
import type { Logger } from './logger.js';
import { messageFor } from './messages.js';

export function reportError(err: unknown, log: Logger): void {
  const m = messageFor(err);
  log.error(m.title, m.body);
  const source = err instanceof BuildpackError && err.source !== undefined ? err.source : err;
  log.debug(String((source as Error | undefined)?.stack ?? source));
}
