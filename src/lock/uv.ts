/**
 * uv.lock (`version = 1`, `revision` absent (0) to 3), read into the lock model, with the selection `uv export` makes.
 *
 * The format is uv's own (crates/uv-resolver/src/lock/mod.rs, `LockWire`/`PackageWire`/`DependencyWire`):
 * one `[[package]]` per locked name, version and source; each package lists its `dependencies`,
 * `optional-dependencies` (per extra) and `dev-dependencies` (per PEP 735 dependency group) as edges
 * `{ name, version?, source?, extra?, marker? }` to other packages. `version` and `source` are written only when
 * the name alone is ambiguous (a name locked at several versions or sources, as a forking resolution leaves
 * it, each package then carrying its `resolution-markers`).
 *
 * Selection follows uv's export (crates/uv-resolver/src/lock/export/mod.rs, `ExportableRequirements::from_lock`):
 * start from the project package (or, for a workspace root without `[project]`, from every workspace member in
 * `[manifest] members` and from the root's own `[manifest] requirements` and `dependency-groups`), follow
 * `dependencies`, the `optional-dependencies` of the requested extras and of the extras an edge activates
 * (`extra = [...]`), and the requested groups' `dev-dependencies`; an edge is followed when its `marker` holds
 * for the target. uv works out a universal marker per package; for one concrete target, following the edges
 * whose markers hold reaches exactly the packages whose universal marker holds.
 *
 * Markers are written simplified against the lock's `requires-python` (and, since uv 0.8, against what the
 * parent's own reachability already implies): `python_version >= "3.8" and sys_platform == "win32"` is stored as
 * `sys_platform == 'win32'` when `requires-python = ">=3.9"`. uv puts the dropped part back by AND-ing the
 * marker with requires-python (`SimplifiedMarkerTree::into_marker`). The buildpack checks the chosen Python
 * against requires-python before it installs (lock-python-mismatch), and it reaches a package only through a
 * parent that is itself reached, so for every Python this function is asked about, the dropped conjuncts are
 * true: evaluating the simplified marker gives the same answer as the complete one.
 */
import path from 'node:path';
import { BuildpackError } from '../failure.js';
import { parseToml } from '../cnb/toml.js';
import { evaluateMarker, type Marker, MarkerError, MarkerSyntaxError, parseMarker } from './markers.js';
import { indexKey, type LockedArtifact, type LockedPackage, type Lockfile, type LockSource, type SelectionRequest } from './model.js';
import { checkUvLockFresh, type UvProjectMetadata, uvSourceNames } from './uv-stale.js';
import fs from 'node:fs';
import { normalizeName } from '../python/package-name.js';

const SUPPORTED = 'version 1 with requires-python, revisions 0 (no revision field) to 3';


/** One edge of uv's graph, its target resolved. */
interface UvEdge {
  target: UvPackage;
  extras: string[];
  marker: Marker | undefined;
}

interface UvArtifactEntry {
  filename: string;
  url: string | undefined;
  hashes: Record<string, string>;
}

/** One `[[package]]`. */
export interface UvPackage {
  name: string;
  version: string | undefined;
  /** The `source` table, as a canonical string: the identity uv matches edges with (with name and version). */
  sourceKey: string;
  source: LockSource | { kind: 'virtual'; path: string };
  entry: string;
  artifacts: UvArtifactEntry[];
  /** `resolution-markers`: the forks this version was locked for; empty when the name is locked once. */
  forkMarkers: Marker[];
  dependencies: UvEdge[];
  optional: Map<string, UvEdge[]>;
  groups: Map<string, UvEdge[]>;
  metadata: UvProjectMetadata;
  /** Raw edges, resolved once every package is known. */
  rawEdges: { list: UvEdge[]; table: unknown; where: string }[];
}

/** A requirement of the workspace root itself (`[manifest] requirements` / `dependency-groups`). */
interface RootRequirement {
  name: string;
  extras: string[];
  marker: Marker | undefined;
}

export interface UvLockData {
  requiresPython: string;
  revision: number;
  packages: UvPackage[];
  members: string[];
  manifestRequirements: RootRequirement[];
  manifestGroups: Map<string, RootRequirement[]>;
  /** The raw `[manifest] dependency-groups`, for the staleness check. */
  manifestGroupTables: Record<string, unknown[]>;
}

