/** The start step of the build: the gunicorn-config layer, the s2i run layer when needed, and launch.toml. */
import fs from 'node:fs';
import path from 'node:path';
import type { BuildContext } from '../cnb/context.js';
import { LayerEnv } from '../cnb/env.js';
import { writeLaunch } from '../cnb/launch.js';
import type { Deps } from '../deps.js';
import { escapeControl } from '../escape-control.js';
import { BuildpackError } from '../failure.js';
import { warn } from '../messages.js';
import type { Analysis } from '../analysis.js';
import { findManagePy } from '../django.js';
import type { InstalledPython } from '../layers/python.js';
import { installedDistributions, sitePackagesDirs } from '../python/installed.js';
import { contributeGunicornConfig } from '../layers/gunicorn-config.js';
import { contributeS2iRun } from '../layers/s2i-run.js';
import { describeMiss, findModule, splitAppModule } from './app-module.js';
import { asgiEvidence, asgiWorkerConfigured, workerClassNamed } from './asgi.js';
import { readSource } from './asgi-app.js';
import { userGunicornConfig } from './user-config.js';
import { readProcfile } from './procfile.js';
import { planStart, type StartPlan } from './web-process.js';
import { isFile } from './app-file.js';
import { appHomeLaunchEnv, shownDir, startsElsewhere, withAppOnPath } from './app-home.js';
import { managePyIn } from './django-start.js';

/** `runScript`: the app's .s2i/bin/run, found and checked by findS2iScripts (undefined when APP_RUN is set). */
export async function configureStart(ctx: BuildContext, a: Analysis, py: InstalledPython, launchEnv: LayerEnv, runScript: string | undefined, deps: Deps): Promise<void> {
  const { log } = deps;
  log.header('Configuring the start command');
  const dir = a.startDir;
  if (startsElsewhere(ctx.appDir, dir)) log.info(`APP_HOME is set: the processes start in ${escapeControl(shownDir(ctx.appDir, dir))}, with the app's top folder on PYTHONPATH`);
  const userConfig = userGunicornConfig(ctx.appDir, a.settings.gunicornConfig, dir);
  const gunicornConfig = await contributeGunicornConfig(ctx, LayerEnv.concat(launchEnv, appHomeLaunchEnv(ctx.appDir, dir)));
  const pipDeps = path.join(ctx.layers.dir, 'pip-deps');
  const installed = installedDistributions(pipDeps);
  const versionOf = (name: string): string | undefined => installed.find((d) => d.name.toLowerCase() === name)?.version;
  const django = versionOf('django') !== undefined;
  if (django) hintAppHome(ctx.appDir, dir, log);
  const inputs = {
    appDir: ctx.appDir,
    appRun: a.settings.appRun,
    gunicorn: consoleScript(pipDeps, 'gunicorn'),
    uvicorn: consoleScript(pipDeps, 'uvicorn'),
    uvicornWorker: uvicornWorkerClass(pipDeps),
    workerClassSet: workerClassNamed(a.settings.gunicornCmdArgs, userConfig ? readSource(userConfig) : undefined),
    appScript: a.settings.appScript,
    appFile: a.settings.appFile,
    gunicornAppModule: a.settings.gunicornAppModule?.value,
    gunicornAppModuleName: a.settings.gunicornAppModule?.name,
    userGunicornConfig: userConfig,
    fallbackGunicornConfig: gunicornConfig.configPath,
    python: py.python,
    procfile: readProcfile(ctx.appDir),
    startDir: dir,
    gunicornVersion: versionOf('gunicorn'),
    django,
    migrateAtStart: a.settings.migrateAtStart,
    disableMigrate: a.settings.disableMigrate,
  };
  let s2iRun: string | undefined;
  if (runScript) {
    // The default start, as .s2i/bin/run reaches it through $STI_SCRIPTS_PATH/run.
    let fallback: string[];
    try {
      const plan = planStart({ ...inputs, appRun: undefined, s2iRun: undefined });
      const p = plan.processes[0];
      fallback = p ? [...p.command, ...p.args] : [];
      if (plan.script) makeExecutable(plan.script, log);
    } catch {
      fallback = [];
    }
    // s2i's default run changes to APP_HOME; the app's own run script starts at the top (src/start/web-process.ts).
    const layer = await contributeS2iRun(ctx, runScript, fallback, startsElsewhere(ctx.appDir, dir) ? dir : undefined);
    if (layer.mappedSeedPath) log.info('.s2i/bin/run refers to /usr/libexec/s2i: running a copy that uses $STI_SCRIPTS_PATH instead');
    s2iRun = layer.command;
  }
  const start = planStart({ ...inputs, s2iRun });
  if (start.script) makeExecutable(start.script, log);
  if (start.served) await checkServedModule(ctx, a, py, start.served, userConfig, deps);
  // The reason and the commands quote APP_RUN, GUNICORN_APP_MODULE and paths in the app as the user wrote them.
  log.info(escapeControl(start.reason));
  for (const note of start.notes) log.info(escapeControl(note));
  if (a.settings.enableInitWrapper) {
    // s2i's init-wrapper (s2i/bin/init-wrapper) ran the app as a child and forwarded SIGTERM to it.
    log.info('ENABLE_INIT_WRAPPER is set: nothing to do; the launcher starts every process as PID 1 of the container (it execs, never forks), so SIGTERM reaches the app directly');
  }
  for (const w of start.warnings) warn(log, w);
  for (const p of start.processes) log.detail(`${p.type}${p.default ? ' (default)' : ''}: ${escapeControl([...p.command, ...p.args].join(' '))}`);
  await writeLaunch(ctx.layers.dir, { processes: start.processes });
}

