/**
 * The Python archives a build can choose from (builds of CPython, each one .tar.gz with its sha256; "a
 * distribution" in python-build-standalone's words, but here that word means an installed package, as in
 * src/python/installed.ts): the ones in buildpack.toml [[metadata.dependencies]], plus the ones a user
 * supplies with BP_PYTHON_DISTRIBUTIONS (a JSON or TOML manifest). Resolution picks the
 * newest version that satisfies the request, for this architecture.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { explain, rcompare, satisfies } from '@renovatebot/pep440';
import { isTable, parseToml, type TomlTable } from '../cnb/toml.js';
import type { ManifestProblem } from '../causes.js';
import { BuildpackError } from '../failure.js';
import type { VersionRequest } from './version-request.js';

export type Arch = 'amd64' | 'arm64';

export interface PythonArchive {
  version: string;
  uri: string;
  sha256: string;
  arch: Arch;
  origin: 'buildpack' | 'manifest';
  purl?: string;
  cpe?: string;
  licenses?: string[];
}

const SHA256 = /^[0-9a-f]{64}$/;

export function builtinArchives(metadata: TomlTable): PythonArchive[] {
  const deps = Array.isArray(metadata.dependencies) ? metadata.dependencies.filter(isTable) : [];
  return deps
    .filter((d) => d.id === 'python')
    .map((d) => ({
      version: String(d.version),
      uri: String(d.uri),
      sha256: String(d.checksum ?? '').replace(/^sha256:/, ''),
      arch: d.arch === 'arm64' ? 'arm64' : 'amd64',
      origin: 'buildpack' as const,
      purl: typeof d.purl === 'string' ? d.purl : undefined,
      cpe: typeof d.cpe === 'string' ? d.cpe : undefined,
      licenses: Array.isArray(d.licenses) ? d.licenses.map(String) : undefined,
    }));
}

/** Where BP_PYTHON_DISTRIBUTIONS points: a URL, or a path inside the app. */
export function manifestLocation(value: string, appDir: string): { url: string; shown: string } {
  if (/^(https?|file):\/\//i.test(value)) return { url: value, shown: value };
  const resolved = path.resolve(appDir, value);
  return { url: pathToFileURL(resolved).href, shown: value };
}

const badManifest = (where: string, problem: ManifestProblem): BuildpackError => new BuildpackError({ type: 'bad-manifest', where, problem });

/** A PEP 440 version with at least major.minor.micro (3.6.15, 3.13.0rc1): an archive is one exact build. */
function isFullVersion(version: string): boolean {
  return (explain(version)?.release.length ?? 0) >= 3;
}

/** Parses a manifest: a JSON object, else a TOML document, with a list `distributions`. */
export function parseManifest(text: string, shown: string): PythonArchive[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    try {
      doc = parseToml(text);
    } catch (err) {
      throw badManifest(shown, { kind: 'not-json-or-toml', detail: err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err) });
    }
  }
  if (!isTable(doc) || !Array.isArray(doc.distributions)) throw badManifest(shown, { kind: 'no-distributions-list' });
  return doc.distributions.map((entry, i) => {
    const entryNo = i + 1;
    if (!isTable(entry)) throw badManifest(shown, { kind: 'entry-not-object', entry: entryNo });
    const version = String(entry.version ?? '');
    if (!isFullVersion(version)) throw badManifest(shown, { kind: 'bad-version', entry: entryNo, version });
    const sha256 = String(entry.sha256 ?? '').toLowerCase().replace(/^sha256:/, '');
    if (!SHA256.test(sha256)) throw badManifest(shown, { kind: 'bad-sha256', entry: entryNo, version });
    const arch = String(entry.arch ?? '');
    if (arch !== 'amd64' && arch !== 'arm64') throw badManifest(shown, { kind: 'bad-arch', entry: entryNo, version, arch });
    const uri = String(entry.uri ?? '');
    if (!/^(https?|file):\/\/./i.test(uri)) throw badManifest(shown, { kind: 'bad-uri', entry: entryNo, version, uri });
    return { version, uri, sha256, arch, origin: 'manifest' as const };
  });
}

/** The newest distribution for `arch` that satisfies the request; manifest entries win over built-in ones of the same version. */
export function resolveArchive(request: VersionRequest, all: PythonArchive[], arch: string): PythonArchive {
  const forArch = all.filter((d) => d.arch === arch);
  const matching = forArch
    .filter((d) => satisfies(d.version, request.specifier))
    .sort((a, b) => rcompare(a.version, b.version) || (a.origin === 'manifest' ? -1 : 1));
  const chosen = matching[0];
  if (!chosen) {
    const available = [...new Set(forArch.map((d) => d.version))].sort(rcompare);
    throw new BuildpackError({ type: 'no-matching-python', written: request.written, source: request.source, arch, available });
  }
  return chosen;
}

/** BP_DEPENDENCY_MIRROR: replaces the scheme and host of a URI, keeping its path. */
export function applyMirror(uri: string, mirror: string | undefined): string {
  if (!mirror) return uri;
  let base: URL;
  try {
    base = new URL(mirror);
  } catch {
    throw new BuildpackError({ type: 'bad-mirror', value: mirror });
  }
  if (!['http:', 'https:', 'file:'].includes(base.protocol)) throw new BuildpackError({ type: 'bad-mirror', value: mirror });
  const original = new URL(uri);
  return mirror.replace(/\/+$/, '') + original.pathname + original.search;
}

/** For tests and messages: the file name an archive is stored under when the buildpack is packaged offline. */
export function offlineArchivePath(buildpackDir: string, sha256: string): string {
  return path.join(buildpackDir, 'dependencies', sha256, 'python.tar.gz');
}

export function hasOfflineArchive(buildpackDir: string, sha256: string): boolean {
  return fs.existsSync(offlineArchivePath(buildpackDir, sha256));
}
