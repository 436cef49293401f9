/**
 * poetry.lock (lock-version 1.1, 2.0, 2.1) read into the lock model, selecting what `poetry export` with
 * poetry-plugin-export would list for one Python and target (src/poetry_plugin_export/walker.py):
 * - 2.1 records per package its `groups` and `markers` (one string, or one per group): a package is selected
 *   when one of its groups is requested and the union of those groups' markers holds, its `extra` parts
 *   against the requested extras and the rest against the target (get_project_dependency_packages2);
 * - 1.1 and 2.0 need the graph: from pyproject.toml's dependencies of the requested groups, through each
 *   package's [package.dependencies] whose markers (extras left out) and python constraints hold, adding
 *   optional dependencies only for the extras a dependent asks for (get_project_dependency_packages).
 * Both also require the project's Python (`[metadata] python-versions`), and refuse a requested group or extra
 * the project does not declare, as Poetry does (`checkRequested`). The project itself is Poetry's
 * root package, which `poetry install` installs in develop mode unless `package-mode = false`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseToml } from '../cnb/toml.js';
import { BuildpackError } from '../failure.js';
import { evaluateMarker, type Marker, type MarkerEnvironment, MarkerSyntaxError, parseMarker } from './markers.js';
import { indexKey, type LockedArtifact, type LockedPackage, type Lockfile, type LockSource, type SelectionRequest } from './model.js';
import { acceptedContentHashes, generatorVersion } from './poetry-content-hash.js';
import { allows, allowsPython, type Constraint, ConstraintSyntaxError, parsePoetryConstraint, toPep440 } from './poetry-constraint.js';
import { normalizeName } from '../python/package-name.js';

const SUPPORTED = ['1.1', '2.0', '2.1'];
/** The hash algorithms pip's --require-hashes accepts (and the export plugin keeps). */
const HASH_ALGORITHMS = new Set(['sha256', 'sha384', 'sha512']);

type Table = Record<string, unknown>;
const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);


/** One edge of the graph: a dependency as pyproject.toml or [package.dependencies] states it. */
interface Requirement {
  name: string;
  constraint: Constraint | undefined;
  marker: Marker | undefined;
  python: Constraint | undefined;
  platform: string | undefined;
  optional: boolean;
  extras: string[];
}

interface PoetryPackage {
  name: string;
  version: string;
  optional: boolean;
  pythonVersions: Constraint;
  groups: string[] | undefined;
  /** Per group (2.1); undefined marker = any. */
  markers: Map<string, Marker | undefined>;
  dependencies: Requirement[];
  /** Extra name → names of the dependencies it enables. */
  extras: Map<string, Set<string>>;
  source: LockSource;
  artifacts: LockedArtifact[];
  entry: string;
}

class Reader {
  constructor(
    readonly file: string,
    readonly dir: string,
  ) {}

  malformed(entry: string | undefined, detail: string): never {
    throw new BuildpackError({ type: 'lock-malformed', file: this.file, tool: 'poetry', entry, detail });
  }

  string(table: Table, key: string, entry: string): string {
    const v = table[key];
    if (typeof v !== 'string') this.malformed(entry, `"${key}" must be a string`);
    return v;
  }

