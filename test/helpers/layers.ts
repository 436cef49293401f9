/**
 * The lifecycle's view of a buildpack's layers dir, for unit tests of layer decisions without the local
 * platform: what the restorer leaves for the next build, what a layer's files contain, and the env its
 * env files give later buildpacks and the launched app (the same code as test/platform's lifecycle).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseToml, stringifyToml, isTable } from '../../src/cnb/toml.js';
import { EnvVars, POSIX_BUILD_ROOT_DIRS, POSIX_LAUNCH_ROOT_DIRS, addRootDir, applyEnvDir } from '../platform/env-files.js';

/**
 * What the restorer leaves of `<layer>.toml` for the next build: [metadata] only, never [types] (the Buildpack API spec
 * buildpack.md §Layers); the contents stay, as they do for a cache=true layer.
 */
export function restoreLayer(layersDir: string, name: string): void {
  const file = path.join(layersDir, `${name}.toml`);
  const doc = parseToml(fs.readFileSync(file, 'utf8'));
  fs.writeFileSync(file, stringifyToml(isTable(doc.metadata) ? { metadata: doc.metadata } : {}));
}

/** Every file under `dir` (relative path → contents, or `-> target` for a symlink), to compare before and after. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = path.join(rel, e.name);
      const abs = path.join(dir, child);
      if (e.isSymbolicLink()) out[child] = `-> ${fs.readlinkSync(abs)}`;
      else if (e.isDirectory()) walk(child);
      else out[child] = `${(fs.statSync(abs).mode & 0o777).toString(8)} ${fs.readFileSync(abs, 'utf8')}`;
    }
  };
  walk('.');
  return out;
}

/** The [types] and [metadata] of `<layer>.toml`, or undefined when there is none. */
export function layerToml(layersDir: string, name: string): Record<string, unknown> | undefined {
  const file = path.join(layersDir, `${name}.toml`);
  return fs.existsSync(file) ? parseToml(fs.readFileSync(file, 'utf8')) : undefined;
}

/**
 * The env the lifecycle gives from the layers of this layers dir, over `base`, sorted by name (buildpack.md §Environment,
 * buildpack.md §Environment Variable Modification Rules): at build (for later buildpacks) the layers with build = true, their bin/, lib/, include/, pkgconfig/,
 * then env/ and env.build/; at launch the layers with launch = true, their bin/ and lib/, then env/,
 * env.launch/ and env.launch/<process type>/. Layers without `<layer>.toml` are ignored, as by the lifecycle.
 */
export async function lifecycleEnv(
  layersDir: string,
  phase: 'build' | 'launch',
  base: Record<string, string>,
  processType?: string,
): Promise<Record<string, string>> {
  const env = new EnvVars(base);
  const layers = fs.readdirSync(layersDir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .filter((name) => {
      const types = layerToml(layersDir, name)?.types;
      return isTable(types) && types[phase] === true;
    })
    .sort();
  if (phase === 'build') {
    for (const name of layers) {
      const dir = path.join(layersDir, name);
      await addRootDir(env, dir, POSIX_BUILD_ROOT_DIRS);
      for (const sub of ['env', 'env.build']) await applyEnvDir(env, path.join(dir, sub));
    }
  } else {
    for (const name of layers) await addRootDir(env, path.join(layersDir, name), POSIX_LAUNCH_ROOT_DIRS);
    for (const name of layers) {
      const dir = path.join(layersDir, name);
      const subs = ['env', 'env.launch', ...(processType ? [path.join('env.launch', processType)] : [])];
      for (const sub of subs) await applyEnvDir(env, path.join(dir, sub));
    }
  }
  return sorted(env.toObject());
}

export function sorted(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
