/**
 * Detect: passes when the app directory holds any file that marks a Python app. The list is wider than what
 * the build installs from (runtime.txt alone, app.py alone), so that a user with an incomplete app gets a
 * helpful message from the build rather than a silent "no buildpack detected".
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DetectContext } from './cnb/context.js';
import { writeBuildPlan } from './cnb/plan.js';
import type { DetectResult } from './cnb/runtime.js';
import type { Logger } from './logger.js';

/** In the order they are reported. */
export const PYTHON_APP_MARKERS = [
  'requirements.txt',
  'setup.py',
  'setup.cfg',
  'pyproject.toml',
  'Pipfile',
  'runtime.txt',
  '.python-version',
  'wsgi.py',
  'app.py',
  'main.py',
  'manage.py',
  '.s2i',
] as const;

export function findMarker(appDir: string): string | undefined {
  return PYTHON_APP_MARKERS.find((name) => fs.existsSync(path.join(appDir, name)));
}

export async function detect(ctx: DetectContext, log: Logger): Promise<DetectResult> {
  const marker = findMarker(ctx.appDir);
  if (marker === undefined) {
    log.info(`No Python app found: none of ${PYTHON_APP_MARKERS.join(', ')} is in the app directory.`);
    return { pass: false };
  }
  log.info(`Python app detected: found ${marker}`);
  await writeBuildPlan(ctx.buildPlanPath, {
    provides: [{ name: 'python' }],
    requires: [{ name: 'python', metadata: { build: true, launch: true } }],
  });
  return { pass: true };
}
