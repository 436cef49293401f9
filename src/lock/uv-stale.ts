/**
 * Whether uv.lock still matches its pyproject.toml, for the fields `uv lock --check` compares and the buildpack
 * can read without building anything (crates/uv-resolver/src/lock/mod.rs `Lock::satisfies` and
 * crates/uv/src/commands/project/lock.rs `ValidatedLock::validate`):
 * - `requires-python`: uv re-resolves when the range of the project's requires-python differs from the lock's
 *   (`RequiresPython::range`, the bounds; `!=` holes do not count);
 * - `[project] dependencies` and `optional-dependencies`, against the project package's
 *   `[package.metadata] requires-dist` (optional ones carry `extra == '<name>'`), and the extras' names against
 *   `provides-extras`;
 * - `[dependency-groups]` (with `include-group` expanded) and `[tool.uv] dev-dependencies` (the `dev` group),
 *   against `requires-dev` (for a workspace root without `[project]`: `[manifest] dependency-groups`).
 * uv compares requirements after `normalize_requirement`: extras sorted, markers simplified against the lock's
 * requires-python. Markers are compared here by what they mean, not how they are written (uv rewrites
 * `python_version > '3.11'` as `python_full_version >= '3.12'`): two markers are the same when they agree in
 * every environment built from the values either one mentions, within requires-python.
 * A revision-0 lock (no `revision` field, uv before 0.6) has no `provides-extras` and leaves empty groups out, so
 * uv compares neither there (`supports_provides_extra`, `includes_empty_groups`); empty groups of a workspace
 * root without `[project]` are never compared.
 * A dependency named in `[tool.uv.sources]` is lowered by uv into a git, path, URL, index or workspace source
 * (possibly one per source marker); for those only the name is compared, since the lowering needs the
 * workspace. Dependencies, extras or groups the project declares `dynamic` are not compared (uv builds the
 * project to know them). Workspace members' own pyproject.toml files are not read.
 */
import { satisfies } from '@renovatebot/pep440';
import { BuildpackError } from '../failure.js';
import { evaluateMarker, type Marker, MarkerError, MarkerSyntaxError, markerEnvironment, type MarkerEnvironment, parseMarker } from './markers.js';
import { normalizeName } from '../python/package-name.js';

/** `[package.metadata]` of a uv.lock package, as read. */
export interface UvProjectMetadata {
  present: boolean;
  requiresDist: unknown[];
  providesExtras: string[] | undefined;
  requiresDev: Record<string, unknown[]>;
}

/** What the check reads of a parsed uv.lock (src/lock/uv.ts UvLockData). */
export interface UvLockManifest {
  requiresPython: string;
  /** The lock's `revision` (0 when the file has none): revision 0 has no `provides-extras` and no empty groups. */
  revision: number;
  packages: readonly { name: string; source: { kind: string; editable?: boolean }; metadata: UvProjectMetadata }[];
  /** `[manifest] dependency-groups`: the groups of a workspace root without `[project]`. */
  manifestGroupTables: Record<string, unknown[]>;
}

interface Requirement {
  name: string;
  extras: string[];
  specifier: string;
  direct: boolean;
  marker: Marker | undefined;
  /** As the user wrote it, for messages. */
  text: string;
}


function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

class Mismatch extends Error {}

/** Normalizes a PEP 440 specifier set: clauses sorted, release versions without trailing zeros (`>=2.0` is `>=2`). */
export function normalizeSpecifier(spec: string): string {
  const clauses = spec
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '')
    .map((clause) => {
      const match = /^(~=|===|==|!=|<=|>=|<|>)\s*(.+)$/.exec(clause);
      if (match === null) return clause.replace(/\s+/g, '');
      const op = match[1] as string;
      let version = (match[2] as string).trim();
      if (op === '===') return op + version;
      version = version.toLowerCase().replace(/^v/, '');
      if (op !== '~=' && /^\d+(\.\d+)*$/.test(version)) version = version.replace(/(\.0+)+$/, '').replace(/^0+(\d)/, '$1');
      return op + version;
    });
  return clauses.sort().join(',');
}

