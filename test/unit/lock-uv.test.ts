/**
 * uv.lock reader (src/lock/uv.ts): the selection equals what uv itself exports or installs, on the vectors in
 * test/fixtures/lock-vectors/uv/ (each SOURCE.md says where the files come from); staleness as `uv lock --check`
 * sees it; malformed and unsupported files; properties under reordering and mutation.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseToml, stringifyToml, type TomlTable } from '../../src/cnb/toml.js';
import { BuildpackError } from '../../src/failure.js';
import { evaluateMarker, type MarkerEnvironment, markerEnvironment } from '../../src/lock/markers.js';
import type { LockedPackage, SelectionRequest } from '../../src/lock/model.js';
import { parseUvLock, readUvLock, selectUv } from '../../src/lock/uv.js';
import { sameMarker, sameRequiresPython } from '../../src/lock/uv-stale.js';
import { parseMarker } from '../../src/lock/markers.js';
import { thrownCause } from '../fakes/thrown.js';

const VECTORS = path.resolve(import.meta.dirname, '../fixtures/lock-vectors/uv');

/** The target environments the vectors are checked in; darwin and win32 exercise the forks on sys_platform. */
function env(fullVersion: string, platform: 'linux' | 'darwin' | 'win32' = 'linux', arch = 'amd64'): MarkerEnvironment {
  const base = markerEnvironment(fullVersion, arch);
  if (platform === 'darwin') return { ...base, sys_platform: 'darwin', platform_system: 'Darwin', platform_machine: arch === 'arm64' ? 'arm64' : 'x86_64' };
  if (platform === 'win32') return { ...base, sys_platform: 'win32', platform_system: 'Windows', os_name: 'nt', platform_machine: arch === 'arm64' ? 'ARM64' : 'AMD64' };
  return base;
}

function request(e: MarkerEnvironment, groups: string[] = [], extras: string[] = []): SelectionRequest {
  return { env: e, groups, extras };
}

interface ExportEntry {
  /** `name==version`, or `-e <path>` / `<path>` for the project and local packages. */
  id: string;
  marker: string | undefined;
  hashes: string[];
}

/** A requirements.txt written by `uv export` (crates/uv-resolver/src/lock/export/requirements_txt.rs). */
function parseExport(text: string): ExportEntry[] {
  const entries: ExportEntry[] = [];
  const logical = text.replace(/ \\\n\s*/g, ' ').split('\n');
  for (const line of logical) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const [head, ...hashParts] = line.split(' --hash=');
    const [req = '', marker] = (head ?? '').split(' ; ');
    entries.push({ id: req.trim(), marker: marker?.trim(), hashes: hashParts.map((h) => h.trim()).sort() });
  }
  return entries;
}

/** `+ name==version` lines of `uv sync` output. */
function parseSync(text: string): string[] {
  return [...text.matchAll(/^ \+ (\S+==\S+)/gm)].map((m) => m[1] as string);
}

function exportFor(entries: ExportEntry[], e: MarkerEnvironment): ExportEntry[] {
  return entries.filter((x) => evaluateMarker(x.marker, e));
}

function idOf(p: LockedPackage): string {
  if (p.source.kind === 'app' && p.source.editable) return `-e ${p.source.path === '.' ? '.' : `./${p.source.path}`}`;
  return `${p.name}==${p.version}`;
}

function hashesOf(p: LockedPackage): string[] {
  return p.artifacts.flatMap((a) => Object.entries(a.hashes).map(([alg, hex]) => `${alg}:${hex}`)).sort();
}

function selectVector(name: string, req: SelectionRequest): LockedPackage[] {
  return readUvLock(path.join(VECTORS, name), 'uv.lock').select(req);
}

function expectSameAsExport(selected: LockedPackage[], expected: ExportEntry[]): void {
  expect(selected.map(idOf).sort()).to.deep.equal(expected.map((x) => x.id).sort());
  for (const entry of expected) {
    if (entry.hashes.length === 0) continue;
    const pkg = selected.find((p) => idOf(p) === entry.id);
    expect(pkg && hashesOf(pkg), entry.id).to.deep.equal(entry.hashes);
  }
}

const read = (vector: string, file: string): string => fs.readFileSync(path.join(VECTORS, vector, file), 'utf8');

