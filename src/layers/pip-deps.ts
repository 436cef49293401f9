/**
 * The `pip-deps` layer (build, launch, cache): the app's packages, installed by pip's user scheme with
 * PYTHONUSERBASE pointing at the layer. The user scheme works the same on Python 2.7, 3.6 and 3.8 to 3.14
 * (venv does not exist on 2.7), and Python finds the packages through PYTHONUSERBASE alone, at build for
 * later buildpacks and at launch. Console scripts land in the layer's bin/, which the lifecycle puts on PATH.
 *
 * Caching: the layer is keyed on everything the install depends on. Unchanged key: the layer is kept and
 * pip does not run at all. Changed key: a clean install (pip never uninstalls what a requirements file no
 * longer names), made fast by the pip-cache layer. Requirements that pin no exact version (src/python/pinning.ts)
 * are kept for BP_PIP_UNPINNED_MAX_AGE only, so that `flask` does not keep its first resolution forever.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { BuildContext } from '../cnb/context.js';
import type { LayerRef } from '../cnb/layers.js';
import { LayerEnv, Scope, type Env } from '../cnb/env.js';
import { isTable, type TomlTable } from '../cnb/toml.js';
import type { UnreachableIndex } from '../causes.js';
import { BuildpackError, internalError } from '../failure.js';
import type { Deps, Executor } from '../deps.js';
import type { Logger } from '../logger.js';
import { collectRequirementInputs, hashRequirementFiles, type RequirementInputs } from '../python/requirements.js';
import { localInputsKey, MAX_TREE_FILES, UNCOMPARABLE } from '../python/local-inputs.js';
import { installedDistributions } from '../python/installed.js';
import { maskDirectUrls } from '../python/direct-url.js';
import { maskSecrets } from '../secrets.js';
import { escapeControl } from '../escape-control.js';
import type { Settings } from '../settings.js';
import { cycloneDxJson, pypiPurl } from '../cyclonedx.js';
import type { InstalledPython } from './python.js';
import { hasHashPyc } from '../python/bytecode.js';
import { formatAge, unpinnedExpiry, unpinnedInputs, type UnpinnedRequirement } from '../python/pinning.js';

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

export interface PipDepsLayerMetadata {
  /** The requirement and constraint files. */
  inputs: string;
  /** Each local file or folder pip installs from, `<kind>:<path>` → the sha256 of its contents. */
  localInputs: Record<string, string>;
  python: string;
  pipSettings: string;
  arch: string;
  buildpackVersion: string;
  /** When pip filled the layer (ISO 8601, UTC): the age of unpinned requirements. Not part of the key. */
  installedAt?: string;
}

const sha = (text: string): string => crypto.createHash('sha256').update(text).digest('hex');

type ScalarKey = Exclude<keyof PipDepsLayerMetadata, 'localInputs' | 'installedAt'>;

const COMPARATORS: { [K in ScalarKey]: string } = {
  inputs: 'The requirements (or the files they include) have changed',
  python: 'The Python version or build has changed',
  pipSettings: 'The pip settings (PIP_* variables) have changed',
  arch: 'The architecture has changed',
  buildpackVersion: 'The buildpack version has changed',
};

export function cacheInvalidationReasons(cached: PipDepsLayerMetadata, next: PipDepsLayerMetadata): string[] {
  const scalar = (Object.keys(COMPARATORS) as ScalarKey[]).filter((k) => cached[k] !== next[k]).map((k) => COMPARATORS[k]);
  return [...scalar, ...localInputReasons(cached.localInputs, next.localInputs)];
}

/** Which local file or folder changed, by its `<kind>:<path>` label. */
export function localInputReasons(cached: Record<string, string>, next: Record<string, string>): string[] {
  const labels = [...new Set([...Object.keys(cached), ...Object.keys(next)])].sort();
  return labels.flatMap((label) => {
    const [before, after] = [cached[label], next[label]];
    if (before === after) return [];
    const what = describeInput(label);
    if (after?.startsWith(UNCOMPARABLE)) return [`${what} holds more than ${MAX_TREE_FILES.toLocaleString('en')} files, too many to compare, so it counts as changed at every build`];
    if (before === undefined) return [`${what} is now used`];
    if (after === undefined) return [`${what} is no longer used`];
    return [`${what} has changed`];
  });
}

function describeInput(label: string): string {
  const colon = label.indexOf(':');
  const [kind, p] = [label.slice(0, colon), label.slice(colon + 1)];
  switch (kind) {
    case 'wheel': return `The local wheel ${p}`;
    case 'archive': return `The local archive ${p}`;
    case 'project': return `The local project ${p} (its files)`;
    case 'editable': return `The editable project ${p} (its setup.py, setup.cfg or pyproject.toml)`;
    case 'find-links': return `The find-links folder ${p} (its files)`;
    case 'index': return `The local package index ${p}`;
    default: return `The local input ${p}`;
  }
}

