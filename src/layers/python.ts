/**
 * The `python` layer (build, launch, cache): a relocatable CPython unpacked from a verified
 * python-build-standalone-style archive. Kept across builds when the version, checksum, architecture and
 * buildpack version are unchanged (no download at all); otherwise discarded with every reason logged.
 * The interpreter runs from this layer at build (later steps use its bin/) and at launch (bin/ on PATH).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BuildContext } from '../cnb/context.js';
import { LayerEnv, Scope, type Env } from '../cnb/env.js';
import type { TomlTable } from '../cnb/toml.js';
import type { Deps } from '../deps.js';
import { downloadVerified, verifyBundledFile, type DownloadOptions } from '../download.js';
import { extractTarGz, ExtractingSink, stagingDirFor } from '../archive/extract.js';
import { applyMirror, offlineArchivePath, hasOfflineArchive, type PythonArchive } from '../python/archives.js';
import { cycloneDxJson } from '../cyclonedx.js';
import { relocateSysconfig } from '../python/relocate.js';
import { compileLayerBytecode } from '../python/bytecode.js';
import { minorVersion } from '../python/minor-version.js';
import { maskSecrets } from '../secrets.js';
import { BuildpackError } from '../failure.js';
import { escapeControl } from '../escape-control.js';

export interface PythonLayerMetadata {
  version: string;
  sha256: string;
  arch: string;
  buildpackVersion: string;
}

export interface InstalledPython {
  version: string;
  sha256: string;
  layerPath: string;
  /** Absolute path of the interpreter in the layer. */
  python: string;
}

type Comparators<M> = { [K in keyof M]: (cached: M[K], next: M[K]) => string | undefined };

const changed = (what: string) => (a: string, b: string) => (a === b ? undefined : `The ${what} has changed from ${a} to ${b}`);

/** Every field must say how it invalidates the cache: adding a field without a comparator is a type error. */
const COMPARATORS: Comparators<PythonLayerMetadata> = {
  version: changed('Python version'),
  sha256: changed('checksum of the Python archive'),
  arch: changed('architecture'),
  buildpackVersion: changed('buildpack version'),
};

export function cacheInvalidationReasons(cached: PythonLayerMetadata, next: PythonLayerMetadata): string[] {
  return (Object.keys(COMPARATORS) as Array<keyof PythonLayerMetadata>)
    .map((k) => COMPARATORS[k](cached[k], next[k]))
    .filter((r): r is string => r !== undefined);
}

export function parseMetadata(raw: TomlTable): PythonLayerMetadata | undefined {
  const { version, sha256, arch, buildpackVersion } = raw;
  if (typeof version !== 'string' || typeof sha256 !== 'string' || typeof arch !== 'string' || typeof buildpackVersion !== 'string') return undefined;
  return { version, sha256, arch, buildpackVersion };
}

/** The env the layer gives: launch defaults a user can override. bin/ and lib/ are added by the lifecycle. */
export function pythonLayerEnv(): LayerEnv {
  return new LayerEnv()
    .default(Scope.launch, 'PYTHONUNBUFFERED', '1')
    .default(Scope.launch, 'PYTHONIOENCODING', 'UTF-8')
    .default(Scope.launch, 'LANG', 'C.UTF-8');
}

export interface PythonInstallOptions {
  mirror?: string;
  download: DownloadOptions;
}