describe('uv.lock: selection equals uv export / uv sync on the vectors', () => {
  const platforms = [env('3.12.7'), env('3.12.7', 'linux', 'arm64'), env('3.12.7', 'darwin', 'arm64'), env('3.12.7', 'win32'), env('3.13.1', 'darwin')];

  it('export-fork-by-platform-rev1: trio locked twice, picked by sys_platform (revision 1)', () => {
    // `uv export` adds the default group (dev) when the project has it; this one has none, so none is asked for.
    const exported = parseExport(read('export-fork-by-platform-rev1', 'export.txt'));
    for (const e of platforms) expectSameAsExport(selectVector('export-fork-by-platform-rev1', request(e)), exportFor(exported, e));
    // On Linux only the project itself: both trio versions are for darwin or win32.
    expect(selectVector('export-fork-by-platform-rev1', request(env('3.12.7'))).map(idOf)).to.deep.equal(['-e .']);
  });

  it('export-non-project-fork-rev2: members as roots, the root group off by default and on when asked (revision 2)', () => {
    const plain = parseExport(read('export-non-project-fork-rev2', 'export.txt'));
    const withAsync = parseExport(read('export-non-project-fork-rev2', 'export_group_async.txt'));
    for (const e of platforms) {
      expectSameAsExport(selectVector('export-non-project-fork-rev2', request(e)), exportFor(plain, e));
      expectSameAsExport(selectVector('export-non-project-fork-rev2', request(e, ['async'])), exportFor(withAsync, e));
    }
  });

  it('export-root-extra-markers: an edge marked with the project\'s extras follows the requested extras', () => {
    const exported = parseExport(read('export-root-extra-markers', 'export_all-extras_frozen_no-hashes.txt'));
    // --all-extras: foo and bar.
    expectSameAsExport(selectVector('export-root-extra-markers', request(env('3.12.7'), [], ['foo', 'bar'])), exported);
    expectSameAsExport(selectVector('export-root-extra-markers', request(env('3.12.7'), [], ['Foo'])), exported);
    // The same marker with no extra requested: `extra == 'foo'` is false (uv's resolve_activated_extras).
    expect(selectVector('export-root-extra-markers', request(env('3.12.7')))).to.deep.equal([]);
  });

  it('lock-partial-git: on CPython 3.12 the registry anyio, not the git one, as uv sync installs', () => {
    const installed = parseSync(read('lock-partial-git', 'sync_frozen_no-dev.txt'));
    const selected = selectVector('lock-partial-git', request(env('3.12.3')));
    expect(selected.map(idOf).sort()).to.deep.equal(installed.sort());
  });

  it('lock-partial-git: below 3.12 the git anyio at its commit, and the simplified marker python_full_version != "3.11.*" evaluated as written', () => {
    // Not tool output: what anyio 4.6.2's own requirements give (exceptiongroup and typing_extensions only for
    // python_version < "3.11"). The lock stores that edge as `python_full_version != '3.11.*'`, simplified
    // against requires-python >=3.10 and the parent's reach (< 3.12): evaluating it as written is right for every
    // Python the parent is reached on.
    const at = (v: string): string[] => selectVector('lock-partial-git', request(env(v))).map((p) => `${p.name}==${p.version}`).sort();
    expect(at('3.10.14')).to.deep.equal(['anyio==4.6.2', 'exceptiongroup==1.2.0', 'idna==3.6', 'sniffio==1.3.1', 'typing-extensions==4.10.0']);
    expect(at('3.11.9')).to.deep.equal(['anyio==4.6.2', 'idna==3.6', 'sniffio==1.3.1']);
    const anyio = selectVector('lock-partial-git', request(env('3.11.9'))).find((p) => p.name === 'anyio');
    expect(anyio?.source).to.deep.equal({ kind: 'git', url: 'https://github.com/agronholm/anyio', commit: 'c4844254e6db0cb804c240ba07405db73d810e0b' });
    expect(anyio?.artifacts).to.deep.equal([]);
  });

  it('lock-dev-group: production leaves the dev group out; asking for it adds it, as uv sync does', () => {
    const production = parseSync(read('lock-dev-group', 'sync_frozen_no-dev.txt'));
    const added = parseSync(read('lock-dev-group', 'sync_frozen.txt'));
    expect(selectVector('lock-dev-group', request(env('3.12.7'))).map(idOf)).to.deep.equal(production);
    const withDev = selectVector('lock-dev-group', request(env('3.12.7'), ['dev']));
    expect(withDev.map(idOf).sort()).to.deep.equal([...production, ...added].sort());
    const url = withDev.find((p) => p.name === 'typing-extensions');
    expect(url?.source).to.deep.equal({ kind: 'url', url: 'https://files.pythonhosted.org/packages/26/9f/ad63fc0248c5379346306f8668cda6e2e2e9c95e01216d2b8ffd9ff037d0/typing_extensions-4.12.2-py3-none-any.whl' });
    expect(url?.artifacts).to.deep.equal([
      {
        filename: 'typing_extensions-4.12.2-py3-none-any.whl',
        url: 'https://files.pythonhosted.org/packages/26/9f/ad63fc0248c5379346306f8668cda6e2e2e9c95e01216d2b8ffd9ff037d0/typing_extensions-4.12.2-py3-none-any.whl',
        hashes: { sha256: '04e5ca0351e0f3f85c6853954072df659d0d13fac324d0072316b67d7794700d' },
      },
    ]);
  });

  it('lock-conflict-markers: an edge marked with uv\'s conflict item for the project holds when the project is installed', () => {
    const installed = parseSync(read('lock-conflict-markers', 'sync_frozen.txt'));
    const selected = selectVector('lock-conflict-markers', request(env('3.12.7')));
    expect(selected.map((p) => `${p.name}==${p.version}`).sort()).to.deep.equal(installed.sort());
    expect(selected.find((p) => p.name === 'project')?.source).to.deep.equal({ kind: 'app', path: '.', editable: true });
  });

  it('lock-sdist-url-subdirectory: a direct-URL archive is one artifact at the source URL with the sdist entry\'s hash', () => {
    const installed = parseSync(read('lock-sdist-url-subdirectory', 'sync_frozen.txt'));
    const selected = selectVector('lock-sdist-url-subdirectory', request(env('3.12.7')));
    expect(selected.map((p) => `${p.name}==${p.version}`).sort()).to.deep.equal(installed.sort());
    const url = 'https://github.com/user-attachments/files/18216295/subdirectory-test.tar.gz';
    const root = selected.find((p) => p.name === 'root');
    expect(root?.source).to.deep.equal({ kind: 'url', url, subdirectory: 'packages/root' });
    expect(root?.artifacts).to.deep.equal([{ filename: 'subdirectory-test.tar.gz', url, hashes: { sha256: '24b55efee28d08ad3cdc58903e359e820601baa6a4a4b3424311541ebcfb09d3' } }]);
  });

  it('jamun-rev0: a lock without revision (uv 0.5) selects what the repository\'s uv export wrote, on every target', () => {
    // `uv export --no-emit-project`: the project itself is left out; direct-URL packages are written `name @ url`.
    const exported = parseExport(read('jamun-rev0', 'requirements.txt'));
    const id = (p: LockedPackage): string => (p.source.kind === 'url' ? `${p.name} @ ${p.source.url}` : `${p.name}==${p.version}`);
    const targets = [...platforms, env('3.10.4'), env('3.11.9'), env('3.13.1'), env('3.11.9', 'darwin', 'amd64'), env('3.10.4', 'win32')];
    const lock = readUvLock(path.join(VECTORS, 'jamun-rev0'), 'uv.lock');
    for (const e of targets) {
      const selected = lock.select(request(e)).filter((p) => p.source.kind !== 'app');
      expect(selected.map(id).sort(), `${e.python_full_version} ${e.sys_platform} ${e.platform_machine}`).to.deep.equal(exportFor(exported, e).map((x) => x.id).sort());
    }
    // On Linux x86_64 with CPython 3.11: the CUDA wheels of pyg.org for torch-scatter, and the NVIDIA libraries.
    const linux = lock.select(request(env('3.11.9')));
    expect(linux.find((p) => p.name === 'torch-scatter')?.source).to.deep.equal({
      kind: 'url',
      url: 'https://data.pyg.org/whl/torch-2.5.0%2Bcu121/torch_scatter-2.1.2%2Bpt25cu121-cp311-cp311-linux_x86_64.whl',
    });
    expect(linux.map((p) => p.name)).to.include('nvidia-cudnn-cu12');
    expect(linux.find((p) => p.name === 'jamun')?.source).to.deep.equal({ kind: 'app', path: '.', editable: true });
  });

  it('lock-distribution-uv0.2: [[distribution]] entries are read as [[package]], the selection is what uv 0.2 synced', () => {
    const installed = parseSync(read('lock-distribution-uv0.2', 'sync_frozen.txt'));
    const lock = parseUvLock(read('lock-distribution-uv0.2', 'uv.lock'), 'uv.lock');
    const selected = selectUv(lock, { project: 'project' }, request(env('3.12.7')), 'uv.lock');
    expect(selected.map((p) => `${p.name}==${p.version}`)).to.deep.equal(installed);
    // But a current uv locks it again, and so must the user: the project, without [build-system], is no longer a
    // package (uv 0.2 installed it editable), and the lock records none of its requirements.
    expect(thrownCause(() => readUvLock(path.join(VECTORS, 'lock-distribution-uv0.2'), 'uv.lock'))).to.include({ type: 'lock-stale', command: 'uv lock', detail: 'the project is not a package in pyproject.toml (never installed) but editable in the lock' });
    const asPackage = copyVector('lock-distribution-uv0.2', (f) => {
      f['pyproject.toml'] = `${f['pyproject.toml']}\n[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n`;
    });
    expect(thrownCause(() => readUvLock(asPackage, 'uv.lock'))).to.include({ type: 'lock-stale', command: 'uv lock', detail: "the lock records none of the project's requirements (it has no [package.metadata], as uv 0.2 wrote locks)" });
  });

  it('lock-project-extra-rev0: a revision-0 lock uv 0.5 found up to date, without and with the extra, as uv sync installed', () => {
    const production = parseSync(read('lock-project-extra-rev0', 'sync_frozen.txt'));
    const added = parseSync(read('lock-project-extra-rev0', 'sync_frozen_extra_test.txt'));
    expect(selectVector('lock-project-extra-rev0', request(env('3.12.7'))).map(idOf)).to.deep.equal(production);
    expect(selectVector('lock-project-extra-rev0', request(env('3.12.7'), [], ['test'])).map(idOf)).to.deep.equal([...production, ...added].sort());
  });

  it('peering-manager: the union over targets equals the repository\'s marker-less production export', () => {
    const exported = new Set(parseExport(read('peering-manager', 'requirements.txt')).map((x) => x.id));
    const union = new Set<string>();
    for (const minor of [10, 11, 12, 13, 14]) {
      for (const platform of ['linux', 'darwin', 'win32'] as const) {
        for (const arch of ['amd64', 'arm64']) {
          for (const p of selectVector('peering-manager', request(env(`3.${minor}.2`, platform, arch)))) union.add(idOf(p));
        }
      }
    }
    expect([...union].sort()).to.deep.equal([...exported].sort());
  });

  it('peering-manager on CPython 3.12 linux/amd64: no Windows-only packages, extras of dependencies followed, groups left out', () => {
    const selected = selectVector('peering-manager', request(env('3.12.7')));
    const names = selected.map((p) => p.name);
    expect(names).to.include.members(['django', 'psycopg', 'psycopg-binary', 'psycopg-pool']);
    expect(names).to.not.include('colorama');
    expect(names).to.not.include('ruff');
    expect(names).to.not.include('mkdocs-material');
    expect(names).to.not.include('peering-manager'); // virtual: walked, never installed
    expect(names).to.deep.equal([...names].sort());
    for (const p of selected) {
      expect(p.source, p.name).to.deep.equal({ kind: 'index', url: 'https://pypi.org/simple' });
      expect(p.artifacts.length, p.name).to.be.greaterThan(0);
      for (const a of p.artifacts) expect(a.hashes.sha256, `${p.name} ${a.filename}`).to.match(/^[0-9a-f]{64}$/);
    }
    const dulwich = selected.find((p) => p.name === 'dulwich');
    expect(dulwich?.artifacts.map((a) => a.filename)).to.include('dulwich-1.2.6.tar.gz');
  });
});

