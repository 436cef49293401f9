/**
 * poetry.lock against what Poetry itself selects: every vector in test/fixtures/lock-vectors/poetry/ was
 * written by a real Poetry (see each SOURCE.md); `poetry-export/export-<selection>.txt` is poetry export's
 * requirements (pip evaluates their markers for the target), `poetry-install/install-py<X.Y>-<selection>.txt`
 * what `poetry install --dry-run` installed in that Python.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseToml } from '../../src/cnb/toml.js';
import { BuildpackError } from '../../src/failure.js';
import { evaluateMarker, markerEnvironment, parseMarker } from '../../src/lock/markers.js';
import type { LockedPackage } from '../../src/lock/model.js';
import { readPoetryLock, withoutExtras } from '../../src/lock/poetry.js';
import { acceptedContentHashes, generatorVersion, pythonJsonDumps } from '../../src/lock/poetry-content-hash.js';
import { allows, allowsPython, parsePoetryConstraint, toPep440 } from '../../src/lock/poetry-constraint.js';
import { thrownCause } from '../fakes/thrown.js';

const VECTORS = path.resolve(import.meta.dirname, '../fixtures/lock-vectors/poetry');
const PYTHONS = ['3.10.13', '3.11.7', '3.12.1'];

interface Expected {
  name: string;
  version: string | undefined;
  hashes: string[];
}

/** `name==version ; marker \ --hash=…` lines of an export that hold for `env` (as pip reads them). */
function exportFor(text: string, full: string): Expected[] {
  const env = markerEnvironment(full, 'amd64');
  const out: Expected[] = [];
  const logical = text.replace(/\\\n\s*/g, ' ').split('\n');
  for (const line of logical) {
    if (line.startsWith('#') || line.startsWith('--') || line.trim() === '') continue;
    const [req = '', ...rest] = line.split(' ; ');
    const markerAndHashes = rest.join(' ; ');
    const marker = markerAndHashes.replace(/\s*--hash=\S+/g, '').trim();
    const hashes = [...line.matchAll(/--hash=(\S+)/g)].map((m) => m[1] ?? '');
    if (marker !== '' && !evaluateMarker(marker, env)) continue;
    const editable = /^-e file:\/\/.*\/([^/]+)$/.exec(req.trim());
    const pinned = /^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==(\S+)/.exec(req);
    const direct = /^([A-Za-z0-9._-]+)(?:\[[^\]]*\])? @ /.exec(req);
    if (pinned !== null) out.push({ name: pinned[1] ?? '', version: pinned[2], hashes });
    else if (direct !== null) out.push({ name: direct[1] ?? '', version: undefined, hashes });
    else if (editable !== null) out.push({ name: editable[1] ?? '', version: undefined, hashes });
    else throw new Error(`unexpected export line ${line}`);
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

function hashesOf(p: LockedPackage): string[] {
  return p.artifacts.flatMap((a) => Object.entries(a.hashes).map(([alg, h]) => `${alg}:${h}`)).sort();
}

/** [selection name, groups, extras] as the vectors' file names spell them. */
function selection(name: string): { groups: string[]; extras: string[] } {
  const parts = name.split('+').filter((p) => p !== 'main');
  return { groups: parts.filter((p) => p !== 'server'), extras: parts.filter((p) => p === 'server') };
}

describe('poetry.lock: selection equals poetry export', () => {
  for (const vector of fs.readdirSync(VECTORS).sort()) {
    const exports = path.join(VECTORS, vector, 'poetry-export');
    if (!fs.existsSync(exports)) continue;
    for (const file of fs.readdirSync(exports).sort()) {
      const name = file.replace(/^export-(.*)\.txt$/, '$1');
      it(`${vector}: poetry export ${name}, CPython ${PYTHONS.join('/')} linux/amd64`, () => {
        const lock = readPoetryLock(path.join(VECTORS, vector), 'poetry.lock');
        const text = fs.readFileSync(path.join(exports, file), 'utf8');
        for (const python of PYTHONS) {
          const expected = exportFor(text, python);
          const selected = lock.select({ env: markerEnvironment(python, 'amd64'), ...selection(name) }).filter((p) => p.source.kind !== 'app');
          // The export names editable directories by their folder; the lock by the package's name.
          const names = selected.map((p) => (p.source.kind === 'path' && p.source.editable ? path.posix.basename(p.source.path) : p.name));
          expect(names, `${python}: names`).to.deep.equal(expected.map((e) => e.name.toLowerCase().replace(/[-_.]+/g, '-')).sort());
          for (const [i, p] of selected.entries()) {
            const e = expected.find((x) => x.name.toLowerCase().replace(/[-_.]+/g, '-') === names[i]);
            if (e?.version !== undefined) expect(p.version, `${python}: ${p.name}`).to.equal(e.version);
            expect(hashesOf(p), `${python}: hashes of ${p.name}`).to.deep.equal([...(e?.hashes ?? [])].sort());
          }
        }
      });
    }
  }
});

describe('poetry.lock: selection equals poetry install --dry-run', () => {
  for (const vector of fs.readdirSync(VECTORS).sort()) {
    const dir = path.join(VECTORS, vector, 'poetry-install');
    if (!fs.existsSync(dir)) continue;
    for (const file of fs.readdirSync(dir).sort()) {
      const m = /^install-py(\d+\.\d+)-(.*)\.txt$/.exec(file);
      if (m === null) continue;
      it(`${vector}: ${file}`, () => {
        const text = fs.readFileSync(path.join(dir, file), 'utf8');
        const full = /Python (\d+\.\d+\.\d+)/.exec(text)?.[1] ?? '';
        const installs = [...text.matchAll(/• Installing (\S+) \(([^ )]+)[^)]*\)(: Skipped.*)?/g)].filter((i) => i[3] === undefined).map((i) => `${i[1]}==${i[2]}`);
        const root = /Installing the current project: (\S+) \((\S+)\)/.exec(text);
        const lock = readPoetryLock(path.join(VECTORS, vector), 'poetry.lock');
        const selected = lock.select({ env: markerEnvironment(full, 'amd64'), ...selection(m[2] ?? '') });
        expect(selected.filter((p) => p.source.kind !== 'app').map((p) => `${p.name}==${p.version}`)).to.deep.equal(installs.sort());
        expect(selected.filter((p) => p.source.kind === 'app').map((p) => `${p.name}==${p.version}`)).to.deep.equal([`${root?.[1]}==${root?.[2]}`]);
      });
    }
  }
});