type Fail = (entry: string | undefined, detail: string) => never;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** A stable text for a TOML value, keys sorted: how two `source` tables are told equal. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isRecord(value)) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Resolves `p` (relative to the lock's folder, POSIX separators as uv writes them) to an app-relative path. */
function appRelative(lockDir: string, p: string): string {
  if (p.startsWith('/')) return path.posix.normalize(p);
  const joined = path.posix.normalize(path.posix.join(lockDir, p));
  return joined === '' ? '.' : joined.replace(/\/$/, '');
}

/** The file name an artifact URL ends in, percent-decoded (uv: `UrlString::filename`). */
function urlFilename(url: string, fail: () => never): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return fail();
  }
  const last = parsed.pathname.split('/').pop() ?? '';
  let name: string;
  try {
    name = decodeURIComponent(last);
  } catch {
    return fail();
  }
  if (name === '') return fail();
  return name;
}

/** `sha256:<hex>` → `{ sha256: hex }` (uv's `Hash`: `{algorithm}:{digest}`). */
function parseHash(value: unknown, fail: (detail: string) => never): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'string') return fail('hash is not a string');
  const match = /^([a-z0-9]+):([0-9a-fA-F]+)$/.exec(value);
  if (match === null) return fail(`hash ${JSON.stringify(value)} is not <algorithm>:<hex digest>`);
  return { [match[1] as string]: (match[2] as string).toLowerCase() };
}

function readSource(raw: unknown, lockDir: string, fail: (detail: string) => never): UvPackage['source'] {
  if (!isRecord(raw)) return fail('source is missing or not a table');
  const str = (key: string): string => {
    const v = raw[key];
    if (typeof v !== 'string') return fail(`source.${key} is not a string`);
    return v;
  };
  if ('registry' in raw) {
    const registry = str('registry');
    // A registry is a URL, or a path to a local index / find-links folder (uv's RegistrySource::Path).
    if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(registry)) return { kind: 'index', url: registry };
    return { kind: 'index', url: `file:${appRelative(lockDir, registry)}` };
  }
  if ('git' in raw) {
    // `https://github.com/org/repo?rev=v1&subdirectory=pkg#<full commit>` (uv's GitSource::from_url).
    const git = str('git');
    let url: URL;
    try {
      url = new URL(git);
    } catch {
      return fail(`source.git ${JSON.stringify(git)} is not a URL`);
    }
    const commit = url.hash.replace(/^#/, '');
    if (!/^[0-9a-fA-F]{40}$/.test(commit)) return fail(`source.git ${JSON.stringify(git)} does not end in #<full commit hash>`);
    const subdirectory = url.searchParams.get('subdirectory') ?? undefined;
    url.hash = '';
    url.search = '';
    return { kind: 'git', url: url.href, commit: commit.toLowerCase(), ...(subdirectory === undefined ? {} : { subdirectory }) };
  }
  if ('url' in raw) {
    const subdirectory = raw.subdirectory;
    if (subdirectory !== undefined && typeof subdirectory !== 'string') return fail('source.subdirectory is not a string');
    return { kind: 'url', url: str('url'), ...(subdirectory === undefined ? {} : { subdirectory }) };
  }
  if ('path' in raw) return { kind: 'path', path: appRelative(lockDir, str('path')), editable: false };
  if ('directory' in raw) return { kind: 'path', path: appRelative(lockDir, str('directory')), editable: false };
  if ('editable' in raw) return { kind: 'path', path: appRelative(lockDir, str('editable')), editable: true };
  if ('virtual' in raw) return { kind: 'virtual', path: appRelative(lockDir, str('virtual')) };
  return fail(`source ${canonical(raw)} is none of registry, git, url, path, directory, editable, virtual`);
}

function readMarker(value: unknown, fail: (detail: string) => never): Marker | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') return fail('marker is not a string');
  if (value.trim() === '') return undefined;
  try {
    return parseMarker(value);
  } catch (err) {
    if (err instanceof MarkerSyntaxError) return fail(`marker ${JSON.stringify(value)}: ${err.message}`);
    throw err;
  }
}

function readStringList(value: unknown, what: string, fail: (detail: string) => never): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) return fail(`${what} is not a list of strings`);
  return value as string[];
}

