/**
 * The app's own Gunicorn config: GUNICORN_CONFIG (or APP_CONFIG), else ./gunicorn.conf.py, which Gunicorn
 * loads by default. It must be a file of the app (src/start/app-file.ts).
 */
import { BuildpackError } from '../failure.js';
import type { Settings } from '../settings.js';
import { locateAppFile } from './app-file.js';

/** The config's absolute path (as the app names it, inside the app dir), or undefined for the fallback config. */
export function userGunicornConfig(appDir: string, setting: Settings['gunicornConfig']): string | undefined {
  if (setting) {
    const found = locateAppFile(appDir, setting.value);
    if (found.kind === 'outside') throw new BuildpackError({ type: 'gunicorn-config-outside-app', name: setting.name, value: setting.value, resolved: found.resolved });
    if (found.kind === 'missing') throw new BuildpackError({ type: 'missing-gunicorn-config', name: setting.name, value: setting.value });
    return found.file;
  }
  const found = locateAppFile(appDir, 'gunicorn.conf.py');
  if (found.kind === 'outside') throw new BuildpackError({ type: 'gunicorn-config-outside-app', name: undefined, value: 'gunicorn.conf.py', resolved: found.resolved });
  return found.kind === 'file' ? found.file : undefined;
}
