/** PIP_UPGRADE in the build-tools layer (src/layers/build-tools.ts). */
import fs from 'node:fs';
import type { BuildContext } from '../cnb/context.js';
import type { Env } from '../cnb/env.js';
import type { Deps } from '../deps.js';
import { BuildpackError } from '../failure.js';
import { escapeControl } from '../escape-control.js';
import { maskSecrets } from '../secrets.js';
import type { Settings } from '../settings.js';
import { hasHashPyc } from '../python/bytecode.js';
import { finishBuildTools, type BuildTools } from './build-tools.js';
import { pipErrorLines, unreachableIndex } from './pip-run.js';

/** As in src/layers/pip-deps.ts: reproducible .pyc files, and no bytecode written into the python layer. */
const PIP_RUN_ENV = { SOURCE_DATE_EPOCH: '315532800', PYTHONHASHSEED: '0', PYTHONDONTWRITEBYTECODE: '1' };

/**
 * PIP_UPGRADE (or UPGRADE_PIP_TO_LATEST): pip, setuptools and wheel upgraded in the build-tools layer by pip's user scheme (PYTHONUSERBASE
 * is the layer, whose site-packages holds them), so pip replaces them there. Runs when the layer does not hold
 * upgraded tools yet; `<layer>.toml` is removed first and written again once pip is done (for a layer this
 * build made, by the python layer's finish()), so a build killed mid-upgrade leaves a layer no build trusts
 * (and the python layer is then installed again with it).
 */
export async function upgradeBuildTools(ctx: BuildContext, env: Env, python: string, tools: BuildTools, settings: Settings, pipCacheDir: string, { log, exec }: Deps, version: string): Promise<void> {
  if (!settings.pipUpgrade || tools.upgraded) return;
  await fs.promises.rm(tools.ref.tomlPath, { force: true });
  const pipEnv: Env = { ...env, ...settings.pipVariables, PYTHONUSERBASE: tools.layerPath, PIP_CACHE_DIR: pipCacheDir, ...PIP_RUN_ENV };
  if (!pipEnv.LC_ALL && !pipEnv.LC_CTYPE && !pipEnv.LANG) pipEnv.LC_CTYPE = 'C.UTF-8';
  delete pipEnv.PYTHONPATH;
  delete pipEnv.PIP_USER;
  const args = ['-m', 'pip', 'install', '--user', '--no-input', '--disable-pip-version-check', '--no-warn-script-location', '--upgrade', 'pip', 'setuptools', 'wheel'];
  if (!hasHashPyc(version)) args.splice(args.indexOf('--upgrade'), 0, '--no-compile');
  const variable = settings.pipUpgradeVariable ?? 'PIP_UPGRADE';
  log.info(`Running '${escapeControl(maskSecrets('python -m pip install --user --upgrade pip setuptools wheel'))}' in the build-tools layer (${variable})`);
  await log.timed(`Upgraded pip, setuptools and wheel (${variable})`, async () => {
    const o = await exec.stream({ command: python, args, cwd: ctx.appDir, env: pipEnv }, log);
    if (o.kind === 'io') throw new BuildpackError({ type: 'pip-command-io', program: python, message: o.message });
    if (o.kind === 'exit') throw new BuildpackError({ type: 'pip-upgrade-failed', errorLines: pipErrorLines(o.output), status: o.status, unreachable: unreachableIndex(o.output) });
  });
  tools.upgraded = true;
  tools.metadata = { ...tools.metadata, upgraded: true };
  // A layer this build made gets its toml with python.toml, from the python layer's finish().
  if (!tools.pending) await finishBuildTools(tools.ref, tools.sitePackages, tools.metadata);
}