/** A PEP 508 requirement string from pyproject.toml. */
export function parseRequirementString(text: string): Requirement {
  const match = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[([^\]]*)\])?\s*([\s\S]*)$/.exec(text);
  if (match === null) throw new Mismatch(`${JSON.stringify(text)} is not a PEP 508 requirement`);
  const extras = (match[2] ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '')
    .map(normalizeName)
    .sort();
  let rest = (match[3] ?? '').trim();
  let direct = false;
  let markerText: string | undefined;
  let specifier = '';
  if (rest.startsWith('@')) {
    direct = true;
    // PEP 508: a URL ends at whitespace; a marker after it follows `;`.
    const semi = /\s;/.exec(rest);
    markerText = semi === null ? undefined : rest.slice(semi.index + 2);
  } else {
    const semi = rest.indexOf(';');
    if (semi !== -1) {
      markerText = rest.slice(semi + 1);
      rest = rest.slice(0, semi);
    }
    specifier = normalizeSpecifier(rest.trim().replace(/^\(([\s\S]*)\)$/, '$1'));
  }
  return { name: normalizeName(match[1] as string), extras, specifier, direct, marker: marker(markerText, text), text: text.trim() };
}

function marker(text: string | undefined, where: string): Marker | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  try {
    return parseMarker(text);
  } catch (err) {
    if (err instanceof MarkerSyntaxError) throw new Mismatch(`the marker of ${JSON.stringify(where)} is not a PEP 508 marker`);
    throw err;
  }
}

/** A requirement as uv writes it in `requires-dist` / `requires-dev` / `[manifest]`. */
function lockRequirement(raw: unknown): Requirement {
  if (!isRecord(raw) || typeof raw.name !== 'string') throw new Mismatch('the lock has a requirement without a name');
  const extras = Array.isArray(raw.extras) ? raw.extras.filter((e): e is string => typeof e === 'string').map(normalizeName).sort() : [];
  const direct = ['url', 'git', 'path', 'directory', 'editable', 'virtual'].some((k) => k in raw);
  const specifier = typeof raw.specifier === 'string' ? normalizeSpecifier(raw.specifier) : '';
  const markerText = typeof raw.marker === 'string' ? raw.marker : undefined;
  const text = `${raw.name}${extras.length > 0 ? `[${extras.join(',')}]` : ''}${specifier}${markerText === undefined ? '' : ` ; ${markerText}`}`;
  return { name: normalizeName(raw.name), extras, specifier, direct, marker: marker(markerText, text), text };
}

/** `(a) and extra == "x"`: how an optional dependency is written in requires-dist. */
function withExtra(req: Requirement, extra: string): Requirement {
  const extraMarker: Marker = { kind: 'compare', left: { kind: 'variable', name: 'extra' }, op: '==', right: { kind: 'string', value: extra } };
  return { ...req, marker: req.marker === undefined ? extraMarker : { kind: 'and', left: req.marker, right: extraMarker }, text: `${req.text} (extra ${extra})` };
}

// ---- Markers compared by meaning -------------------------------------------------------------------------------

type Atom = { variable: string; value: string };

function atoms(m: Marker | undefined, out: Atom[]): Atom[] {
  if (m === undefined) return out;
  if (m.kind !== 'compare') {
    atoms(m.left, out);
    atoms(m.right, out);
    return out;
  }
  if (m.left.kind === 'variable' && m.right.kind === 'string') out.push({ variable: m.left.name, value: m.right.value });
  else if (m.right.kind === 'variable' && m.left.kind === 'string') out.push({ variable: m.right.name, value: m.left.value });
  return out;
}

/** Versions on both sides of `v`'s boundaries: v itself, just above and just below it. */
function around(v: string): string[] {
  const release = v.replace(/\.\*$/, '').split('.').map(Number);
  if (release.some((n) => !Number.isInteger(n) || n < 0)) return [];
  while (release.length < 3) release.push(0);
  const up = [...release];
  up[up.length - 1] = (up[up.length - 1] as number) + 1;
  const minorUp = [release[0] as number, (release[1] as number) + 1, 0];
  const out = [release.join('.'), up.join('.'), minorUp.join('.'), `${release.join('.')}.1`];
  const nonzero = release.map((n, i) => (n > 0 ? i : -1)).filter((i) => i >= 0);
  const last = nonzero[nonzero.length - 1];
  if (last !== undefined) {
    const down = release.slice(0, last + 1);
    down[last] = (down[last] as number) - 1;
    while (down.length < 3) down.push(999);
    out.push(down.join('.'));
  }
  return out;
}

/** Python versions that tell apart any two specifiers or markers mentioning `versions`. */
function pythonCandidates(versions: string[], requiresPython: string | undefined): string[] {
  const all = new Set<string>();
  for (const v of versions) for (const c of around(v)) all.add(c);
  const inRange = [...all].filter((v) => requiresPython === undefined || safeSatisfies(v, requiresPython));
  return inRange.length > 0 ? inRange : ['3.12.0'];
}

function safeSatisfies(version: string, spec: string): boolean {
  try {
    return satisfies(version, spec, { prereleases: true });
  } catch {
    return false;
  }
}