function readArtifacts(pkg: Record<string, unknown>, lockDir: string, source: UvPackage['source'], fail: (detail: string) => never): UvArtifactEntry[] {
  const artifacts: UvArtifactEntry[] = [];
  // Files of a registry that is a local folder are written relative to that folder (WheelWireSource::Path).
  const registry = source.kind === 'index' ? source.url : undefined;
  const localIndex = registry?.startsWith('file:') === true ? registry.slice('file:'.length) : undefined;
  const one = (raw: unknown, what: string): void => {
    if (!isRecord(raw)) {
      fail(`${what} is not a table`);
    }
    const hashes = parseHash(raw.hash, (d) => fail(`${what}: ${d}`));
    if (typeof raw.url === 'string') {
      const url = raw.url;
      const filename = urlFilename(url, () => fail(`${what}: url ${JSON.stringify(url)} names no file`));
      artifacts.push({ filename, url, hashes });
    } else if (typeof raw.path === 'string') {
      const file = localIndex === undefined ? appRelative(lockDir, raw.path) : appRelative(localIndex, raw.path);
      artifacts.push({ filename: path.posix.basename(file), url: `file:${file}`, hashes });
    } else if (typeof raw.filename === 'string') {
      artifacts.push({ filename: raw.filename, url: undefined, hashes });
    } else if (what === 'sdist' && source.kind === 'url') {
      // A direct URL archive: the sdist entry carries only its hash (SourceDist::Metadata); the file is the source.
      artifacts.push({ filename: urlFilename(source.url, () => fail(`source url ${JSON.stringify(source.url)} names no file`)), url: source.url, hashes });
    } else if (what === 'sdist' && source.kind === 'path' && !source.editable) {
      // A local archive (`source = { path = "dist/x.tar.gz" }`), hash in the sdist entry.
      artifacts.push({ filename: path.posix.basename(source.path), url: `file:${source.path}`, hashes });
    } else if (what === 'sdist') {
      // Only metadata (an archive inside a git repository, pinned by its commit): nothing to fetch by hash.
    } else {
      fail(`${what} has no url, path or filename`);
    }
  };
  if (pkg.sdist !== undefined) one(pkg.sdist, 'sdist');
  if (pkg.wheels !== undefined) {
    if (!Array.isArray(pkg.wheels)) return fail('wheels is not a list');
    pkg.wheels.forEach((w, i) => {
      one(w, `wheels[${i}]`);
    });
  }
  return artifacts;
}

function readRootRequirement(raw: unknown, fail: (detail: string) => never): RootRequirement {
  if (!isRecord(raw) || typeof raw.name !== 'string') return fail('a requirement has no name');
  return { name: normalizeName(raw.name), extras: readStringList(raw.extras, 'extras', fail).map(normalizeName), marker: readMarker(raw.marker, fail) };
}