  optionalString(table: Table, key: string, entry: string): string | undefined {
    const v = table[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') this.malformed(entry, `"${key}" must be a string`);
    return v;
  }

  constraint(text: string, entry: string): Constraint {
    try {
      return parsePoetryConstraint(text);
    } catch (err) {
      if (err instanceof ConstraintSyntaxError) this.malformed(entry, err.message);
      throw err;
    }
  }

  marker(text: string | undefined, entry: string): Marker | undefined {
    if (text === undefined || text.trim() === '') return undefined;
    try {
      return parseMarker(text);
    } catch (err) {
      if (err instanceof MarkerSyntaxError) this.malformed(entry, `bad marker: ${err.message}`);
      throw err;
    }
  }

  /** A [package.dependencies] or [tool.poetry.dependencies] value: a constraint, a table or a list of them. */
  requirements(name: string, value: unknown, entry: string): Requirement[] {
    const values = Array.isArray(value) ? value : [value];
    return values.map((v) => {
      if (typeof v === 'string') return { name: normalizeName(name), constraint: this.constraint(v, entry), marker: undefined, python: undefined, platform: undefined, optional: false, extras: [] };
      if (!isTable(v)) this.malformed(entry, `dependency "${name}" must be a version or a table`);
      const version = this.optionalString(v, 'version', entry);
      const python = this.optionalString(v, 'python', entry);
      const extras = v.extras;
      if (extras !== undefined && (!Array.isArray(extras) || extras.some((e) => typeof e !== 'string'))) this.malformed(entry, `"extras" of "${name}" must be a list of names`);
      return {
        name: normalizeName(name),
        constraint: version === undefined ? undefined : this.constraint(version, entry),
        marker: this.marker(this.optionalString(v, 'markers', entry), entry),
        python: python === undefined ? undefined : this.constraint(python, entry),
        platform: this.optionalString(v, 'platform', entry),
        optional: v.optional === true,
        extras: ((extras as string[] | undefined) ?? []).map(normalizeName),
      };
    });
  }

  /** `flask (>=3.1,<4)`, `tomli ; python_version < '3.11'`, `requests[socks]>=2`: PEP 508 as [project] writes it. */
  pep508(text: string, entry: string): Requirement {
    const m = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*([^;]*?)\s*(?:;(.*))?$/.exec(text);
    if (m === null || m[1] === undefined) this.malformed(entry, `"${text}" is not a PEP 508 requirement`);
    const spec = (m[3] ?? '').replace(/^\((.*)\)$/, '$1').trim();
    return {
      name: normalizeName(m[1]),
      constraint: spec === '' || spec.startsWith('@') ? undefined : this.constraint(spec, entry),
      marker: this.marker(m[4], entry),
      python: undefined,
      platform: undefined,
      optional: false,
      extras: (m[2] ?? '')
        .split(',')
        .map((e) => e.trim())
        .filter((e) => e !== '')
        .map(normalizeName),
    };
  }

  /** App-relative POSIX path of a path the lock gives relative to its own folder; must stay in the app. */
  appPath(url: string, entry: string): string {
    const joined = path.posix.normalize(path.posix.join(this.dir.split(path.sep).join('/') || '.', url));
    if (path.posix.isAbsolute(url) || joined === '..' || joined.startsWith('../')) this.malformed(entry, `the path "${url}" leads outside the app`);
    return joined;
  }

  artifacts(files: unknown, entry: string, url: string | undefined): LockedArtifact[] {
    if (files === undefined) return [];
    if (!Array.isArray(files)) this.malformed(entry, '"files" must be a list');
    const out: LockedArtifact[] = [];
    for (const f of files) {
      if (!isTable(f)) this.malformed(entry, 'each of "files" must be a table {file, hash}');
      const filename = this.string(f, 'file', entry);
      const hash = this.string(f, 'hash', entry);
      const colon = hash.indexOf(':');
      // The export plugin reads a hash without an algorithm as sha256 and drops algorithms pip refuses.
      const algorithm = colon === -1 ? 'sha256' : hash.slice(0, colon).toLowerCase();
      const digest = (colon === -1 ? hash : hash.slice(colon + 1)).toLowerCase();
      const existing = out.find((a) => a.filename === filename);
      const artifact = existing ?? { filename, url, hashes: {} };
      if (HASH_ALGORITHMS.has(algorithm)) artifact.hashes[algorithm] = digest;
      if (existing === undefined) out.push(artifact);
    }
    return out;
  }

  source(info: Table, entry: string): { source: LockSource; url: string | undefined } {
    const raw = info.source;
    if (raw === undefined) return { source: { kind: 'index', url: undefined }, url: undefined };
    if (!isTable(raw)) this.malformed(entry, '[package.source] must be a table');
    const type = this.optionalString(raw, 'type', entry);
    const url = this.optionalString(raw, 'url', entry);
    const subdirectory = this.optionalString(raw, 'subdirectory', entry);
    const need = (): string => url ?? this.malformed(entry, `a "${type}" source needs a "url"`);
    switch (type) {
      case undefined:
      case 'legacy':
        return { source: { kind: 'index', url: url?.replace(/\/+$/, '') }, url: undefined };
      case 'url':
        return { source: { kind: 'url', url: need(), ...(subdirectory === undefined ? {} : { subdirectory }) }, url: need() };
      case 'git': {
        const commit = this.optionalString(raw, 'resolved_reference', entry);
        if (commit === undefined) this.malformed(entry, 'a git source needs "resolved_reference", the locked commit');
        return { source: { kind: 'git', url: need(), commit, ...(subdirectory === undefined ? {} : { subdirectory }) }, url: undefined };
      }
      case 'directory':
        return { source: { kind: 'path', path: this.appPath(need(), entry), editable: info.develop === true }, url: undefined };
      case 'file':
        return { source: { kind: 'path', path: this.appPath(need(), entry), editable: false }, url: undefined };
      default:
        return this.malformed(entry, `unknown source type "${type}"`);
    }
  }
}

/** The version part of a wheel or sdist name (`flask-3.1.3-py3-none-any.whl` → `3.1.3`). */
function fileVersion(filename: string): string | undefined {
  const base = filename.replace(/\.(whl|tar\.gz|zip|tar\.bz2|tar\.xz|tgz|egg)$/, '');
  const parts = base.split('-');
  return parts.length >= 2 ? parts[1] : undefined;
}

function readPackages(reader: Reader, doc: Table, lockVersion: string): PoetryPackage[] {
  const raw = doc.package ?? [];
  if (!Array.isArray(raw)) reader.malformed(undefined, '[[package]] must be an array of tables');
  const metadata = isTable(doc.metadata) ? doc.metadata : {};
  const metadataFiles = isTable(metadata.files) ? metadata.files : {};
  const names = new Map<string, number>();
  for (const info of raw) if (isTable(info) && typeof info.name === 'string') names.set(normalizeName(info.name), (names.get(normalizeName(info.name)) ?? 0) + 1);
  return raw.map((info, index): PoetryPackage => {
    if (!isTable(info)) reader.malformed(`[[package]] #${index + 1}`, 'must be a table');
    const entry = typeof info.name === 'string' ? `[[package]] "${info.name}"` : `[[package]] #${index + 1}`;
    const name = reader.string(info, 'name', entry);
    const version = reader.string(info, 'version', entry);
    const { source, url } = reader.source(info, entry);
    // Files: per package since lock 2.0; before, in [metadata.files] by name, for every version of that name
    // (locker.py: git, directory and url packages have none there; a file package only its own file).
    let files: unknown = info.files;
    if (files === undefined && lockVersion === '1.1' && source.kind !== 'git' && !(source.kind === 'path' && source.editable) && source.kind !== 'url') {
      const byName = metadataFiles[name] ?? metadataFiles[normalizeName(name)];
      if (byName !== undefined && !Array.isArray(byName)) reader.malformed('[metadata.files]', `"${name}" must be a list`);
      let list = (byName as unknown[] | undefined) ?? [];
      const sourceTable = isTable(info.source) ? info.source : {};
      if (sourceTable.type === 'file' && typeof sourceTable.url === 'string') {
        const own = path.posix.basename(sourceTable.url);
        list = list.filter((f) => isTable(f) && f.file === own);
      } else if (sourceTable.type === 'directory') {
        list = [];
      } else if ((names.get(normalizeName(name)) ?? 0) > 1) {
        // Several versions of one name share the list; keep the files of this version.
        list = list.filter((f) => isTable(f) && typeof f.file === 'string' && normalizeName(fileVersion(f.file) ?? '') === normalizeName(version));
      }
      files = list;
    }
    const groups = info.groups;
    if (lockVersion === '2.1' && (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string'))) reader.malformed(entry, '"groups" must be a list of group names');
    const markers = new Map<string, Marker | undefined>();
    if (Array.isArray(groups)) {
      const m = info.markers;
      for (const g of groups as string[]) {
        if (m === undefined || typeof m === 'string') markers.set(normalizeName(g), reader.marker(m, entry));
        else if (isTable(m)) markers.set(normalizeName(g), reader.marker(typeof m[g] === 'string' ? m[g] : undefined, entry));
        else reader.malformed(entry, '"markers" must be a string or a table of markers by group');
      }
    }
    const dependencies: Requirement[] = [];
    if (info.dependencies !== undefined) {
      if (!isTable(info.dependencies)) reader.malformed(entry, '[package.dependencies] must be a table');
      for (const [dep, value] of Object.entries(info.dependencies)) dependencies.push(...reader.requirements(dep, value, `${entry} dependency "${dep}"`));
    }
    const extras = new Map<string, Set<string>>();
    if (isTable(info.extras)) {
      for (const [extra, reqs] of Object.entries(info.extras)) {
        if (!Array.isArray(reqs)) reader.malformed(entry, `extra "${extra}" must be a list`);
        extras.set(normalizeName(extra), new Set(reqs.map((r) => normalizeName(/^\s*([A-Za-z0-9._-]+)/.exec(String(r))?.[1] ?? ''))));
      }
    }
    const pythonVersions = typeof info['python-versions'] === 'string' ? reader.constraint(info['python-versions'], entry) : [[]];
    return { name: normalizeName(name), version, optional: info.optional === true, pythonVersions, groups: Array.isArray(groups) ? (groups as string[]).map(normalizeName) : undefined, markers, dependencies, extras, source, artifacts: reader.artifacts(files, entry, url), entry };
  });
}

/** Comparison nodes of an and/or chain, flattened as poetry-core's MultiMarker and MarkerUnion hold them. */
function flatten(marker: Marker, kind: 'and' | 'or'): Marker[] {
  return marker.kind === kind ? [...flatten(marker.left, kind), ...flatten(marker.right, kind)] : [marker];
}

const isExtra = (m: Marker): boolean => m.kind === 'compare' && (m.left.kind === 'variable' ? m.left.name === 'extra' : m.right.kind === 'variable' && m.right.name === 'extra');

/** poetry-core `marker.without_extras()`: `extra` comparisons dropped; undefined is the marker that always holds. */
export function withoutExtras(marker: Marker | undefined): Marker | undefined {
  if (marker === undefined) return undefined;
  if (marker.kind === 'compare') return isExtra(marker) ? undefined : marker;
  const items = flatten(marker, marker.kind).filter((m) => !isExtra(m));
  const reduced = items.map(withoutExtras);
  if (marker.kind === 'and') {
    const kept = reduced.filter((m): m is Marker => m !== undefined);
    return kept.reduce<Marker | undefined>((acc, m) => (acc === undefined ? m : { kind: 'and', left: acc, right: m }), undefined);
  }
  if (reduced.length === 0 || reduced.some((m) => m === undefined)) return undefined;
  return (reduced as Marker[]).reduce((acc, m) => ({ kind: 'or', left: acc, right: m }));
}

/** poetry-core `marker.validate({"extra": extras})`: `extra` comparisons tested, every other one holds. */
function extrasAllow(marker: Marker | undefined, env: MarkerEnvironment, extras: ReadonlySet<string>): boolean {
  if (marker === undefined) return true;
  switch (marker.kind) {
    case 'and':
      return extrasAllow(marker.left, env, extras) && extrasAllow(marker.right, env, extras);
    case 'or':
      return extrasAllow(marker.left, env, extras) || extrasAllow(marker.right, env, extras);
    case 'compare':
      return isExtra(marker) ? evaluateMarker(marker, env, { extras, dependencyGroups: new Set() }) : true;
  }
}

function pep440Compare(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map((p) => Number.parseInt(p, 10));
  const pb = b.split(/[.+-]/).map((p) => Number.parseInt(p, 10));
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (Number.isNaN(pa[i] ?? 0) ? 0 : (pa[i] ?? 0)) - (Number.isNaN(pb[i] ?? 0) ? 0 : (pb[i] ?? 0));
    if (d !== 0) return d;
  }
  return 0;
}

interface Project {
  name: string | undefined;
  packageMode: boolean;
  /** Group (normalized) → its dependencies; `main` holds the project's own. */
  groups: Map<string, Requirement[]>;
  /** [tool.poetry.extras] / [project.optional-dependencies]: extra → dependency names. */
  extras: Map<string, Set<string>>;
  /** Every group pyproject.toml declares (normalized), those without dependencies too. */
  declaredGroups: Set<string>;
  sources: string[];
  /** `[[tool.poetry.source]]` names by indexKey(url): Poetry finds a source's credentials by its name. */
  sourceNames: Map<string, string>;
}

function readProject(reader: Reader, pyproject: Table, manifest: string): Project {
  const tool = isTable(pyproject.tool) && isTable(pyproject.tool.poetry) ? pyproject.tool.poetry : {};
  const project = isTable(pyproject.project) ? pyproject.project : {};
  const groups = new Map<string, Requirement[]>();
  const add = (group: string, reqs: Requirement[]): void => {
    groups.set(normalizeName(group), [...(groups.get(normalizeName(group)) ?? []), ...reqs]);
  };
  const fromTable = (group: string, deps: unknown, where: string): void => {
    if (deps === undefined) return;
    if (!isTable(deps)) reader.malformed(`${manifest} ${where}`, 'must be a table');
    for (const [name, value] of Object.entries(deps)) if (name !== 'python') add(group, reader.requirements(name, value, `${manifest} ${where} "${name}"`));
  };
  const extras = new Map<string, Set<string>>();
  if (Array.isArray(project.dependencies)) {
    // Poetry 2: [project] dependencies are the main group; [tool.poetry.dependencies] only add detail to them.
    add(
      'main',
      project.dependencies.map((d) => reader.pep508(String(d), `${manifest} [project] dependencies`)),
    );
  } else {
    fromTable('main', tool.dependencies, '[tool.poetry.dependencies]');
  }
  if (isTable(project['optional-dependencies'])) {
    for (const [extra, list] of Object.entries(project['optional-dependencies'])) {
      if (!Array.isArray(list)) continue;
      const reqs = list.map((d) => ({ ...reader.pep508(String(d), `${manifest} [project.optional-dependencies]`), optional: true }));
      extras.set(normalizeName(extra), new Set(reqs.map((r) => r.name)));
      add('main', reqs);
    }
  }
  if (isTable(tool.extras)) for (const [extra, list] of Object.entries(tool.extras)) if (Array.isArray(list)) extras.set(normalizeName(extra), new Set(list.map((n) => normalizeName(String(n)))));
  fromTable('dev', tool['dev-dependencies'], '[tool.poetry.dev-dependencies]');
  if (isTable(tool.group)) for (const [group, def] of Object.entries(tool.group)) if (isTable(def)) fromTable(group, def.dependencies, `[tool.poetry.group.${group}.dependencies]`);
  if (isTable(pyproject['dependency-groups'])) {
    for (const [group, list] of Object.entries(pyproject['dependency-groups'])) {
      if (Array.isArray(list)) add(group, list.filter((d) => typeof d === 'string').map((d) => reader.pep508(d, `${manifest} [dependency-groups] ${group}`)));
    }
  }
  // poetry-core's Factory makes a group of each [dependency-groups] and [tool.poetry.group.<name>] table, with or
  // without dependencies, and `dev` of [tool.poetry.dev-dependencies]; Poetry refuses any other (below).
  const declaredGroups = new Set<string>(['main', ...groups.keys()]);
  if (tool['dev-dependencies'] !== undefined) declaredGroups.add('dev');
  if (isTable(tool.group)) for (const group of Object.keys(tool.group)) declaredGroups.add(normalizeName(group));
  if (isTable(pyproject['dependency-groups'])) for (const group of Object.keys(pyproject['dependency-groups'])) declaredGroups.add(normalizeName(group));
  const name = typeof project.name === 'string' ? project.name : typeof tool.name === 'string' ? tool.name : undefined;
  const sourceTables = Array.isArray(tool.source) ? tool.source.filter(isTable) : [];
  const sources = sourceTables.map((s) => (typeof s.url === 'string' ? indexKey(s.url) : ''));
  const sourceNames = new Map(sourceTables.flatMap((s) => (typeof s.url === 'string' && typeof s.name === 'string' ? [[indexKey(s.url), s.name] as const] : [])));
  return { name, packageMode: tool['package-mode'] !== false, groups, extras, declaredGroups, sources, sourceNames };
}

/** Runs a marker evaluation; a comparison the evaluator refuses is the lock's fault, named by `entry`. */
function guarded<T>(reader: Reader, entry: string | undefined, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof BuildpackError) throw err;
    return reader.malformed(entry, `a marker cannot be evaluated: ${(err as Error).message}`);
  }
}

