/**
 * pylock.toml (PEP 751, "pylock.toml Specification" of the Python Packaging User Guide; lock-version 1.x), read
 * into the lock model, with the selection the specification's "Installation" section prescribes:
 *
 * 1. `extras` is the set of requested extras; `dependency_groups` is `default-groups` plus the requested groups
 *    (the specification: "dependency_groups SHOULD be the set created from default-groups by default"). A
 *    requested extra the lock's `extras` does not list, or group neither `dependency-groups` nor
 *    `default-groups` lists, stops the build (lock-unknown-selection), as uv refuses `--group nosuch`: the lists
 *    are what the lock supports, and a single-use lock (pip's, uv's export) lists none.
 * 2. `lock-version` must be 1.x ("If a tool doesn't support a major version, it MUST raise an error").
 * 3. `requires-python` is checked by the install before selection (src/python: the lock is a Python version
 *    source, and a chosen Python outside it stops the build as lock-python-mismatch).
 * 4. When `environments` is given, one of its markers must hold for the target (lock-environment-mismatch).
 * 5. Each `[[packages]]` entry whose `marker` holds (evaluated with `extras` and `dependency_groups`) is
 *    selected; its `requires-python` must then hold (lock-no-artifact otherwise); two selected entries of one
 *    name are an error (lock-malformed, "an error about the ambiguity MUST be raised").
 *
 * Validation follows the specification and the `packaging` library's pylock module (packaging.pylock, the
 * reference reader): names normalized, exactly one kind of source (`vcs`, `directory` or `archive`, or else
 * `sdist` and/or `wheels`), every file with a `url` or `path` and at least one hash, wheel and sdist file names
 * consistent with the package's name and version. Any file name `pylock.toml` or `pylock.<name>.toml` is valid.
 *
 * Sources in the model: `wheels`/`sdist` → the index (`packages.index`, when given) with every file and its
 * URL; `archive` → a direct URL; `vcs` (git) → git at `commit-id`; `directory` → the app itself when it is the
 * lock's own folder (as `uv export` writes the project, `directory = { path = "." }`), else a path in the app.
 */
import fs from 'node:fs';
import path from 'node:path';
import { explain, eq } from '@renovatebot/pep440';
import type { LockCause } from '../causes.js';
import { parseToml } from '../cnb/toml.js';
import { BuildpackError } from '../failure.js';
import { evaluateMarker, type Marker, MarkerError, type MarkerEnvironment, parseMarker } from './markers.js';
import type { LockedArtifact, LockedPackage, Lockfile, LockSource, SelectionRequest } from './model.js';
import { parseSpecifier, specifierContains } from './version-specifier.js';
import { normalizeName } from '../python/package-name.js';

/** `pylock.toml` or `pylock.<name>.toml` with a name without dots (the specification's "File Name"). */
export const PYLOCK_FILE_NAME = /^pylock\.([^.]+\.)?toml$/;

const SUPPORTED = '1.x (PEP 751)';

/** PEP 503 normalized names, as packaging.utils.is_normalized_name accepts them. */
const NORMALIZED_NAME = /^([a-z0-9]|[a-z0-9]([a-z0-9-](?!--))*[a-z0-9])$/;

/** One `[[packages]]` entry, checked. */
interface PylockEntry {
  index: number;
  name: string;
  version: string | undefined;
  marker: Marker | undefined;
  requiresPython: string | undefined;
  source: LockSource;
  artifacts: LockedArtifact[];
}

type Table = Record<string, unknown>;

const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

/** `packages[2] "flask"`, as the user finds the entry in the file. */
function entryLabel(index: number, name: unknown): string {
  return typeof name === 'string' ? `[[packages]] ${JSON.stringify(name)} (entry ${index + 1})` : `[[packages]] entry ${index + 1}`;
}

class Reader {
  constructor(
    readonly file: string,
    private entry: string | undefined = undefined,
  ) {}

  at(entry: string | undefined): Reader {
    return new Reader(this.file, entry);
  }

  fail(detail: string): never {
    throw new BuildpackError({ type: 'lock-malformed', file: this.file, tool: 'pylock', entry: this.entry, detail });
  }

