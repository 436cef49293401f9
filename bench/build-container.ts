/**
 * A lifecycle-like build container for running a buildpack's compiled bin/build directly (no platform in between),
 * as the benchmarks do: the app, the platform's env files, the Buildpack Plan, the layers dir, and the env the
 * lifecycle gives bin/build. Layers restored into it are as the restorer leaves them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { hostArch } from '../test/helpers/servers.js';
import { AS_BUILD_USER, chownTree, timed, type Run } from './measure.js';

/** The env the lifecycle gives bin/build. */
export function buildPhaseEnv(o: { home: string; buildpackDir: string; layers: string; platformDir: string; plan: string; arch: string; user?: NodeJS.ProcessEnv }): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: o.home,
    ...o.user,
    CNB_BUILDPACK_DIR: o.buildpackDir,
    CNB_LAYERS_DIR: o.layers,
    CNB_PLATFORM_DIR: o.platformDir,
    CNB_BP_PLAN_PATH: o.plan,
    CNB_TARGET_OS: 'linux',
    CNB_TARGET_ARCH: o.arch,
    NO_COLOR: '1',
  };
}

export interface BuildContainer {
  root: string;
  /** The workspace: bin/build's working directory. */
  app: string;
  /** The buildpack's layers dir (CNB_LAYERS_DIR). */
  layers: string;
  env: NodeJS.ProcessEnv;
  /** bin/build's positional arguments: layers, platform, plan. */
  args: string[];
  bin: string;
}

/** A container at `<scratch>/<name>` holding `appFiles`, with `userEnv` as platform env files. */
export function buildContainer(o: { scratch: string; name: string; buildpackDir: string; appFiles: Record<string, string>; userEnv: Record<string, string> }): BuildContainer {
  const root = path.join(o.scratch, o.name);
  const app = path.join(root, 'workspace');
  const platformDir = path.join(root, 'platform');
  const layers = path.join(root, 'layers', 'ausnimbus_python');
  for (const d of [app, path.join(platformDir, 'env'), layers]) fs.mkdirSync(d, { recursive: true });
  for (const [f, c] of Object.entries(o.appFiles)) fs.writeFileSync(path.join(app, f), c);
  for (const [k, v] of Object.entries(o.userEnv)) fs.writeFileSync(path.join(platformDir, 'env', k), v);
  const plan = path.join(root, 'plan.toml');
  fs.writeFileSync(plan, '[[entries]]\nname = "python"\n');
  const env = buildPhaseEnv({ home: root, buildpackDir: o.buildpackDir, layers, platformDir, plan, arch: hostArch(), user: o.userEnv });
  return { root, app, layers, env, args: [layers, platformDir, plan], bin: path.join(o.buildpackDir, 'bin', 'build') };
}

/** Runs the container's bin/build as the build user, timed by `time`; throws with its output when it fails. */
export async function binBuild<R extends Run>(c: BuildContainer, time: (argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv }) => Promise<R>): Promise<R> {
  const run = await time([...AS_BUILD_USER, c.bin, ...c.args], { cwd: c.app, env: c.env });
  if (run.code !== 0) throw new Error(`bin/build failed (${run.code}):\n${run.output}`);
  return run;
}

/**
 * Layer `name` of an earlier build's layers dir, as the restorer leaves it in another container: its contents
 * and its `<name>.toml` with [metadata] only (the lifecycle restores no [types]).
 */
export function restoreLayer(fromLayers: string, to: BuildContainer, name: string): void {
  fs.cpSync(path.join(fromLayers, name), path.join(to.layers, name), { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
  const toml = fs.readFileSync(path.join(fromLayers, `${name}.toml`), 'utf8').replace(/\[types\][^[]*/s, '');
  fs.writeFileSync(path.join(to.layers, `${name}.toml`), toml);
}

/**
 * Builds the container `template` once, and gives its interpreter and a maker of containers that hold its python
 * layer as the restorer leaves it for an app whose dependencies changed and whose cache is empty (no pip-deps, no
 * pip-cache). The build-tools layer (pip, setuptools, wheel, headers) comes with it: the python layer is kept only
 * beside it.
 */
export async function restoredPython(container: (name: string) => BuildContainer): Promise<{ python: string; coldContainer: (name: string) => BuildContainer }> {
  const template = container('template');
  chownTree(template.root);
  await binBuild(template, timed);
  return {
    python: path.join(template.layers, 'python', 'bin', 'python'),
    coldContainer: (name) => {
      const c = container(name);
      for (const layer of ['python', 'build-tools']) restoreLayer(template.layers, c, layer);
      chownTree(c.root);
      return c;
    },
  };
}