/** Parses uv.lock text. `file` is app-relative, for messages and for resolving the lock's relative paths. */
export function parseUvLock(text: string, file: string): UvLockData {
  const fail: Fail = (entry, detail) => {
    throw new BuildpackError({ type: 'lock-malformed', file, tool: 'uv', entry, detail });
  };
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text);
  } catch (err) {
    return fail(undefined, `not TOML: ${(err as Error).message.split('\n')[0]}`);
  }
  const version = doc.version;
  if (version !== 1) {
    throw new BuildpackError({ type: 'lock-version-unsupported', file, tool: 'uv', found: version === undefined ? 'none (no version field)' : String(version), supported: SUPPORTED });
  }
  // Revisions add fields readers may ignore (mod.rs: REVISION = 3). A lock without `revision` was written by uv
  // 0.3 to 0.5 (uv 0.6.0 added the field); uv still reads it, as revision 0 (`wire.revision.unwrap_or(0)`), and
  // leaves it as it is while it satisfies the project. The wire format is the same; revision 0 only lacks
  // `provides-extras` and the entries of empty dependency groups, which uv then does not compare (see
  // uv-stale.ts) and, for extras, does not check a request against.
  const revision = doc.revision ?? 0;
  if (typeof revision !== 'number' || !Number.isInteger(revision) || revision < 0 || revision > 3) {
    throw new BuildpackError({ type: 'lock-version-unsupported', file, tool: 'uv', found: `1, revision ${typeof revision === 'number' ? revision : JSON.stringify(revision)}`, supported: SUPPORTED });
  }
  const requiresPython = doc['requires-python'];
  if (requiresPython === undefined && doc.revision === undefined) {
    // uv 0.2 wrote `requires-python` only when the project set it; uv has required it since 0.3 and refuses
    // such a lock ("Failed to parse `uv.lock`"): it must be written again by a current uv.
    throw new BuildpackError({ type: 'lock-version-unsupported', file, tool: 'uv', found: '1 without requires-python (written by uv 0.2)', supported: SUPPORTED });
  }
  if (typeof requiresPython !== 'string') return fail(undefined, 'requires-python is missing or not a string');
  const lockDir = path.posix.dirname(file.split(path.sep).join('/'));
  const dir = lockDir === '.' ? '' : lockDir;

  const manifest = doc.manifest === undefined ? {} : doc.manifest;
  if (!isRecord(manifest)) return fail('[manifest]', 'not a table');
  const mfail = (detail: string): never => fail('[manifest]', detail);
  const members = readStringList(manifest.members, 'members', mfail).map(normalizeName);
  const requirementsRaw = manifest.requirements ?? [];
  if (!Array.isArray(requirementsRaw)) return mfail('requirements is not a list');
  const manifestRequirements = requirementsRaw.map((r) => readRootRequirement(r, mfail));
  const groupsRaw = manifest['dependency-groups'] ?? {};
  if (!isRecord(groupsRaw)) return mfail('dependency-groups is not a table');
  const manifestGroups = new Map<string, RootRequirement[]>();
  const manifestGroupTables: Record<string, unknown[]> = {};
  for (const [group, list] of Object.entries(groupsRaw)) {
    if (!Array.isArray(list)) return mfail(`dependency-groups.${group} is not a list`);
    manifestGroups.set(normalizeName(group), list.map((r) => readRootRequirement(r, mfail)));
    manifestGroupTables[group] = list;
  }

  // uv before 0.2.35 wrote `[[distribution]]`; uv reads it as `[[package]]` (LockWire: alias = "distribution").
  if (doc.package !== undefined && doc.distribution !== undefined) return fail(undefined, 'both [[package]] and [[distribution]] are present');
  const rawPackages = doc.package ?? doc.distribution ?? [];
  if (!Array.isArray(rawPackages)) return fail(undefined, 'package is not an array of tables');
  const packages: UvPackage[] = rawPackages.map((raw, index) => {
    if (!isRecord(raw) || typeof raw.name !== 'string' || raw.name === '') return fail(`[[package]] #${index + 1}`, 'name is missing');
    const name = normalizeName(raw.name);
    if (raw.version !== undefined && typeof raw.version !== 'string') return fail(`[[package]] "${name}"`, 'version is not a string');
    const version = raw.version as string | undefined;
    const entry = `[[package]] "${name}"${version === undefined ? '' : ` ${version}`}`;
    const pfail = (detail: string): never => fail(entry, detail);
    const source = readSource(raw.source, dir, pfail);
    if (source.kind === 'index' && version === undefined) pfail('a registry package has no version');
    const pkg: UvPackage = {
      name,
      version,
      sourceKey: canonical(raw.source),
      source,
      entry,
      artifacts: readArtifacts(raw, dir, source, pfail),
      forkMarkers: readStringList(raw['resolution-markers'], 'resolution-markers', pfail).map((m) => readMarker(m, pfail) ?? TRUE_MARKER),
      dependencies: [],
      optional: new Map(),
      groups: new Map(),
      metadata: readMetadata(raw.metadata, pfail),
      rawEdges: [],
    };
    const edges = (value: unknown, where: string): UvEdge[] => {
      const list: UvEdge[] = [];
      if (value === undefined) return list;
      if (!Array.isArray(value)) return pfail(`${where} is not a list`);
      value.forEach((table, i) => {
        pkg.rawEdges.push({ list, table, where: `${where}[${i}]` });
      });
      return list;
    };
    pkg.dependencies = edges(raw.dependencies, 'dependencies');
    for (const [key, field] of [
      ['optional-dependencies', pkg.optional],
      // uv writes groups as `dev-dependencies` and reads `dependency-groups` as an alias (PackageWire).
      ['dev-dependencies', pkg.groups],
      ['dependency-groups', pkg.groups],
    ] as const) {
      const table = raw[key];
      if (table === undefined) continue;
      if (!isRecord(table)) return pfail(`${key} is not a table`);
      for (const [part, list] of Object.entries(table)) field.set(normalizeName(part), edges(list, `${key}.${part}`));
    }
    return pkg;
  });

  resolveEdges(packages, (entry, detail) => fail(entry, detail));
  return { requiresPython, revision, packages, members, manifestRequirements, manifestGroups, manifestGroupTables };
}

