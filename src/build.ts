/**
 * Build: analyse everything up front (settings, Python version), so that a bad setting fails before any layer
 * is touched; then contribute the layers in order and declare the processes.
 */
import type { BuildContext } from './cnb/context.js';
import type { Env } from './cnb/env.js';
import type { Logger } from './logger.js';
import { writeLaunch, process_ } from './cnb/launch.js';
import { readSettings } from './settings.js';
import { choosePython } from './python/choose.js';
import { installPython } from './layers/python.js';

export async function build(ctx: BuildContext, log: Logger): Promise<void> {
  const settings = readSettings(ctx.userEnv);
  /** The env for the tools this build runs, built up as layers are added. */
  const env: Env = baseToolEnv(ctx.env);

  log.header('Determining Python version');
  const dist = await choosePython(ctx, settings, log);

  log.header('Installing Python');
  const python = await installPython(ctx, env, dist, log, { mirror: settings.dependencyMirror, download: settings.download });

  await writeLaunch(ctx.layers.dir, {
    processes: [
      process_('web', ['python', 'app.py'], { default: true }),
      process_('python', ['python']),
    ],
  });
  void python;
}

function baseToolEnv(processEnv: NodeJS.ProcessEnv): Env {
  const env: Env = {};
  for (const [k, v] of Object.entries(processEnv)) if (v !== undefined) env[k] = v;
  return env;
}
