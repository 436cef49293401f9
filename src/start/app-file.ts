/**
 * Files the app names for its start (a Gunicorn config, APP_SCRIPT, APP_FILE, app.sh, and the folder APP_HOME): each must be a file of
 * the app, since only the app's files are in the image; a path leading elsewhere (`/etc/passwd`, `../x`, or a
 * symbolic link in the app pointing out of it) would be a file of the build image, or nothing at all, at start.
 */
import fs from 'node:fs';
import path from 'node:path';

export type AppFile =
  | { kind: 'file'; file: string }
  | { kind: 'missing' }
  /** `resolved`: where the path leads, as written or through its links. */
  | { kind: 'outside'; resolved: string };

/**
 * Where `value` (a path relative to the app, as the user wrote it) leads. A path outside the app as written is
 * `outside` whether or not it exists; an existing file is then followed through its links, which must stay
 * inside too. `file` is the path as the app names it, made absolute.
 */
export function locateAppFile(appDir: string, value: string): AppFile {
  const roots = appRoots(appDir);
  const file = path.resolve(appDir, value);
  if (!roots.some((r) => within(r, file))) return { kind: 'outside', resolved: file };
  if (!isFile(file)) return { kind: 'missing' };
  const real = fs.realpathSync(file);
  if (!roots.some((r) => within(r, real))) return { kind: 'outside', resolved: real };
  return { kind: 'file', file };
}

export type AppFolder =
  | { kind: 'folder'; folder: string }
  | { kind: 'missing' }
  | { kind: 'not-a-folder' }
  | { kind: 'outside'; resolved: string };

/**
 * Where `value` (a folder relative to the app: APP_HOME) leads, checked as locateAppFile checks a file; the
 * app's own top folder (`.`) counts. `folder` is the path as the app names it, made absolute.
 */
export function locateAppFolder(appDir: string, value: string): AppFolder {
  const roots = appRoots(appDir);
  const folder = path.resolve(appDir, value);
  const inApp = (p: string): boolean => roots.some((r) => r === p || within(r, p));
  if (!inApp(folder)) return { kind: 'outside', resolved: folder };
  let stat: fs.Stats;
  try {
    stat = fs.statSync(folder);
  } catch {
    return { kind: 'missing' };
  }
  if (!stat.isDirectory()) return { kind: 'not-a-folder' };
  const real = fs.realpathSync(folder);
  if (!inApp(real)) return { kind: 'outside', resolved: real };
  return { kind: 'folder', folder };
}

/** The app dir as given and with its own links resolved (a workspace may itself sit behind a link). */
function appRoots(appDir: string): string[] {
  const given = path.resolve(appDir);
  try {
    return [given, fs.realpathSync(given)];
  } catch {
    return [given];
  }
}

function within(root: string, p: string): boolean {
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