/** The always-true marker `resolution-markers` never holds but a parse of an empty string would. */
const TRUE_MARKER: Marker = { kind: 'compare', left: { kind: 'string', value: '' }, op: '==', right: { kind: 'string', value: '' } };

function readMetadata(raw: unknown, fail: (detail: string) => never): UvProjectMetadata {
  if (raw === undefined) return { present: false, requiresDist: [], providesExtras: undefined, requiresDev: {} };
  if (!isRecord(raw)) return fail('metadata is not a table');
  const requiresDist = raw['requires-dist'] ?? [];
  if (!Array.isArray(requiresDist)) return fail('metadata.requires-dist is not a list');
  const requiresDev = raw['requires-dev'] ?? raw['dependency-groups'] ?? {};
  if (!isRecord(requiresDev)) return fail('metadata.requires-dev is not a table');
  const groups: Record<string, unknown[]> = {};
  for (const [group, list] of Object.entries(requiresDev)) {
    if (!Array.isArray(list)) return fail(`metadata.requires-dev.${group} is not a list`);
    groups[group] = list;
  }
  const provides = raw['provides-extras'];
  return { present: true, requiresDist, providesExtras: provides === undefined ? undefined : readStringList(provides, 'metadata.provides-extras', fail), requiresDev: groups };
}

/** Matches each edge to its package as uv does (PackageIdForDependency::unwire): by name, and by version and source when given. */
function resolveEdges(packages: UvPackage[], fail: Fail): void {
  const byName = new Map<string, UvPackage[]>();
  for (const pkg of packages) {
    const list = byName.get(pkg.name) ?? [];
    list.push(pkg);
    byName.set(pkg.name, list);
  }
  for (const pkg of packages) {
    for (const { list, table, where } of pkg.rawEdges) {
      const efail = (detail: string): never => fail(pkg.entry, `${where}: ${detail}`);
      if (!isRecord(table) || typeof table.name !== 'string') throw efail('the dependency has no name');
      const name = normalizeName(table.name);
      const version = table.version;
      if (version !== undefined && typeof version !== 'string') throw efail('version is not a string');
      const sourceKey = table.source === undefined ? undefined : canonical(table.source);
      const candidates = (byName.get(name) ?? []).filter((p) => (version === undefined || p.version === version) && (sourceKey === undefined || p.sourceKey === sourceKey));
      if (candidates.length !== 1) {
        const what = `${name}${version === undefined ? '' : ` ${version}`}${sourceKey === undefined ? '' : ` from ${sourceKey}`}`;
        throw efail(candidates.length === 0 ? `no [[package]] is ${what}` : `several [[package]] entries match ${what}; the lock must give its version and source`);
      }
      list.push({ target: candidates[0] as UvPackage, extras: readStringList(table.extra, 'extra', efail).map(normalizeName), marker: readMarker(table.marker, efail) });
    }
    pkg.rawEdges = [];
  }
}

/** uv's encoding of a conflict item as an extra name (crates/uv-resolver/src/universal_marker.rs). */
const encodeExtra = (pkg: string, extra: string): string => `extra-${pkg.length}-${pkg}-${extra}`;
const encodeGroup = (pkg: string, group: string): string => `group-${pkg.length}-${pkg}-${group}`;
const encodeProject = (pkg: string): string => `project-${pkg.length}-${pkg}`;

/** Where the walk starts: the project (by its `[project] name`), or the members of a workspace root without one. */
export interface UvRoots {
  /** The project's name, or undefined for a workspace root that is no project. */
  project: string | undefined;
  /** A workspace root without [project]: the groups its pyproject.toml declares (`tool.uv.dev-dependencies` as `dev`). */
  rootGroups?: readonly string[];
}

/**
 * Refuses a requested group or extra the lock does not know, as uv does before it exports or syncs
 * (crates/uv/src/commands/project/install_target.rs `validate_groups`, `validate_extras`). Known groups: the
 * roots' `[package.metadata.requires-dev]` (and the resolved ones), and a workspace root's own groups; known
 * extras: the roots' `provides-extras`. A revision-0 lock did not write `provides-extras`: uv checks no extra
 * there, and neither does this.
 */
