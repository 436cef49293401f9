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
 *
 * A lockfile's install is src/layers/locked-install.ts's; running pip and reading its failures, pip-run.ts's.
 */
import crypto from 'node:crypto';
import type { BuildContext } from '../cnb/context.js';
import type { LayerRef } from '../cnb/layers.js';
import { LayerEnv, Scope, type Env } from '../cnb/env.js';
import { isTable, type TomlTable } from '../cnb/toml.js';
import { internalError } from '../failure.js';
import type { Deps } from '../deps.js';
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
import { keepLaunchTools } from '../python/launch-tools.js';
import { minorVersion } from '../python/minor-version.js';
import { formatAge, unpinnedExpiry, unpinnedInputs, type UnpinnedRequirement } from '../python/pinning.js';
import { nothingToInstall, pipArgs, type InstallPlan } from '../python/install-plan.js';
import { chooseDependencyInput, type DependencyInput } from '../lock/input.js';
import { selectedSetChanges, selectedSetEntries, selectedSetKey } from '../lock/selected-set.js';
import { describeTarget } from '../lock/wheel-tags.js';
import { LOCK_TOOL_NAME } from '../lock/index-credentials.js';
import { installLocked, lockedSbomComponents, planLockedInstall, type LockedPlan } from './locked-install.js';
import { runPip } from './pip-run.js';
import { warn } from '../messages.js';

export { nothingToInstall, planInstall, pipArgs, type InstallPlan, type ProjectProcessing, type SkippedProject } from '../python/install-plan.js';

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
  /**
   * Locked installs only: the selected set, name → `<version> <digest of source and hashes>`
   * (src/lock/selected-set.ts), for the log's added / removed / changed lines. `inputs` is its key.
   */
  locked?: Record<string, string>;
}

const sha = (text: string): string => crypto.createHash('sha256').update(text).digest('hex');

type ScalarKey = Exclude<keyof PipDepsLayerMetadata, 'localInputs' | 'installedAt' | 'locked'>;

const COMPARATORS: { [K in ScalarKey]: string } = {
  inputs: 'The requirements (or the files they include) have changed',
  python: 'The Python version or build has changed',
  pipSettings: 'The pip settings (PIP_* variables) have changed',
  arch: 'The architecture has changed',
  buildpackVersion: 'The buildpack version has changed',
};

export function cacheInvalidationReasons(cached: PipDepsLayerMetadata, next: PipDepsLayerMetadata): string[] {
  const scalar = (Object.keys(COMPARATORS) as ScalarKey[]).filter((k) => cached[k] !== next[k]).flatMap((k) => (k === 'inputs' ? inputReasons(cached, next) : [COMPARATORS[k]]));
  return [...scalar, ...localInputReasons(cached.localInputs, next.localInputs)];
}

/** For locked installs, what changed in the selected set, by package (issue 14, item 7). */
function inputReasons(cached: PipDepsLayerMetadata, next: PipDepsLayerMetadata): string[] {
  if (cached.locked === undefined && next.locked === undefined) return [COMPARATORS.inputs];
  if (cached.locked === undefined || next.locked === undefined) {
    return [next.locked ? 'The dependencies now come from a lockfile' : 'The dependencies no longer come from a lockfile'];
  }
  const changes = selectedSetChanges(cached.locked, next.locked);
  return changes.length === 0 ? ["The lock's package indexes (or BP_DEPENDENCY_MIRROR) have changed"] : changes.map((c) => `Locked packages ${c}`);
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
  const locked = raw.locked;
  if (locked !== undefined && (!isTable(locked) || !Object.values(locked).every((v) => typeof v === 'string'))) return undefined;
  return {
    ...(Object.fromEntries(keys.map((k) => [k, raw[k] as string])) as Record<ScalarKey, string>),
    localInputs: local as Record<string, string>,
    ...installedAt,
    ...(locked === undefined ? {} : { locked: locked as Record<string, string> }),
  };
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
 * The key of a locked install: the selected set (src/lock/selected-set.ts) in place of the requirement
 * files' hash (with the lock's index URLs and BP_DEPENDENCY_MIRROR, masked), the app and local paths by their
 * contents, and the rest as for requirement files.
 */
