/**
 * The Python archives an offline package carries. Version requests are resolved as a build resolves them
 * (newest match for the architecture; manifest entries win over built-in ones of the same version), from
 * buildpack.toml [[metadata.dependencies]] plus an optional manifest in the BP_PYTHON_DISTRIBUTIONS format.
 * Each archive is downloaded with the build's own verified download (mirror applied, sha256 checked) into
 * a cache, and lands in the package at dependencies/<sha256>/python.tar.gz, where the python layer looks
 * first (src/python/archives.ts offlineArchivePath).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_DOWNLOAD_OPTIONS, downloadVerified, fetchText, sha256File } from '../../src/download.js';
import { messageFor } from '../../src/messages.js';
import type { Logger } from '../../src/logger.js';
import { applyMirror, builtinArchives, offlineArchivePath, parseManifest, resolveArchive, type Arch, type PythonArchive } from '../../src/python/archives.js';
import { toSpecifier } from '../../src/python/version-request.js';
import type { TomlTable } from '../../src/cnb/toml.js';

export interface OfflineOptions {
  /** Version requests as BP_PYTHON_VERSION takes them (3, 3.12, 3.12.7, ~=3.11 …). */
  versions: string[];
  /** A distributions manifest: a path, or an http(s)/file URL. */
  manifest?: string;
  /** Base URL replacing the scheme and host of every archive URI (BP_DEPENDENCY_MIRROR's rule). */
  mirror?: string;
  /** Where verified archives are kept between runs, by sha256. */
  cacheDir: string;
}

function message(err: unknown): string {
  const m = messageFor(err);
  return `${m.title}: ${m.body}`;
}

/** The distributions to choose from: built-in, then the manifest's. */
export async function candidateDistributions(metadata: TomlTable, manifest: string | undefined, log: Logger): Promise<PythonArchive[]> {
  const all = builtinArchives(metadata);
  if (!manifest) return all;
  const url = /^(https?|file):\/\//i.test(manifest) ? manifest : pathToFileURL(path.resolve(manifest)).href;
  let entries: PythonArchive[];
  try {
    entries = parseManifest(await fetchText(url, log), manifest);
  } catch (err) {
    throw new Error(`--distributions ${manifest} cannot be used: ${message(err)}`);
  }
  return [...all, ...entries];
}

/** One distribution per version request for `arch`; built-in and manifest entries of one version and arch may not collide. */
export function chooseDistributions(candidates: PythonArchive[], versions: string[], arch: Arch): PythonArchive[] {
  const chosen = new Map<string, PythonArchive>();
  for (const written of versions) {
    const specifier = toSpecifier(written);
    if (!specifier) throw new Error(`'${written}' is not a Python version request (write 3.12, 3.12.7, ~=3.11 …)`);
    let d: PythonArchive;
    try {
      d = resolveArchive({ specifier, written, source: 'BP_PYTHON_VERSION' }, candidates, arch);
    } catch {
      const have = [...new Set(candidates.filter((c) => c.arch === arch).map((c) => c.version))].join(', ') || 'none';
      throw new Error(`no Python for ${arch} satisfies '${written}' (available: ${have}); add it with --distributions <manifest>`);
    }
    if (d.origin === 'manifest' && candidates.some((c) => c.origin === 'buildpack' && c.arch === arch && c.version === d.version)) {
      throw new Error(`the manifest's Python ${d.version} for ${arch} has the same version as one in buildpack.toml; a build could not tell them apart`);
    }
    chosen.set(d.sha256, d);
  }
  return [...chosen.values()];
}

/** A verified copy of the archive in the cache (downloaded when missing or damaged); returns its path. */
export async function fetchArchive(d: PythonArchive, opts: Pick<OfflineOptions, 'mirror' | 'cacheDir'>, log: Logger): Promise<string> {
  const cached = path.join(opts.cacheDir, d.sha256, 'python.tar.gz');
  if (fs.existsSync(cached) && (await sha256File(cached)) === d.sha256) return cached;
  fs.mkdirSync(path.dirname(cached), { recursive: true });
  const url = applyMirror(d.uri, opts.mirror);
  log.info(`Downloading Python ${d.version} (${d.arch}) from ${url}`);
  try {
    await downloadVerified(url, `${cached}.partial`, d.sha256, log, DEFAULT_DOWNLOAD_OPTIONS);
  } catch (err) {
    throw new Error(`Python ${d.version} (${d.arch}) could not be bundled: ${message(err)}`);
  }
  fs.renameSync(`${cached}.partial`, cached);
  return cached;
}

/** Copies the archives into the buildpack directory where the python layer finds them. */
export function bundleArchive(buildpackDir: string, d: PythonArchive, file: string): string {
  const dest = offlineArchivePath(buildpackDir, d.sha256);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(file, dest);
  fs.chmodSync(dest, 0o644);
  return dest;
}