function checkRequested(lock: UvLockData, roots: UvRoots, rootPackages: UvPackage[], request: SelectionRequest, file: string): void {
  const knownGroups = new Set<string>();
  for (const pkg of rootPackages) {
    for (const group of Object.keys(pkg.metadata.requiresDev)) knownGroups.add(normalizeName(group));
    for (const group of pkg.groups.keys()) knownGroups.add(group);
  }
  if (roots.project === undefined) {
    for (const group of lock.manifestGroups.keys()) knownGroups.add(group);
    for (const group of roots.rootGroups ?? []) knownGroups.add(normalizeName(group));
  }
  for (const name of request.groups) {
    if (!knownGroups.has(normalizeName(name))) {
      throw new BuildpackError({ type: 'lock-unknown-selection', file, kind: 'group', name, known: [...knownGroups].sort() });
    }
  }
  if (lock.revision < 1) return;
  const knownExtras = new Set<string>();
  for (const pkg of rootPackages) for (const extra of pkg.metadata.providesExtras ?? []) knownExtras.add(normalizeName(extra));
  for (const name of request.extras) {
    if (!knownExtras.has(normalizeName(name))) {
      throw new BuildpackError({ type: 'lock-unknown-selection', file, kind: 'extra', name, known: [...knownExtras].sort() });
    }
  }
}

/**
 * The packages `uv export --no-dev` (plus `--group`/`--extra` for the requested ones) writes for `request`.
 */
export function selectUv(lock: UvLockData, roots: UvRoots, request: SelectionRequest, file: string): LockedPackage[] {
  const wantedGroups = new Set(request.groups.map(normalizeName));
  const wantedExtras = new Set(request.extras.map(normalizeName));
  const rootPackages: UvPackage[] = [];
  if (roots.project !== undefined) {
    const name = normalizeName(roots.project);
    const found = lock.packages.filter((p) => p.name === name);
    if (found.length !== 1) {
      throw new BuildpackError({ type: 'lock-malformed', file, tool: 'uv', entry: undefined, detail: found.length === 0 ? `the project ${name} has no [[package]] entry` : `the project ${name} has several [[package]] entries` });
    }
    rootPackages.push(found[0] as UvPackage);
  } else {
    // A workspace root without [project] (uv's NonProjectWorkspace target): every member is a root.
    for (const member of lock.members) {
      const found = lock.packages.find((p) => p.name === member);
      if (found === undefined) throw new BuildpackError({ type: 'lock-malformed', file, tool: 'uv', entry: '[manifest]', detail: `the member ${member} has no [[package]] entry` });
      rootPackages.push(found);
    }
  }
  checkRequested(lock, roots, rootPackages, request, file);

  // The extras and groups that are on, per package: `extra == '...'` markers on edges name them, either plainly
  // (an extra of the edge's own package) or encoded as uv's conflict items (`extra-7-project-cpu`). uv tracks
  // under which markers each is on; for one target it is a set, grown until a walk adds nothing.
  const activeExtras = new Map<string, Set<string>>();
  const encoded = new Set<string>();
  const activate = (pkg: string, extra: string): boolean => {
    const set = activeExtras.get(pkg) ?? new Set<string>();
    activeExtras.set(pkg, set);
    if (set.has(extra)) return false;
    set.add(extra);
    encoded.add(encodeExtra(pkg, extra));
    return true;
  };
  for (const root of rootPackages) {
    encoded.add(encodeProject(root.name));
    for (const extra of root.optional.keys()) if (wantedExtras.has(extra)) activate(root.name, extra);
    for (const group of root.groups.keys()) if (wantedGroups.has(group)) encoded.add(encodeGroup(root.name, group));
  }

  const holds = (marker: Marker | undefined, scope: string | undefined): boolean => {
    if (marker === undefined) return true;
    const extras = new Set(encoded);
    if (scope !== undefined) for (const e of activeExtras.get(scope) ?? []) extras.add(e);
    try {
      return evaluateMarker(marker, request.env, { extras, dependencyGroups: new Set() });
    } catch (err) {
      // A comparison packaging refuses to evaluate (src/lock/markers.ts MarkerEvaluationError).
      if (err instanceof MarkerError) throw new BuildpackError({ type: 'lock-malformed', file, tool: 'uv', entry: undefined, detail: `a marker cannot be evaluated: ${err.message}` });
      throw err;
    }
  };

  for (;;) {
    const before = encoded.size;
    const reached = new Set<UvPackage>();
    const seen = new Set<string>();
    const queue: [UvPackage, string | undefined][] = [];
    const reach = (pkg: UvPackage, extras: readonly string[]): void => {
      reached.add(pkg);
      for (const extra of [undefined, ...extras]) {
        if (extra !== undefined) activate(pkg.name, extra);
        const key = `${pkg.entry}\u0000${extra ?? ''}`;
        if (seen.has(key)) continue;
        seen.add(key);
        queue.push([pkg, extra]);
      }
    };
    for (const root of rootPackages) {
      reach(root, [...root.optional.keys()].filter((e) => wantedExtras.has(e)));
      for (const [group, edges] of root.groups) {
        if (!wantedGroups.has(group)) continue;
        // Group edges hang from uv's virtual root node: no package scope for plain `extra` markers.
        for (const edge of edges) if (holds(edge.marker, undefined)) reach(edge.target, edge.extras);
      }
    }
    // The workspace root's own requirements and groups (a root without [project]); a name locked at several
    // versions is matched by each version's resolution-markers (Lock::root_requirement_marker).
    const rootRequirements = [...lock.manifestRequirements];
    for (const [group, list] of lock.manifestGroups) if (wantedGroups.has(group)) rootRequirements.push(...list);
    if (roots.project === undefined) {
      for (const requirement of rootRequirements) {
        if (!holds(requirement.marker, undefined)) continue;
        for (const pkg of lock.packages) {
          if (pkg.name !== requirement.name) continue;
          if (pkg.forkMarkers.length > 0 && !pkg.forkMarkers.some((m) => holds(m, undefined))) continue;
          reach(pkg, requirement.extras);
        }
      }
    }
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const [pkg, extra] = next;
      const edges = extra === undefined ? pkg.dependencies : (pkg.optional.get(extra) ?? []);
      for (const edge of edges) if (holds(edge.marker, pkg.name)) reach(edge.target, edge.extras);
    }
    if (encoded.size === before) return toModel([...reached], new Set([...rootPackages.map((p) => p.name), ...lock.members]));
  }
}