export function lockedLayerKey(ctx: BuildContext, plan: LockedPlan, python: InstalledPython, settings: Settings): PipDepsLayerMetadata {
  const locked = selectedSetEntries(plan.packages);
  const local = collectRequirementInputs(ctx.appDir, [], settings.pipVariables).local;
  const localInputs = localInputsKey(ctx.appDir, [...plan.inputs.local.map((l) => ({ kind: 'path' as const, path: l.path, editable: l.editable })), ...local]);
  const pipSettings = JSON.stringify([settings.pipUpgrade, Object.entries(settings.pipVariables).map(([k, v]) => [k, maskSecrets(v)]).sort()]);
  // Where the files come from joins the set: the lock's indexes as it writes them (a value the environment fills in,
  // a token in a path, never reaches the key) and the mirror, masked.
  const where = [plan.lockIndexes.map(maskSecrets), maskSecrets(settings.dependencyMirror ?? '')];
  return {
    inputs: sha(JSON.stringify([selectedSetKey(locked), where])),
    localInputs,
    python: sha(`${python.version}:${python.sha256}`),
    pipSettings: sha(pipSettings),
    arch: ctx.target.arch,
    buildpackVersion: ctx.buildpack.version,
    locked,
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
  opts: { withinCustomAssemble?: boolean; input?: DependencyInput } = {},
): Promise<string | undefined> {
  const input = opts.input ?? chooseDependencyInput(ctx.appDir, settings);
  for (const note of input.notes) log.info(escapeControl(note)); // file names from BP_PYTHON_DEPENDENCY_FILE
  let locked: LockedPlan | undefined;
  let plan: InstallPlan = { kind: 'none', configOnly: [], skipped: [] };
  if (input.kind === 'lock') {
    locked = planLockedInstall(ctx, input.lock, python, settings);
    log.redact(locked.indexCredentials.secrets);
    for (const url of locked.writtenCredentials) warn(log, { type: 'lock-index-credentials-written', file: input.lock.file, tool: input.lock.tool, url });
    if (locked.indexCredentials.variables.length > 0) {
      log.info(`The lock's package indexes take ${escapeControl(locked.indexCredentials.variables.join(', '))} from the build environment, as ${LOCK_TOOL_NAME[input.lock.tool]} does`);
    }
    log.info(`Selected ${locked.packages.length} locked package${locked.packages.length === 1 ? '' : 's'} for ${describeTarget(locked.target)}${selectionDetails(settings)}`);
    if (locked.appSkippedBy.length > 0) log.info(`The app itself is not installed (${locked.appSkippedBy.join(' and ')} ${locked.appSkippedBy.length > 1 ? 'are' : 'is'} set)`);
  } else {
    plan = input.plan;
  }
  if (plan.kind === 'none' && locked === undefined) {
    log.info(nothingToInstall(plan));
    return undefined;
  }
  const next = locked ? lockedLayerKey(ctx, locked, python, settings) : layerKey(ctx, plan, python, settings);
  // A lock pins every package exactly: only requirement files can leave something unpinned.
  const unpinned = opts.withinCustomAssemble || locked ? [] : unpinnedInputs(ctx.appDir, plan, settings.pipVariables);
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
    log.info(locked
      ? `Using cached dependencies: the locked packages, Python and pip settings are unchanged (pip was not run)`
      : 'Using cached dependencies: requirements, Python and pip settings are unchanged (pip was not run)');
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
      if (settings.pipUpgrade && !python.buildTools) { // else upgraded in the build-tools layer (src/layers/build-tools-upgrade.ts)
        await runPip(ctx, exec, log, python, pipEnv, [...common, '--upgrade', 'pip', 'setuptools', 'wheel'], `Upgraded pip, setuptools and wheel (${settings.pipUpgradeVariable ?? 'PIP_UPGRADE'})`, true);
      }
      if (locked) await installLocked(ctx, exec, log, python, pipEnv, common, locked);
      else await runPip(ctx, exec, log, python, pipEnv, [...common, ...pipArgs(plan)], 'Installed dependencies', false);
      maskRecordedUrls(layer.path, log);
      if (python.buildTools) {
        keepLaunchTools({
          appDir: ctx.appDir, userBase: layer.path, toolsSite: python.buildTools.sitePackages, minor: minorVersion(python.version) ?? python.version,
          requirementFiles: !locked && plan.kind === 'requirements' ? plan.files : [], names: locked?.packages.map((p) => p.name) ?? [], pipVariables: settings.pipVariables, log,
        });
      }
    } catch (err) {
      await ctx.layers.reset(layer.name); // nothing half-installed survives
      throw err;
    }
    await layer.writeEnv(layerEnv);
    const dists = installedDistributions(layer.path);
    await layer.writeSbom('cdx.json', cycloneDxJson(locked ? lockedSbomComponents(locked, dists) : dists.map((d) => ({ name: d.name, version: d.version, type: 'library', purl: pypiPurl(d.name, d.version) }))));
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

/** `, with groups dev, test and extras postgres`, when any were asked for. */
function selectionDetails(settings: Settings): string {
  const parts = [
    settings.dependencyGroups.length > 0 ? `groups ${settings.dependencyGroups.join(', ')} (BP_PYTHON_DEPENDENCY_GROUPS)` : '',
    settings.extras.length > 0 ? `extras ${settings.extras.join(', ')} (BP_PYTHON_EXTRAS)` : '',
  ].filter((p) => p !== '');
  return parts.length === 0 ? '' : `, with ${escapeControl(parts.join(' and '))}`;
}
