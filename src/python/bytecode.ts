/**
 * Bytecode for the python layer. The exporter sets the mtime of every file in a layer to 1980-01-01, so .pyc
 * files of the default kind, which record their source's mtime, no longer match in the image; the launch user
 * cannot rewrite them, so every start compiled the standard library again in memory (measured through the
 * local platform: `import flask` 1.1 to 1.8 s instead of 0.2 s). Unchecked-hash .pyc files (PEP 552, Python
 * 3.7+) do not depend on mtimes, and the layer's files never change after the verified unpack. Older Pythons
 * only have timestamp .pyc files: nothing is done for them.
 */
import os from 'node:os';
import path from 'node:path';
import type { Env } from '../cnb/env.js';
import type { Deps } from '../deps.js';
import { formatDuration, type Logger } from '../logger.js';
import { lineAtLeast, minorVersion } from './minor-version.js';

/** True when `version` (X.Y.Z) has hash-based .pyc files (3.7 and later). */
export function hasHashPyc(version: string): boolean {
  return lineAtLeast(version, 3, 7);
}

/**
 * What is not compiled: test suites, and site-packages except `_distutils_hack`, which setuptools' .pth file
 * imports at every start when setuptools stays in the layer (BP_PYTHON_KEEP_ALL); otherwise pip and
 * setuptools are in the build-tools layer, and the test suites are links into it, which compileall does not
 * follow. Matched by compileall against each file's path.
 */
const EXCLUDE = '/(site-packages/(?!_distutils_hack/)|tests?/|idle_test/)';

export type CompileReport =
  | { kind: 'none' }
  /** Stopped through its signal (a failed build does not wait for it). */
  | { kind: 'canceled' }
  | { kind: 'compiled'; ms: number }
  | { kind: 'partial'; ms: number; detail: string; tail?: string };

/**
 * Worker processes for the compile, which runs alongside pip's install (src/layers/python.ts): every CPU but
 * one, which pip, a single process, keeps.
 */
export function compileJobs(cpus = os.availableParallelism()): number {
  return Math.max(1, cpus - 1);
}

/**
 * Compiles the standard library in lib/pythonX.Y of the layer to unchecked-hash .pyc files, replacing any
 * there (-f: compileall would keep timestamp .pyc files it thinks are current), with `jobs` workers. A file
 * that does not compile is left to be compiled at import, as before: this never fails the build. `env`: the
 * whole environment of the compile (isolated mode, -I, ignores PYTHON* variables anyway). `exclude`: one more
 * compileall -x pattern (the parts moved to the build-tools layer, src/python/build-only.ts). `signal` stops it
 * (a failed build does not wait for it, src/layers/python.ts). The caller logs the report (logCompile): the
 * compile runs alongside the later steps, whose lines it must not split.
 */
export async function compileLayerBytecode(
  { exec, clock }: Pick<Deps, 'exec' | 'clock'>, env: Env, python: string, layerPath: string, version: string,
  { exclude, jobs = compileJobs(), signal }: { exclude?: string; jobs?: number; signal?: AbortSignal } = {},
): Promise<CompileReport> {
  if (!hasHashPyc(version)) return { kind: 'none' };
  const started = clock.now();
  const lib = path.join(layerPath, 'lib', `python${minorVersion(version)}`);
  const pattern = exclude ? `${EXCLUDE}|${exclude}` : EXCLUDE;
  const args = ['-I', '-m', 'compileall', '-q', '-f', '-j', String(jobs), '--invalidation-mode', 'unchecked-hash', '-x', pattern, lib];
  const outcome = await exec.capture({ command: python, args, cwd: layerPath, env, signal });
  if (signal?.aborted) return { kind: 'canceled' };
  const ms = clock.now() - started;
  if (outcome.kind === 'ok') return { kind: 'compiled', ms };
  const detail = outcome.kind === 'io' ? outcome.message : `exit status ${outcome.status}`;
  return { kind: 'partial', ms, detail, tail: outcome.kind === 'exit' ? outcome.output.trim().split('\n').slice(-10).join('\n') : undefined };
}

/** The log lines of a compile. `alongside`: it ran while the later steps did. */
export function logCompile(log: Logger, report: CompileReport, alongside: boolean): void {
  if (report.kind === 'none' || report.kind === 'canceled') return;
  const how = alongside ? `, alongside the steps above, in ${formatDuration(report.ms)}` : '';
  if (report.kind === 'compiled') {
    log.detail(`Compiled the standard library to hash-based bytecode (valid in the image whatever its timestamps)${how}`);
  } else {
    log.detail(`Some standard library modules were not precompiled (${report.detail}); they are compiled when imported${how}`);
    if (report.tail) log.debug(report.tail);
  }
}
