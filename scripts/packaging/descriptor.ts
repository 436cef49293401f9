/**
 * buildpack.toml as packaging sees it: the fields the package labels repeat, and the text written into each
 * per-target package. That text is the repository's file with two edits, made on the text so that comments
 * and layout stay: the [[targets]] of other architectures are removed (a package holds one architecture's
 * executable, so it declares only the target it can run on), and Python archives bundled from a
 * distributions manifest are appended to [[metadata.dependencies]] (so a build resolves them with no
 * BP_PYTHON_DISTRIBUTIONS). The result is parsed again and compared with the intended document.
 */
import semver from 'semver';
import { isDeepStrictEqual } from 'node:util';
import { isTable, parseToml, type TomlTable } from '../../src/cnb/toml.js';
import type { Arch, PythonArchive } from '../../src/python/archives.js';

export interface Target {
  os: string;
  arch: string;
}

export interface BuildpackInfo {
  api: string;
  id: string;
  version: string;
  name?: string;
  description?: string;
  homepage?: string;
  keywords?: string[];
  licenses?: Array<{ type?: string; uri?: string }>;
  targets: Target[];
  metadata: TomlTable;
}

export function readBuildpackInfo(text: string): BuildpackInfo {
  const doc = parseToml(text);
  const bp = isTable(doc.buildpack) ? doc.buildpack : {};
  const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
  const api = str(doc.api);
  const id = str(bp.id);
  const version = str(bp.version);
  if (!api || !id || !version) throw new Error('buildpack.toml needs api, buildpack.id and buildpack.version');
  // The Buildpack Registry and pack's `<id>@<version>` references take semantic versions (semver.org), and the
  // image tag of the package is this version: refuse anything else before packaging.
  if (semver.valid(version) !== version) throw new Error(`buildpack.version '${version}' is not a semantic version (MAJOR.MINOR.PATCH)`);
  const targets = (Array.isArray(doc.targets) ? doc.targets.filter(isTable) : []).map((t) => ({ os: str(t.os) ?? '', arch: str(t.arch) ?? '' }));
  return {
    api,
    id,
    version,
    name: str(bp.name),
    description: str(bp.description),
    homepage: str(bp.homepage),
    keywords: Array.isArray(bp.keywords) ? bp.keywords.map(String) : undefined,
    licenses: Array.isArray(bp.licenses) ? bp.licenses.filter(isTable).map((l) => ({ type: str(l.type), uri: str(l.uri) })) : undefined,
    targets,
    metadata: isTable(doc.metadata) ? doc.metadata : {},
  };
}

/** The lifecycle's launch.EscapeID: `/` becomes `_`. */
export function escapedId(id: string): string {
  return id.replace(/\//g, '_');
}

interface Section {
  /** The table header's key, e.g. `targets` for `[[targets]]`; '' for the lines before the first header. */
  key: string;
  lines: string[];
}

const HEADER = /^\s*\[\[?\s*([A-Za-z0-9_.\-"' ]+?)\s*\]\]?\s*(#.*)?$/;

/** Splits TOML text at table headers; a comment block right above a header belongs to that header's section. */
function sections(text: string): Section[] {
  const lines = text.split('\n');
  let prev: Section = { key: '', lines: [] };
  const out: Section[] = [prev];
  for (const line of lines) {
    const m = HEADER.exec(line);
    if (!m) {
      prev.lines.push(line);
      continue;
    }
    let take = 0;
    while (take < prev.lines.length && /^\s*#/.test(prev.lines[prev.lines.length - 1 - take] ?? '')) take++;
    const moved = prev.lines.splice(prev.lines.length - take, take);
    prev = { key: (m[1] ?? '').replace(/\s+/g, ''), lines: [...moved, line] };
    out.push(prev);
  }
  return out;
}

/** A JSON string is a valid TOML basic string. */
const tomlString = (s: string): string => JSON.stringify(s);

/** The [[metadata.dependencies]] entry for an archive bundled from a manifest. */
export function dependencyToml(d: PythonArchive): string {
  return [
    '[[metadata.dependencies]]',
    'id = "python"',
    'name = "Python"',
    `version = ${tomlString(d.version)}`,
    `uri = ${tomlString(d.uri)}`,
    `checksum = ${tomlString(`sha256:${d.sha256}`)}`,
    `arch = ${tomlString(d.arch)}`,
    'licenses = [ "PSF-2.0" ]',
    '',
  ].join('\n');
}

/** The buildpack.toml text of the package for `arch` (see the file comment). */
export function descriptorForTarget(text: string, arch: Arch, bundledFromManifest: PythonArchive[] = []): string {
  const kept: Section[] = [];
  let dropping = false;
  for (const s of sections(text)) {
    if (s.key === 'targets') {
      const t = parseToml(s.lines.join('\n')).targets;
      const target = Array.isArray(t) && isTable(t[0]) ? t[0] : {};
      dropping = target.arch !== undefined && target.arch !== arch;
    } else if (!s.key.startsWith('targets.')) {
      dropping = false;
    }
    if (!dropping) kept.push(s);
  }
  let out = kept.map((s) => s.lines.join('\n')).join('\n');
  if (bundledFromManifest.length > 0) {
    out = out.replace(/\n*$/, '\n\n') + '# ---- added by scripts/package.ts: Python archives bundled in this offline package from a distributions manifest ----\n' +
      bundledFromManifest.map(dependencyToml).join('\n');
  }

  // The edit must give exactly the intended document.
  const original = parseToml(text);
  const expected: TomlTable = { ...original };
  const targets = (Array.isArray(original.targets) ? original.targets : []).filter((t) => !isTable(t) || t.arch === undefined || t.arch === arch);
  if (targets.length > 0) expected.targets = targets;
  else delete expected.targets;
  if (bundledFromManifest.length > 0) {
    const metadata = isTable(original.metadata) ? original.metadata : {};
    const deps = Array.isArray(metadata.dependencies) ? metadata.dependencies : [];
    const added = bundledFromManifest.map((d) => (parseToml(dependencyToml(d)) as { metadata: { dependencies: TomlTable[] } }).metadata.dependencies[0]);
    expected.metadata = { ...metadata, dependencies: [...deps, ...added] };
  }
  const actual = parseToml(out);
  if (!isDeepStrictEqual(JSON.parse(JSON.stringify(actual)), JSON.parse(JSON.stringify(expected)))) {
    throw new Error(`internal error: the buildpack.toml written for ${arch} does not parse to the intended document`);
  }
  if (targets.length === 0) throw new Error(`buildpack.toml has no [[targets]] entry for linux/${arch}`);
  return out;
}