describe('poetry.lock: sources', () => {
  it('reads index, URL, git, file and develop directory sources, and the root project as the app', () => {
    const lock = readPoetryLock(path.join(VECTORS, 'sources'), 'poetry.lock');
    const byName = new Map(lock.select({ env: markerEnvironment('3.12.1', 'amd64'), groups: [], extras: [] }).map((p) => [p.name, p]));
    expect(byName.get('flask')?.source).to.deep.equal({ kind: 'index', url: 'http://127.0.0.1:18731/simple' });
    expect(byName.get('blinker')?.source).to.deep.equal({ kind: 'url', url: 'http://127.0.0.1:18731/files/blinker-1.9.0-py3-none-any.whl' });
    expect(byName.get('blinker')?.artifacts[0]?.url).to.equal('http://127.0.0.1:18731/files/blinker-1.9.0-py3-none-any.whl');
    expect(byName.get('greet')?.source).to.deep.equal({ kind: 'git', url: 'file:///tmp/pv-git/greet', commit: 'b554c8ddba3272d986580549f74d3250599ea08c' });
    expect(byName.get('colorama')?.source).to.deep.equal({ kind: 'path', path: 'vendor/colorama-0.4.6-py2.py3-none-any.whl', editable: false });
    expect(byName.get('mylib')?.source).to.deep.equal({ kind: 'path', path: 'libs/mylib', editable: true });
    expect(byName.get('sources-app')?.source).to.deep.equal({ kind: 'app', path: '.', editable: true });
    expect(lock.indexes).to.deep.equal(['http://127.0.0.1:18731/simple']);
    expect(lock.requiresPython).to.equal('>=3.10,<4.0.0');
  });

  it('reads lock-version 1.1 hashes from [metadata.files]', () => {
    const lock = readPoetryLock(path.join(VECTORS, 'owl-template-lock-1.1'), 'poetry.lock');
    const pydantic = lock.select({ env: markerEnvironment('3.11.7', 'amd64'), groups: [], extras: [] }).find((p) => p.name === 'pydantic');
    expect(pydantic?.artifacts.length).to.be.greaterThan(10);
    expect(pydantic?.artifacts.every((a) => /^[0-9a-f]{64}$/.test(a.hashes.sha256 ?? ''))).to.equal(true);
  });

  it('leaves the root project out with package-mode = false', () => {
    const app = copyVector('flask-groups-v2');
    const pyproject = path.join(app, 'pyproject.toml');
    fs.writeFileSync(pyproject, fs.readFileSync(pyproject, 'utf8').replace('[tool.poetry]\n', '[tool.poetry]\npackage-mode = false\n'));
    const names = readPoetryLock(app, 'poetry.lock')
      .select({ env: markerEnvironment('3.12.1', 'amd64'), groups: [], extras: [] })
      .map((p) => p.name);
    expect(names).to.not.include('flask-groups-v2');
    expect(names).to.include('flask');
    // A lock Poetry 2.4.1 wrote for a pyproject with package-mode = false.
    const v2 = readPoetryLock(path.join(VECTORS, 'sources-v2'), 'poetry.lock').select({ env: markerEnvironment('3.12.1', 'amd64'), groups: [], extras: [] });
    expect(v2.filter((p) => p.source.kind === 'app')).to.deep.equal([]);
    expect(v2.find((p) => p.name === 'greet')?.source).to.deep.equal({ kind: 'git', url: 'file://None/tmp/pv-git/greet', commit: 'b554c8ddba3272d986580549f74d3250599ea08c' });
    expect(v2.find((p) => p.name === 'mylib')?.source).to.deep.equal({ kind: 'path', path: 'libs/mylib', editable: true });
  });
});

