/**
 * Build: analyse everything up front (app files, settings, Python version), so that a bad setting fails
 * before any layer is touched; then contribute the layers in order and declare the processes.
 */
import type { BuildContext } from './cnb/context.js';
import { LayerEnv, Scope, type Env } from './cnb/env.js';
import type { UserEnv } from './cnb/user-env.js';
import { checkForbiddenVariables } from './checks.js';
import { collectstatic } from './django.js';
import { realExecutor, type Executor } from './exec.js';
import type { Logger } from './logger.js';
import { readSettings, type Settings } from './settings.js';
import { choosePython } from './python/choose.js';
import { installedDistributions } from './python/installed.js';
import { installPython, type InstalledPython } from './layers/python.js';
import { preparePipCache } from './layers/pip-cache.js';
import { installDependencies } from './layers/pip-deps.js';
import { readS2iEnvironment } from './s2i/environment.js';
import { appScript } from './s2i/scripts.js';
import { runAppAssemble } from './s2i/assemble.js';
import { configureStart } from './start/configure.js';

/** What the build knows before it touches a layer. */
export interface Analysis {
  /** .s2i/environment values. */
  appEnv: Record<string, string>;
  userEnv: UserEnv;
  settings: Settings;
  /** The env for the tools this build runs, built up as layers are added. */
  env: Env;
}

/** `nested`: called from the app's .s2i/bin/assemble, whose env the outer build set up and checked. */
export function analyse(ctx: BuildContext, nested = false): Analysis {
  const appEnv = readS2iEnvironment(ctx.appDir);
  const userEnv = ctx.userEnv.withAppSource({ name: '.s2i/environment', values: appEnv });
  if (!nested) checkForbiddenVariables(userEnv);
  const env: Env = {};
  for (const [k, v] of Object.entries(ctx.env)) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(appEnv)) if (!ctx.userEnv.setOnPlatform(k)) env[k] = v;
  return { appEnv, userEnv, settings: readSettings(userEnv), env };
}

async function python(ctx: BuildContext, a: Analysis, log: Logger): Promise<InstalledPython> {
  log.header('Determining Python version');
  const dist = await choosePython(ctx, a.settings, log);
  log.header('Installing Python');
  return installPython(ctx, a.env, dist, log, { mirror: a.settings.dependencyMirror, download: a.settings.download });
}

/**
 * The default build steps after Python: the app's packages, then Django's static files. `withinCustomAssemble`:
 * run from the app's .s2i/bin/assemble, which may already have installed packages into pip-deps.
 */
async function defaultSteps(ctx: BuildContext, a: Analysis, py: InstalledPython, log: Logger, exec: Executor, withinCustomAssemble = false): Promise<void> {
  log.header('Installing dependencies');
  const pipCache = await preparePipCache(ctx);
  const pipDeps = await installDependencies(ctx, a.env, py, a.settings, pipCache, log, exec, { withinCustomAssemble });
  await collectstatic({
    appDir: ctx.appDir,
    env: a.env,
    python: py.python,
    djangoInstalled: pipDeps !== undefined && installedDistributions(pipDeps).some((d) => d.name.toLowerCase() === 'django'),
    disabled: a.settings.disableCollectstatic,
    log,
    exec,
  });
}

export async function build(ctx: BuildContext, log: Logger, exec: Executor = realExecutor): Promise<void> {
  const started = log.now();
  const a = analyse(ctx);
  if (Object.keys(a.appEnv).length > 0) log.info(`Read ${Object.keys(a.appEnv).join(', ')} from .s2i/environment`);
  const py = await python(ctx, a, log);

  const assemble = appScript(ctx.appDir, 'assemble');
  if (assemble) await runAppAssemble(ctx, a, assemble, log, exec);
  else await defaultSteps(ctx, a, py, log, exec);

  await configureStart(ctx, a, py, launchDefaults(a), log);
  log.info(`Build finished in ${log.elapsedSince(started)}`);
}

/** `ausnimbus-python s2i-assemble`: the default steps, called from an app's .s2i/bin/assemble. */
export async function defaultAssemble(ctx: BuildContext, log: Logger, exec: Executor = realExecutor): Promise<void> {
  const a = analyse(ctx, true);
  const py = await python(ctx, a, log);
  await defaultSteps(ctx, a, py, log, exec, true);
}

/** .s2i/environment is baked into the image as defaults, so a value set at runtime wins (as with s2i). */
function launchDefaults(a: Analysis): LayerEnv {
  const env = new LayerEnv();
  for (const [k, v] of Object.entries(a.appEnv)) if (!a.userEnv.setOnPlatform(k)) env.default(Scope.launch, k, v);
  return env;
}