function toModel(reached: UvPackage[], own: Set<string>): LockedPackage[] {
  const out: LockedPackage[] = [];
  for (const pkg of reached) {
    const source = pkg.source;
    // A virtual package (a project that is not a package, `tool.uv.package = false`) is never installed.
    if (source.kind === 'virtual') continue;
    const artifacts: LockedArtifact[] = pkg.artifacts.map((a) => ({ filename: a.filename, url: a.url, hashes: { ...a.hashes } }));
    const modelSource: LockSource = own.has(pkg.name) && source.kind === 'path' ? { kind: 'app', path: source.path, editable: source.editable } : source;
    out.push({ name: pkg.name, version: pkg.version, source: modelSource, artifacts });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : (a.version ?? '') < (b.version ?? '') ? -1 : 1));
}

/**
 * Reads `file` (app-relative) and the pyproject.toml beside it: throws lock-malformed or
 * lock-version-unsupported for a file uv would not read, lock-stale when pyproject.toml no longer matches it.
 */
export function readUvLock(appDir: string, file: string): Lockfile {
  const text = readText(appDir, file);
  const lock = parseUvLock(text, file);
  const manifest = path.posix.join(path.posix.dirname(file), 'pyproject.toml');
  const pyprojectText = readTextOrUndefined(appDir, manifest, (code) => {
    throw new BuildpackError({ type: 'lock-stale', file, tool: 'uv', manifest, command: 'uv lock', detail: `${manifest} cannot be read (${code})` });
  });
  if (pyprojectText === undefined) {
    throw new BuildpackError({ type: 'lock-stale', file, tool: 'uv', manifest, command: 'uv lock', detail: `${manifest} is missing, so nothing says what the lock was made from` });
  }
  let pyproject: Record<string, unknown>;
  try {
    pyproject = parseToml(pyprojectText);
  } catch (err) {
    throw new BuildpackError({ type: 'lock-stale', file, tool: 'uv', manifest, command: 'uv lock', detail: `${manifest} is not valid TOML (${(err as Error).message.split('\n')[0]})` });
  }
  const project = isRecord(pyproject.project) && typeof pyproject.project.name === 'string' ? pyproject.project.name : undefined;
  checkUvLockFresh(lock, pyproject, { file, manifest });
  // Workspace members are locked from their own pyproject.toml, each in the member's folder.
  for (const member of lock.members) {
    const pkg = lock.packages.find((p) => p.name === member);
    const memberPath = pkg === undefined ? undefined : 'path' in pkg.source ? pkg.source.path : undefined;
    if (pkg === undefined || memberPath === undefined || normalizeName(project ?? '') === member) continue;
    const memberManifest = path.posix.join(memberPath, 'pyproject.toml');
    const memberText = readTextOrUndefined(appDir, memberManifest, (code) => {
      throw new BuildpackError({ type: 'lock-stale', file, tool: 'uv', manifest: memberManifest, command: 'uv lock', detail: `${memberManifest} cannot be read (${code})` });
    });
    if (memberText === undefined) {
      throw new BuildpackError({ type: 'lock-stale', file, tool: 'uv', manifest: memberManifest, command: 'uv lock', detail: `the workspace member ${member} has no ${memberManifest}` });
    }
    let memberToml: Record<string, unknown>;
    try {
      memberToml = parseToml(memberText);
    } catch (err) {
      throw new BuildpackError({ type: 'lock-stale', file, tool: 'uv', manifest: memberManifest, command: 'uv lock', detail: `${memberManifest} is not valid TOML (${(err as Error).message.split('\n')[0]})` });
    }
    checkUvLockFresh(lock, memberToml, { file, manifest: memberManifest, member: true, rootSources: uvSourceNames(pyproject) });
  }
  const indexes: string[] = [];
  for (const pkg of lock.packages) if (pkg.source.kind === 'index' && pkg.source.url !== undefined && !indexes.includes(pkg.source.url)) indexes.push(pkg.source.url);
  return {
    tool: 'uv',
    file,
    requiresPython: lock.requiresPython,
    indexes,
    indexNames: uvIndexNames(pyproject),
    select: (request) => selectUv(lock, { project, rootGroups: project === undefined ? declaredGroups(pyproject) : [] }, request, file),
  };
}