function copyVector(name: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poetry-lock-'));
  fs.cpSync(path.join(VECTORS, name), dir, { recursive: true });
  return dir;
}

describe('poetry.lock: content-hash (item 5)', () => {
  const fresh = ['flask-groups', 'sources', 'cosmetic', 'flask-groups-v2', 'owl-template-lock-1.1', 'owl-template-lock-2.0', ...fs.readdirSync(path.join(VECTORS, 'content-hash')).filter((d) => !d.startsWith('stale') && !d.endsWith('.md')).map((d) => `content-hash/${d}`)];
  for (const vector of fresh) {
    it(`reproduces Poetry's hash: ${vector}`, () => {
      const lock = fs.readFileSync(path.join(VECTORS, vector, 'poetry.lock'), 'utf8');
      const pyproject = readToml(path.join(VECTORS, vector, 'pyproject.toml'));
      const version = /lock-version = "([^"]+)"/.exec(lock)?.[1] ?? '';
      const hash = /content-hash = "([^"]+)"/.exec(lock)?.[1] ?? '';
      expect(acceptedContentHashes(pyproject, version, generatorVersion(lock))).to.include(hash);
      expect(() => readPoetryLock(path.join(VECTORS, vector), 'poetry.lock')).to.not.throw();
    });
  }

  it('stops a lock Poetry calls stale, with the command of the Poetry that wrote it', () => {
    expect(thrownCause(() => readPoetryLock(path.join(VECTORS, 'stale'), 'poetry.lock'))).to.include({ type: 'lock-stale', manifest: 'pyproject.toml', command: 'poetry lock --no-update' });
    expect(thrownCause(() => readPoetryLock(path.join(VECTORS, 'content-hash/stale-poetry-plugin-export-cac96f2'), 'poetry.lock'))).to.include({ type: 'lock-stale' });
    const app = copyVector('flask-groups-v2');
    fs.appendFileSync(path.join(app, 'pyproject.toml'), '\n[tool.poetry.group.extra.dependencies]\nrequests = "*"\n');
    expect(thrownCause(() => readPoetryLock(app, 'poetry.lock'))).to.include({ type: 'lock-stale', command: 'poetry lock' });
  });

  it("writes JSON as Python's json.dumps(sort_keys=True) does", () => {
    expect(pythonJsonDumps({ b: [1, true, null], a: 'é\u0001"\\\n', c: {} })).to.equal('{"a": "\\u00e9\\u0001\\"\\\\\\n", "b": [1, true, null], "c": {}}');
    expect(pythonJsonDumps('😀\u007f')).to.equal('"\\ud83d\\ude00\\u007f"');
  });
});

