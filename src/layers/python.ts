/**
 * The `python` layer (build, launch, cache): a relocatable CPython unpacked from a verified
 * python-build-standalone-style archive. Kept across builds when the version, checksum, architecture and
 * buildpack version are unchanged (no download at all); otherwise discarded with every reason logged.
 * The interpreter runs from this layer at build (later steps use its bin/) and at launch (bin/ on PATH).
 *
 * What serves builds only (pip, setuptools, wheel, the C headers, ensurepip, idlelib, tkinter, turtle, lib2to3,
 * the help topics and the stdlib's tests) moves into the build-tools layer as the archive is installed
 * (src/python/build-only.ts, src/layers/build-tools.ts), unless BP_PYTHON_KEEP_ALL is set. The two are one
 * install: each is kept only with the other.
 *
 * The standard library's bytecode compile (src/python/bytecode.ts) runs alongside the later steps: pip and the
 * start planning need no result of it, and every Python they run writes no bytecode (PYTHONDONTWRITEBYTECODE).
 * `build-tools.toml` and then `python.toml` are written by finish(), once the compile is done, so an
 * interrupted build never leaves a half-compiled layer, or half of the install, that a later build trusts.
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
import { compileLayerBytecode, hasHashPyc, logCompile, type CompileReport } from '../python/bytecode.js';
import { moveBuildOnlyParts, movedPattern, toolsSitePackages, type BuildOnlyPart } from '../python/build-only.js';
import { buildToolsReasons, finishBuildTools, openBuildTools, parseBuildToolsMetadata, BUILD_TOOLS_LAYER, type BuildTools, type BuildToolsMetadata } from './build-tools.js';
import { layerName } from '../cnb/names.js';
import { minorVersion } from '../python/minor-version.js';
import { maskSecrets } from '../secrets.js';
import { BuildpackError } from '../failure.js';
import { escapeControl } from '../escape-control.js';

/**
 * What the layer holds for launch: `whole`, the whole install (BP_PYTHON_KEEP_ALL, and every layer made
 * before the build-tools layer existed); `server`, the install without its build-only parts.
 */
export type LaunchLayout = 'whole' | 'server';

export interface PythonLayerMetadata {
  version: string;
  sha256: string;
  arch: string;
  buildpackVersion: string;
  launch: LaunchLayout;
}

export interface InstalledPython {
  version: string;
  sha256: string;
  layerPath: string;
  /** Absolute path of the interpreter in the layer. */
  python: string;
  /** The build-tools layer holding pip, setuptools and wheel; undefined when they are in the python layer. */
  buildTools?: BuildTools;
}

/** installPython's result: the interpreter, and the step that completes its layer. */
export interface PythonInstall extends InstalledPython {
  /**
   * Waits for the bytecode compile, then writes the layer's env, SBOM and `python.toml`. Call it before any
   * step that may write bytecode into the layer (collectstatic, an .s2i/bin/assemble) and before the build
   * ends, failed or not. Idempotent; immediate for a kept layer.
   */
  finish: () => Promise<void>;
  /**
   * After a failed step, in place of finish(): stops the bytecode compile and waits for it to exit, leaving the
   * layer without its toml. A failed build exports and caches nothing (the lifecycle runs no exporter after a
   * failed builder), so completing the layer would only hold the failure back; the next build installs Python
   * again either way. Immediate for a kept layer or once finish() has completed.
   */
  abandon: () => Promise<void>;
}

type Comparators<M> = { [K in keyof M]: (cached: M[K], next: M[K]) => string | undefined };

const changed = (what: string) => (a: string, b: string) => (a === b ? undefined : `The ${what} has changed from ${a} to ${b}`);

/** Every field must say how it invalidates the cache: adding a field without a comparator is a type error. */
const COMPARATORS: Comparators<PythonLayerMetadata> = {
  version: changed('Python version'),
  sha256: changed('checksum of the Python archive'),
  arch: changed('architecture'),
  buildpackVersion: changed('buildpack version'),
  launch: (a, b) => {
    if (a === b) return undefined;
    return b === 'whole'
      ? 'BP_PYTHON_KEEP_ALL is set: the whole Python goes into the image'
      : "Python's build-only parts (pip, setuptools, wheel, the C headers, the stdlib's tests and tools) now go to the build-tools layer, out of the image";
  },
};

export function cacheInvalidationReasons(cached: PythonLayerMetadata, next: PythonLayerMetadata): string[] {
  const reason = <K extends keyof PythonLayerMetadata>(k: K): string | undefined => COMPARATORS[k](cached[k], next[k]);
  return (Object.keys(COMPARATORS) as Array<keyof PythonLayerMetadata>).map(reason).filter((r): r is string => r !== undefined);
}