function requirementHolds(req: Requirement, env: MarkerEnvironment): boolean {
  if (req.python !== undefined && !allowsPython(req.python, env.python_version, env.python_full_version)) return false;
  if (req.platform !== undefined && req.platform !== env.sys_platform) return false;
  return evaluateMarker(withoutExtras(req.marker), env);
}

/** get_locked_package: the locked package of that name fitting the constraint and this Python, highest first. */
function pick(candidates: PoetryPackage[], req: Requirement, env: MarkerEnvironment): PoetryPackage | undefined {
  if (candidates.length <= 1) return candidates[0];
  const sorted = [...candidates].sort((a, b) => pep440Compare(b.version, a.version));
  const fits = sorted.filter((p) => req.constraint === undefined || allows(req.constraint, p.version));
  return fits.find((p) => allowsPython(p.pythonVersions, env.python_version, env.python_full_version)) ?? fits[0] ?? sorted[0];
}

function walk(reader: Reader, packages: PoetryPackage[], project: Project, lockExtras: Map<string, Set<string>>, request: SelectionRequest): PoetryPackage[] {
  const byName = new Map<string, PoetryPackage[]>();
  for (const p of packages) byName.set(p.name, [...(byName.get(p.name) ?? []), p]);
  const env = request.env;
  const requested = new Set(request.extras.map(normalizeName));
  // get_extra_package_names: every package the requested extras reach.
  const extraNames = new Set<string>();
  const pending = [...requested].flatMap((e) => [...(lockExtras.get(e) ?? project.extras.get(e) ?? [])]);
  while (pending.length > 0) {
    const name = normalizeName(pending.pop() ?? '');
    if (extraNames.has(name)) continue;
    extraNames.add(name);
    for (const p of byName.get(name) ?? []) for (const d of p.dependencies) pending.push(d.name);
  }
  const groups = ['main', ...request.groups.map(normalizeName)];
  const roots: Requirement[] = [];
  for (const group of new Set(groups)) {
    for (const req of project.groups.get(group) ?? []) {
      const locked = pick(byName.get(req.name) ?? [], req, env);
      if (locked === undefined) continue;
      if (locked.optional && !extraNames.has(locked.name)) continue;
      roots.push(req);
    }
  }
  const selected = new Map<string, { pkg: PoetryPackage; features: Set<string> }>();
  const queue = roots.filter((r) => guarded(reader, undefined, () => requirementHolds(r, env))).map((r) => ({ req: r, from: undefined as string | undefined }));
  while (queue.length > 0) {
    const { req, from } = queue.shift() as { req: Requirement; from: string | undefined };
    if (req.name === (project.name === undefined ? undefined : normalizeName(project.name))) continue;
    const seen = selected.get(req.name);
    const pkg = seen?.pkg ?? pick(byName.get(req.name) ?? [], req, env);
    if (pkg === undefined) reader.malformed(from, `its dependency "${req.name}" is not locked`);
    const features = seen?.features ?? new Set<string>();
    const added = req.extras.filter((e) => !features.has(e));
    if (seen !== undefined && added.length === 0) continue;
    for (const e of added) features.add(e);
    selected.set(req.name, { pkg, features });
    for (const dep of pkg.dependencies) {
      if (dep.optional && ![...features].some((f) => pkg.extras.get(f)?.has(dep.name))) continue;
      if (guarded(reader, pkg.entry, () => requirementHolds(dep, env))) queue.push({ req: dep, from: pkg.entry });
    }
  }
  return [...selected.values()].map((s) => s.pkg);
}