describe('uv.lock: a requested group or extra the lock does not know is refused, as uv refuses it', () => {
  it('a group no root declares: lock-unknown-selection naming the groups it has (uv export --group nosuch)', () => {
    const lock = readUvLock(path.join(VECTORS, 'peering-manager'), 'uv.lock');
    expect(thrownCause(() => lock.select(request(env('3.12.7'), ['Docs', 'nosuch'])))).to.deep.equal({ type: 'lock-unknown-selection', file: 'uv.lock', kind: 'group', name: 'nosuch', known: ['dev', 'docs'] });
    // Names are compared PEP 503 normalized, as uv parses them.
    expect(() => lock.select(request(env('3.12.7'), ['DOCS', 'Dev']))).to.not.throw();
  });

  it('an extra the project does not provide: lock-unknown-selection (uv export --extra nosuch)', () => {
    const lock = readUvLock(path.join(VECTORS, 'export-root-extra-markers'), 'uv.lock');
    expect(thrownCause(() => lock.select(request(env('3.12.7'), [], ['foo', 'nosuch'])))).to.deep.equal({ type: 'lock-unknown-selection', file: 'uv.lock', kind: 'extra', name: 'nosuch', known: ['bar', 'foo'] });
    // An empty extra is known (provides-extras), though nothing is locked for it.
    expect(lock.select(request(env('3.12.7'), [], ['bar'])).map((p) => p.name)).to.deep.equal(['typing-extensions']);
  });

  it('a workspace root without [project]: its own groups and the members\' are known, others refused', () => {
    const lock = readUvLock(path.join(VECTORS, 'export-non-project-fork-rev2'), 'uv.lock');
    expect(() => lock.select(request(env('3.12.7'), ['async']))).to.not.throw();
    expect(thrownCause(() => lock.select(request(env('3.12.7'), ['dev'])))).to.deep.equal({ type: 'lock-unknown-selection', file: 'uv.lock', kind: 'group', name: 'dev', known: ['async'] });
  });

  it('a revision-0 lock: extras are not checked, as uv does not check them without provides-extras; groups are', () => {
    const lock = readUvLock(path.join(VECTORS, 'jamun-rev0'), 'uv.lock');
    const production = lock.select(request(env('3.11.9'))).map((p) => p.name);
    expect(lock.select(request(env('3.11.9'), [], ['nosuch'])).map((p) => p.name)).to.deep.equal(production);
    const analysis = lock.select(request(env('3.11.9'), [], ['analysis'])).map((p) => p.name);
    expect(analysis).to.include.members([...production, 'pyemma', 'statsmodels', 'ipykernel']);
    expect(thrownCause(() => lock.select(request(env('3.11.9'), ['dev'])))).to.deep.equal({ type: 'lock-unknown-selection', file: 'uv.lock', kind: 'group', name: 'dev', known: [] });
  });
});

