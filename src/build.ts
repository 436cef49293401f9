/**
 * Build: analyse everything up front (app files, settings, Python version), so that a bad setting fails
 * before any layer is touched; then contribute the layers in order and declare the processes.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BuildContext } from './cnb/context.js';
import { LayerEnv, Scope, type Env } from './cnb/env.js';
import { writeLaunch } from './cnb/launch.js';
import { checkForbiddenVariables } from './checks.js';
import { startErrors } from './errors.js';
import { realExecutor, type Executor } from './exec.js';
import type { Logger } from './logger.js';
import { readSettings, type Settings } from './settings.js';
import { choosePython } from './python/choose.js';
import { installPython } from './layers/python.js';
import { preparePipCache } from './layers/pip-cache.js';
import { installDependencies } from './layers/pip-deps.js';
import { contributeGunicornConfig } from './layers/gunicorn-config.js';
import { readS2iEnvironment } from './s2i/environment.js';
import { planStart } from './start/web-process.js';

export async function build(ctx: BuildContext, log: Logger, exec: Executor = realExecutor): Promise<void> {
  const started = log.now();
  const appEnv = readS2iEnvironment(ctx.appDir);
  const userEnv = ctx.userEnv.withAppSource({ name: '.s2i/environment', values: appEnv });
  checkForbiddenVariables(userEnv);
  const settings = readSettings(userEnv);
  /** The env for the tools this build runs, built up as layers are added. */
  const env = toolEnv(ctx, appEnv);
  if (Object.keys(appEnv).length > 0) log.info(`Read ${Object.keys(appEnv).length} variable(s) from .s2i/environment: ${Object.keys(appEnv).join(', ')}`);

  log.header('Determining Python version');
  const dist = await choosePython(ctx, settings, log);

  log.header('Installing Python');
  const python = await installPython(ctx, env, dist, log, { mirror: settings.dependencyMirror, download: settings.download });

  log.header('Installing dependencies');
  const pipCache = await preparePipCache(ctx);
  const pipDeps = await installDependencies(ctx, env, python, settings, pipCache, log, exec);

  log.header('Configuring the start command');
  const gunicornConfig = await contributeGunicornConfig(ctx, launchDefaults(appEnv, userEnv));
  const gunicorn = pipDeps ? findFile(path.join(pipDeps, 'bin', 'gunicorn')) : undefined;
  const start = planStart({
    appDir: ctx.appDir,
    appRun: settings.appRun,
    s2iRun: undefined,
    gunicorn,
    gunicornAppModule: settings.gunicornAppModule,
    userGunicornConfig: userGunicornConfig(ctx.appDir, settings),
    fallbackGunicornConfig: gunicornConfig.configPath,
    python: python.python,
  });
  log.info(start.reason);
  for (const p of start.processes) log.detail(`${p.type}${p.default ? ' (default)' : ''}: ${[...p.command, ...p.args].join(' ')}`);
  await writeLaunch(ctx.layers.dir, { processes: start.processes });
  log.info(`Build finished in ${log.elapsedSince(started)}`);
}

function toolEnv(ctx: BuildContext, appEnv: Record<string, string>): Env {
  const env: Env = {};
  for (const [k, v] of Object.entries(ctx.env)) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(appEnv)) if (!ctx.userEnv.setOnPlatform(k)) env[k] = v;
  return env;
}

/** .s2i/environment is baked into the image as defaults, so a value set at runtime wins (as with s2i). */
function launchDefaults(appEnv: Record<string, string>, userEnv: { setOnPlatform(n: string): boolean }): LayerEnv {
  const env = new LayerEnv();
  for (const [k, v] of Object.entries(appEnv)) if (!userEnv.setOnPlatform(k)) env.default(Scope.launch, k, v);
  return env;
}

function userGunicornConfig(appDir: string, settings: Settings): string | undefined {
  if (settings.gunicornConfig) {
    const file = path.resolve(appDir, settings.gunicornConfig.value);
    if (!findFile(file)) throw startErrors.missingGunicornConfig(settings.gunicornConfig.name, settings.gunicornConfig.value);
    return file;
  }
  // gunicorn loads ./gunicorn.conf.py by default: that is the app's own config.
  return findFile(path.join(appDir, 'gunicorn.conf.py'));
}

function findFile(p: string): string | undefined {
  try {
    return fs.statSync(p).isFile() ? p : undefined;
  } catch {
    return undefined;
  }
}