function select2(reader: Reader, packages: PoetryPackage[], request: SelectionRequest): PoetryPackage[] {
  const groups = new Set(['main', ...request.groups.map(normalizeName)]);
  const extras = new Set(request.extras.map(normalizeName));
  return packages.filter((p) => {
    const active = (p.groups ?? []).filter((g) => groups.has(g));
    if (active.length === 0) return false;
    // TransitivePackageInfo.get_marker: the union of the requested groups' markers.
    const markers = active.map((g) => p.markers.get(g));
    const union = markers.some((m) => m === undefined) ? undefined : (markers as Marker[]).reduce((a, m) => ({ kind: 'or', left: a, right: m }));
    return guarded(reader, p.entry, () => extrasAllow(union, request.env, extras) && evaluateMarker(withoutExtras(union), request.env));
  });
}

/**
 * Requested groups and extras must be the project's, as Poetry requires: `poetry export --with nosuch` and
 * `poetry install --with nosuch` stop with "Group(s) not found: nosuch (via --with)" (poetry
 * console/commands/group_command.py `_validate_group_options`, since Poetry 1.5), `--extras nosuch` with
 * "Extra [nosuch] is not specified." (poetry-plugin-export command.py, poetry installation/installer.py). Both
 * compare canonicalized names (PEP 503), so `Docs` is the group `docs`. The known groups are pyproject.toml's
 * and, in lock 2.1, those the lock records; `main` is always known. The known extras are pyproject.toml's and
 * the lock's `[extras]`.
 */