export async function installPython(
  ctx: BuildContext,
  env: Env,
  archive: PythonArchive,
  deps: Deps,
  opts: PythonInstallOptions,
): Promise<InstalledPython> {
  const { log } = deps;
  const next: PythonLayerMetadata = { version: archive.version, sha256: archive.sha256, arch: archive.arch, buildpackVersion: ctx.buildpack.version };
  const layer = await ctx.layers.cachedLayer('python', {
    build: true,
    launch: true,
    parseMetadata,
    onRestored: async (cached, layerPath) => {
      const reasons = cacheInvalidationReasons(cached, next);
      if (reasons.length === 0 && !(await isExecutable(path.join(layerPath, 'bin', 'python')))) reasons.push('The cached layer is incomplete');
      return reasons.length === 0 ? { action: 'keep', cause: { cached, reasons } } : { action: 'delete', cause: { cached, reasons } };
    },
  });

  const state = layer.state;
  if (state.kind === 'restored') {
    log.info(`Using cached Python ${archive.version}`);
  } else {
    if (state.cause.kind === 'rejected') {
      log.info(`Discarding cached Python ${state.cause.cause.cached.version} since:`);
      for (const r of state.cause.cause.reasons) log.detail(`- ${r}`);
    } else if (state.cause.kind === 'invalid-metadata') {
      log.info('Discarding cached Python since its layer metadata can\'t be parsed');
    }
    try {
      await log.timed(`Installed Python ${archive.version}`, () => fetchAndUnpack(ctx, env, archive, layer.path, deps, opts));
    } catch (err) {
      await ctx.layers.reset(layer.name);
      throw err;
    }
    await layer.writeEnv(pythonLayerEnv());
    await layer.writeSbom('cdx.json', cycloneDxJson([{
      name: 'python',
      version: archive.version,
      type: 'application',
      purl: archive.purl ?? `pkg:generic/python@${archive.version}?checksum=sha256:${archive.sha256}`,
      sha256: archive.sha256,
      cpe: archive.cpe ?? `cpe:2.3:a:python:python:${archive.version}:*:*:*:*:*:*:*`,
      licenses: archive.licenses ?? ['PSF-2.0'],
    }]));
    // Written last: only now does the layer describe complete contents.
    await layer.writeMetadata(next);
  }
  Object.assign(env, (await layer.buildEnv(pythonLayerEnv())).apply('build', env));
  return { version: archive.version, sha256: archive.sha256, layerPath: layer.path, python: path.join(layer.path, 'bin', 'python') };
}

async function fetchAndUnpack(ctx: BuildContext, env: Env, archive: PythonArchive, layerPath: string, deps: Deps, opts: PythonInstallOptions): Promise<void> {
  const { log } = deps;
  let bundledFile = '';
  let unpacked: ExtractingSink | undefined;
  if (hasOfflineArchive(ctx.buildpackDir, archive.sha256)) {
    bundledFile = offlineArchivePath(ctx.buildpackDir, archive.sha256);
    log.info(`Using the Python ${archive.version} archive bundled in the buildpack (offline package)`);
    await verifyBundledFile(bundledFile, archive.sha256);
  } else {
    const url = applyMirror(archive.uri, opts.mirror);
    log.info(`Downloading Python ${archive.version} from ${escapeControl(maskSecrets(url))}`);
    // Unpacked into a staging folder while it arrives (and is hashed); moved into place below only once the sha256 matched.
    unpacked = new ExtractingSink(stagingDirFor(layerPath));
    await downloadVerified(url, unpacked, archive.sha256, log, opts.download);
  }
  log.detail(`Verified sha256 ${archive.sha256}`);
  await fs.rm(layerPath, { recursive: true, force: true });
  if (unpacked) unpacked.commit(layerPath);
  else await extractTarGz(bundledFile, layerPath);
  await ensureAliases(layerPath, archive.version);
  // Before anything runs it or the log says "Installed": the archive is the user's own (a manifest entry), so a
  // layout without an interpreter is theirs to fix; installPython resets the layer on this error.
  await checkInterpreter(layerPath, archive.version);
  relocateSysconfig(layerPath);
  await compileLayerBytecode(deps, { PATH: env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' }, path.join(layerPath, 'bin', 'python'), layerPath, archive.version);
}

/** `python` (and `python2` for 2.x) beside the versioned interpreter, for apps and scripts that call them by those names. */
async function ensureAliases(layerPath: string, version: string): Promise<void> {
  const bin = path.join(layerPath, 'bin');
  const minor = minorVersion(version) ?? version;
  const versioned = `python${minor}`;
  if (!(await exists(path.join(bin, versioned)))) return;
  for (const alias of ['python', `python${minor.split('.')[0]}`]) {
    if (!(await exists(path.join(bin, alias)))) await fs.symlink(versioned, path.join(bin, alias));
  }
}

/** The layer has bin/python (after ensureAliases), or the build stops naming what the archive lacks. */
export async function checkInterpreter(layerPath: string, version: string): Promise<void> {
  if (await exists(path.join(layerPath, 'bin', 'python'))) return;
  const minor = minorVersion(version) ?? version;
  const binEntries = (await fs.readdir(path.join(layerPath, 'bin')).catch(() => [] as string[])).sort();
  const libDir = `lib/python${minor}`;
  throw new BuildpackError({
    type: 'archive-no-interpreter',
    version,
    versioned: `bin/python${minor}`,
    binEntries,
    libDir,
    hasLibDir: await exists(path.join(layerPath, libDir)),
  });
}

async function exists(p: string): Promise<boolean> {
  return fs.access(p).then(() => true, () => false);
}

async function isExecutable(p: string): Promise<boolean> {
  return fs.access(p, fs.constants.X_OK).then(() => true, () => false);
}