const MAX_ENVIRONMENTS = 20000;
const PYTHON = new Set(['python_version', 'python_full_version']);

/** Whether `a` and `b` hold in the same environments within `requiresPython` (undefined markers hold always). */
export function sameMarker(a: Marker | undefined, b: Marker | undefined, requiresPython: string | undefined): boolean {
  if (a === undefined && b === undefined) return true;
  const found = atoms(b, atoms(a, []));
  const pythonVersions = found.filter((x) => PYTHON.has(x.variable)).map((x) => x.value);
  for (const spec of (requiresPython ?? '').split(',')) {
    const m = /[\d.*]+/.exec(spec);
    if (m !== null) pythonVersions.push(m[0]);
  }
  const dimensions = new Map<string, string[]>();
  const hasPython = found.some((x) => PYTHON.has(x.variable));
  if (hasPython) dimensions.set('python', pythonCandidates(pythonVersions, requiresPython));
  for (const { variable, value } of found) {
    if (PYTHON.has(variable)) continue;
    const key = variable === 'extras' || variable === 'dependency_groups' ? variable : variable;
    const list = dimensions.get(key) ?? ['\u0000none'];
    if (!list.includes(value)) list.push(value);
    dimensions.set(key, list);
  }
  const keys = [...dimensions.keys()];
  let total = 1;
  for (const k of keys) total *= (dimensions.get(k) as string[]).length;
  if (total > MAX_ENVIRONMENTS) return true; // Too many to enumerate: do not call a lock stale on a guess.
  const base: MarkerEnvironment = markerEnvironment(requiresPython === undefined ? '3.12.0' : (pythonCandidates(pythonVersions, requiresPython)[0] ?? '3.12.0'), 'amd64');
  const choice = new Array<number>(keys.length).fill(0);
  for (let n = 0; n < total; n++) {
    let rest = n;
    keys.forEach((k, i) => {
      const size = (dimensions.get(k) as string[]).length;
      choice[i] = rest % size;
      rest = Math.floor(rest / size);
    });
    const env: MarkerEnvironment = { ...base };
    const extras = new Set<string>();
    const groups = new Set<string>();
    keys.forEach((k, i) => {
      const value = (dimensions.get(k) as string[])[choice[i] as number] as string;
      const none = value === '\u0000none';
      if (k === 'python') {
        env.python_full_version = value;
        env.python_version = value.split('.').slice(0, 2).join('.');
      } else if (k === 'extra' || k === 'extras') {
        if (!none) extras.add(value);
      } else if (k === 'dependency_groups') {
        if (!none) groups.add(value);
      } else {
        (env as unknown as Record<string, string>)[k] = none ? '\u0000' : value;
      }
    });
    const context = { extras, dependencyGroups: groups };
    // A comparison packaging refuses (MarkerEvaluationError) is an outcome of its own: refused on both sides is the same.
    const outcome = (m: Marker | undefined): boolean | 'refused' => {
      try {
        return evaluateMarker(m, env, context);
      } catch (err) {
        if (err instanceof MarkerError) return 'refused';
        throw err;
      }
    };
    if (outcome(a) !== outcome(b)) return false;
  }
  return true;
}

/** Whether two requires-python specifiers bound the same range (uv compares `RequiresPython::range`). */
export function sameRequiresPython(a: string, b: string): boolean {
  const bounds = (s: string): string =>
    s
      .split(',')
      .map((c) => c.trim())
      .filter((c) => c !== '' && !c.startsWith('!='))
      .join(',');
  const left = bounds(a);
  const right = bounds(b);
  const versions = [...`${left},${right}`.matchAll(/\d+(\.\d+)*(\.\*)?/g)].map((m) => m[0]);
  for (const v of pythonCandidates(versions, undefined)) {
    if ((left === '' || safeSatisfies(v, left)) !== (right === '' || safeSatisfies(v, right))) return false;
  }
  return true;
}

// ---- Requirement lists -----------------------------------------------------------------------------------------

/**
 * Compares two requirement lists as uv compares sets of normalized requirements; `sourced` names are compared by
 * name only. Returns what differs, or undefined.
 */
