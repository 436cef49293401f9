/** The start step of the build: the gunicorn-config layer, the s2i run layer when needed, and launch.toml. */
import fs from 'node:fs';
import path from 'node:path';
import type { BuildContext } from '../cnb/context.js';
import type { LayerEnv } from '../cnb/env.js';
import { writeLaunch } from '../cnb/launch.js';
import { BuildpackError } from '../failure.js';
import type { Logger } from '../logger.js';
import type { Settings } from '../settings.js';
import type { Analysis } from '../analysis.js';
import type { InstalledPython } from '../layers/python.js';
import { contributeGunicornConfig } from '../layers/gunicorn-config.js';
import { contributeS2iRun } from '../layers/s2i-run.js';
import { appScript } from '../s2i/scripts.js';
import { planStart } from './web-process.js';

export async function configureStart(ctx: BuildContext, a: Analysis, py: InstalledPython, launchEnv: LayerEnv, log: Logger): Promise<void> {
  log.header('Configuring the start command');
  const gunicornConfig = await contributeGunicornConfig(ctx, launchEnv);
  const inputs = {
    appDir: ctx.appDir,
    appRun: a.settings.appRun,
    gunicorn: findFile(path.join(ctx.layers.dir, 'pip-deps', 'bin', 'gunicorn')),
    gunicornAppModule: a.settings.gunicornAppModule,
    userGunicornConfig: userGunicornConfig(ctx.appDir, a.settings),
    fallbackGunicornConfig: gunicornConfig.configPath,
    python: py.python,
  };
  const runScript = a.settings.appRun ? undefined : appScript(ctx.appDir, 'run');
  let s2iRun: string | undefined;
  if (runScript) {
    // The default start, as .s2i/bin/run reaches it through $STI_SCRIPTS_PATH/run.
    let fallback: string[];
    try {
      const p = planStart({ ...inputs, appRun: undefined, s2iRun: undefined }).processes[0];
      fallback = p ? [...p.command, ...p.args] : [];
    } catch {
      fallback = [];
    }
    const layer = await contributeS2iRun(ctx, runScript, fallback);
    if (layer.mappedSeedPath) log.info('.s2i/bin/run refers to /usr/libexec/s2i: running a copy that uses $STI_SCRIPTS_PATH instead');
    s2iRun = layer.command;
  }
  const start = planStart({ ...inputs, s2iRun });
  log.info(start.reason);
  for (const p of start.processes) log.detail(`${p.type}${p.default ? ' (default)' : ''}: ${[...p.command, ...p.args].join(' ')}`);
  await writeLaunch(ctx.layers.dir, { processes: start.processes });
}

function userGunicornConfig(appDir: string, settings: Settings): string | undefined {
  if (settings.gunicornConfig) {
    const file = path.resolve(appDir, settings.gunicornConfig.value);
    if (!findFile(file)) throw new BuildpackError({ type: 'missing-gunicorn-config', name: settings.gunicornConfig.name, value: settings.gunicornConfig.value });
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
