/**
 * What pip installs when the app has no lockfile (src/lock/input.ts looks for those first): requirement
 * files, or the app itself as a project (setup.py, setup.cfg, pyproject.toml).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BuildpackError } from '../failure.js';

/** What pip installs: requirement files, or the app itself as a project. */
export type InstallPlan =
  | { kind: 'requirements'; files: string[] }
  | { kind: 'project'; editable: boolean; marker: string }
  /** `configOnly`: files that declare no package; `skipped`: project files a setting says not to install. */
  | { kind: 'none'; configOnly: string[]; skipped: SkippedProject[] };

/** A project file that would install the app, and the OpenShift s2i setting that says not to. */
export interface SkippedProject {
  file: 'setup.py' | 'setup.cfg' | 'pyproject.toml';
  setting: 'DISABLE_SETUP_PY_PROCESSING' | 'DISABLE_PYPROJECT_TOML_PROCESSING';
}

/**
 * OpenShift's s2i assemble installs the app with `pip install .` when it has setup.py or setup.cfg unless
 * DISABLE_SETUP_PY_PROCESSING is set, and when it has pyproject.toml unless DISABLE_PYPROJECT_TOML_PROCESSING
 * is set (two separate steps: a project with both files needs both settings to stay uninstalled).
 */
export interface ProjectProcessing {
  setupPy: boolean;
  pyprojectToml: boolean;
}

const PROCESS_ALL: ProjectProcessing = { setupPy: true, pyprojectToml: true };

/**
 * Whether setup.cfg or pyproject.toml describes a package. Both often hold only tool settings (flake8, pytest,
 * black): pip cannot install such an app (setup.cfg alone: "neither 'setup.py' nor 'pyproject.toml' found";
 * pyproject.toml alone: setuptools' discovery of an unnamed package), and it has nothing to install anyway.
 */
function declaresPackage(appDir: string, marker: 'setup.cfg' | 'pyproject.toml'): boolean {
  let text: string;
  try {
    text = fs.readFileSync(path.join(appDir, marker), 'utf8');
  } catch {
    return false;
  }
  // [ \t]*, not \s*: with the m flag, \s* would run across line breaks from every line start (quadratic on a
  // file of blank lines).
  return (marker === 'setup.cfg' ? /^[ \t]*\[(metadata|options)\]/m : /^[ \t]*\[(project|build-system)\]/m).test(text);
}

export function planInstall(appDir: string, requested: string[] | undefined, processing: ProjectProcessing = PROCESS_ALL): InstallPlan {
  if (requested !== undefined) {
    if (requested.length === 0) throw new BuildpackError({ type: 'nothing-to-install' });
    return { kind: 'requirements', files: requested };
  }
  const has = (f: string): boolean => fs.existsSync(path.join(appDir, f));
  if (has('requirements.txt')) return { kind: 'requirements', files: ['requirements.txt'] };
  const skipped: SkippedProject[] = [];
  const configOnly: string[] = [];
  // The seed ran `python setup.py develop`; `pip install -e .` is its modern form.
  if (has('setup.py')) {
    if (processing.setupPy) return { kind: 'project', editable: true, marker: 'setup.py' };
    skipped.push({ file: 'setup.py', setting: 'DISABLE_SETUP_PY_PROCESSING' });
  }
  if (has('setup.cfg')) {
    if (!declaresPackage(appDir, 'setup.cfg')) configOnly.push('setup.cfg');
    else if (processing.setupPy) return { kind: 'project', editable: true, marker: 'setup.cfg' };
    else if (!has('setup.py')) skipped.push({ file: 'setup.cfg', setting: 'DISABLE_SETUP_PY_PROCESSING' });
  }
  if (has('pyproject.toml')) {
    if (!declaresPackage(appDir, 'pyproject.toml')) configOnly.push('pyproject.toml');
    else if (processing.pyprojectToml) return { kind: 'project', editable: false, marker: 'pyproject.toml' };
    else skipped.push({ file: 'pyproject.toml', setting: 'DISABLE_PYPROJECT_TOML_PROCESSING' });
  }
  return { kind: 'none', configOnly, skipped };
}

/** The log line for a plan that installs nothing. */
export function nothingToInstall(plan: Extract<InstallPlan, { kind: 'none' }>): string {
  const c = plan.configOnly;
  const parts = [
    ...plan.skipped.map((s) => `${s.file} is not installed (${s.setting} is set)`),
    ...(c.length === 0 ? [] : [`${c.join(' and ')} ${c.length > 1 ? 'declare' : 'declares'} no package (only tool settings)`]),
  ];
  if (parts.length === 0) return 'No requirements.txt, setup.py, setup.cfg or pyproject.toml: no dependencies to install';
  return `No requirements.txt${plan.skipped.length === 0 ? ' or setup.py' : ''}, and ${parts.join(', and ')}: no dependencies to install`;
}

export function pipArgs(plan: InstallPlan): string[] {
  switch (plan.kind) {
    case 'requirements': return plan.files.flatMap((f) => ['-r', f]);
    case 'project': return plan.editable ? ['-e', '.'] : ['.'];
    case 'none': return [];
  }
}
