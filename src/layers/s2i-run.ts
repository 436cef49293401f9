/**
 * The `s2i-run` layer (launch), present only when the app has .s2i/bin/run: the app's run script (a copy with
 * /usr/libexec/s2i mapped) and the default `run` it may call through $STI_SCRIPTS_PATH/run.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BuildContext } from '../cnb/context.js';
import { LayerEnv, Scope } from '../cnb/env.js';
import { writeMappedScript } from '../s2i/scripts.js';

/** `startDir`: APP_HOME, which the default start changes to first, as s2i's run script does. */
export async function contributeS2iRun(ctx: BuildContext, appRunScript: string, defaultStart: string[], startDir?: string): Promise<{ command: string; mappedSeedPath: boolean }> {
  const layer = await ctx.layers.uncachedLayer('s2i-run', { build: false, launch: true });
  const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
  const quoted = defaultStart.map(quote).join(' ');
  const cd = startDir ? `cd ${quote(startDir)} || exit 1\n` : '';
  const run = defaultStart.length > 0
    ? `#!/bin/sh\n# The buildpack's default start command.\n${cd}exec ${quoted}\n`
    : // Printed at launch, by a script that only runs if the app's .s2i/bin/run calls the default start.
      `#!/bin/sh\necho "ERROR: don't know how to run your application: no start rule matched at build. Set APP_RUN, or APP_MODULE with gunicorn or uvicorn installed, or add a wsgi.py, app.py or main.py (README: Starting the app)." >&2\nexit 1\n`;
  await fs.writeFile(path.join(layer.path, 'run'), run, { mode: 0o755 });
  const command = path.join(layer.path, 'app-run');
  const mappedSeedPath = writeMappedScript(appRunScript, command, layer.path);
  await layer.writeEnv(new LayerEnv().override(Scope.launch, 'STI_SCRIPTS_PATH', layer.path));
  await layer.writeMetadata({});
  return { command, mappedSeedPath };
}