/** The reason a layer filled by the app's .s2i/bin/assemble is discarded by a build with the default steps. */
const CUSTOM_ASSEMBLE_REASON = "The layer was filled by the app's .s2i/bin/assemble (what a custom script installs cannot be keyed)";

function parseMetadata(raw: TomlTable): PipDepsLayerMetadata | typeof CUSTOM_ASSEMBLE_METADATA | undefined {
  if (raw.assemble === CUSTOM_ASSEMBLE_METADATA.assemble) return CUSTOM_ASSEMBLE_METADATA;
  const keys = Object.keys(COMPARATORS) as ScalarKey[];
  if (!keys.every((k) => typeof raw[k] === 'string')) return undefined;
  const local = raw.localInputs;
  if (!isTable(local) || !Object.values(local).every((v) => typeof v === 'string')) return undefined;
  const installedAt = typeof raw.installedAt === 'string' ? { installedAt: raw.installedAt } : {};
  return { ...(Object.fromEntries(keys.map((k) => [k, raw[k] as string])) as Record<ScalarKey, string>), localInputs: local as Record<string, string>, ...installedAt };
}

/**
 * The key: hashes only, and PIP_* values are hashed with their URL credentials masked. The layer metadata is in
 * the image's labels, where an unsalted hash of a short password could be brute-forced; and a rotated token
 * does not change what gets installed, so it does not reinstall.
 */
export function layerKey(ctx: BuildContext, plan: InstallPlan, python: InstalledPython, settings: Settings): PipDepsLayerMetadata {
  // The PIP_* variables name find-links folders, indexes and requirement files for every plan.
  const fromSettings = collectRequirementInputs(ctx.appDir, plan.kind === 'requirements' ? plan.files : [], settings.pipVariables);
  const inputs: RequirementInputs = plan.kind === 'project'
    ? { files: fromSettings.files, local: [{ kind: 'path', path: '.', editable: plan.editable }, ...fromSettings.local] }
    : fromSettings;
  const pipSettings = JSON.stringify([settings.pipUpgrade, Object.entries(settings.pipVariables).map(([k, v]) => [k, maskSecrets(v)]).sort()]);
  return {
    inputs: hashRequirementFiles(ctx.appDir, inputs.files),
    localInputs: localInputsKey(ctx.appDir, inputs.local),
    python: sha(`${python.version}:${python.sha256}`),
    pipSettings: sha(pipSettings),
    arch: ctx.target.arch,
    buildpackVersion: ctx.buildpack.version,
  };
}

/**
 * The metadata of a pip-deps layer filled by the app's .s2i/bin/assemble: it matches no key, so the layer is
 * never reused (what a custom script installs cannot be keyed).
 */
export const CUSTOM_ASSEMBLE_METADATA = { assemble: 'custom' } as const;

export function pipDepsLayerEnv(layerPath: string): LayerEnv {
  return new LayerEnv().override(Scope.all, 'PYTHONUSERBASE', layerPath);
}

/**
 * SOURCE_DATE_EPOCH makes pip compile .pyc files with hashes instead of timestamps (3.7+): same inputs, same
 * bytes. PYTHONDONTWRITEBYTECODE keeps pip from caching its own bytecode in the python layer, which is
 * complete (and described by python.toml) before pip runs and must not change afterwards; pip still
 * compiles the packages it installs into pip-deps.
 */
const PIP_RUN_ENV = { SOURCE_DATE_EPOCH: '315532800', PYTHONHASHSEED: '0', PYTHONDONTWRITEBYTECODE: '1' };