/** A copy of a vector in a temporary app folder, with `edit` applied to its files. */
/** An edit of pyproject.toml: the first `from` replaced by `to`. */
function edit(from: string, to: string): (files: Record<string, string>) => void {
  return (files) => {
    files['pyproject.toml'] = (files['pyproject.toml'] as string).replace(from, to);
  };
}

function copyVector(name: string, edit: (files: Record<string, string>) => void): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uv-lock-'));
  fs.cpSync(path.join(VECTORS, name), dir, { recursive: true });
  const files: Record<string, string> = {};
  for (const f of ['uv.lock', 'pyproject.toml']) files[f] = fs.readFileSync(path.join(dir, f), 'utf8');
  edit(files);
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  return dir;
}

describe('uv.lock: staleness against pyproject.toml (uv lock --check)', () => {
  it('every vector is up to date with its own pyproject.toml', () => {
    // Except uv 0.2's lock, which a current uv locks again (below).
    for (const name of fs.readdirSync(VECTORS).filter((n) => n !== 'lock-distribution-uv0.2')) expect(() => readUvLock(path.join(VECTORS, name), 'uv.lock'), name).to.not.throw();
  });

  const staleCases: [string, string, (f: Record<string, string>) => void, RegExp][] = [
    ['a new dependency', 'peering-manager', edit('"pytz>=2026",', '"pytz>=2026",\n    "flask>=3",'), /flask>=3 is not in the lock/],
    ['a removed dependency', 'peering-manager', edit('    "pytz>=2026",\n', ''), /the lock has pytz/],
    ['a changed specifier', 'peering-manager', edit('"packaging==25.0"', '"packaging==26.0"'), /packaging==26.0/],
    ['a changed requires-python', 'peering-manager', edit('requires-python = ">=3.10,<3.15"', 'requires-python = ">=3.11,<3.15"'), /requires-python is >=3.11,<3.15 in pyproject.toml but >=3.10, <3.15 in the lock/],
    ['a new dependency group', 'peering-manager', edit('docs = ["mkdocs-material"]', 'docs = ["mkdocs-material"]\ntest = ["pytest"]'), /dependency group test is not in the lock/],
    ['a changed group', 'peering-manager', edit('"ruff (>=0.12)"', '"ruff (>=0.13)"'), /dependency group dev: ruff/],
    ['a changed marker', 'lock-partial-git', edit(`"anyio ; python_version >= '3.12'"`, `"anyio ; python_version >= '3.13'"`), /anyio/],
    ['a removed extra', 'export-root-extra-markers', edit('bar = []', ''), /extras|extra/],
    ['a changed tool.uv dev-dependencies', 'lock-dev-group', edit('dev-dependencies = [', 'dev-dependencies = ["pytest", '), /dependency group dev: pytest is not in the lock/],
    ['a non-project root whose group changed', 'export-non-project-fork-rev2', edit('async = ["anyio"]', 'async = ["anyio", "sniffio"]'), /dependency group async: sniffio/],
  ];
  for (const [what, vector, change, detail] of staleCases) {
    it(`${what} makes the lock stale, with uv lock to fix it`, () => {
      const cause = thrownCause(() => readUvLock(copyVector(vector, change), 'uv.lock'));
      expect(cause).to.include({ type: 'lock-stale', file: 'uv.lock', tool: 'uv', manifest: 'pyproject.toml', command: 'uv lock' });
      expect((cause as { detail: string }).detail).to.match(detail);
    });
  }

  it('a workspace member whose pyproject.toml changed makes the lock stale, naming that file', () => {
    const dir = copyVector('export-non-project-fork-rev2', () => {});
    const child = path.join(dir, 'child', 'pyproject.toml');
    fs.writeFileSync(child, fs.readFileSync(child, 'utf8').replace('"anyio==3.0.0 ; sys_platform == \'linux\'"', '"anyio==3.0.1 ; sys_platform == \'linux\'"'));
    const cause = thrownCause(() => readUvLock(dir, 'uv.lock'));
    expect(cause).to.include({ type: 'lock-stale', manifest: 'child/pyproject.toml', command: 'uv lock' });
    expect((cause as { detail: string }).detail).to.match(/anyio==3.0.1/);
  });

  it('a member\'s dependency named in the root\'s [tool.uv.sources] is compared by name, as uv lowers it with the root\'s source', () => {
    const dir = copyVector('export-non-project-fork-rev2', edit('[dependency-groups]', '[tool.uv.sources]\nanyio = { index = "mirror" }\n\n[dependency-groups]'));
    const child = path.join(dir, 'child', 'pyproject.toml');
    fs.writeFileSync(child, fs.readFileSync(child, 'utf8').replace('"anyio==3.0.0 ; sys_platform == \'linux\'"', '"anyio==3.0.1 ; sys_platform == \'linux\'"'));
    expect(() => readUvLock(dir, 'uv.lock')).to.not.throw();
  });

  it('a project that became a package (a [build-system] added) makes a lock with it virtual stale', () => {
    const cause = thrownCause(() => readUvLock(copyVector('lock-dev-group', edit('[tool.uv]', '[build-system]\nrequires = ["uv_build"]\nbuild-backend = "uv_build"\n\n[tool.uv]')), 'uv.lock'));
    expect((cause as { detail: string }).detail).to.equal('the project is a package in pyproject.toml (installed, editable) but virtual in the lock');
  });

  it('a project that is no longer a package ([tool.uv] package = false) makes a lock with it editable stale', () => {
    const cause = thrownCause(() => readUvLock(copyVector('lock-conflict-markers', edit('[tool.uv]\n', '[tool.uv]\npackage = false\n')), 'uv.lock'));
    expect((cause as { detail: string }).detail).to.equal('the project is not a package in pyproject.toml (never installed) but editable in the lock');
  });

  /** The vector's lock as uv before 0.6 wrote it: no `revision` and, with `dropExtras`, no `provides-extras`. */
  const revision0 =
    (dropExtras: boolean, pyproject?: [string, string]) =>
    (files: Record<string, string>): void => {
      let lock = (files['uv.lock'] as string).replace(/^revision = \d+\n/m, '');
      if (dropExtras) lock = lock.replace(/^provides-extras = .*\n/m, '');
      files['uv.lock'] = lock;
      if (pyproject !== undefined) edit(...pyproject)(files);
    };

  it('a revision-0 lock: extras are not compared with provides-extras, which uv did not write then', () => {
    expect(() => readUvLock(copyVector('export-root-extra-markers', revision0(true)), 'uv.lock')).to.not.throw();
    // The same lock with a revision: uv compares them, and no provides-extras means the lock has none.
    const cause = thrownCause(() => readUvLock(copyVector('export-root-extra-markers', (f) => { f['uv.lock'] = (f['uv.lock'] as string).replace(/^provides-extras = .*\n/m, ''); }), 'uv.lock'));
    expect((cause as { detail: string }).detail).to.equal('the extras are bar, foo in pyproject.toml but none in the lock');
  });

  it('a revision-0 lock: an empty dependency group it does not list is not a change; from revision 1 on it is', () => {
    const addEmpty: [string, string] = ['[tool.uv]', '[dependency-groups]\nlint = []\n\n[tool.uv]'];
    expect(() => readUvLock(copyVector('lock-dev-group', revision0(false, addEmpty)), 'uv.lock')).to.not.throw();
    const cause = thrownCause(() => readUvLock(copyVector('lock-dev-group', edit(...addEmpty)), 'uv.lock'));
    expect((cause as { detail: string }).detail).to.equal('the dependency group lint is not in the lock');
    // A group with requirements is compared in revision 0 too.
    const real = thrownCause(() => readUvLock(copyVector('lock-dev-group', revision0(false, ['[tool.uv]', '[dependency-groups]\nlint = ["ruff"]\n\n[tool.uv]'])), 'uv.lock'));
    expect((real as { detail: string }).detail).to.equal('the dependency group lint is not in the lock');
  });

  it('a workspace root without [project]: an empty dependency group is never compared (uv leaves empty manifest groups out)', () => {
    expect(() => readUvLock(copyVector('export-non-project-fork-rev2', edit('async = ["anyio"]', 'async = ["anyio"]\nlint = []')), 'uv.lock')).to.not.throw();
  });

  const freshCases: [string, string, (f: Record<string, string>) => void][] = [
    ['specifiers reordered and respaced', 'peering-manager', edit('"Django>=5.2,<5.3"', '"django <5.3, >= 5.2.0"')],
    ['a marker written another way', 'lock-partial-git', edit(`"anyio ; python_version >= '3.12'"`, `"anyio ; python_full_version >= '3.12.0'"`)],
    ['requires-python written another way', 'peering-manager', edit('requires-python = ">=3.10,<3.15"', 'requires-python = "<3.15, >=3.10.0"')],
  ];
  for (const [what, vector, change] of freshCases) {
    it(`${what} leaves the lock up to date`, () => {
      expect(() => readUvLock(copyVector(vector, change), 'uv.lock')).to.not.throw();
    });
  }

  it('a missing pyproject.toml makes the lock stale', () => {
    const dir = copyVector('lock-dev-group', () => {});
    fs.rmSync(path.join(dir, 'pyproject.toml'));
    expect(thrownCause(() => readUvLock(dir, 'uv.lock'))).to.include({ type: 'lock-stale', command: 'uv lock' });
  });

  it('a uv.lock that is a folder is refused as unreadable, not a crash', () => {
    const dir = copyVector('lock-dev-group', () => {});
    fs.rmSync(path.join(dir, 'uv.lock'));
    fs.mkdirSync(path.join(dir, 'uv.lock'));
    expect(thrownCause(() => readUvLock(dir, 'uv.lock'))).to.include({ type: 'lock-malformed', detail: 'the file cannot be read (EISDIR)' });
  });

  it('compares markers and requires-python by meaning within requires-python', () => {
    const m = (s: string) => parseMarker(s);
    expect(sameMarker(m("python_version >= '3.8' and sys_platform == 'win32'"), m("sys_platform == 'win32'"), '>=3.9')).to.equal(true);
    expect(sameMarker(m("python_version >= '3.10' and sys_platform == 'win32'"), m("sys_platform == 'win32'"), '>=3.9')).to.equal(false);
    expect(sameMarker(m("python_version > '3.11'"), m("python_full_version >= '3.12'"), '>=3.10')).to.equal(true);
    expect(sameMarker(m("python_version < '3.11'"), m("python_full_version != '3.11.*'"), '>=3.10,<3.12')).to.equal(true);
    expect(sameMarker(m("extra == 'a'"), m("extra == 'b'"), '>=3.10')).to.equal(false);
    expect(sameRequiresPython('>=3.10,<3.15', '>=3.10, <3.15')).to.equal(true);
    expect(sameRequiresPython('>=3.12', '>=3.12.0')).to.equal(true);
    expect(sameRequiresPython('>=3.12', '>=3.12.1')).to.equal(false);
    expect(sameRequiresPython('~=3.12', '>=3.12,<4')).to.equal(true);
  });
});