function compareRequirements(expected: Requirement[], actual: Requirement[], sourced: Set<string>, requiresPython: string): string | undefined {
  const expectedNames = new Set(expected.filter((r) => sourced.has(r.name)).map((r) => r.name));
  const actualNames = new Set(actual.filter((r) => sourced.has(r.name)).map((r) => r.name));
  for (const name of expectedNames) if (!actualNames.has(name)) return `${name} is not in the lock`;
  for (const name of actualNames) if (!expectedNames.has(name)) return `the lock has ${name}, which pyproject.toml no longer names`;
  const key = (r: Requirement): string => `${r.name}[${r.extras.join(',')}]${r.specifier}${r.direct ? '@' : ''}`;
  const left = actual.filter((r) => !sourced.has(r.name));
  for (const want of expected.filter((r) => !sourced.has(r.name))) {
    const index = left.findIndex((have) => key(have) === key(want) && sameMarker(have.marker, want.marker, requiresPython));
    if (index === -1) {
      const sameName = left.find((have) => have.name === want.name);
      return sameName === undefined ? `${want.text} is not in the lock` : `${want.text} is locked as ${sameName.text}`;
    }
    left.splice(index, 1);
  }
  const extra = left[0];
  if (extra !== undefined) return `the lock has ${extra.text}, which pyproject.toml no longer names`;
  return undefined;
}

/** `[dependency-groups]` with `include-group` expanded, plus `[tool.uv] dev-dependencies` as `dev` (PEP 735). */
function pyprojectGroups(pyproject: Record<string, unknown>): Map<string, Requirement[]> {
  const raw = isRecord(pyproject['dependency-groups']) ? pyproject['dependency-groups'] : {};
  const byName = new Map<string, unknown[]>();
  for (const [name, list] of Object.entries(raw)) byName.set(normalizeName(name), Array.isArray(list) ? list : []);
  const flatten = (group: string, stack: string[]): Requirement[] => {
    if (stack.includes(group)) throw new Mismatch(`the dependency group ${group} includes itself`);
    const out: Requirement[] = [];
    for (const item of byName.get(group) ?? []) {
      if (typeof item === 'string') out.push(parseRequirementString(item));
      else if (isRecord(item) && typeof item['include-group'] === 'string') out.push(...flatten(normalizeName(item['include-group']), [...stack, group]));
      else throw new Mismatch(`the dependency group ${group} has an entry that is neither a requirement nor an include-group`);
    }
    return out;
  };
  const groups = new Map<string, Requirement[]>();
  for (const name of byName.keys()) groups.set(name, flatten(name, []));
  const tool = isRecord(pyproject.tool) && isRecord(pyproject.tool.uv) ? pyproject.tool.uv : {};
  const dev = tool['dev-dependencies'];
  if (Array.isArray(dev)) {
    groups.set('dev', [...(groups.get('dev') ?? []), ...dev.filter((d): d is string => typeof d === 'string').map(parseRequirementString)]);
  }
  return groups;
}

/**
 * `ignoreEmpty`: leave empty groups out on both sides, as uv does for `[manifest] dependency-groups` always and
 * for a package's groups in a revision-0 lock, which did not write them (mod.rs `includes_empty_groups`).
 */
function compareGroups(expected: Map<string, Requirement[]>, actual: Record<string, unknown[]>, sourced: Set<string>, requiresPython: string, ignoreEmpty: boolean): string | undefined {
  const actualGroups = new Map<string, Requirement[]>();
  for (const [name, list] of Object.entries(actual)) actualGroups.set(normalizeName(name), list.map(lockRequirement));
  if (ignoreEmpty) {
    for (const [name, list] of [...expected]) if (list.length === 0) expected.delete(name);
    for (const [name, list] of [...actualGroups]) if (list.length === 0) actualGroups.delete(name);
  }
  for (const name of expected.keys()) if (!actualGroups.has(name)) return `the dependency group ${name} is not in the lock`;
  for (const name of actualGroups.keys()) if (!expected.has(name)) return `the lock has the dependency group ${name}, which pyproject.toml no longer declares`;
  for (const [name, list] of expected) {
    const diff = compareRequirements(list, actualGroups.get(name) ?? [], sourced, requiresPython);
    if (diff !== undefined) return `dependency group ${name}: ${diff}`;
  }
  return undefined;
}

/** The names `[tool.uv.sources]` lowers, PEP 503 normalized. */
export function uvSourceNames(pyproject: Record<string, unknown>): string[] {
  const tool = isRecord(pyproject.tool) && isRecord(pyproject.tool.uv) ? pyproject.tool.uv : {};
  return Object.keys(isRecord(tool.sources) ? tool.sources : {}).map(normalizeName);
}

/**
 * Throws lock-stale when `pyproject` no longer matches `lock`. `member`: the pyproject.toml is a workspace
 * member's, not the root's (its requires-python is one of several uv intersects, and whether it is a package
 * depends on the other members: neither is compared).
 */
