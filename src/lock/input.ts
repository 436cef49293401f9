/**
 * Which dependency input the build installs (issue 14, item 1). When nothing is configured: a lockfile, in
 * the order `pylock.ausnimbus.toml`, `pylock.toml` (PEP 751 asks hosting services to look for
 * `pylock.<service>.toml` before `pylock.toml`), `uv.lock`, `poetry.lock`, `Pipfile.lock`; then today's rules
 * (src/layers/pip-deps.ts planInstall: requirements.txt, setup.py, setup.cfg, pyproject.toml).
 *
 * - A lockfile beside a requirements.txt wins, and the log says so: a lock is what the app was tested with.
 * - Lockfiles of two different tools are ambiguous (uv and Poetry both ran in this app at some point): the
 *   build stops naming both and BP_PYTHON_DEPENDENCY_FILE, the setting that picks one.
 * - A Pipfile without Pipfile.lock and nothing else to install stops with `pipenv lock` advice; beside a
 *   requirements.txt it is left alone, as before lockfiles were read (the log says so).
 * - BP_PYTHON_DEPENDENCY_FILE names the input: one lockfile, or requirement files (as BP_PIP_REQUIREMENT).
 * - ENABLE_PIPENV / ENABLE_MICROPIPENV (OpenShift s2i): Pipfile.lock even beside requirements.txt or another
 *   tool's lock; micropipenv's own order then takes poetry.lock (thoth-station/micropipenv reads Pipfile.lock,
 *   then poetry.lock, then requirements.txt).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BuildpackError } from '../failure.js';
import { planInstall as planProjectInstall, type InstallPlan } from '../python/install-plan.js';
import type { Settings } from '../settings.js';
import type { Lockfile, LockTool } from './model.js';
import { LOCK_READERS, type LockReader } from './readers.js';

/** The lockfiles looked for, in order. */
export const LOCKFILES: ReadonlyArray<{ file: string; tool: LockTool }> = [
  { file: 'pylock.ausnimbus.toml', tool: 'pylock' },
  { file: 'pylock.toml', tool: 'pylock' },
  { file: 'uv.lock', tool: 'uv' },
  { file: 'poetry.lock', tool: 'poetry' },
  { file: 'Pipfile.lock', tool: 'pipenv' },
];

const DEPENDENCY_FILE = 'BP_PYTHON_DEPENDENCY_FILE';

/** What the build installs, and the lines the log says about the choice. */
export type DependencyInput =
  | { kind: 'lock'; lock: Lockfile; notes: string[] }
  | { kind: 'pip'; plan: InstallPlan; notes: string[] };

/**
 * The tool of a lockfile by its name: PEP 751 names are `pylock.toml` and `pylock.<name>.toml` (one dotted
 * part, no further dots); the others are fixed names.
 */
export function lockToolOf(file: string): LockTool | undefined {
  const base = path.posix.basename(file.replace(/\\/g, '/'));
  if (/^pylock\.([^.]+\.)?toml$/.test(base)) return 'pylock';
  return LOCKFILES.find((l) => l.file === base && l.tool !== 'pylock')?.tool;
}

function readLock(appDir: string, tool: LockTool, file: string, readers: Partial<Record<LockTool, LockReader>>): Lockfile {
  const reader = readers[tool];
  if (reader === undefined) throw new BuildpackError({ type: 'internal', what: `Reading ${file}`, detail: `this buildpack has no reader for ${tool} lockfiles yet` });
  return reader(appDir, file);
}

export function chooseDependencyInput(appDir: string, settings: Settings, readers: Partial<Record<LockTool, LockReader>> = LOCK_READERS): DependencyInput {
  const has = (f: string): boolean => fs.existsSync(path.join(appDir, f));
  const processing = { setupPy: settings.disableSetupPyProcessing !== true, pyprojectToml: settings.disablePyprojectTomlProcessing !== true };
  const planInstall = (requested: string[] | undefined): InstallPlan => planProjectInstall(appDir, requested, processing);

  if (settings.dependencyFile !== undefined) {
    const files = settings.dependencyFile;
    const value = files.join(' ');
    const lockFile = files.find((f) => lockToolOf(f) !== undefined);
    if (lockFile === undefined) return { kind: 'pip', plan: planInstall(files), notes: [`Installing ${value} (${DEPENDENCY_FILE})`] };
    if (files.length > 1) throw new BuildpackError({ type: 'dependency-file-unusable', value, file: lockFile, problem: 'not-alone' });
    if (!has(lockFile)) throw new BuildpackError({ type: 'dependency-file-unusable', value, file: lockFile, problem: 'missing' });
    const tool = lockToolOf(lockFile) as LockTool;
    return { kind: 'lock', lock: readLock(appDir, tool, lockFile, readers), notes: [`Installing ${lockFile} (${DEPENDENCY_FILE})`] };
  }
  if (settings.pipRequirements !== undefined) return { kind: 'pip', plan: planInstall(settings.pipRequirements), notes: [] };

  // Only formats with a reader count: a lockfile nothing reads stays what it was before, an unused file.
  const present = LOCKFILES.filter((l) => readers[l.tool] !== undefined && has(l.file));
  const besideRequirements = (file: string): string[] =>
    has('requirements.txt') ? [`requirements.txt is not installed: ${file} is (set ${DEPENDENCY_FILE}=requirements.txt to install requirements.txt instead)`] : [];

  const alias = settings.pipenvAlias;
  if (alias !== undefined) {
    const pick = present.find((l) => l.tool === 'pipenv') ?? (alias === 'ENABLE_MICROPIPENV' ? present.find((l) => l.tool === 'poetry') : undefined);
    if (pick !== undefined) {
      return { kind: 'lock', lock: readLock(appDir, pick.tool, pick.file, readers), notes: [`Installing ${pick.file} (${alias})`, ...besideRequirements(pick.file)] };
    }
    if (has('Pipfile')) throw new BuildpackError({ type: 'pipfile-without-lock' });
  }

  const tools = [...new Set(present.map((l) => l.tool))];
  if (tools.length > 1) {
    const files = tools.map((t) => (present.find((l) => l.tool === t) as { file: string }).file);
    throw new BuildpackError({ type: 'lockfiles-ambiguous', files, setting: DEPENDENCY_FILE });
  }
  const first = present[0];
  if (first !== undefined) {
    const others = present.slice(1).map((l) => l.file);
    const notes = [`Installing ${first.file}`, ...besideRequirements(first.file)];
    if (others.length > 0) notes.push(`${others.join(', ')} ${others.length > 1 ? 'are' : 'is'} not installed: ${first.file} comes first (pylock.<service>.toml before pylock.toml, PEP 751)`);
    return { kind: 'lock', lock: readLock(appDir, first.tool, first.file, readers), notes };
  }

  if (has('Pipfile')) {
    if (!has('requirements.txt')) throw new BuildpackError({ type: 'pipfile-without-lock' });
    return { kind: 'pip', plan: planInstall(undefined), notes: ['The Pipfile is not used: it has no Pipfile.lock, and requirements.txt is installed'] };
  }
  return { kind: 'pip', plan: planInstall(undefined), notes: [] };
}
