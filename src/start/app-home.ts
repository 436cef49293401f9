/**
 * APP_HOME, from OpenShift's s2i Python builder (sclorg/s2i-python-container, s2i/bin/run and assemble): the
 * folder of the app the processes start in. s2i's run script changes to it, puts the app's top folder in front
 * of PYTHONPATH and then looks for the start files (app.sh, app.py, wsgi.py, manage.py, APP_SCRIPT, APP_FILE,
 * APP_CONFIG) there; its assemble runs collectstatic from it. Here the folder is found at build, where a
 * missing one stops the build: each process gets it as its launch.toml `working-dir` (Buildpack API 0.8 and
 * later, buildpack.md §launch.toml), and the top folder stays importable through PYTHONPATH.
 */
import path from 'node:path';
import { LayerEnv, Scope } from '../cnb/env.js';
import { BuildpackError } from '../failure.js';
import { locateAppFolder } from './app-file.js';

/**
 * The folder the processes start in: APP_HOME inside the app, else the app itself. APP_HOME naming nothing, a
 * file, or a path leading outside the app (as written or through a link) stops the build.
 */
export function startDir(appDir: string, appHome: string | undefined): string {
  if (appHome === undefined) return appDir;
  const found = locateAppFolder(appDir, appHome);
  if (found.kind === 'folder') return found.folder;
  const problem = found.kind === 'outside' ? { kind: 'outside' as const, resolved: found.resolved } : { kind: found.kind };
  throw new BuildpackError({ type: 'app-home-unusable', value: appHome, problem });
}

/** Whether the processes start somewhere other than the app's top folder. */
export function startsElsewhere(appDir: string, dir: string): boolean {
  return path.resolve(dir) !== path.resolve(appDir);
}

/**
 * The launch env that keeps the app's top folder importable from APP_HOME, as s2i's run script does with
 * PYTHONPATH: prepended, so a PYTHONPATH the user sets still counts, after it.
 */
export function appHomeLaunchEnv(appDir: string, dir: string): LayerEnv {
  const env = new LayerEnv();
  if (startsElsewhere(appDir, dir)) env.prepend(Scope.launch, 'PYTHONPATH', appDir, ':');
  return env;
}

/** The build's env for tools run from APP_HOME (collectstatic, the module check), with the same PYTHONPATH. */
export function withAppOnPath(env: Record<string, string>, appDir: string, dir: string): Record<string, string> {
  if (!startsElsewhere(appDir, dir)) return env;
  return { ...env, PYTHONPATH: env.PYTHONPATH ? `${appDir}:${env.PYTHONPATH}` : appDir };
}

/** How the log shows the folder: app-relative. */
export function shownDir(appDir: string, dir: string): string {
  return path.relative(appDir, dir) || '.';
}