/** A layer without `launch` was made before the build-tools layer existed: it holds the whole install. */
export function parseMetadata(raw: TomlTable): PythonLayerMetadata | undefined {
  const { version, sha256, arch, buildpackVersion } = raw;
  if (typeof version !== 'string' || typeof sha256 !== 'string' || typeof arch !== 'string' || typeof buildpackVersion !== 'string') return undefined;
  const launch = raw.launch ?? 'whole';
  if (launch !== 'whole' && launch !== 'server') return undefined;
  return { version, sha256, arch, buildpackVersion, launch };
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
  /** BP_PYTHON_KEEP_ALL: the whole install stays in the python layer (no build-tools layer). */
  keepAll?: boolean;
  /** PIP_UPGRADE: the build-tools layer is to hold upgraded pip, setuptools and wheel (src/layers/build-tools-upgrade.ts). */
  pipUpgrade?: boolean;
}

export async function installPython(
  ctx: BuildContext,
  env: Env,
  archive: PythonArchive,
  deps: Deps,
  opts: PythonInstallOptions,
): Promise<PythonInstall> {
  const { log } = deps;
  const launch: LaunchLayout = opts.keepAll ? 'whole' : 'server';
  const next: PythonLayerMetadata = { version: archive.version, sha256: archive.sha256, arch: archive.arch, buildpackVersion: ctx.buildpack.version, launch };
  const toolsNext: BuildToolsMetadata = { version: next.version, sha256: next.sha256, arch: next.arch, buildpackVersion: next.buildpackVersion, upgraded: opts.pipUpgrade === true };
  const toolsRestored = launch === 'server' ? await ctx.layers.restored(BUILD_TOOLS_LAYER) : undefined;
  const layer = await ctx.layers.cachedLayer('python', {
    build: true,
    launch: true,
    parseMetadata,
    onRestored: async (cached, layerPath) => {
      const reasons = cacheInvalidationReasons(cached, next);
      if (reasons.length === 0 && !(await isExecutable(path.join(layerPath, 'bin', 'python')))) reasons.push('The cached layer is incomplete');
      if (reasons.length === 0 && toolsRestored) reasons.push(...buildToolsReasons(toolsRestored, toolsNext));
      return reasons.length === 0 ? { action: 'keep', cause: { cached, reasons } } : { action: 'delete', cause: { cached, reasons } };
    },
  });
  const state = layer.state;
  const toolsRef = launch === 'server' ? await openBuildTools(ctx, state.kind === 'restored') : undefined;
  // With BP_PYTHON_KEEP_ALL, a build-tools layer of an earlier build is left out of the cache.
  if (!toolsRef) await ctx.layers.reset(layerName(BUILD_TOOLS_LAYER));
  const minor = minorVersion(archive.version) ?? archive.version;
  const python = path.join(layer.path, 'bin', 'python');
  let buildTools: BuildTools | undefined;
  if (toolsRef) {
    const restored = toolsRef.state.kind === 'restored' ? parseBuildToolsMetadata(toolsRestored?.metadata) : undefined;
    const metadata = restored ?? { ...toolsNext, upgraded: false };
    buildTools = { layerPath: toolsRef.path, sitePackages: toolsSitePackages(toolsRef.path, minor), upgraded: metadata.upgraded, ref: toolsRef, metadata, pending: false };
  }
  let finish = async (): Promise<void> => undefined;
  let abandon = async (): Promise<void> => undefined;

  if (state.kind === 'restored') {
    log.info(`Using cached Python ${archive.version}`);
  } else {
    if (state.cause.kind === 'rejected') {
      log.info(`Discarding cached Python ${state.cause.cause.cached.version} since:`);
      for (const r of state.cause.cause.reasons) log.detail(`- ${r}`);
    } else if (state.cause.kind === 'invalid-metadata') {
      log.info('Discarding cached Python since its layer metadata can\'t be parsed');
    }
    let moved: BuildOnlyPart[] = [];
    try {
      await log.timed(`Installed Python ${archive.version}`, async () => {
        await fetchAndUnpack(ctx, archive, layer.path, deps, opts);
        if (buildTools) {
          const tools = moveBuildOnlyParts(layer.path, buildTools.layerPath, minor, python);
          moved = tools.parts;
          buildTools.pending = true; // its toml is written by finish(), with python.toml
          log.detail(`Moved what only builds use to the build-tools layer, left out of the image: ${describeMoved(tools.distributions, moved)}`);
        }
      });
    } catch (err) {
      await ctx.layers.reset(layer.name);
      if (buildTools) await ctx.layers.reset(buildTools.ref.name);
      throw err;
    }
    const compileEnv = { PATH: env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' };
    const cancel = new AbortController();
    const compiling: Promise<CompileReport> = compileLayerBytecode(deps, compileEnv, python, layer.path, archive.version, { exclude: movedPattern(moved, layer.path), signal: cancel.signal });
    if (hasHashPyc(archive.version)) log.detail('Compiling the standard library to hash-based bytecode alongside the next steps');
    let finished: Promise<void> | undefined;
    finish = () => {
      finished ??= (async () => {
        const report = await compiling;
        if (report.kind === 'canceled') return; // abandon(): the build failed
        if (report.kind !== 'none') log.header('Finishing the python layer');
        logCompile(log, report, true);
        if (buildTools?.pending) {
          await finishBuildTools(buildTools.ref, buildTools.sitePackages, buildTools.metadata);
          buildTools.pending = false;
        }
        await layer.writeEnv(pythonLayerEnv());
        await layer.writeSbom('cdx.json', pythonSbom(archive, moved));
        // Written last: only now does the layer describe complete contents.
        await layer.writeMetadata(next);
      })();
      return finished;
    };
    abandon = async () => {
      cancel.abort();
      await compiling;
      await finished;
    };
  }
  try {
    Object.assign(env, (await layer.buildEnv(pythonLayerEnv())).apply('build', env));
    if (toolsRef) Object.assign(env, (await toolsRef.buildEnv()).apply('build', env));
  } catch (err) {
    await abandon().catch(() => undefined); // the caller gets no PythonInstall to abandon: the compile must not outlive this failure, nor hide it
    throw err;
  }
  return { version: archive.version, sha256: archive.sha256, layerPath: layer.path, python, buildTools, finish, abandon };
}

/** `pip 23.2.1, setuptools 65.5.0; the C headers; ensurepip, lib2to3, …; 10 extension modules only tests or tkinter load` for the log. */
function describeMoved(dists: Array<{ name: string; version: string }>, parts: BuildOnlyPart[]): string {
  const tools = dists.map((d) => `${d.name} ${d.version}`).join(', ');
  const headers = parts.some((p) => p.kind === 'headers') ? 'the C headers' : '';
  const stdlib = parts.filter((p) => p.kind === 'stdlib' && /^lib\/python[^/]+\/(?!lib-dynload\/)/.test(p.rel)).map((p) => p.rel.replace(/^lib\/python[^/]+\//, ''));
  const dynload = parts.filter((p) => p.kind === 'stdlib' && /\/lib-dynload\//.test(p.rel)).length;
  const modules = dynload > 0 ? `${dynload} extension module${dynload === 1 ? '' : 's'} only tests or tkinter load` : '';
  return [tools, headers, stdlib.join(', '), modules].filter((x) => x !== '').join('; ') || 'nothing found';
}

/**
 * What was left out of the image, as CycloneDX 1.5 component properties: one per kind (`tool`, `headers`,
 * `stdlib`), its paths in the layer comma-separated, and the layer that holds them at build.
 */
function leftOutProperties(moved: BuildOnlyPart[]): Record<string, string> {
  if (moved.length === 0) return {};
  const props: Record<string, string> = { 'ausnimbus:left-out-of-image:held-by': `the ${BUILD_TOOLS_LAYER} layer (build only)` };
  for (const kind of ['tool', 'headers', 'stdlib'] as const) {
    const paths = moved.filter((p) => p.kind === kind).map((p) => p.rel);
    if (paths.length > 0) props[`ausnimbus:left-out-of-image:${kind}`] = paths.join(', ');
  }
  return props;
}

/** The python layer's SBOM: the interpreter, and what of its archive was left out of the image. */
function pythonSbom(archive: PythonArchive, moved: BuildOnlyPart[]): string {
  return cycloneDxJson([{
    name: 'python',
    version: archive.version,
    type: 'application',
    purl: archive.purl ?? `pkg:generic/python@${archive.version}?checksum=sha256:${archive.sha256}`,
    sha256: archive.sha256,
    cpe: archive.cpe ?? `cpe:2.3:a:python:python:${archive.version}:*:*:*:*:*:*:*`,
    licenses: archive.licenses ?? ['PSF-2.0'],
    properties: leftOutProperties(moved),
  }]);
}

async function fetchAndUnpack(ctx: BuildContext, archive: PythonArchive, layerPath: string, deps: Deps, opts: PythonInstallOptions): Promise<void> {
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
