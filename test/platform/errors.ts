/**
 * Errors raised by the local platform.
 *
 * - PlatformError: the platform itself could not do something (bad options, missing tools).
 * - PlatformValidationError: the buildpack broke a rule of the Buildpack API (the Buildpack API spec).
 *   `violations` lists every broken rule, `output` holds the detect/build output for context,
 *   `stricterThanLifecycle` the rules among them that the lifecycle itself does not enforce.
 * - LaunchError: the launcher emulation failed before the app started (lifecycle exit code 82),
 *   e.g. an exec.d program exited non-zero or printed invalid TOML.
 * - BuildFailedError: thrown only by `LocalPlatform.buildOk()` when detect/build did not succeed.
 */

export class PlatformError extends Error {
  override name = 'PlatformError';
}

export class PlatformValidationError extends Error {
  override name = 'PlatformValidationError';
  constructor(
    readonly phase: 'buildpack.toml' | 'detect' | 'build' | 'export',
    readonly violations: string[],
    readonly output = '',
    /** The part of `violations` the lifecycle itself accepts (spec-only rules). */
    readonly stricterThanLifecycle: string[] = [],
  ) {
    super(
      `buildpack violated the Buildpack API during ${phase} (${violations.length} violation(s)):\n` +
        violations.map((v) => `  - ${v}${stricterThanLifecycle.includes(v) ? ' [spec only; the lifecycle itself accepts this]' : ''}`).join('\n') +
        (output ? `\n--- ${phase} output ---\n${output.trimEnd()}` : ''),
    );
  }
}

export class LaunchError extends Error {
  override name = 'LaunchError';
  /** The lifecycle's launcher exits 82 for launch errors. */
  readonly exitCode = 82;
  constructor(
    /** What went wrong, in the lifecycle's words where possible. */
    readonly reason: string,
    /** Container output produced so far (exec.d stdout/stderr). */
    readonly output = '',
  ) {
    super(`launch failed (exit 82): ${reason}${output ? `\n--- container output ---\n${output.trimEnd()}` : ''}`);
  }
}

export class BuildFailedError extends Error {
  override name = 'BuildFailedError';
  constructor(
    readonly lifecycleExitCode: number,
    readonly output: string,
  ) {
    super(`build failed (lifecycle exit ${lifecycleExitCode})\n--- output ---\n${output.trimEnd()}`);
  }
}
