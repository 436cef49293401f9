/**
 * Pipfile.lock (Pipenv, `_meta.pipfile-spec` 6) read into the lock model.
 *
 * The file is JSON: `_meta` (the Pipfile's hash, spec version, `requires` and `sources`) and one object per
 * package category, `default` ([packages]), `develop` ([dev-packages]) and, since Pipenv 2022.10, any custom
 * category the Pipfile names (`[docs]`). Each maps a package name to an entry: `version` (`==1.2`), `hashes`
 * (`sha256:…`), `markers`, `index` (the name of one of `_meta.sources`), or instead of a version a `git` URL at
 * `ref`, a `path` or a `file` (a URL or a local file), with `editable` and `extras`.
 *
 * Selection follows `pipenv requirements` (pipenv/routines/requirements.py): the production set is `default`
 * only; each requested category is added in the order asked, a later one's entry replacing an earlier one's
 * for a package in both, and `default`'s entry wins over all (`pipenv requirements --dev` applies `default`
 * last). Requested names are Pipfile category names: `develop`, `dev-packages` and `dev` (the
 * name of Pipenv's `--dev` flag, and of the dev group in uv and Poetry) all mean `develop`, and `packages`
 * means `default`, unless the lock has a custom category of that very name; any other name, and any extra, is
 * refused (`checkRequested`). Markers are evaluated as pip
 * evaluates them on the lines `pipenv requirements` prints: with no extra requested (an entry's `extras` are
 * locked as entries of their own).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { LockCause } from '../causes.js';
import { BuildpackError } from '../failure.js';
import { validRange } from '@renovatebot/pep440';
import { evaluateMarker, MarkerError, MarkerSyntaxError, parseMarker } from './markers.js';
import { indexKey, type LockedArtifact, type LockedPackage, type Lockfile, type LockSource, type SelectionRequest } from './model.js';
import { pipfileHashes } from './pipfile-hash.js';
import { normalizeName } from '../python/package-name.js';

/** The only pipfile-spec Pipenv has written since 2018 (pipenv/project.py PIPFILE_SPEC_CURRENT). */
const PIPFILE_SPEC = 6;

/** One entry of a category, read and checked. */
interface PipenvEntry {
  name: string;
  version: string | undefined;
  source: LockSource;
  artifacts: LockedArtifact[];
  /** `markers` and the legacy `os_markers`, both of which must hold. */
  markers: string[];
}

export function readPipfileLock(appDir: string, file: string): Lockfile {
  const text = readText(appDir, file);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw malformed(file, undefined, `not JSON (${(err as Error).message})`);
  }
  if (!isObject(json)) throw malformed(file, undefined, 'the file is not a JSON object');
  const meta = json._meta;
  if (!isObject(meta)) throw malformed(file, '["_meta"]', 'no _meta object');
  const spec = meta['pipfile-spec'];
  if (spec !== PIPFILE_SPEC) {
    if (spec === undefined) throw malformed(file, '["_meta"]', 'no pipfile-spec');
    throw new BuildpackError({ type: 'lock-version-unsupported', file, tool: 'pipenv', found: String(JSON.stringify(spec)), supported: `pipfile-spec ${PIPFILE_SPEC}` });
  }
  const sources = readSources(file, meta.sources);
  const requiresPython = readRequires(file, meta.requires);

  const categories = new Map<string, Map<string, PipenvEntry>>();
  for (const [category, packages] of Object.entries(json)) {
    if (category === '_meta') continue;
    if (!isObject(packages)) throw malformed(file, `[${JSON.stringify(category)}]`, 'a package category is not an object of packages');
    const entries = new Map<string, PipenvEntry>();
    for (const [key, value] of Object.entries(packages)) {
      const entry = readEntry(file, `[${JSON.stringify(category)}][${JSON.stringify(key)}]`, key, value, sources);
      if (entries.has(entry.name)) throw malformed(file, `[${JSON.stringify(category)}][${JSON.stringify(key)}]`, `${entry.name} is listed twice in this category`);
      entries.set(entry.name, entry);
    }
    categories.set(category, entries);
  }

  checkFresh(appDir, file, meta);

  return {
    tool: 'pipenv',
    file,
    requiresPython,
    indexes: sources.map((s) => s.url),
    indexNames: new Map(sources.flatMap((s) => (s.name === undefined ? [] : [[indexKey(s.url), s.name] as const]))),
    select: (request) => {
      checkRequested(file, categories, request);
      return select(categories, request, file);
    },
  };
}

