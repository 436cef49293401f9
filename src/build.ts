/**
 * Build: analyse everything up front (app files, settings, Python version), so that a bad setting fails
 * before any layer is touched; then contribute the layers in order and declare the processes.
 */
import type { BuildContext } from './cnb/context.js';
import { analyse, type Analysis } from './analysis.js';
import { collectstatic } from './django.js';
import type { Deps } from './deps.js';
import { choosePython } from './python/choose.js';
import { ignoredPlatformEnvFiles } from './messages.js';
import { installedDistributions } from './python/installed.js';
import { installPython, type PythonInstall } from './layers/python.js';
import { upgradeBuildTools } from './layers/build-tools-upgrade.js';
import { preparePipCache } from './layers/pip-cache.js';
import { installDependencies } from './layers/pip-deps.js';
import { chooseDependencyInput, type DependencyInput } from './lock/input.js';
import { variablesNamedBy } from './lock/index-credentials.js';
import { launchDefaults } from './s2i/launch-defaults.js';
import { findS2iScripts } from './s2i/scripts.js';
import { runAppAssemble } from './s2i/assemble.js';
import { configureStart } from './start/configure.js';

async function python(ctx: BuildContext, a: Analysis, input: DependencyInput, deps: Deps): Promise<PythonInstall> {
  deps.log.header('Determining Python version');
  const dist = await choosePython(ctx, a.settings, deps.log, input.kind === 'lock' ? input.lock : undefined);
  deps.log.header('Installing Python');
  const s = a.settings;
  return installPython(ctx, a.env, dist, deps, { mirror: s.dependencyMirror, download: s.download, keepAll: s.keepWholePython, pipUpgrade: s.pipUpgrade });
}

/**
 * Runs the steps after Python, then finish() (the python layer's bytecode compile ran alongside them). When a
 * step fails, abandon() stops the compile, so that none outlives bin/build and the failure is not held back by
 * it; the step's error is the one reported.
 */
async function thenFinish(py: PythonInstall, steps: () => Promise<void>): Promise<void> {
  try {
    await steps();
  } catch (err) {
    await py.abandon().catch(() => undefined);
    throw err;
  }
  await py.finish();
}

/**
 * The default build steps after Python: the app's packages, then Django's static files. `withinCustomAssemble`:
 * run from the app's .s2i/bin/assemble, which may already have installed packages into pip-deps.
 */
async function defaultSteps(ctx: BuildContext, a: Analysis, input: DependencyInput, py: PythonInstall, deps: Deps, withinCustomAssemble = false): Promise<void> {
  deps.log.header('Installing dependencies');
  const pipCache = await preparePipCache(ctx, deps.log);
  if (py.buildTools) await upgradeBuildTools(ctx, a.env, py.python, py.buildTools, a.settings, pipCache, deps, py.version);
  const pipDeps = await installDependencies(ctx, a.env, py, a.settings, pipCache, deps, { withinCustomAssemble, input });
  const djangoInstalled = pipDeps !== undefined && installedDistributions(pipDeps).some((d) => d.name.toLowerCase() === 'django');
  // Django's own Python writes bytecode: only into a complete python layer.
  if (djangoInstalled) await py.finish();
  await collectstatic({
    appDir: ctx.appDir,
    startDir: a.startDir,
    env: a.env,
    python: py.python,
    djangoInstalled,
    disabled: a.settings.disableCollectstatic,
    log: deps.log,
    exec: deps.exec,
  });
}

export async function build(ctx: BuildContext, deps: Deps): Promise<void> {
  const { log } = deps;
  const started = deps.clock.now();
  const a = analyse(ctx);
  if (a.ignoredPlatformFiles.length > 0) {
    const w = ignoredPlatformEnvFiles(a.ignoredPlatformFiles);
    log.warning(w.title, w.body);
  }
  if (Object.keys(a.appEnv).length > 0) log.info(`Read ${Object.keys(a.appEnv).join(', ')} from .s2i/environment`);
  // The dependency input is read before any layer: a malformed, stale or ambiguous lock stops the build here,
  // and the lock's requires-python is a version source.
  const input = chooseDependencyInput(ctx.appDir, a.settings);
  const launchEnv = launchDefaults(a.appEnv, a.userEnv, log, input.kind === 'lock' ? variablesNamedBy(input.lock) : []);
  const scripts = findS2iScripts(ctx.appDir, a.settings.appRun, log);
  const py = await python(ctx, a, input, deps);

  await thenFinish(py, async () => {
    if (scripts.assemble) {
      await py.finish(); // the app's script, and the default steps it calls (another process), need the whole layer
      await runAppAssemble(ctx, a, py, scripts.assemble, deps);
    } else {
      await defaultSteps(ctx, a, input, py, deps);
    }
    await configureStart(ctx, a, py, launchEnv, scripts.run, deps);
  });
  log.info(`Build finished in ${log.elapsedSince(started)}`);
}

/** `ausnimbus-python s2i-assemble`: the default steps, called from an app's .s2i/bin/assemble. */
export async function defaultAssemble(ctx: BuildContext, deps: Deps): Promise<void> {
  const a = analyse(ctx, true);
  const input = chooseDependencyInput(ctx.appDir, a.settings);
  const py = await python(ctx, a, input, deps);
  await thenFinish(py, () => defaultSteps(ctx, a, input, py, deps, true));
}