function readToml(file: string): Record<string, unknown> {
  return parseToml(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
}

describe('poetry.lock: malformed and unsupported files', () => {
  const write = (lock: string, pyproject = '[tool.poetry]\nname = "x"\n'): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poetry-bad-'));
    fs.writeFileSync(path.join(dir, 'poetry.lock'), lock);
    fs.writeFileSync(path.join(dir, 'pyproject.toml'), pyproject);
    return dir;
  };
  it('names the format versions it reads', () => {
    expect(thrownCause(() => readPoetryLock(write('[metadata]\nlock-version = "3.0"\n'), 'poetry.lock'))).to.include({ type: 'lock-version-unsupported', found: '3.0' });
    expect(thrownCause(() => readPoetryLock(write('[metadata]\ncontent-hash = "x"\n'), 'poetry.lock'))).to.include({ type: 'lock-version-unsupported', found: 'none' });
  });
  it('says what is wrong and where', () => {
    expect(thrownCause(() => readPoetryLock(write('[[package]\n'), 'poetry.lock'))).to.include({ type: 'lock-malformed' });
    const hash = acceptedContentHashes({ tool: { poetry: { name: 'x' } } }, '2.1', undefined)[0];
    const bad = `[[package]]\nname = "a"\nversion = "1"\ngroups = ["main"]\nmarkers = "python_version >"\n\n[metadata]\nlock-version = "2.1"\ncontent-hash = "${hash}"\n`;
    expect(thrownCause(() => readPoetryLock(write(bad), 'poetry.lock'))).to.include({ type: 'lock-malformed', entry: '[[package]] "a"' });
    const outside = `[[package]]\nname = "a"\nversion = "1"\ngroups = ["main"]\n[package.source]\ntype = "directory"\nurl = "../elsewhere"\n\n[metadata]\nlock-version = "2.1"\ncontent-hash = "${hash}"\n`;
    expect(thrownCause(() => readPoetryLock(write(outside), 'poetry.lock'))).to.include({ type: 'lock-malformed', detail: 'the path "../elsewhere" leads outside the app' });
  });
  it('throws only lock causes on mutated lock text', () => {
    const original = fs.readFileSync(path.join(VECTORS, 'flask-groups-v2/poetry.lock'), 'utf8');
    const pyproject = fs.readFileSync(path.join(VECTORS, 'flask-groups-v2/pyproject.toml'), 'utf8');
    const dir = write(original, pyproject);
    fc.assert(
      fc.property(fc.nat(original.length - 1), fc.nat(40), fc.string({ maxLength: 5 }), (at, cut, insert) => {
        fs.writeFileSync(path.join(dir, 'poetry.lock'), original.slice(0, at) + insert + original.slice(at + cut));
        try {
          const lock = readPoetryLock(dir, 'poetry.lock');
          lock.select({ env: markerEnvironment('3.12.1', 'amd64'), groups: ['dev'], extras: ['server'] });
        } catch (err) {
          expect(err).to.be.instanceOf(BuildpackError);
          expect((err as BuildpackError).cause.type).to.match(/^lock-/);
        }
      }),
      { numRuns: 150 },
    );
  });
  it('selects the same set whatever the order of [[package]] entries', () => {
    const original = fs.readFileSync(path.join(VECTORS, 'flask-groups/poetry.lock'), 'utf8');
    const [head = '', ...entries] = original.split(/\n(?=\[\[package\]\])/);
    const last = entries.pop() ?? '';
    const [lastPackage = '', meta = ''] = last.split(/\n(?=\[extras\])/);
    const pyproject = fs.readFileSync(path.join(VECTORS, 'flask-groups/pyproject.toml'), 'utf8');
    const select = (text: string) =>
      readPoetryLock(write(text, pyproject), 'poetry.lock')
        .select({ env: markerEnvironment('3.10.13', 'amd64'), groups: ['dev'], extras: ['server'] })
        .map((p) => `${p.name}==${p.version}`);
    const expected = select(original);
    fc.assert(
      fc.property(fc.shuffledSubarray([...entries, lastPackage], { minLength: entries.length + 1 }), (shuffled) => {
        expect(select(`${head}\n${shuffled.join('\n')}\n${meta}`)).to.deep.equal(expected);
      }),
      { numRuns: 20 },
    );
  });
});