export async function installDependencies(
  ctx: BuildContext,
  env: Env,
  python: InstalledPython,
  settings: Settings,
  pipCacheDir: string,
  { log, exec, clock }: Deps,
  /**
   * `withinCustomAssemble`: called from the app's .s2i/bin/assemble, whose build already opened the layer and
   * may have installed into it before calling the default steps: add to it, never reset or reuse it.
   */
  opts: { withinCustomAssemble?: boolean } = {},
): Promise<string | undefined> {
  const plan = planInstall(ctx.appDir, settings.pipRequirements, { setupPy: !settings.disableSetupPyProcessing, pyprojectToml: !settings.disablePyprojectTomlProcessing });
  if (plan.kind === 'none') {
    log.info(nothingToInstall(plan));
    return undefined;
  }
  const next = layerKey(ctx, plan, python, settings);
  const unpinned = opts.withinCustomAssemble ? [] : unpinnedInputs(ctx.appDir, plan, settings.pipVariables);
  const now = clock.wallTime();
  const layer: LayerRef<string[]> = opts.withinCustomAssemble
    ? await ctx.layers.continuedLayer('pip-deps', { build: true, launch: true, cache: true })
    : await ctx.layers.cachedLayer('pip-deps', {
      build: true,
      launch: true,
      parseMetadata,
      onRestored: (cached) => {
        if ('assemble' in cached) return { action: 'delete', cause: [CUSTOM_ASSEMBLE_REASON] };
        const reasons = cacheInvalidationReasons(cached, next);
        const expired = reasons.length === 0 && unpinned.length > 0 ? unpinnedExpiry(cached.installedAt, now, settings.unpinnedMaxAgeSeconds) : undefined;
        if (expired !== undefined) reasons.push(expired);
        return reasons.length === 0 ? { action: 'keep', cause: reasons } : { action: 'delete', cause: reasons };
      },
    });
  const layerEnv = pipDepsLayerEnv(layer.path);
  const state = layer.state;
  if (state.kind === 'restored') {
    log.info('Using cached dependencies: requirements, Python and pip settings are unchanged (pip was not run)');
    if (unpinned.length > 0) logUnpinned(log, unpinned, `They are reused for up to ${formatAge(settings.unpinnedMaxAgeSeconds)} (BP_PIP_UNPINNED_MAX_AGE), then pip resolves again these requirements, which pin no exact version:`);
  } else {
    if (state.cause.kind === 'rejected') {
      log.info('Discarding cached dependencies since:');
      for (const r of state.cause.cause) log.detail(`- ${r}`);
    } else if (state.cause.kind === 'invalid-metadata') {
      log.info("Discarding cached dependencies since their layer metadata can't be parsed");
    }
    const pipEnv: Env = { ...layerEnv.apply('build', env), ...settings.pipVariables, PIP_CACHE_DIR: pipCacheDir, ...PIP_RUN_ENV };
    // pip decodes a requirements file without a BOM or coding line in the locale's encoding (pip 25 tries
    // UTF-8 first, pypa/pip#12795): ASCII under the C locale on Python 2.7 and 3.6. Python 3.7+ coerces the C
    // locale to C.UTF-8 itself (PEP 538); doing the same for older Pythons makes every pip read the files as
    // the buildpack checked them (src/python/requirement-encoding.ts). A locale the user chose is kept.
    if (!pipEnv.LC_ALL && !pipEnv.LC_CTYPE && !pipEnv.LANG) pipEnv.LC_CTYPE = 'C.UTF-8';
    delete pipEnv.PYTHONPATH; // the build uses only its own packages
    delete pipEnv.PIP_USER;
    const common = ['-m', 'pip', 'install', '--user', '--no-input', '--disable-pip-version-check', '--no-warn-script-location'];
    if (!hasHashPyc(python.version)) common.push('--no-compile'); // timestamped .pyc before 3.7
    try {
      if (settings.pipUpgrade) {
        await runPip(ctx, exec, log, python, pipEnv, [...common, '--upgrade', 'pip', 'setuptools', 'wheel'], `Upgraded pip, setuptools and wheel (${settings.pipUpgradeVariable ?? 'PIP_UPGRADE'})`, true);
      }
      await runPip(ctx, exec, log, python, pipEnv, [...common, ...pipArgs(plan)], 'Installed dependencies', false);
      maskRecordedUrls(layer.path, log);
    } catch (err) {
      await ctx.layers.reset(layer.name); // nothing half-installed survives
      throw err;
    }
    await layer.writeEnv(layerEnv);
    const dists = installedDistributions(layer.path);
    await layer.writeSbom('cdx.json', cycloneDxJson(dists.map((d) => ({ name: d.name, version: d.version, type: 'library', purl: pypiPurl(d.name, d.version) }))));
    await layer.writeMetadata(opts.withinCustomAssemble ? CUSTOM_ASSEMBLE_METADATA : { ...next, installedAt: new Date(now).toISOString() });
    log.detail(`${dists.length} distributions in the pip-deps layer`);
    if (unpinned.length > 0) {
      const when = settings.unpinnedMaxAgeSeconds === 0 ? 'at every build (BP_PIP_UNPINNED_MAX_AGE=0)' : `at the first build after ${formatAge(settings.unpinnedMaxAgeSeconds)} (BP_PIP_UNPINNED_MAX_AGE)`;
      logUnpinned(log, unpinned, `These requirements pin no exact version, so pip resolves them again ${when}, even when nothing else changed:`);
    }
  }
  Object.assign(env, (await layer.buildEnv(layerEnv)).apply('build', env));
  return layer.path;
}

