/**
 * Failures of the framework itself (the CNB contract), as data, with the exit codes the runtime returns.
 * Shaped like libcnb.rs's `libcnb::Error`: the buildpack renders these causes in its own message catalogue,
 * so src/cnb/ never holds user-facing text and never imports the buildpack's errors or logger.
 */

/** Exit codes of bin/detect and bin/build (Buildpack API: detect fails with 100; any other non-zero is an error). */
export const ExitCode = {
  success: 0,
  error: 1,
  detectFail: 100,
  apiMismatch: 254,
  unknownExecutable: 255,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type CnbCause =
  /** The executable was called by a name that is neither bin/detect nor bin/build. */
  | { type: 'unknown-executable'; name: string }
  /** buildpack.toml declares a Buildpack API other than the one this code implements. */
  | { type: 'api-mismatch'; found: string; expected: string }
  /** A variable the lifecycle always sets is missing: the program was not run by a lifecycle. */
  | { type: 'missing-lifecycle-variable'; name: string };

export class CnbError extends Error {
  constructor(
    override readonly cause: CnbCause,
    readonly exitCode: ExitCode = ExitCode.error,
  ) {
    super(cause.type);
    this.name = 'CnbError';
  }
}
