/**
 * The one error type the buildpack throws for a failure it understands: it carries a cause (src/causes.ts)
 * and no text. src/messages.ts renders it; nothing else looks at its message.
 */
import type { Cause } from './causes.js';

export class BuildpackError extends Error {
  constructor(
    override readonly cause: Cause,
    /** The underlying error, for BP_LOG_LEVEL=DEBUG stacks. */
    readonly source?: unknown,
  ) {
    super(cause.type);
    this.name = 'BuildpackError';
  }
}

/** An error that no user input explains: `what` the buildpack was doing, and the underlying error. */
export function internalError(what: string, err: unknown): BuildpackError {
  return new BuildpackError({ type: 'internal', what, detail: err instanceof Error ? err.message : String(err) }, err);
}