describe('Poetry constraints (poetry-core parse_constraint) as PEP 440', () => {
  it('turns caret and tilde into ranges', () => {
    const cases: [string, string][] = [
      ['^1.2.3', '>=1.2.3,<2.0.0'],
      ['^0.2.3', '>=0.2.3,<0.3.0'],
      ['^0.0.3', '>=0.0.3,<0.0.4'],
      ['^0', '>=0,<1.0.0'],
      ['^0.0', '>=0.0,<0.1.0'],
      ['^3.9', '>=3.9,<4.0.0'],
      ['~1.2.3', '>=1.2.3,<1.3.0'],
      ['~3.9', '>=3.9,<3.10.0'],
      ['~1', '>=1,<2.0.0'],
      ['>=2.7, !=3.0.*, !=3.1.*', '>=2.7,!=3.0.*,!=3.1.*'],
      ['>= 3.8 < 4', '>=3.8,<4'],
      ['3.11.*', '==3.11.*'],
      ['1.2', '==1.2'],
      ['*', ''],
    ];
    for (const [poetry, pep440] of cases) expect(toPep440(parsePoetryConstraint(poetry)), poetry).to.equal(pep440);
    expect(toPep440(parsePoetryConstraint('>=2.7,<2.8 || >=3.4'))).to.equal(undefined);
  });
  it('tests versions, and Pythons as Poetry markers do', () => {
    expect(allows(parsePoetryConstraint('^1.2'), '1.9.0')).to.equal(true);
    expect(allows(parsePoetryConstraint('^1.2'), '2.0.0')).to.equal(false);
    expect(allows(parsePoetryConstraint('<1.0 || >=2'), '2.1')).to.equal(true);
    expect(allowsPython(parsePoetryConstraint('>3.10'), '3.10', '3.10.13')).to.equal(false);
    expect(allowsPython(parsePoetryConstraint('>3.10.0'), '3.10', '3.10.13')).to.equal(true);
    expect(allowsPython(parsePoetryConstraint('^3.10'), '3.12', '3.12.1')).to.equal(true);
    expect(allowsPython(parsePoetryConstraint('<3.11'), '3.11', '3.11.7')).to.equal(false);
  });
  it('never throws anything but a constraint syntax error', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), (text) => {
        try {
          allows(parsePoetryConstraint(text), '1.0');
        } catch (err) {
          expect((err as Error).constructor.name).to.equal('ConstraintSyntaxError');
        }
      }),
    );
  });
});

describe("poetry-core's without_extras", () => {
  const env = markerEnvironment('3.12.1', 'amd64');
  it('drops extra comparisons from and/or chains as MultiMarker and MarkerUnion do', () => {
    expect(withoutExtras(parseMarker('extra == "a"'))).to.equal(undefined);
    expect(evaluateMarker(withoutExtras(parseMarker('extra == "a" and python_version < "3"')), env)).to.equal(false);
    // In a union the extra term goes away: only python_version < "3" is left.
    expect(evaluateMarker(withoutExtras(parseMarker('extra == "a" or python_version < "3"')), env)).to.equal(false);
    // An and-chain of extras only becomes "any", which makes the union any.
    expect(withoutExtras(parseMarker('(extra == "a" and extra != "b") or python_version < "3"'))).to.equal(undefined);
  });
});