function select(categories: Map<string, Map<string, PipenvEntry>>, request: SelectionRequest, file: string): LockedPackage[] {
  const order = [...new Set(request.groups.map((g) => categoryName(categories, g)).filter((c) => c !== 'default')), 'default'];
  const chosen = new Map<string, PipenvEntry>();
  for (const category of order) {
    for (const [name, entry] of categories.get(category) ?? []) chosen.set(name, entry);
  }
  return [...chosen.values()]
    .filter((e) => e.markers.every((m) => holds(m, request, file, e.name)))
    .map((e) => ({ name: e.name, version: e.version, source: e.source, artifacts: e.artifacts }))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/**
 * A requested category the lock does not have, or any requested extra, is refused. Pipenv itself accepts an
 * unknown category without a word: `pipenv requirements --categories nosuch` prints no package and exits 0
 * (pipenv/routines/requirements.py reads `lockfile.get(category, {})`), and `pipenv install --categories nosuch`
 * installs nothing for it (pipenv/utils/locking.py `get_requirements` takes a missing category as empty). Here
 * that would let a typo in BP_PYTHON_DEPENDENCY_GROUPS install less than asked while the build succeeds, so the
 * reader refuses it as uv and Poetry refuse an unknown group. Names are compared as written (Pipenv's categories
 * are TOML table names, not normalized); the aliases of `categoryName` are known names. A Pipfile declares no
 * extras of the app's own (an entry's `extras` are a dependency's), so every requested extra is unknown.
 */
function checkRequested(file: string, categories: Map<string, unknown>, request: SelectionRequest): void {
  const known = [...categories.keys()].sort();
  for (const group of request.groups) {
    if (!categories.has(categoryName(categories, group))) throw new BuildpackError({ type: 'lock-unknown-selection', file, kind: 'group', name: group, known });
  }
  for (const extra of request.extras) throw new BuildpackError({ type: 'lock-unknown-selection', file, kind: 'extra', name: extra, known: [] });
}

/** A marker of `name`'s entry; one packaging refuses to evaluate (MarkerEvaluationError) makes the lock malformed. */
function holds(marker: Parameters<typeof evaluateMarker>[0], request: SelectionRequest, file: string, name: string): boolean {
  try {
    return evaluateMarker(marker, request.env);
  } catch (err) {
    if (err instanceof MarkerError) throw malformed(file, `the entry of ${name}`, `a marker cannot be evaluated: ${err.message}`);
    throw err;
  }
}

/** The lock's category for a requested group name (see the header). */
function categoryName(categories: Map<string, unknown>, group: string): string {
  if (categories.has(group)) return group;
  if (group === 'dev' || group === 'dev-packages') return 'develop';
  if (group === 'packages') return 'default';
  return group;
}

function readText(appDir: string, file: string): string {
  try {
    return fs.readFileSync(path.join(appDir, file), 'utf8');
  } catch (err) {
    throw malformed(file, undefined, `the file cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

interface PipenvSource {
  name: string | undefined;
  url: string;
}

function readSources(file: string, value: unknown): PipenvSource[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw malformed(file, '["_meta"]["sources"]', 'sources is not a list');
  return value.map((s, i) => {
    const where = `["_meta"]["sources"][${i}]`;
    if (!isObject(s) || typeof s.url !== 'string' || s.url === '') throw malformed(file, where, 'a source without a url');
    if (s.name !== undefined && typeof s.name !== 'string') throw malformed(file, where, 'a source name that is not a string');
    return { name: s.name, url: s.url };
  });
}

/**
 * `_meta.requires` as a PEP 440 specifier, as `pipenv install --deploy` checks the running Python against it
 * (pipenv/utils/project.py `_python_version_matches_required`): `python_full_version` wins over
 * `python_version`; `*` asks for nothing; a value with an operator (`>=3.9,<4`, Pipenv 2026) is a specifier
 * already; otherwise only the parts given are compared, so `3.11` is `==3.11.*`, `3` is `==3.*` and
 * `3.11.9` is `==3.11.9`.
 */
function readRequires(file: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value)) throw malformed(file, '["_meta"]["requires"]', 'requires is not an object');
  const key = value.python_full_version !== undefined && value.python_full_version !== '' ? 'python_full_version' : 'python_version';
  const required = value[key];
  if (required === undefined || required === '' || required === '*') return undefined;
  const where = `["_meta"]["requires"]["${key}"]`;
  if (typeof required !== 'string') throw malformed(file, where, `${JSON.stringify(required)} is not a Python version`);
  const text = required.trim();
  if (/[<>=!~]/.test(text)) {
    if (!validRange(text)) throw malformed(file, where, `${JSON.stringify(required)} is not a PEP 440 specifier`);
    return text;
  }
  if (/^\d+\.\d+\.\d+((a|b|rc)\d+)?$/.test(text)) return `==${text}`;
  if (/^\d+(\.\d+)?$/.test(text)) return `==${text}.*`;
  throw malformed(file, where, `${JSON.stringify(required)} is not a Python version`);
}

const OTHER_VCS = { hg: 'Mercurial', svn: 'Subversion', bzr: 'Bazaar' } as const;

function readEntry(file: string, where: string, key: string, value: unknown, sources: PipenvSource[]): PipenvEntry {
  const name = normalizeName(key);
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(name)) throw malformed(file, where, `${JSON.stringify(key)} is not a package name`);
  // Old locks may give a bare version string, as `pipenv requirements` still accepts (`"==1.2"` or `"*"`).
  const entry: Record<string, unknown> = typeof value === 'string' ? { version: value } : isObject(value) ? value : {};
  if (!isObject(value) && typeof value !== 'string') throw malformed(file, where, 'an entry is neither an object nor a version');

  const markers: string[] = [];
  for (const field of ['markers', 'os_markers']) {
    const m = entry[field];
    if (m === undefined || m === '' || m === null) continue;
    if (typeof m !== 'string') throw malformed(file, where, `${field} is not a string`);
    try {
      parseMarker(m);
    } catch (err) {
      if (err instanceof MarkerSyntaxError) throw malformed(file, where, `${field} is not a PEP 508 marker: ${err.message}`);
      throw err;
    }
    markers.push(m);
  }
  const extras = entry.extras;
  if (extras !== undefined && !(Array.isArray(extras) && extras.every((x) => typeof x === 'string'))) throw malformed(file, where, 'extras is not a list of names');
  const editable = entry.editable ?? false;
  if (typeof editable !== 'boolean') throw malformed(file, where, 'editable is not true or false');
  const hashes = readHashes(file, where, entry.hashes);
  const version = pinnedVersion(entry.version);

  for (const [field, tool] of Object.entries(OTHER_VCS)) {
    if (entry[field] !== undefined) throw malformed(file, where, `a ${tool} (${field}) source, which the buildpack does not install: use a git repository, a package index or a file URL`);
  }
  if (entry.git !== undefined) {
    return { name, version, markers, artifacts: [], source: gitSource(file, where, entry) };
  }
  if (entry.path !== undefined || entry.file !== undefined) {
    const field = entry.path !== undefined ? 'path' : 'file';
    const location = entry[field];
    if (typeof location !== 'string' || location === '') throw malformed(file, where, `${field} is not a string`);
    if (/^https?:\/\//i.test(location)) {
      const filename = urlFileName(location);
      if (filename === undefined) throw malformed(file, where, `${JSON.stringify(location)} is not a URL of a file`);
      return { name, version, markers, source: { kind: 'url', url: location }, artifacts: hashes.map((h) => ({ filename, url: location, hashes: h })) };
    }
    const local = appPath(file, where, location);
    const source: LockSource = local === '.' ? { kind: 'app', path: '.', editable } : { kind: 'path', path: local, editable };
    return { name, version, markers, source, artifacts: [] };
  }

  if (version === undefined) {
    const written = entry.version === undefined ? 'no version' : `version ${JSON.stringify(entry.version)}`;
    throw malformed(file, where, `${written}, where a package from an index needs one pinned with == (version = "==1.2")`);
  }
  let url: string | undefined;
  if (entry.index !== undefined) {
    const index = sources.find((s) => s.name === entry.index);
    if (index === undefined) throw malformed(file, where, `index ${JSON.stringify(entry.index)} is not one of _meta.sources`);
    url = index.url;
  }
  // Pipenv lists a package's hashes without their files: one artifact per hash, named by no file.
  return { name, version, markers, source: { kind: 'index', url }, artifacts: hashes.map((h) => ({ filename: undefined, url: undefined, hashes: h })) };
}

/** The last path segment of an http(s) URL, decoded; undefined when the text is no URL or names no file. */
function urlFileName(location: string): string | undefined {
  try {
    return decodeURIComponent(new URL(location).pathname.split('/').pop() ?? '') || undefined;
  } catch {
    return undefined;
  }
}

/** `==1.2` (or `===1.2`) → `1.2`; undefined for anything else (no version, `*`, a range). */
function pinnedVersion(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  return /^={2,3}\s*([^\s=<>!~,;*]+)$/.exec(value.trim())?.[1];
}

/** `["sha256:abc…", …]` → one `{ sha256: 'abc…' }` per hash, hex lower-cased. */
function readHashes(file: string, where: string, value: unknown): Array<Record<string, string>> {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw malformed(file, where, 'hashes is not a list');
  return value.map((h) => {
    const m = typeof h === 'string' ? /^([a-z0-9_]+):([0-9a-fA-F]+)$/.exec(h) : null;
    if (!m?.[1] || !m[2]) throw malformed(file, where, `${JSON.stringify(h)} is not a hash (algorithm:hex)`);
    return { [m[1]]: m[2].toLowerCase() };
  });
}

/**
 * A git entry: `git` is the repository (with or without `git+`, possibly with `@ref` and `#egg=` /
 * `#subdirectory=` as pip writes them) and `ref` the commit Pipenv resolved the Pipfile's ref to.
 */
function gitSource(file: string, where: string, entry: Record<string, unknown>): LockSource {
  const raw = entry.git;
  if (typeof raw !== 'string' || raw === '') throw malformed(file, where, 'git is not a URL');
  let url = raw.replace(/^git\+/, '');
  let fragment = '';
  const hashAt = url.indexOf('#');
  if (hashAt >= 0) {
    fragment = url.slice(hashAt + 1);
    url = url.slice(0, hashAt);
  }
  let ref = entry.ref;
  // A ref written into the URL (`…/repo.git@v1`): after the last `/`, so a `user@host` is not taken for one.
  const at = url.lastIndexOf('@');
  if (at > url.lastIndexOf('/')) {
    ref ??= url.slice(at + 1);
    url = url.slice(0, at);
  }
  if (typeof ref !== 'string' || !/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(ref)) {
    throw malformed(file, where, `the git source is locked at ${ref === undefined ? 'no ref' : JSON.stringify(ref)}, not at a commit; lock again so that ref is the commit`);
  }
  const subdirectory = entry.subdirectory ?? new URLSearchParams(fragment).get('subdirectory') ?? undefined;
  if (subdirectory !== undefined && typeof subdirectory !== 'string') throw malformed(file, where, 'subdirectory is not a string');
  return { kind: 'git', url, commit: ref, ...(subdirectory ? { subdirectory } : {}) };
}

/** A local path or file:// URL of the entry, app-relative with POSIX separators; `.` is the app itself. */
function appPath(file: string, where: string, location: string): string {
  let p = location;
  if (/^file:/i.test(p)) {
    throw malformed(file, where, `${JSON.stringify(location)} is a file: URL, an absolute path the build cannot see; write a path relative to the Pipfile`);
  }
  p = p.replace(/\\/g, '/');
  if (path.posix.isAbsolute(p)) throw malformed(file, where, `${JSON.stringify(location)} is an absolute path the build cannot see; write a path relative to the Pipfile`);
  const rel = path.posix.normalize(path.posix.join(path.posix.dirname(file), p)).replace(/\/$/, '');
  if (rel === '..' || rel.startsWith('../')) throw malformed(file, where, `${JSON.stringify(location)} is outside the app`);
  return rel === '' ? '.' : rel;
}

/**
 * Staleness as `pipenv install --deploy` decides it: `_meta.hash.sha256` must be Pipenv's hash of the Pipfile
 * beside the lock (src/lock/pipfile-hash.ts). A lock without a Pipfile beside it (micropipenv installs those)
 * has nothing to be stale against.
 */
function checkFresh(appDir: string, file: string, meta: Record<string, unknown>): void {
  const manifest = path.posix.join(path.posix.dirname(file), 'Pipfile');
  let text: string;
  try {
    text = fs.readFileSync(path.join(appDir, manifest), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw stale(file, manifest, `${manifest} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const recorded = isObject(meta.hash) ? meta.hash.sha256 : undefined;
  if (typeof recorded !== 'string') throw stale(file, manifest, `the lock records no hash of ${manifest} (_meta.hash.sha256)`);
  let hashes: { plette: string; normalizedNames: string };
  try {
    hashes = pipfileHashes(text);
  } catch (err) {
    throw stale(file, manifest, `${manifest} is not valid TOML (${(err as Error).message.split('\n')[0]})`);
  }
  const want = recorded.toLowerCase();
  if (want === hashes.plette || want === hashes.normalizedNames) return;
  throw stale(file, manifest, `${manifest} hashes to ${hashes.plette.slice(0, 12)}…, the lock was made from ${want.slice(0, 12)}…`);
}

function stale(file: string, manifest: string, detail: string): BuildpackError {
  return new BuildpackError({ type: 'lock-stale', file, tool: 'pipenv', manifest, command: 'pipenv lock', detail });
}

function malformed(file: string, entry: string | undefined, detail: string): BuildpackError {
  const cause: LockCause = { type: 'lock-malformed', file, tool: 'pipenv', entry, detail };
  return new BuildpackError(cause);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
