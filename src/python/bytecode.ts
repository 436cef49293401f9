/**
 * Bytecode for the python layer. The exporter sets the mtime of every file in a layer to 1980-01-01, so .pyc
 * files of the default kind, which record their source's mtime, no longer match in the image; the launch user
 * cannot rewrite them, so every start compiled the standard library again in memory (measured through the
 * local platform: `import flask` 1.1 to 1.8 s instead of 0.2 s). Unchecked-hash .pyc files (PEP 552, Python
 * 3.7+) do not depend on mtimes, and the layer's files never change after the verified unpack. Older Pythons
 * only have timestamp .pyc files: nothing is done for them.
 */
import path from 'node:path';
import type { Env } from '../cnb/env.js';
import type { Deps } from '../deps.js';
import { lineAtLeast, minorVersion } from './minor-version.js';

/** True when `version` (X.Y.Z) has hash-based .pyc files (3.7 and later). */
export function hasHashPyc(version: string): boolean {
  return lineAtLeast(version, 3, 7);
}

/**
 * What is not compiled: test suites, and site-packages (pip and setuptools, used at build only, when the build
 * user can write their .pyc files) except `_distutils_hack`, which setuptools' .pth file imports at every start.
 * Matched by compileall against each file's path.
 */
const EXCLUDE = '/(site-packages/(?!_distutils_hack/)|tests?/|idle_test/)';

/**
 * Compiles the standard library in lib/pythonX.Y of the layer to unchecked-hash .pyc files, replacing any
 * there (-f: compileall would keep timestamp .pyc files it thinks are current). A file that does not compile
 * is left to be compiled at import, as before: this never fails the build. `env`: the whole environment of
 * the compile (isolated mode, -I, ignores PYTHON* variables anyway).
 */
export async function compileLayerBytecode({ exec, log }: Pick<Deps, 'exec' | 'log'>, env: Env, python: string, layerPath: string, version: string): Promise<void> {
  if (!hasHashPyc(version)) return;
  const lib = path.join(layerPath, 'lib', `python${minorVersion(version)}`);
  const args = ['-I', '-m', 'compileall', '-q', '-f', '-j', '0', '--invalidation-mode', 'unchecked-hash', '-x', EXCLUDE, lib];
  const outcome = await exec.capture({ command: python, args, cwd: layerPath, env });
  if (outcome.kind === 'ok') {
    log.detail('Compiled the standard library to hash-based bytecode (valid in the image whatever its timestamps)');
  } else {
    const detail = outcome.kind === 'io' ? outcome.message : `exit status ${outcome.status}`;
    log.detail(`Some standard library modules were not precompiled (${detail}); they are compiled when imported`);
    if (outcome.kind === 'exit') log.debug(outcome.output.trim().split('\n').slice(-10).join('\n'));
  }
}
