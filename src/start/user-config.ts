/**
 * The app's own Gunicorn config: GUNICORN_CONFIG (or APP_CONFIG), else ./gunicorn.conf.py, which Gunicorn
 * loads by default. It must be a file of the app (src/start/app-file.ts). With APP_HOME, the variables name a
 * path relative to it (s2i's run script passes APP_CONFIG after changing there), and gunicorn.conf.py is
 * looked for there (Gunicorn's own default, its working directory), then at the app's top (where s2i's run
 * script looks for one that sets wsgi_app).
 */
import path from 'node:path';
import { BuildpackError } from '../failure.js';
import type { Settings } from '../settings.js';
import { locateAppFile } from './app-file.js';
import { shownDir, startsElsewhere } from './app-home.js';

/** The config's absolute path (as the app names it, inside the app dir), or undefined for the fallback config. */
export function userGunicornConfig(appDir: string, setting: Settings['gunicornConfig'], startDir = appDir): string | undefined {
  if (setting) {
    const found = locateAppFile(appDir, path.resolve(startDir, setting.value));
    if (found.kind === 'outside') throw new BuildpackError({ type: 'gunicorn-config-outside-app', name: setting.name, value: setting.value, resolved: found.resolved });
    if (found.kind === 'missing') {
      const home = startsElsewhere(appDir, startDir) ? { home: shownDir(appDir, startDir) } : {};
      throw new BuildpackError({ type: 'missing-gunicorn-config', name: setting.name, value: setting.value, ...home });
    }
    return found.file;
  }
  const dirs = startsElsewhere(appDir, startDir) ? [startDir, appDir] : [appDir];
  for (const dir of dirs) {
    const found = locateAppFile(appDir, path.join(dir, 'gunicorn.conf.py'));
    if (found.kind === 'outside') throw new BuildpackError({ type: 'gunicorn-config-outside-app', name: undefined, value: path.relative(appDir, path.join(dir, 'gunicorn.conf.py')), resolved: found.resolved });
    if (found.kind === 'file') return found.file;
  }
  return undefined;
}