describe('uv.lock: files uv would not read', () => {
  const lockOf = (vector: string): string => read(vector, 'uv.lock');
  const cases: [string, string, Record<string, unknown>][] = [
    ['not TOML', 'version = 1\n[[package]\n', { type: 'lock-malformed' }],
    ['version 2', lockOf('lock-dev-group').replace('version = 1', 'version = 2'), { type: 'lock-version-unsupported', found: '2' }],
    ['revision 4', lockOf('lock-dev-group').replace('revision = 3', 'revision = 4'), { type: 'lock-version-unsupported', found: '1, revision 4' }],
    ['a revision that is not a whole number', lockOf('lock-dev-group').replace('revision = 3', 'revision = "3"'), { type: 'lock-version-unsupported', found: '1, revision "3"' }],
    ['no revision and no requires-python (uv 0.2)', lockOf('lock-dev-group').replace('revision = 3\n', '').replace(/^requires-python = .*\n/m, ''), { type: 'lock-version-unsupported', found: '1 without requires-python (written by uv 0.2)' }],
    ['a revision but no requires-python', lockOf('lock-dev-group').replace(/^requires-python = .*\n/m, ''), { type: 'lock-malformed', detail: 'requires-python is missing or not a string' }],
    ['an edge to no package', lockOf('lock-dev-group').replace('{ name = "iniconfig" },\n]', '{ name = "iniconfig" },\n    { name = "flask" },\n]'), { type: 'lock-malformed', entry: '[[package]] "project" 0.1.0' }],
    ['a bad marker', lockOf('lock-partial-git').replace(`marker = "python_full_version != '3.11.*'" }`, `marker = "python_full_version !! '3.11'" }`), { type: 'lock-malformed', entry: '[[package]] "anyio" 4.6.2' }],
    ['a bad hash', lockOf('lock-dev-group').replace('hash = "sha256:04e5', 'hash = "sha256 04e5'), { type: 'lock-malformed', entry: '[[package]] "typing-extensions" 4.12.2' }],
    ['a git source without its commit', lockOf('lock-partial-git').replace(/#c4844254e6db0cb804c240ba07405db73d810e0b/g, ''), { type: 'lock-malformed' }],
    ['an ambiguous edge', lockOf('lock-partial-git').replace(`{ name = "anyio", version = "4.3.0", source = { registry = "https://pypi.org/simple" }, marker`, `{ name = "anyio", marker`), { type: 'lock-malformed', entry: '[[package]] "project" 0.1.0' }],
  ];
  for (const [what, text, expected] of cases) {
    it(`${what}: ${String(expected.type)}`, () => {
      expect(thrownCause(() => parseUvLock(text, 'uv.lock'))).to.include({ file: 'uv.lock', tool: 'uv', ...expected });
    });
  }
});

describe('uv.lock: a marker packaging refuses to evaluate', () => {
  it("stops the selection as lock-malformed (src/lock/markers.ts MarkerEvaluationError), not as a crash", () => {
    const text = read('lock-partial-git', 'uv.lock').replace(`{ name = "exceptiongroup", marker = "python_full_version != '3.11.*'" }`, `{ name = "exceptiongroup", marker = "os_name ~= 'posix'" }`);
    const cause = thrownCause(() => selectUv(parseUvLock(text, 'uv.lock'), { project: 'project' }, request(env('3.10.4')), 'uv.lock'));
    expect(cause).to.include({ type: 'lock-malformed', file: 'uv.lock', tool: 'uv' });
    expect(cause.type === 'lock-malformed' && cause.detail).to.match(/a marker cannot be evaluated: os_name ~= "posix"/);
  });
});

describe('uv.lock: properties', () => {
  const vectors = ['lock-project-extra-rev0', 'lock-distribution-uv0.2', 'lock-sdist-url-subdirectory', 'lock-conflict-markers', 'export-fork-by-platform-rev1', 'export-non-project-fork-rev2', 'lock-partial-git', 'lock-dev-group', 'peering-manager'];
  const targets = [env('3.10.4'), env('3.12.7'), env('3.12.7', 'win32'), env('3.13.1', 'darwin', 'arm64')];
  /** Whether the vector's project has a `dev` group: uv's default group, which `uv export` and `uv sync` add when it exists. */
  const knowsDev = (vector: string): boolean => /^\[package\.metadata\.requires-dev\]\ndev = /m.test(read(vector, 'uv.lock'));
  const project = (vector: string): string | undefined => {
    const doc = parseToml(read(vector, 'pyproject.toml'));
    const p = doc.project as TomlTable | undefined;
    return typeof p?.name === 'string' ? p.name : undefined;
  };

  it('the order of [[package]] entries and of edges does not change the selection', () => {
    fc.assert(
      fc.property(fc.constantFrom(...vectors), fc.integer(), fc.constantFrom(...targets), fc.boolean(), (vector, seed, target, dev) => {
        const doc = parseToml(read(vector, 'uv.lock'));
        const shuffle = <T>(list: T[]): T[] => {
          let s = seed;
          const out = [...list];
          for (let i = out.length - 1; i > 0; i--) {
            s = (s * 1103515245 + 12345) & 0x7fffffff;
            const j = s % (i + 1);
            [out[i], out[j]] = [out[j] as T, out[i] as T];
          }
          return out;
        };
        const key = doc.package === undefined ? 'distribution' : 'package'; // uv 0.2 wrote [[distribution]]
        const packages = shuffle(doc[key] as TomlTable[]).map((p) => (Array.isArray(p.dependencies) ? { ...p, dependencies: shuffle(p.dependencies as TomlTable[]) } : p));
        const shuffled = stringifyToml({ ...doc, [key]: packages });
        const req = request(target, dev && knowsDev(vector) ? ['dev'] : []);
        const roots = { project: project(vector) };
        const a = selectUv(parseUvLock(read(vector, 'uv.lock'), 'uv.lock'), roots, req, 'uv.lock');
        const b = selectUv(parseUvLock(shuffled, 'uv.lock'), roots, req, 'uv.lock');
        expect(b).to.deep.equal(a);
        // One version per name for one target, in name order.
        const names = a.map((p) => p.name);
        expect(names).to.deep.equal([...new Set(names)].sort());
      }),
      { numRuns: 60 },
    );
  });

  it('a mutated lock is read, or refused with a lock cause: never another error', () => {
    fc.assert(
      fc.property(fc.constantFrom(...vectors), fc.nat(), fc.nat({ max: 40 }), fc.string({ maxLength: 8 }), (vector, at, length, insert) => {
        const text = read(vector, 'uv.lock');
        const start = at % text.length;
        const mutated = text.slice(0, start) + insert + text.slice(start + length);
        try {
          const lock = parseUvLock(mutated, 'uv.lock');
          selectUv(lock, { project: project(vector) }, request(env('3.12.7'), knowsDev(vector) ? ['dev'] : []), 'uv.lock');
        } catch (err) {
          expect(err).to.be.instanceOf(BuildpackError);
          expect((err as BuildpackError).cause.type).to.match(/^lock-(malformed|version-unsupported|unknown-selection)$/);
        }
      }),
      { numRuns: 300 },
    );
  });
});