/**
 * What the build can tell about the module web serves under Gunicorn: it must be importable (else the build
 * stops), and an ASGI app under the sync worker gets a warning. Skipped when Gunicorn's own path settings
 * (`pythonpath`, `chdir`) may change where it imports from, since those are read at start.
 */
async function checkServedModule(ctx: BuildContext, a: Analysis, py: InstalledPython, served: NonNullable<StartPlan['served']>, userConfig: string | undefined, { log, exec }: Deps): Promise<void> {
  const configText = userConfig ? readSource(userConfig) : undefined;
  const pathSettings = /(?:^|\s)(?:--pythonpath|--chdir)\b/.test(a.settings.gunicornCmdArgs ?? '') || /^[ \t]*(?:pythonpath|chdir)[ \t]*=/m.test(configText ?? '');
  if (pathSettings) {
    log.debug('Not checking the Gunicorn module: pythonpath or chdir is set for Gunicorn');
    return;
  }
  const { module, callable } = splitAppModule(served.module);
  // From where the processes start, with the app's top folder on PYTHONPATH when that is APP_HOME, as Gunicorn imports it.
  const found = await findModule({ module, appDir: ctx.appDir, cwd: a.startDir, python: py.python, env: withAppOnPath(a.env, ctx.appDir, a.startDir), exec });
  if (found.kind === 'unknown') {
    log.debug(`Could not check the Gunicorn module '${module}': ${found.reason}`);
    return;
  }
  if (found.kind === 'missing') {
    throw new BuildpackError({ type: 'gunicorn-module-not-found', source: served.source, value: served.module, missing: found.missing, ...describeMiss(ctx.appDir, found) });
  }
  const source = found.file ? readSource(found.file) : undefined;
  const evidence = source === undefined ? undefined : asgiEvidence(source, callable);
  if (evidence && !served.workerClass && !asgiWorkerConfigured(a.settings.gunicornCmdArgs, configText)) {
    warn(log, { type: 'asgi-app-under-sync-worker', module: served.module, evidence, config: userConfig ? path.relative(ctx.appDir, userConfig) : undefined });
  }
}

/**
 * A script web runs directly (APP_SCRIPT, app.sh) needs the execute bit: give it to whoever may read it, as s2i
 * does for .s2i/bin scripts, rather than build an image whose web fails with "permission denied".
 */
function makeExecutable(file: string, log: Deps['log']): void {
  const mode = fs.statSync(file).mode & 0o7777;
  const wanted = mode | ((mode & 0o444) >> 2);
  if (wanted === mode) return;
  fs.chmodSync(file, wanted);
  log.info(`${escapeControl(path.basename(file))} was not executable: made it executable so that it can run`);
}

/**
 * A Django project whose manage.py is below where the processes start (`src/manage.py`) is not found by the
 * start rules, which look where s2i's run script does (./manage.py): the log says how to point them there.
 */
function hintAppHome(appDir: string, dir: string, log: Deps['log']): void {
  if (managePyIn(appDir, dir)) return;
  const deeper = findManagePy(dir);
  if (!deeper) return;
  const folder = path.relative(appDir, path.dirname(deeper));
  log.info(`manage.py is in ${escapeControl(folder)}, not where the processes start: set APP_HOME=${escapeControl(folder)} to serve the Django project from there`);
}

/** A console script pip put in the pip-deps layer (`gunicorn`, `uvicorn`), when its package is installed. */
function consoleScript(pipDeps: string, name: string): string | undefined {
  const file = path.join(pipDeps, 'bin', name);
  return isFile(file) ? file : undefined;
}

/**
 * The Gunicorn worker class for ASGI apps that the app's packages provide: the uvicorn-worker package's
 * (uvicorn_worker.UvicornWorker), which uvicorn 0.30+ points to since it deprecated its own, else uvicorn's
 * own uvicorn.workers.UvicornWorker while uvicorn still ships it.
 */
function uvicornWorkerClass(pipDeps: string): string | undefined {
  const sites = sitePackagesDirs(pipDeps);
  if (sites.some((d) => isFile(path.join(d, 'uvicorn_worker', '__init__.py')))) return 'uvicorn_worker.UvicornWorker';
  if (sites.some((d) => isFile(path.join(d, 'uvicorn', 'workers.py')))) return 'uvicorn.workers.UvicornWorker';
  return undefined;
}