export function checkUvLockFresh(lock: UvLockManifest, pyproject: Record<string, unknown>, where: { file: string; manifest: string; member?: boolean; rootSources?: readonly string[] }): void {
  const stale = (detail: string): never => {
    throw new BuildpackError({ type: 'lock-stale', file: where.file, tool: 'uv', manifest: where.manifest, command: 'uv lock', detail });
  };
  try {
    const diff = difference(lock, pyproject, where.member === true, where.rootSources ?? []);
    if (diff !== undefined) stale(diff);
  } catch (err) {
    if (err instanceof Mismatch) stale(err.message);
    throw err;
  }
}

function difference(lock: UvLockManifest, pyproject: Record<string, unknown>, member: boolean, rootSources: readonly string[]): string | undefined {
  const project = isRecord(pyproject.project) ? pyproject.project : undefined;
  const tool = isRecord(pyproject.tool) && isRecord(pyproject.tool.uv) ? pyproject.tool.uv : {};
  // A member also takes the workspace root's `[tool.uv.sources]` (uv: a member's own entry wins, the root's applies otherwise).
  const sourced = new Set([...uvSourceNames(pyproject), ...rootSources]);
  const groups = pyprojectGroups(pyproject);
  if (project === undefined) {
    // A workspace root that is no project: its groups are the lock's `[manifest] dependency-groups`.
    return compareGroups(groups, lock.manifestGroupTables, sourced, lock.requiresPython, true);
  }
  const requiresPython = project['requires-python'];
  if (!member && typeof requiresPython === 'string' && !sameRequiresPython(requiresPython, lock.requiresPython)) {
    return `requires-python is ${requiresPython} in pyproject.toml but ${lock.requiresPython} in the lock`;
  }
  if (typeof project.name !== 'string') return undefined;
  const name = normalizeName(project.name);
  const pkg = lock.packages.find((p) => p.name === name);
  if (pkg === undefined) return `the project ${name} is not in the lock`;
  if (!member) {
    // uv's MismatchedVirtual / MismatchedEditable: the project is a package (installed, editable) when
    // `[tool.uv] package` says so, else when it has a `[build-system]` (uv-workspace PyProjectToml::is_package).
    const packageSetting = tool.package;
    const isPackage = typeof packageSetting === 'boolean' ? packageSetting : isRecord(pyproject['build-system']);
    const locked = pkg.source.kind === 'virtual' ? 'virtual' : pkg.source.editable === true ? 'editable' : 'not editable';
    if (isPackage && locked !== 'editable') return `the project is a package in pyproject.toml (installed, editable) but ${locked} in the lock`;
    if (!isPackage && locked !== 'virtual') return `the project is not a package in pyproject.toml (never installed) but ${locked} in the lock`;
  }
  const dynamic = Array.isArray(project.dynamic) ? project.dynamic : [];
  if (!dynamic.includes('dependencies') && !dynamic.includes('optional-dependencies')) {
    const expected: Requirement[] = [];
    const deps = project.dependencies ?? [];
    if (!Array.isArray(deps)) throw new Mismatch('[project] dependencies is not a list');
    for (const d of deps) if (typeof d === 'string') expected.push(parseRequirementString(d));
    const optional = isRecord(project['optional-dependencies']) ? project['optional-dependencies'] : {};
    for (const [extra, list] of Object.entries(optional)) {
      if (!Array.isArray(list)) continue;
      for (const d of list) if (typeof d === 'string') expected.push(withExtra(parseRequirementString(d), normalizeName(extra)));
    }
    const diff = compareRequirements(expected, pkg.metadata.requiresDist.map(lockRequirement), sourced, lock.requiresPython);
    // uv 0.2 wrote no [package.metadata]; uv compares the project's requirements with none and locks again.
    if (diff !== undefined && !pkg.metadata.present) return `the lock records none of the project's requirements (it has no [package.metadata], as uv 0.2 wrote locks)`;
    if (diff !== undefined) return `[project] dependencies: ${diff}`;
    const wantExtras = Object.keys(optional).map(normalizeName).sort();
    const haveExtras = (pkg.metadata.providesExtras ?? []).map(normalizeName).sort();
    // Revision 0 did not write `provides-extras`: uv does not compare them (`supports_provides_extra`).
    if (lock.revision >= 1 && wantExtras.join(',') !== haveExtras.join(',')) {
      return `the extras are ${wantExtras.join(', ') || 'none'} in pyproject.toml but ${haveExtras.join(', ') || 'none'} in the lock`;
    }
  }
  return compareGroups(groups, pkg.metadata.requiresDev, sourced, lock.requiresPython, lock.revision < 1);
}
