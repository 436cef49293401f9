/**
 * The app's own Gunicorn config: GUNICORN_CONFIG (or APP_CONFIG), else ./gunicorn.conf.py, which Gunicorn
 * loads by default. It must be a file of the app: only the app's files are in the image, so a path leading
 * elsewhere (`/etc/passwd`, `../x`, or a symbolic link in the app pointing out of it) would be a file of the
 * build image, or nothing at all, when Gunicorn starts. The path is resolved with its symbolic links
 * (realpath) and must stay inside the app directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BuildpackError } from '../failure.js';
import type { Settings } from '../settings.js';

/** The config's absolute path (as the app names it, inside the app dir), or undefined for the fallback config. */
export function userGunicornConfig(appDir: string, setting: Settings['gunicornConfig']): string | undefined {
  const roots = appRoots(appDir);
  if (setting) {
    const file = path.resolve(appDir, setting.value);
    const outside = (resolved: string): BuildpackError =>
      new BuildpackError({ type: 'gunicorn-config-outside-app', name: setting.name, value: setting.value, resolved });
    // Outside as written ('../x', '/etc/passwd'): say so whether or not the file exists.
    if (!roots.some((r) => within(r, file))) throw outside(file);
    if (!isFile(file)) throw new BuildpackError({ type: 'missing-gunicorn-config', name: setting.name, value: setting.value });
    const real = fs.realpathSync(file);
    if (!roots.some((r) => within(r, real))) throw outside(real);
    return file;
  }
  const file = path.join(appDir, 'gunicorn.conf.py');
  if (!isFile(file)) return undefined;
  const real = fs.realpathSync(file);
  if (!roots.some((r) => within(r, real))) throw new BuildpackError({ type: 'gunicorn-config-outside-app', name: undefined, value: 'gunicorn.conf.py', resolved: real });
  return file;
}

/** The app dir as given and with its own links resolved (a workspace may itself sit behind a link). */
export function appRoots(appDir: string): string[] {
  const given = path.resolve(appDir);
  try {
    return [given, fs.realpathSync(given)];
  } catch {
    return [given];
  }
}

export function within(root: string, p: string): boolean {
  const rel = path.relative(root, p);
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

export function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}