describe('poetry.lock: details the vectors do not reach', () => {
  const app = (lock: string, pyproject: string): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poetry-unit-'));
    fs.writeFileSync(path.join(dir, 'pyproject.toml'), pyproject);
    const hash = acceptedContentHashes(parseToml(pyproject) as Record<string, unknown>, '2.0', undefined)[0];
    fs.writeFileSync(path.join(dir, 'poetry.lock'), lock.replace('HASH', hash ?? ''));
    return dir;
  };
  it("walks a dependency's optional dependencies only for the extras asked of it (lock 2.0)", () => {
    const lock = (extras: string) =>
      `[[package]]\nname = "a"\nversion = "1.0"\noptional = false\npython-versions = "*"\nfiles = []\n\n[package.dependencies]\nb = {version = "*", optional = true, markers = "extra == \\"x\\""}\n\n[package.extras]\nx = ["b (>=1)"]\n\n[[package]]\nname = "b"\nversion = "2.0"\noptional = true\npython-versions = "*"\nfiles = []\n\n[metadata]\nlock-version = "2.0"\npython-versions = "^3.10"\ncontent-hash = "HASH"\n${extras}`;
    const names = (dep: string) =>
      readPoetryLock(app(lock(''), `[tool.poetry]\nname = "app"\nversion = "0"\n\n[tool.poetry.dependencies]\npython = "^3.10"\na = ${dep}\n`), 'poetry.lock')
        .select({ env: markerEnvironment('3.12.1', 'amd64'), groups: [], extras: [] })
        .map((p) => p.name);
    expect(names('"*"')).to.deep.equal(['a', 'app']);
    expect(names('{version = "*", extras = ["x"]}')).to.deep.equal(['a', 'app', 'b']);
  });
  it('accepts the hash without [dependency-groups] only from a Poetry before 2.3 (locker.py is_fresh)', () => {
    const dir = copyVector('flask-groups-v2');
    const pyproject = parseToml(fs.readFileSync(path.join(dir, 'pyproject.toml'), 'utf8')) as Record<string, unknown>;
    const withoutGroups = acceptedContentHashes(pyproject, '2.1', '2.2.1').find((h) => !acceptedContentHashes(pyproject, '2.1', '2.4.1').includes(h)) ?? '';
    const lockFile = path.join(dir, 'poetry.lock');
    const original = fs.readFileSync(lockFile, 'utf8').replace(/content-hash = "[^"]+"/, `content-hash = "${withoutGroups}"`);
    fs.writeFileSync(lockFile, original.replace('Poetry 2.4.1', 'Poetry 2.2.1'));
    expect(() => readPoetryLock(dir, 'poetry.lock')).to.not.throw();
    fs.writeFileSync(lockFile, original);
    expect(thrownCause(() => readPoetryLock(dir, 'poetry.lock'))).to.include({ type: 'lock-stale' });
  });
});