/** The unpinned requirements (the first 10), and what makes an install repeatable instead. */
function logUnpinned(log: Logger, unpinned: UnpinnedRequirement[], heading: string): void {
  log.info(heading);
  for (const u of unpinned.slice(0, 10)) log.detail(`- ${escapeControl(maskSecrets(u.line === undefined ? `${u.file}: ${u.text}` : `${u.file}:${u.line}: ${u.text}`))}`);
  if (unpinned.length > 10) log.detail(`- and ${unpinned.length - 10} more`);
  log.info('A lockfile (pylock.toml, uv.lock, poetry.lock, Pipfile.lock), or every requirement pinned with == or --hash, installs the same versions at every build and is reused until it changes');
}

/**
 * Masks the URL credentials pip recorded in the layer's direct_url.json files (PEP 610; see
 * src/python/direct-url.ts): the layer is exported into the image. One line says how many, never what.
 */
export function maskRecordedUrls(layerPath: string, log: Logger): void {
  let masked: number;
  try {
    masked = maskDirectUrls(layerPath);
  } catch (err) {
    throw internalError("Masking URL credentials in the pip-deps layer's direct_url.json files", err);
  }
  if (masked > 0) log.info(`Masked the URL credentials pip recorded in ${masked} direct_url.json file${masked === 1 ? '' : 's'} (PEP 610), so none reaches the image`);
}

async function runPip(
  ctx: BuildContext, exec: Executor, log: Logger, python: InstalledPython, env: Env, args: string[], done: string, upgrade: boolean,
): Promise<void> {
  const shown = `python ${args.filter((a) => !a.startsWith('--no-') && a !== '--disable-pip-version-check').join(' ')}`;
  log.info(`Running '${escapeControl(maskSecrets(shown))}'`); // file names from BP_PIP_REQUIREMENT
  await log.timed(done, async () => {
    const o = await exec.stream({ command: python.python, args, cwd: ctx.appDir, env }, log);
    if (o.kind === 'io') throw new BuildpackError({ type: 'pip-command-io', program: python.python, message: o.message });
    if (o.kind === 'exit') {
      const errorLines = pipErrorLines(o.output);
      const unreachable = unreachableIndex(o.output);
      throw new BuildpackError(upgrade
        ? { type: 'pip-upgrade-failed', errorLines, status: o.status, unreachable }
        : { type: 'pip-install-failed', command: maskSecrets(shown), errorLines, status: o.status, unreachable });
    }
  });
}

/** pip's own ERROR lines (and its hints), masked, the first 10 distinct ones: they name the failing requirement. */
export function pipErrorLines(output: string): string[] {
  const found = new Set<string>();
  for (const l of output.split(/\r?\n/)) {
    if (found.size === 10) break;
    if (/^\s*(ERROR|error|Hint):/.test(l) || /No matching distribution|Could not find a version|Invalid requirement/.test(l)) found.add(maskSecrets(l.trim()));
  }
  return [...found];
}

/**
 * The index pip could not connect to, from its retry warnings (its final error only says "No matching
 * distribution found"): the index as pip printed it ("Looking in indexes", masked), else PyPI, and the reason.
 * The line patterns indent with [ \t]*, not \s*: with the m flag, \s* runs across line breaks from every line
 * start, quadratic on an output of blank lines (64 KB of them took 15 s).
 */
export function unreachableIndex(output: string): UnreachableIndex | undefined {
  const broken = /^[ \t]*WARNING: Retrying \(.*?\) after connection broken by (.+)$/m.exec(output)?.[1];
  const fetch = /^[ \t]*WARNING: Could not fetch URL \S+: (.+?)(?: - skipping)?$/m.exec(output)?.[1];
  const text = broken ?? fetch;
  if (text === undefined || !/No matching distribution found|Could not find a version that satisfies/.test(output)) return undefined;
  const reason =
    /Failed to establish a new connection: (\[Errno -?\d+\] [^'")]+)/.exec(text)?.[1] ??
    /Failed to resolve '([^']+)'/.exec(text)?.[1]?.replace(/^/, 'could not resolve ') ??
    /(Connection to \S+ timed out|Read timed out)/.exec(text)?.[1] ??
    (broken ? /^'?(\w+)\(/.exec(text)?.[1] : text) ??
    'connection error';
  const index = /^[ \t]*Looking in indexes: (.+)$/m.exec(output)?.[1]?.trim() ?? "https://pypi.org/simple (pip's default)";
  return { index: maskSecrets(index), reason: maskSecrets(reason.trim()) };
}
