/**
 * Runs the app's .s2i/bin/assemble in place of the default steps, with python and pip on PATH, pip's
 * installs going into the pip-deps layer, and the default steps reachable at $STI_SCRIPTS_PATH/assemble.
 * The pip-deps layer is rebuilt on every such build: what a custom script installs cannot be keyed. The default
 * steps called from the script add to the layer (never reset it), so packages the script installed first stay.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BuildContext } from '../cnb/context.js';
import { BuildpackError } from '../failure.js';
import type { Deps } from '../deps.js';
import type { Analysis } from '../analysis.js';
import { CUSTOM_ASSEMBLE_METADATA, maskRecordedUrls, pipDepsLayerEnv } from '../layers/pip-deps.js';
import { shim, writeMappedScript } from './scripts.js';
import type { InstalledPython } from '../layers/python.js';
import { keepLaunchTools } from '../python/launch-tools.js';
import { minorVersion } from '../python/minor-version.js';

export async function runAppAssemble(ctx: BuildContext, a: Analysis, py: InstalledPython, script: string, { log, exec }: Deps): Promise<void> {
  log.header('Running .s2i/bin/assemble');
  const scriptsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sti-scripts-'));
  fs.chmodSync(scriptsDir, 0o755);
  const binary = path.join(ctx.buildpackDir, 'bin', 'ausnimbus-python');
  fs.writeFileSync(path.join(scriptsDir, 'assemble'), shim([binary, 's2i-assemble'], ctx.appDir), { mode: 0o755 });
  const mapped = path.join(scriptsDir, 'app-assemble');
  if (writeMappedScript(script, mapped, scriptsDir)) log.info('.s2i/bin/assemble refers to /usr/libexec/s2i: running a copy that uses $STI_SCRIPTS_PATH instead');

  // Fresh pip-deps for each custom assemble; the default steps inside it write the layer's metadata.
  const pipDeps = await ctx.layers.cachedLayer('pip-deps', {
    build: true, launch: true, parseMetadata: () => undefined, onRestored: () => ({ action: 'delete', cause: undefined }),
  });
  const env = {
    ...pipDepsLayerEnv(pipDeps.path).apply('build', a.env),
    PATH: [path.join(pipDeps.path, 'bin'), a.env.PATH].filter(Boolean).join(':'),
    STI_SCRIPTS_PATH: scriptsDir,
    PIP_USER: '1',
  };
  try {
    await log.timed('Ran .s2i/bin/assemble', async () => {
      const outcome = await exec.stream({ command: mapped, args: [], cwd: ctx.appDir, env }, log);
      if (outcome.kind !== 'ok') {
        throw new BuildpackError({
          type: 's2i-assemble-failed',
          outcome: outcome.kind === 'exit' ? { kind: 'exit', status: outcome.status } : { kind: 'io', message: outcome.message },
        });
      }
    });
  } finally {
    fs.rmSync(scriptsDir, { recursive: true, force: true });
  }
  // Whatever the script installed with pip itself, past the default steps (which mask their own installs).
  maskRecordedUrls(pipDeps.path, log);
  if (py.buildTools) {
    const requirementFiles = fs.existsSync(path.join(ctx.appDir, 'requirements.txt')) ? ['requirements.txt'] : [];
    keepLaunchTools({ appDir: ctx.appDir, userBase: pipDeps.path, toolsSite: py.buildTools.sitePackages, minor: minorVersion(py.version) ?? py.version, requirementFiles, pipVariables: a.settings.pipVariables, log });
  }
  if (!fs.existsSync(pipDeps.tomlPath)) {
    // The script installed without the default steps: keep what it put in the layer, never reuse it.
    await pipDeps.writeEnv(pipDepsLayerEnv(pipDeps.path));
    await pipDeps.writeMetadata(CUSTOM_ASSEMBLE_METADATA);
  }
  Object.assign(a.env, (await pipDeps.buildEnv(pipDepsLayerEnv(pipDeps.path))).apply('build', a.env));
}