describe('poetry.lock: groups and extras the project does not declare', () => {
  const env = markerEnvironment('3.12.1', 'amd64');
  const lock = (vector: string) => readPoetryLock(path.join(VECTORS, vector), 'poetry.lock');

  it("flask-groups-v2: refuses and accepts what Poetry 2.4.1's export does (poetry-export-refusals.txt)", () => {
    const lines = fs.readFileSync(path.join(VECTORS, 'flask-groups-v2/poetry-export-refusals.txt'), 'utf8').split('\n').filter((l) => l.startsWith('$ '));
    expect(lines.length).to.be.greaterThan(5);
    for (const line of lines) {
      const m = /^\$ poetry export (.*?)\s+=> exit (\d+)(?:: (.*))?$/.exec(line);
      if (m === null) throw new Error(`unexpected line ${line}`);
      const args = (m[1] ?? '').split(/\s+/);
      const value = (flag: string) => args.flatMap((a, i) => (a === flag ? (args[i + 1] ?? '').split(',') : []));
      const run = () => lock('flask-groups-v2').select({ env, groups: value('--with'), extras: value('--extras') });
      if (m[2] === '0') {
        expect(run, line).to.not.throw();
        continue;
      }
      const group = /Group\(s\) not found: (\S+)/.exec(m[3] ?? '');
      const extra = /Extra \[(.+)\] is not specified\./.exec(m[3] ?? '');
      const expected = group !== null ? { kind: 'group', name: group[1], known: ['dev', 'docs', 'lint', 'main'] } : { kind: 'extra', name: extra?.[1], known: ['server'] };
      expect(thrownCause(run), line).to.deep.equal({ type: 'lock-unknown-selection', file: 'poetry.lock', ...expected });
    }
  });

  it('lock 2.0 and 1.1: the groups and extras of pyproject.toml, dev-dependencies as `dev` (Poetry 1.5+ group_command.py)', () => {
    const refused = (vector: string, groups: string[], extras: string[] = []) => thrownCause(() => lock(vector).select({ env, groups, extras }));
    expect(refused('flask-groups', ['dev', 'nosuch'])).to.deep.equal({ type: 'lock-unknown-selection', file: 'poetry.lock', kind: 'group', name: 'nosuch', known: ['dev', 'main'] });
    expect(refused('flask-groups', [], ['server', 'nosuch'])).to.deep.equal({ type: 'lock-unknown-selection', file: 'poetry.lock', kind: 'extra', name: 'nosuch', known: ['server'] });
    expect(refused('sources', ['docs'])).to.deep.equal({ type: 'lock-unknown-selection', file: 'poetry.lock', kind: 'group', name: 'docs', known: ['dev', 'main'] });
    expect(refused('owl-template-lock-1.1', ['lint'])).to.deep.equal({ type: 'lock-unknown-selection', file: 'poetry.lock', kind: 'group', name: 'lint', known: ['dev', 'linting', 'main'] });
    expect(refused('owl-template-lock-2.0', [], ['server'])).to.deep.equal({ type: 'lock-unknown-selection', file: 'poetry.lock', kind: 'extra', name: 'server', known: [] });
    expect(() => lock('sources').select({ env, groups: ['Dev', 'main'], extras: [] })).to.not.throw();
    expect(() => lock('owl-template-lock-1.1').select({ env, groups: ['Linting'], extras: [] })).to.not.throw();
  });

  it('a group declared without dependencies, in [tool.poetry.group] or [dependency-groups], is known', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'poetry-unit-'));
    const pyproject = `[tool.poetry]\nname = "app"\nversion = "0"\n\n[tool.poetry.dependencies]\npython = "^3.10"\n\n[tool.poetry.group.docs]\noptional = true\n\n[dependency-groups]\nlint = []\n`;
    fs.writeFileSync(path.join(dir, 'pyproject.toml'), pyproject);
    const hash = acceptedContentHashes(parseToml(pyproject) as Record<string, unknown>, '2.0', undefined)[0] ?? '';
    fs.writeFileSync(path.join(dir, 'poetry.lock'), `package = []\n\n[metadata]\nlock-version = "2.0"\npython-versions = "^3.10"\ncontent-hash = "${hash}"\n`);
    const names = (groups: string[]) => readPoetryLock(dir, 'poetry.lock').select({ env, groups, extras: [] }).map((p) => p.name);
    expect(names(['docs', 'lint'])).to.deep.equal(['app']);
    expect(thrownCause(() => names(['dev']))).to.deep.equal({ type: 'lock-unknown-selection', file: 'poetry.lock', kind: 'group', name: 'dev', known: ['docs', 'lint', 'main'] });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('any spelling of a declared group or extra that canonicalizes to it is accepted, any other name refused', () => {
    const v2 = lock('flask-groups-v2');
    const spell = (word: string) => fc.array(fc.boolean(), { minLength: word.length, maxLength: word.length }).map((up) => [...word].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''));
    const other = fc.stringMatching(/^[a-z][a-z0-9._-]{0,8}$/).filter((n) => !['main', 'dev', 'docs', 'lint', 'server'].includes(n.replace(/[-_.]+/g, '-')));
    fc.assert(
      fc.property(fc.oneof(spell('main'), spell('dev'), spell('docs'), spell('lint')), spell('server'), other, (group, extra, unknown) => {
        expect(() => v2.select({ env, groups: [group], extras: [extra] })).to.not.throw();
        expect(thrownCause(() => v2.select({ env, groups: [group, unknown], extras: [] }))).to.include({ kind: 'group', name: unknown });
        expect(thrownCause(() => v2.select({ env, groups: [], extras: [unknown] }))).to.include({ kind: 'extra', name: unknown });
      }),
      { numRuns: 100 },
    );
  });

  it('refuses before looking at the Python: a lock for other Pythons still names the unknown group', () => {
    expect(thrownCause(() => lock('flask-groups').select({ env: markerEnvironment('3.8.18', 'amd64'), groups: ['nosuch'], extras: [] }))).to.include({ type: 'lock-unknown-selection', name: 'nosuch' });
  });
});