function checkRequested(reader: Reader, packages: PoetryPackage[], project: Project, lockExtras: Map<string, Set<string>>, request: SelectionRequest): void {
  const groups = new Set(project.declaredGroups);
  for (const p of packages) for (const g of p.groups ?? []) groups.add(g);
  for (const name of request.groups) {
    if (!groups.has(normalizeName(name))) throw new BuildpackError({ type: 'lock-unknown-selection', file: reader.file, kind: 'group', name, known: [...groups].sort() });
  }
  const extras = new Set([...project.extras.keys(), ...lockExtras.keys()]);
  for (const name of request.extras) {
    if (!extras.has(normalizeName(name))) throw new BuildpackError({ type: 'lock-unknown-selection', file: reader.file, kind: 'extra', name, known: [...extras].sort() });
  }
}

function readText(reader: Reader, appDir: string, rel: string): string | undefined {
  try {
    return fs.readFileSync(path.join(appDir, rel), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return reader.malformed(undefined, `cannot read ${rel}: ${(err as Error).message}`);
  }
}

function parse(reader: Reader, text: string, file: string): Table {
  try {
    return parseToml(text) as Table;
  } catch (err) {
    return reader.malformed(undefined, `${file} is not TOML: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** Reads `file` (app-relative) and the pyproject.toml beside it; checks the lock is fresh. */
export function readPoetryLock(appDir: string, file: string): Lockfile {
  const dir = path.posix.dirname(file.split(path.sep).join('/'));
  const reader: Reader = new Reader(file, dir === '.' ? '' : dir);
  const text = readText(reader, appDir, file);
  if (text === undefined) reader.malformed(undefined, 'the file does not exist');
  const doc = parse(reader, text, file);
  const metadata = isTable(doc.metadata) ? doc.metadata : reader.malformed('[metadata]', 'the table is missing');
  const lockVersion = metadata['lock-version'];
  if (typeof lockVersion !== 'string' || !SUPPORTED.includes(lockVersion)) {
    throw new BuildpackError({ type: 'lock-version-unsupported', file, tool: 'poetry', found: typeof lockVersion === 'string' ? lockVersion : 'none', supported: 'poetry.lock lock-version 1.1, 2.0 and 2.1' });
  }
  const manifest = path.posix.join(dir, 'pyproject.toml');
  const manifestText = readText(reader, appDir, manifest);
  if (manifestText === undefined) reader.malformed(undefined, `there is no ${manifest} beside it; Poetry needs both`);
  const pyproject = parse(reader, manifestText, manifest);

  // Item 5: the lock is fresh when its content-hash is one a Poetry reading it would compute (locker.py is_fresh).
  const command = lockVersion === '2.1' ? 'poetry lock' : 'poetry lock --no-update';
  const contentHash = metadata['content-hash'];
  if (typeof contentHash !== 'string') {
    throw new BuildpackError({ type: 'lock-stale', file, tool: 'poetry', manifest, command, detail: '[metadata] has no content-hash to compare' });
  }
  const accepted = acceptedContentHashes(pyproject, lockVersion, generatorVersion(text));
  if (!accepted.includes(contentHash.toLowerCase())) {
    throw new BuildpackError({
      type: 'lock-stale',
      file,
      tool: 'poetry',
      manifest,
      command,
      detail: `its content-hash ${contentHash.slice(0, 12)}… is not the hash of the dependencies in ${manifest} (${(accepted[0] ?? '').slice(0, 12)}…)`,
    });
  }

  const packages = readPackages(reader, doc, lockVersion);
  const project = readProject(reader, pyproject, manifest);
  const lockExtras = new Map<string, Set<string>>();
  if (isTable(doc.extras)) for (const [e, list] of Object.entries(doc.extras)) if (Array.isArray(list)) lockExtras.set(normalizeName(e), new Set(list.map((n) => normalizeName(String(n).split(/[\s[(<>=!~;]/)[0] ?? ''))));
  const pythonText = typeof metadata['python-versions'] === 'string' ? metadata['python-versions'] : '*';
  const python = reader.constraint(pythonText, '[metadata] python-versions');
  const pep440 = toPep440(python);

  const indexes: string[] = [];
  const lockIndexes = packages.flatMap((p) => (p.source.kind === 'index' && p.source.url !== undefined ? [p.source.url] : []));
  for (const url of [...project.sources.filter((s) => lockIndexes.includes(s)), ...lockIndexes]) if (!indexes.includes(url)) indexes.push(url);

  const projectName = project.name;
  if (project.packageMode && projectName === undefined) reader.malformed(`${manifest} [project]`, 'the project has no name; Poetry needs one unless [tool.poetry] package-mode = false');
  const version = (isTable(pyproject.project) && typeof pyproject.project.version === 'string' ? pyproject.project.version : undefined) ?? (isTable(pyproject.tool) && isTable(pyproject.tool.poetry) && typeof pyproject.tool.poetry.version === 'string' ? pyproject.tool.poetry.version : undefined);

  return {
    tool: 'poetry',
    file,
    requiresPython: pep440 === '' ? undefined : pep440,
    indexes,
    indexNames: project.sourceNames,
    select(request: SelectionRequest): LockedPackage[] {
      checkRequested(reader, packages, project, lockExtras, request);
      const chosen = allowsPython(python, request.env.python_version, request.env.python_full_version) ? (lockVersion === '2.1' ? select2(reader, packages, request) : walk(reader, packages, project, lockExtras, request)) : [];
      const out: LockedPackage[] = chosen.map((p) => ({ name: p.name, version: p.version, source: p.source, artifacts: p.artifacts.map((a) => ({ ...a, hashes: { ...a.hashes } })) }));
      if (project.packageMode && projectName !== undefined) out.push({ name: normalizeName(projectName), version, source: { kind: 'app', path: dir, editable: true }, artifacts: [] });
      return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
  };
}