/** `[[tool.uv.index]]` names by indexKey(url) (uv.lock records only the URL, without credentials). */
function uvIndexNames(pyproject: Record<string, unknown>): Map<string, string> {
  const tool = isRecord(pyproject.tool) && isRecord(pyproject.tool.uv) ? pyproject.tool.uv : {};
  const names = new Map<string, string>();
  for (const index of Array.isArray(tool.index) ? tool.index : []) {
    if (!isRecord(index) || typeof index.name !== 'string' || typeof index.url !== 'string') continue;
    names.set(indexKey(index.url), index.name); // indexKey drops credentials, as uv does writing the lock
  }
  return names;
}

/** The groups a pyproject.toml declares: `[dependency-groups]`, and `dev` for `[tool.uv] dev-dependencies` (uv's FlatDependencyGroups). */
function declaredGroups(pyproject: Record<string, unknown>): string[] {
  const groups = isRecord(pyproject['dependency-groups']) ? Object.keys(pyproject['dependency-groups']) : [];
  const tool = isRecord(pyproject.tool) && isRecord(pyproject.tool.uv) ? pyproject.tool.uv : {};
  return tool['dev-dependencies'] === undefined ? groups : [...groups, 'dev'];
}

function readText(appDir: string, file: string): string {
  const text = readTextOrUndefined(appDir, file, (code) => {
    throw new BuildpackError({ type: 'lock-malformed', file, tool: 'uv', entry: undefined, detail: `the file cannot be read (${code})` });
  });
  if (text === undefined) throw new BuildpackError({ type: 'lock-malformed', file, tool: 'uv', entry: undefined, detail: 'the file does not exist' });
  return text;
}

/** The file's text; undefined when it does not exist; `unreadable` for a folder or a file that cannot be read. */
function readTextOrUndefined(appDir: string, file: string, unreadable: (code: string) => never): string | undefined {
  try {
    return fs.readFileSync(path.join(appDir, file), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    if (code === 'ENOENT') return undefined;
    return unreadable(code);
  }
}