  string(table: Table, key: string, required: true): string;
  string(table: Table, key: string, required?: false): string | undefined;
  string(table: Table, key: string, required = false): string | undefined {
    const value = table[key];
    if (value === undefined) return required ? this.fail(`${key} is missing`) : undefined;
    if (typeof value !== 'string') return this.fail(`${key} is not a string`);
    return value;
  }

  strings(table: Table, key: string): string[] {
    const value = table[key];
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) return this.fail(`${key} is not an array of strings`);
    return value as string[];
  }

  table(table: Table, key: string): Table | undefined {
    const value = table[key];
    if (value === undefined) return undefined;
    if (!isTable(value)) return this.fail(`${key} is not a table`);
    return value;
  }

  marker(text: string, key: string): Marker {
    try {
      return parseMarker(text);
    } catch (err) {
      if (err instanceof MarkerError) return this.fail(`${key} ${JSON.stringify(text)} is not a PEP 508 marker: ${err.message}`);
      throw err;
    }
  }

  /** A PEP 440 specifier set (`>=3.9,<4`), checked as packaging.specifiers.SpecifierSet reads it. */
  specifierSet(text: string, key: string): string {
    const parts = text.split(',').map((p) => p.trim());
    if (text.trim() !== '' && parts.some((p) => parseSpecifier(p) === undefined)) this.fail(`${key} ${JSON.stringify(text)} is not a PEP 440 version specifier`);
    return text;
  }

  /** Hashes, lower-case algorithm and lower-case hex value; at least one. */
  hashes(table: Table, key: string): Record<string, string> {
    const value = this.table(table, 'hashes');
    if (value === undefined || Object.keys(value).length === 0) return this.fail(`${key} has no hashes (the specification requires at least one)`);
    const out: Record<string, string> = {};
    for (const [algorithm, digest] of Object.entries(value)) {
      if (typeof digest !== 'string' || !/^[0-9a-fA-F]+$/.test(digest)) this.fail(`${key} hash ${algorithm} is not a hexadecimal string`);
      out[algorithm.toLowerCase()] = digest.toLowerCase();
    }
    return out;
  }
}

