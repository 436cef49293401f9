/**
 * Detect: passes when the app directory holds any file that marks a Python app. The list is wider than what
 * the build installs from (runtime.txt alone, app.py alone), so that a user with an incomplete app gets a
 * helpful message from the build rather than a silent "no buildpack detected".
 */
import type { DetectContext } from './cnb/context.js';
import { exists, inDir, listNames } from './cnb/files.js';
import { writeBuildPlan } from './cnb/plan.js';
import type { DetectResult } from './cnb/runtime.js';
import type { Logger } from './logger.js';

/** In the order they are reported. */
export const PYTHON_APP_MARKERS = [
  'requirements.txt',
  'setup.py',
  'setup.cfg',
  'pyproject.toml',
  'pylock.toml',
  'uv.lock',
  'poetry.lock',
  'Pipfile',
  'Pipfile.lock',
  'runtime.txt',
  '.python-version',
  'wsgi.py',
  'app.py',
  'main.py',
  'manage.py',
  '.s2i',
] as const;

/** PEP 751's named lockfiles, `pylock.<name>.toml`: the name is free, so they are found by listing the folder. */
const NAMED_PYLOCK = /^pylock\.[^.]+\.toml$/;

export async function findMarker(appDir: string): Promise<string | undefined> {
  // In turn, not all at once: most apps stop at the first.
  for (const name of PYTHON_APP_MARKERS) if (await exists(inDir(appDir, name))) return name;
  // Listed only when no fixed name matched; sorted, so that of several the same one is named on every file system.
  const names = await listNames(appDir).catch(() => []);
  return names.sort().find((name) => NAMED_PYLOCK.test(name));
}

export async function detect(ctx: DetectContext, log: Logger): Promise<DetectResult> {
  const marker = await findMarker(ctx.appDir);
  if (marker === undefined) {
    log.info(`No Python app found: none of ${PYTHON_APP_MARKERS.join(', ')}, pylock.<name>.toml is in the app directory.`);
    return { pass: false };
  }
  log.info(`Python app detected: found ${marker}`);
  await writeBuildPlan(ctx.buildPlanPath, {
    provides: [{ name: 'python' }],
    requires: [{ name: 'python', metadata: { build: true, launch: true } }],
  });
  return { pass: true };
}
