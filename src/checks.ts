/**
 * Checks of the user's variables that stop the build before anything is installed: variables that would move
 * pip's installs out of the pip-deps layer or swap the interpreter (each entry says why, in the message the
 * user sees), values no program could be started with, and an env too large to start a program with.
 */
import type { Env } from './cnb/env.js';
import { envEntryBytes, MAX_ENV_TOTAL_BYTES } from './cnb/env-value.js';
import type { UserEnv } from './cnb/user-env.js';
import type { EnvOrigin } from './causes.js';
import { BuildpackError } from './failure.js';

/** https://pip.pypa.io/en/stable/topics/configuration/ and https://docs.python.org/3/using/cmdline.html */
export const FORBIDDEN_ENV_VARS: Record<string, string> = {
  PIP_TARGET: 'it makes pip install into that folder instead of the pip-deps layer, so the packages would not be in the image.',
  PIP_PREFIX: 'it makes pip install under that prefix instead of the pip-deps layer, so the packages would not be in the image.',
  PIP_USER: "it changes where pip installs; the buildpack already installs into the pip-deps layer with pip's user scheme.",
  PIP_ROOT: 'it makes pip install relative to another root directory, outside the pip-deps layer.',
  PYTHONHOME: 'it makes Python look for its standard library elsewhere than the interpreter the buildpack installed.',
  PYTHONUSERBASE: 'the buildpack sets it to the pip-deps layer; another value would hide the installed packages.',
  VIRTUAL_ENV: 'a virtual environment from the build image would replace the interpreter and packages the buildpack installs.',
  PYTHONNOUSERSITE: "it hides pip's user site, where the buildpack installs the app's packages (the pip-deps layer).",
};

export function checkForbiddenVariables(env: UserEnv): void {
  for (const [name, why] of Object.entries(FORBIDDEN_ENV_VARS)) {
    if (env.get(name) !== undefined) throw new BuildpackError({ type: 'forbidden-variable', name, why });
  }
}

/**
 * The user's platform env files (buildpack.md §Environment): a value no program could be started with stops the build, naming
 * the variable; files whose names are not variable names are returned, for a warning (the lifecycle still
 * exports them to the build's processes, but no setting can be read from them).
 */
export function checkPlatformEnv(env: UserEnv): { ignoredFiles: string[] } {
  const ignoredFiles: string[] = [];
  for (const issue of env.platformIssues()) {
    if (issue.kind === 'bad-value') throw new BuildpackError({ type: 'bad-env-value', name: issue.name, origin: { kind: 'platform-env-file' }, problem: issue.problem });
    ignoredFiles.push(issue.file);
  }
  return { ignoredFiles };
}

/**
 * The env the build starts pip, Python and the app's scripts with must fit in what Linux passes to a program
 * (MAX_ENV_TOTAL_BYTES, src/cnb/env-value.ts), or every tool would fail to start with E2BIG.
 */
export function checkEnvSize(env: Env, originOf: (name: string) => EnvOrigin): void {
  const sizes = Object.entries(env).map(([name, value]) => ({ name, bytes: envEntryBytes(name, value) }));
  const bytes = sizes.reduce((sum, s) => sum + s.bytes, 0);
  if (bytes <= MAX_ENV_TOTAL_BYTES) return;
  const largest = sizes.sort((a, b) => b.bytes - a.bytes || (a.name < b.name ? -1 : 1)).slice(0, 5).map((s) => ({ ...s, origin: originOf(s.name) }));
  throw new BuildpackError({ type: 'env-too-large', bytes, limit: MAX_ENV_TOTAL_BYTES, largest });
}
