/**
 * The `gunicorn-config` layer (launch): the fallback gunicorn.conf.py, used when the app brings no config of
 * its own, and the exec.d program that exports WEB_CONCURRENCY from the container's memory limit at every
 * start (for every process, so apps with their own config or start command get it too). Both files are
 * copied from the buildpack's layers/ folder. Rebuilt every build: two small files, cheaper than a cache.
 * It also sets PORT=8080 as a launch default (the seed's port), which gunicorn itself binds 0.0.0.0:$PORT to
 * when a config of the app's own names no bind, and which APP_RUN commands can read.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BuildContext } from '../cnb/context.js';
import { LayerEnv, Scope } from '../cnb/env.js';

export interface GunicornConfigLayer {
  /** Absolute path of the fallback config at build and at launch. */
  configPath: string;
}

/** `launchEnv`: defaults baked into the launch environment (the app's .s2i/environment). */
export async function contributeGunicornConfig(ctx: BuildContext, launchEnv: LayerEnv): Promise<GunicornConfigLayer> {
  const layer = await ctx.layers.uncachedLayer('gunicorn-config', { build: false, launch: true });
  const source = path.join(ctx.buildpackDir, 'layers');
  const configPath = path.join(layer.path, 'gunicorn.conf.py');
  await fs.copyFile(path.join(source, 'gunicorn.conf.py'), configPath);
  await fs.chmod(configPath, 0o644);
  await layer.writeExecD({ 'web-concurrency': path.join(source, 'exec.d', 'web-concurrency') });
  // The app's own defaults come second: an .s2i/environment PORT replaces ours.
  await layer.writeEnv(LayerEnv.concat(new LayerEnv().default(Scope.launch, 'PORT', '8080'), launchEnv));
  await layer.writeMetadata({});
  return { configPath };
}
