/**
 * Variables that would move pip's installs out of the pip-deps layer, or swap the interpreter, stop the build
 * before anything is installed. Each entry says why, in the message the user sees.
 */
import type { UserEnv } from './cnb/user-env.js';
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