/** The file name a `url` or `path` ends in (the URL's last path segment, percent-decoded). */
function lastComponent(url: string | undefined, filePath: string | undefined): string | undefined {
  if (filePath) return filePath.split(/[\\/]/).pop();
  if (!url) return undefined;
  let pathname: string;
  try {
    pathname = new URL(url).pathname;
  } catch {
    pathname = url.split(/[?#]/)[0] ?? url;
  }
  const last = pathname.split('/').pop() ?? '';
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

const normalize = normalizeName;

/** Name and version of a wheel file name (PEP 427: `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl`). */
function wheelNameVersion(filename: string): [string, string] | undefined {
  if (!filename.endsWith('.whl')) return undefined;
  const parts = filename.slice(0, -4).split('-');
  if (parts.length !== 5 && parts.length !== 6) return undefined;
  return [normalize(parts[0] ?? ''), parts[1] ?? ''];
}

/** Name and version of an sdist file name (`{name}-{version}.tar.gz`, or `.zip`). */
function sdistNameVersion(filename: string): [string, string] | undefined {
  const stem = /^(.+)\.(tar\.gz|zip)$/.exec(filename)?.[1];
  if (stem === undefined) return undefined;
  const dash = stem.lastIndexOf('-');
  if (dash <= 0) return undefined;
  return [normalize(stem.slice(0, dash)), stem.slice(dash + 1)];
}

/**
 * An app-relative POSIX path for `p`, relative to the lock's folder as the specification says; a path that is
 * absolute or leads out of the app cannot be installed on the build machine.
 */
function appPath(r: Reader, lockFile: string, p: string, key: string): string {
  const posix = p.replace(/\\/g, '/');
  if (path.posix.isAbsolute(posix) || /^[A-Za-z]:\//.test(posix)) return r.fail(`${key} ${JSON.stringify(p)} is an absolute path, which does not exist on the build machine; lock with paths relative to the lock file`);
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(lockFile.replace(/\\/g, '/')), posix));
  if (joined === '..' || joined.startsWith('../')) return r.fail(`${key} ${JSON.stringify(p)} leads outside the app`);
  return joined === '' ? '.' : joined;
}

/** One distribution file (`archive`, `sdist` or one of `wheels`): its name, URL or path, and hashes. */
function readFile(r: Reader, table: Table, key: string): { filename: string; url: string | undefined; hashes: Record<string, string>; path: string | undefined } {
  const url = r.string(table, 'url');
  const filePath = r.string(table, 'path');
  if (!url && !filePath) r.fail(`${key} has neither url nor path`);
  const size = table.size;
  if (size !== undefined && (typeof size !== 'number' || !Number.isInteger(size) || size < 0)) r.fail(`${key}.size is not a whole number`);
  const filename = r.string(table, 'name') ?? lastComponent(url, filePath);
  if (!filename) return r.fail(`${key} names no file`);
  return { filename, url, hashes: r.hashes(table, key), path: filePath };
}

function readEntry(top: Reader, raw: unknown, index: number, lockFile: string): PylockEntry {
  const r: Reader = top.at(entryLabel(index, isTable(raw) ? raw.name : undefined));
  if (!isTable(raw)) return r.fail('is not a table');
  const name = r.string(raw, 'name', true);
  if (!NORMALIZED_NAME.test(name)) r.fail(`name ${JSON.stringify(name)} is not normalized (PEP 503: ${JSON.stringify(normalize(name))})`);
  const version = r.string(raw, 'version');
  if (version !== undefined && explain(version) === null) r.fail(`version ${JSON.stringify(version)} is not a PEP 440 version`);
  const markerText = r.string(raw, 'marker');
  const marker = markerText === undefined ? undefined : r.marker(markerText, 'marker');
  const requiresPython = r.string(raw, 'requires-python');
  if (requiresPython !== undefined) r.specifierSet(requiresPython, 'requires-python');
  const index_ = r.string(raw, 'index');
  if (raw.dependencies !== undefined && (!Array.isArray(raw.dependencies) || !raw.dependencies.every(isTable))) r.fail('dependencies is not an array of tables');

  const vcs = r.table(raw, 'vcs');
  const directory = r.table(raw, 'directory');
  const archive = r.table(raw, 'archive');
  const sdist = r.table(raw, 'sdist');
  const wheelsRaw = raw.wheels;
  if (wheelsRaw !== undefined && (!Array.isArray(wheelsRaw) || !wheelsRaw.every(isTable))) r.fail('wheels is not an array of tables');
  const wheels = (wheelsRaw ?? []) as Table[];
  const distributions = (sdist ? 1 : 0) + wheels.length;
  const direct = [vcs, directory, archive].filter(Boolean).length;
  if (distributions > 0 && direct > 0) r.fail('sets vcs, directory or archive together with sdist or wheels; a package has one kind of source');
  if (distributions === 0 && direct !== 1) r.fail(direct === 0 ? 'has no source: none of vcs, directory, archive, sdist or wheels' : 'sets more than one of vcs, directory and archive');

  const sameVersion = (v: string): boolean => version === undefined || (explain(v) !== null && eq(v, version));
  if (vcs) {
    const type = r.string(vcs, 'type', true);
    const url = r.string(vcs, 'url');
    const vcsPath = r.string(vcs, 'path');
    const commit = r.string(vcs, 'commit-id', true);
    const subdirectory = r.string(vcs, 'subdirectory');
    if (type !== 'git') r.fail(`vcs type ${JSON.stringify(type)}: the buildpack installs from git repositories only`);
    if (!url) return r.fail(vcsPath ? `vcs path ${JSON.stringify(vcsPath)}: a repository on the locking machine cannot be cloned at build; lock from its URL` : 'vcs has neither url nor path');
    return { index, name, version, marker, requiresPython, source: { kind: 'git', url, commit, ...(subdirectory ? { subdirectory } : {}) }, artifacts: [] };
  }
  if (directory) {
    const dirPath = r.string(directory, 'path', true);
    const editable = directory.editable ?? false;
    if (typeof editable !== 'boolean') r.fail('directory.editable is not a boolean');
    const subdirectory = r.string(directory, 'subdirectory');
    const where = appPath(r, lockFile, subdirectory ? `${dirPath}/${subdirectory}` : dirPath, 'directory.path');
    const lockDir = path.posix.dirname(lockFile.replace(/\\/g, '/'));
    const isApp = where === (lockDir === '' ? '.' : lockDir);
    return { index, name, version, marker, requiresPython, source: { kind: isApp ? 'app' : 'path', path: where, editable: editable as boolean }, artifacts: [] };
  }
  if (archive) {
    const file = readFile(r, archive, 'archive');
    const subdirectory = r.string(archive, 'subdirectory');
    const { path: archivePath, ...artifact } = file;
    if (archivePath !== undefined && !file.url) return { index, name, version, marker, requiresPython, source: { kind: 'path', path: appPath(r, lockFile, archivePath, 'archive.path'), editable: false }, artifacts: [artifact] };
    // uv writes the subdirectory twice, as the key and as pip's `#subdirectory=` URL fragment: keep it once, in the model's field.
    const fragment = /#(?:.*&)?subdirectory=([^&]+)/.exec(file.url as string)?.[1];
    if (fragment !== undefined && subdirectory !== undefined && decodeURIComponent(fragment) !== subdirectory) r.fail(`archive.url names the subdirectory ${JSON.stringify(fragment)} and archive.subdirectory ${JSON.stringify(subdirectory)}`);
    const url = fragment === undefined ? (file.url as string) : (file.url as string).replace(/#.*$/, '');
    const sub = subdirectory ?? (fragment === undefined ? undefined : decodeURIComponent(fragment));
    return { index, name, version, marker, requiresPython, source: { kind: 'url', url, ...(sub ? { subdirectory: sub } : {}) }, artifacts: [{ ...artifact, url }] };
  }
  const artifacts: LockedArtifact[] = [];
  wheels.forEach((wheel, i) => {
    const { path: _p, ...artifact } = readFile(r, wheel, `wheels[${i}]`);
    const parsed = wheelNameVersion(artifact.filename);
    if (parsed === undefined) r.fail(`wheels[${i}]: ${JSON.stringify(artifact.filename)} is not a wheel file name`);
    if (parsed[0] !== name) r.fail(`wheels[${i}]: ${JSON.stringify(artifact.filename)} is not a file of ${name}`);
    if (!sameVersion(parsed[1])) r.fail(`wheels[${i}]: ${JSON.stringify(artifact.filename)} is not version ${version}`);
    artifacts.push(artifact);
  });
  if (sdist) {
    const { path: _p, ...artifact } = readFile(r, sdist, 'sdist');
    const parsed = sdistNameVersion(artifact.filename);
    if (parsed === undefined) r.fail(`sdist: ${JSON.stringify(artifact.filename)} is not an sdist file name`);
    if (parsed[0] !== name) r.fail(`sdist: ${JSON.stringify(artifact.filename)} is not a file of ${name}`);
    if (!sameVersion(parsed[1])) r.fail(`sdist: ${JSON.stringify(artifact.filename)} is not version ${version}`);
    artifacts.push(artifact);
  }
  return { index, name, version, marker, requiresPython, source: { kind: 'index', url: index_ }, artifacts };
}

/** Whether `python` satisfies every specifier of `set` (a PEP 440 specifier set; empty: any). */
function satisfiesSet(set: string, python: string): boolean {
  return set
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .every((p) => {
      const spec = parseSpecifier(p);
      return spec !== undefined && specifierContains(spec, python);
    });
}

const ARCH_BY_MACHINE: Record<string, string> = { x86_64: 'amd64', aarch64: 'arm64', armv7l: 'arm', i686: '386' };

/** `CPython 3.12.7 on linux/arm64`, the target as lock-no-artifact names it. */
function describeTarget(env: MarkerEnvironment): string {
  return `${env.platform_python_implementation} ${env.python_full_version} on linux/${ARCH_BY_MACHINE[env.platform_machine] ?? env.platform_machine}`;
}

/** Reads `file` (app-relative) of the app at `appDir` as a PEP 751 lock. */
export function readPylock(appDir: string, file: string): Lockfile {
  const top: Reader = new Reader(file);
  let text: string;
  try {
    text = fs.readFileSync(path.join(appDir, file), 'utf8');
  } catch (err) {
    return top.fail(`it cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let doc: Table;
  try {
    doc = parseToml(text) as Table;
  } catch (err) {
    return top.fail(`it is not TOML: ${(err as Error).message.split('\n')[0]}`);
  }
  const lockVersion = top.string(doc, 'lock-version', true);
  const major = /^\s*v?(\d+)(\.\d+)*\s*$/.exec(lockVersion)?.[1];
  if (major !== '1') throw new BuildpackError({ type: 'lock-version-unsupported', file, tool: 'pylock', found: lockVersion, supported: SUPPORTED } satisfies LockCause);
  top.string(doc, 'created-by', true);
  const environments = top.strings(doc, 'environments').map((e) => ({ text: e, marker: top.at('environments').marker(e, 'environment') }));
  const requiresPython = top.string(doc, 'requires-python');
  if (requiresPython !== undefined) top.specifierSet(requiresPython, 'requires-python');
  const lockExtras = top.strings(doc, 'extras');
  const lockGroups = top.strings(doc, 'dependency-groups');
  const defaultGroups = top.strings(doc, 'default-groups');
  const rawPackages = doc.packages;
  if (rawPackages === undefined) top.fail('[[packages]] is missing');
  if (!Array.isArray(rawPackages)) top.fail('packages is not an array of tables');
  const entries = (rawPackages as unknown[]).map((raw, i) => readEntry(top, raw, i, file));
  const indexes = [...new Set(entries.flatMap((e) => (e.source.kind === 'index' && e.source.url !== undefined ? [e.source.url] : [])))];

  const select = (request: SelectionRequest): LockedPackage[] => {
    const known = { extra: lockExtras.map(normalize), group: [...lockGroups, ...defaultGroups].map(normalize) };
    for (const [kind, names] of [['extra', request.extras], ['group', request.groups]] as const) {
      for (const name of names) {
        if (!known[kind].includes(normalize(name))) throw new BuildpackError({ type: 'lock-unknown-selection', file, kind, name, known: [...new Set(kind === 'extra' ? lockExtras : lockGroups)].sort() });
      }
    }
    const context = { extras: new Set(request.extras), dependencyGroups: new Set([...defaultGroups, ...request.groups]) };
    const evaluate = (marker: Marker, where: string | undefined, ctx = context): boolean => {
      try {
        return evaluateMarker(marker, request.env, ctx);
      } catch (err) {
        if (err instanceof MarkerError) return top.at(where).fail(`marker cannot be evaluated: ${err.message}`);
        throw err;
      }
    };
    // Environments are evaluated without extras and groups (packaging evaluates them as a requirement's marker).
    const none = { extras: new Set<string>(), dependencyGroups: new Set<string>() };
    if (environments.length > 0 && !environments.some((e) => evaluate(e.marker, 'environments', none))) {
      throw new BuildpackError({ type: 'lock-environment-mismatch', file, environments: environments.map((e) => e.text), target: describeTarget(request.env) });
    }
    const chosen = new Map<string, PylockEntry>();
    for (const entry of entries) {
      const where = entryLabel(entry.index, entry.name);
      if (entry.marker !== undefined && !evaluate(entry.marker, where)) continue;
      if (entry.requiresPython !== undefined && !satisfiesSet(entry.requiresPython, request.env.python_full_version)) {
        throw new BuildpackError({ type: 'lock-no-artifact', file, package: `${entry.name}${entry.version ? `==${entry.version}` : ''} (requires-python ${entry.requiresPython})`, target: describeTarget(request.env) });
      }
      const earlier = chosen.get(entry.name);
      if (earlier !== undefined) top.at(where).fail(`both this entry and entry ${earlier.index + 1} of ${entry.name} apply to ${describeTarget(request.env)}; their markers must exclude each other`);
      chosen.set(entry.name, entry);
    }
    return [...chosen.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((e) => ({ name: e.name, version: e.version, source: e.source, artifacts: e.artifacts.map((a) => ({ ...a, hashes: { ...a.hashes } })) }));
  };

  return { tool: 'pylock', file, requiresPython, indexes, indexNames: new Map(), select };
}
