/**
 * Every message a user can see when a build stops. Modules raise errors through these functions, so the
 * text lives here and nowhere else. A BuildpackError is printed once as `[Error: title]` and a body that
 * says what happened and what to do; the stack is shown only with BP_LOG_LEVEL=DEBUG.
 */
export type ErrorKind = 'user' | 'internal';

export class BuildpackError extends Error {
  /** The process exit code when not the generic 1 (the runtime's named codes). */
  readonly exitCode: number | undefined;
  constructor(
    readonly title: string,
    readonly body: string,
    readonly kind: ErrorKind = 'user',
    options?: { cause?: unknown; exitCode?: number },
  ) {
    super(`${title}: ${body}`, options);
    this.exitCode = options?.exitCode;
    this.name = 'BuildpackError';
  }
}

const DOCS = 'https://github.com/ausnimbus/python#configuration';
const ISSUES = 'https://github.com/ausnimbus/python/issues';

export const INTERNAL_ERROR_MESSAGE =
  `This could be caused by a bug in the buildpack or by the build environment.\n` +
  `Try building again; if it keeps failing, build with BP_LOG_LEVEL=DEBUG and file a bug report at ${ISSUES}.`;

const SEE_LOG = 'See the log output above for more information.';

function steps(...lines: string[]): string {
  return lines.map((l, i) => `  ${i + 1}. ${l}`).join('\n');
}

export function internalError(what: string, cause: unknown): BuildpackError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new BuildpackError('Internal buildpack error', `${what}: ${detail}\n\n${INTERNAL_ERROR_MESSAGE}`, 'internal', { cause });
}

// ---- runtime ---------------------------------------------------------------------------------------------

export const runtimeErrors = {
  unknownExecutable: (name: string) =>
    new BuildpackError('Unknown executable name', `This program was called as '${name}'; it must be called as bin/detect or bin/build.`, 'internal', { exitCode: 255 }),
  apiMismatch: (found: string, expected: string) =>
    new BuildpackError(
      'Unsupported Buildpack API',
      `buildpack.toml declares api = "${found}", but this buildpack implements API ${expected}.\n` +
        `Reinstall the buildpack from an official release; its buildpack.toml and executables must match.`,
      'internal',
      { exitCode: 254 },
    ),
};

// ---- settings --------------------------------------------------------------------------------------------

export const settingsErrors = {
  forbiddenVariable: (name: string, why: string) =>
    new BuildpackError(
      `${name} is not supported`,
      `The variable ${name} is set, but ${why}\n\n` +
        `Unset ${name} (in the platform env, .s2i/environment or the build env) and build again.\n` +
        `Dependencies are installed into the buildpack's own pip-deps layer; see ${DOCS}.`,
    ),
};
