/** The Pipfile.lock reader's checks: stale locks, malformed and unsupported files, the sources it refuses. */
import { expect } from 'chai';
import fc from 'fast-check';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BuildpackError } from '../../src/failure.js';
import { markerEnvironment } from '../../src/lock/markers.js';
import { readPipfileLock } from '../../src/lock/pipfile.js';
import { pythonJson } from '../../src/lock/pipfile-hash.js';
import { thrownCause } from '../fakes/thrown.js';

const VECTORS = path.resolve(import.meta.dirname, '../fixtures/lock-vectors/pipenv');
const ENV = markerEnvironment('3.11.2', 'amd64');

let dirs: string[] = [];
afterEach(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  dirs = [];
});

/** A copy of a vector's Pipfile and Pipfile.lock in a fresh folder. */
function app(vector: string, files: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipfile-lock-'));
  dirs.push(dir);
  for (const f of ['Pipfile', 'Pipfile.lock']) fs.copyFileSync(path.join(VECTORS, vector, f), path.join(dir, f));
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  return dir;
}

/** A lock of one package entry, no Pipfile beside it. */
function lockWith(entry: unknown, meta: Record<string, unknown> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipfile-lock-'));
  dirs.push(dir);
  const lock = { _meta: { 'pipfile-spec': 6, sources: [{ name: 'pypi', url: 'https://pypi.org/simple', verify_ssl: true }], requires: {}, hash: { sha256: '0' }, ...meta }, default: { pkg: entry }, develop: {} };
  fs.writeFileSync(path.join(dir, 'Pipfile.lock'), JSON.stringify(lock));
  return dir;
}

function edit(dir: string, file: string, change: (text: string) => string): void {
  fs.writeFileSync(path.join(dir, file), change(fs.readFileSync(path.join(dir, file), 'utf8')));
}

describe('Pipfile.lock staleness (pipenv install --deploy)', () => {
  it('a Pipfile with a package the lock was not made with: lock-stale with `pipenv lock`', () => {
    const dir = app('flask-app');
    edit(dir, 'Pipfile', (t) => t.replace('[dev-packages]', 'httpx = "*"\n\n[dev-packages]'));
    const cause = thrownCause(() => readPipfileLock(dir, 'Pipfile.lock'));
    expect(cause).to.include({ type: 'lock-stale', file: 'Pipfile.lock', tool: 'pipenv', manifest: 'Pipfile', command: 'pipenv lock' });
    expect(cause.type === 'lock-stale' && cause.detail).to.match(/^Pipfile hashes to [0-9a-f]{12}…, the lock was made from fd817fc2e88d…$/);
  });

  it('a changed [requires], [[source]] or custom category is stale too', () => {
    for (const [vector, from, to] of [
      ['flask-app', 'python_version = "3.11"', 'python_version = "3.12"'],
      ['flask-app', 'verify_ssl = false', 'verify_ssl = true'],
      ['categories', 'sphinx = "*"', 'sphinx = ">=8"'],
    ] as const) {
      const dir = app(vector);
      edit(dir, 'Pipfile', (t) => t.replace(from, to));
      expect(thrownCause(() => readPipfileLock(dir, 'Pipfile.lock')).type, `${from} → ${to}`).to.equal('lock-stale');
    }
  });

  it('comments, blank lines, [scripts], [pipenv] and the order of keys and tables leave the lock fresh', () => {
    const reordered = [
      '# deployed by the buildpack',
      '[scripts]',
      'serve = "flask run"',
      '',
      '[lint]',
      'flake8 = "*"',
      '',
      '[docs]',
      'sphinx = "*"',
      '[dev-packages]',
      'pytest = "*"',
      '',
      '[packages]',
      'tomli = {markers = "python_version < \'3.11\'", version = "*"}',
      "pycountry = { index = 'more', version = '*' }",
      '# web',
      'Flask = "*"',
      '',
      '[requires]',
      'python_version = "3.11"',
      '',
      '[[source]]',
      'verify_ssl = false',
      'name = "local"',
      'url = "http://127.0.0.1:8765/simple"',
      '',
      '[[source]]',
      'url = "http://127.0.0.1:8766/simple"',
      'name = "more"',
      'verify_ssl = false',
      '',
      '[pipenv]',
      'allow_prereleases = false',
    ].join('\n');
    expect(() => readPipfileLock(app('categories', { Pipfile: reordered }), 'Pipfile.lock')).to.not.throw();
    // …while the sources' order is part of the hash.
    const swapped = reordered.replace('8765', 'PORT').replace('8766', '8765').replace('PORT', '8766').replace('"local"', '"X"').replace('"more"', '"local"').replace('"X"', '"more"');
    expect(thrownCause(() => readPipfileLock(app('categories', { Pipfile: swapped }), 'Pipfile.lock')).type).to.equal('lock-stale');
  });

  it('a Pipfile without [[source]] hashes with PyPI as its source, as plette does', () => {
    const dir = app('flask-app');
    edit(dir, 'Pipfile', (t) => t.replace(/\[\[source\]\][^[]*/, ''));
    edit(dir, 'Pipfile.lock', (t) => t.replace('fd817fc2e88da604113366bd896d68189bfce161596fb845ba6821a76aca155e', '0'));
    const detail = (() => {
      const c = thrownCause(() => readPipfileLock(dir, 'Pipfile.lock'));
      return c.type === 'lock-stale' ? c.detail : '';
    })();
    const hash = /hashes to ([0-9a-f]{12})/.exec(detail)?.[1];
    // The same Pipfile with PyPI's source written out hashes the same.
    const written = app('flask-app');
    edit(written, 'Pipfile', (t) => t.replace(/\[\[source\]\][^[]*/, '[[source]]\nname = "pypi"\nurl = "https://pypi.org/simple"\nverify_ssl = true\n\n'));
    edit(written, 'Pipfile.lock', (t) => t.replace('fd817fc2e88da604113366bd896d68189bfce161596fb845ba6821a76aca155e', '0'));
    const c2 = thrownCause(() => readPipfileLock(written, 'Pipfile.lock'));
    expect(c2.type === 'lock-stale' && c2.detail).to.include(`hashes to ${hash}`);
  });

  it("a lock carrying Pipenv 2026.4's hash (names normalized) of the same Pipfile is fresh", () => {
    const dir = app('categories');
    const newer = fs.readFileSync(path.join(VECTORS, 'categories/pipfile-hash-2026.txt'), 'utf8').trim();
    edit(dir, 'Pipfile.lock', (t) => t.replace('5d43f90cb3a9bef62430bda4c08cf1c407a2f6aab3bba7cf01d1e7f9e9549dfe', newer));
    expect(() => readPipfileLock(dir, 'Pipfile.lock')).to.not.throw();
  });

  it('no Pipfile beside the lock: nothing to be stale against (micropipenv installs such locks)', () => {
    const dir = app('flask-app');
    fs.rmSync(path.join(dir, 'Pipfile'));
    expect(readPipfileLock(dir, 'Pipfile.lock').select({ env: ENV, groups: [], extras: [] })).to.have.length(16);
  });

  it('a lock in a subfolder is checked against the Pipfile beside it', () => {
    const dir = app('flask-app');
    fs.mkdirSync(path.join(dir, 'deploy'));
    fs.renameSync(path.join(dir, 'Pipfile.lock'), path.join(dir, 'deploy/Pipfile.lock'));
    expect(() => readPipfileLock(dir, 'deploy/Pipfile.lock')).to.not.throw();
    fs.copyFileSync(path.join(dir, 'Pipfile'), path.join(dir, 'deploy/Pipfile'));
    edit(dir, 'deploy/Pipfile', (t) => `${t}\n[extra]\nsix = "*"\n`);
    expect(thrownCause(() => readPipfileLock(dir, 'deploy/Pipfile.lock'))).to.include({ type: 'lock-stale', manifest: 'deploy/Pipfile' });
  });

  it('no _meta.hash, or a Pipfile that is not TOML: lock-stale saying so', () => {
    const dir = app('flask-app');
    edit(dir, 'Pipfile.lock', (t) => JSON.stringify({ ...JSON.parse(t), _meta: { ...JSON.parse(t)._meta, hash: undefined } }));
    const c = thrownCause(() => readPipfileLock(dir, 'Pipfile.lock'));
    expect(c.type === 'lock-stale' && c.detail).to.equal('the lock records no hash of Pipfile (_meta.hash.sha256)');
    const bad = app('flask-app', { Pipfile: '[packages\nflask = "*"\n' });
    const c2 = thrownCause(() => readPipfileLock(bad, 'Pipfile.lock'));
    expect(c2.type === 'lock-stale' && c2.detail).to.match(/^Pipfile is not valid TOML/);
  });
});

describe('Pipfile.lock: files the reader refuses', () => {
  const malformed = (dir: string) => {
    const c = thrownCause(() => readPipfileLock(dir, 'Pipfile.lock'));
    expect(c.type).to.equal('lock-malformed');
    return c.type === 'lock-malformed' ? { entry: c.entry, detail: c.detail } : { entry: undefined, detail: '' };
  };

  it('not JSON, not an object, no _meta: lock-malformed', () => {
    for (const text of ['{"_meta": ', '[]', '{"default": {}}']) {
      const dir = lockWith({});
      fs.writeFileSync(path.join(dir, 'Pipfile.lock'), text);
      malformed(dir);
    }
  });

  it('a pipfile-spec other than 6: lock-version-unsupported naming it', () => {
    const dir = lockWith({ version: '==1.0' }, { 'pipfile-spec': 7 });
    expect(thrownCause(() => readPipfileLock(dir, 'Pipfile.lock'))).to.deep.equal({ type: 'lock-version-unsupported', file: 'Pipfile.lock', tool: 'pipenv', found: '7', supported: 'pipfile-spec 6' });
  });

  it('an index package without a pinned version names the entry', () => {
    for (const version of [undefined, '*', '>=1.0', '==1.*']) {
      expect(malformed(lockWith({ version, hashes: ['sha256:00'] })).entry).to.equal('["default"]["pkg"]');
    }
  });

  it('a bad hash, marker, extras, editable or index name names the entry and what is wrong', () => {
    expect(malformed(lockWith({ version: '==1.0', hashes: ['sha256'] })).detail).to.include('is not a hash');
    expect(malformed(lockWith({ version: '==1.0', markers: "python_version >= '3.8' and" })).detail).to.include('markers is not a PEP 508 marker');
    expect(malformed(lockWith({ version: '==1.0', extras: 'socks' })).detail).to.include('extras');
    expect(malformed(lockWith({ version: '==1.0', editable: 'yes' })).detail).to.include('editable');
    expect(malformed(lockWith({ version: '==1.0', index: 'private' })).detail).to.equal('index "private" is not one of _meta.sources');
  });

  it('a git source locked at a branch or tag, not a commit, is refused', () => {
    expect(malformed(lockWith({ git: 'https://github.com/psf/requests.git', ref: 'main' })).detail).to.match(/locked at "main", not at a commit/);
    expect(malformed(lockWith({ git: 'https://github.com/psf/requests.git' })).detail).to.match(/locked at no ref/);
  });

  it('Mercurial, Subversion and Bazaar sources are refused by name', () => {
    expect(malformed(lockWith({ hg: 'https://hg.example/repo', ref: 'abc' })).detail).to.match(/^a Mercurial \(hg\) source/);
    expect(malformed(lockWith({ svn: 'https://svn.example/repo' })).detail).to.match(/^a Subversion \(svn\) source/);
  });

  it('a path outside the app, an absolute path or a file: URL is refused', () => {
    expect(malformed(lockWith({ path: '../sibling' })).detail).to.include('outside the app');
    expect(malformed(lockWith({ path: '/home/dev/pkg' })).detail).to.include('absolute path');
    expect(malformed(lockWith({ file: 'file:///home/dev/pkg-1.0.tar.gz' })).detail).to.include('file: URL');
    // Found by the mutation property below: `new URL` throws a TypeError on this.
    expect(malformed(lockWith({ file: 'http:// 127.0.0.1/pkg-1.0.tar.gz' })).detail).to.include('is not a URL of a file');
  });

  it('one name twice in a category (after PEP 503 normalization) is refused', () => {
    const dir = lockWith({ version: '==1.0' });
    edit(dir, 'Pipfile.lock', (t) => t.replace('"default":{', '"default":{"Pkg":{"version":"==2.0"},'));
    expect(malformed(dir).detail).to.equal('pkg is listed twice in this category');
  });

  it('_meta.requires as Pipenv --deploy compares it: the parts given, * for any, a specifier as written', () => {
    const requires = (r: Record<string, unknown>) => readPipfileLock(lockWith({ version: '==1.0' }, { requires: r }), 'Pipfile.lock').requiresPython;
    expect(requires({ python_version: '3' })).to.equal('==3.*');
    expect(requires({ python_version: '3.12' })).to.equal('==3.12.*');
    expect(requires({ python_version: '3.12', python_full_version: '3.12.7' })).to.equal('==3.12.7');
    expect(requires({ python_full_version: '3.13.0rc1' })).to.equal('==3.13.0rc1');
    expect(requires({ python_version: '*' })).to.equal(undefined);
    expect(requires({ python_version: '>=3.9,<4' })).to.equal('>=3.9,<4');
    expect(requires({})).to.equal(undefined);
  });

  it('a bad python_version or python_full_version in _meta.requires names the key', () => {
    expect(malformed(lockWith({ version: '==1.0' }, { requires: { python_version: '3.x' } })).entry).to.equal('["_meta"]["requires"]["python_version"]');
    expect(malformed(lockWith({ version: '==1.0' }, { requires: { python_full_version: 3.11 } })).entry).to.equal('["_meta"]["requires"]["python_full_version"]');
    expect(malformed(lockWith({ version: '==1.0' }, { requires: { python_version: '>=3.x' } })).detail).to.equal('">=3.x" is not a PEP 440 specifier');
    expect(malformed(lockWith({ version: '==1.0' }, { requires: { python_version: '3.11rc1' } })).entry).to.equal('["_meta"]["requires"]["python_version"]');
  });
});

describe('Pipfile.lock entries', () => {
  const one = (entry: unknown) => readPipfileLock(lockWith(entry), 'Pipfile.lock').select({ env: ENV, groups: [], extras: [] });

  it('hashes become one artifact each, hex in lower case, with no file name', () => {
    expect(one({ version: '==1.0', hashes: ['sha256:ABCD', 'sha512:ef01'] })[0]?.artifacts).to.deep.equal([
      { filename: undefined, url: undefined, hashes: { sha256: 'abcd' } },
      { filename: undefined, url: undefined, hashes: { sha512: 'ef01' } },
    ]);
  });

  it('a bare version string, as old locks write it, is an index package', () => {
    expect(one('==2.0')).to.deep.equal([{ name: 'pkg', version: '2.0', source: { kind: 'index', url: undefined }, artifacts: [] }]);
  });

  it('markers and os_markers must both hold', () => {
    expect(one({ version: '==1.0', markers: "python_version >= '3.8'", os_markers: "os_name == 'nt'" })).to.deep.equal([]);
    expect(one({ version: '==1.0', markers: "python_version >= '3.8'", os_markers: "os_name == 'posix'" })).to.have.length(1);
  });

  it('a marker packaging refuses to evaluate (MarkerEvaluationError) makes the lock malformed, naming the entry', () => {
    const cause = thrownCause(() => one({ version: '==1.0', markers: "os_name ~= 'posix'" }));
    expect(cause).to.include({ type: 'lock-malformed', tool: 'pipenv', entry: 'the entry of pkg' });
    expect(cause.type === 'lock-malformed' && cause.detail).to.match(/a marker cannot be evaluated: os_name ~= "posix"/);
  });

  it('a git URL with git+, @ref and #egg= / #subdirectory= keeps the repository, the commit and the subdirectory', () => {
    const commit = 'a'.repeat(40);
    expect(one({ git: `git+https://user@example.com/r.git@${commit}#egg=pkg&subdirectory=lib` })[0]?.source).to.deep.equal({ kind: 'git', url: 'https://user@example.com/r.git', commit, subdirectory: 'lib' });
    expect(one({ git: 'ssh://git@example.com/r.git', ref: commit, subdirectory: 'src' })[0]?.source).to.deep.equal({ kind: 'git', url: 'ssh://git@example.com/r.git', commit, subdirectory: 'src' });
  });

  it('a file URL keeps its hashes and its file name; a relative file is a path', () => {
    expect(one({ file: 'https://example.com/dl/pkg-1.0-py3-none-any.whl', hashes: ['sha256:aa'] })[0]).to.deep.include({
      source: { kind: 'url', url: 'https://example.com/dl/pkg-1.0-py3-none-any.whl' },
      artifacts: [{ filename: 'pkg-1.0-py3-none-any.whl', url: 'https://example.com/dl/pkg-1.0-py3-none-any.whl', hashes: { sha256: 'aa' } }],
    });
    expect(one({ file: './wheels/pkg-1.0-py3-none-any.whl' })[0]?.source).to.deep.equal({ kind: 'path', path: 'wheels/pkg-1.0-py3-none-any.whl', editable: false });
    expect(one({ path: './', editable: true })[0]?.source).to.deep.equal({ kind: 'app', path: '.', editable: true });
  });

  it('a group naming no category is refused; a custom category named `dev` is taken over develop', () => {
    const dir = lockWith({ version: '==1.0' });
    edit(dir, 'Pipfile.lock', (t) => t.replace('"develop":{}', '"develop":{"a":{"version":"==1.0"}},"dev":{"b":{"version":"==1.0"}}'));
    const names = (groups: string[]) => readPipfileLock(dir, 'Pipfile.lock').select({ env: ENV, groups, extras: [] }).map((p) => p.name);
    expect(thrownCause(() => names(['nosuch']))).to.deep.equal({ type: 'lock-unknown-selection', file: 'Pipfile.lock', kind: 'group', name: 'nosuch', known: ['default', 'dev', 'develop'] });
    expect(names(['dev'])).to.deep.equal(['b', 'pkg']);
    expect(names(['develop'])).to.deep.equal(['a', 'pkg']);
  });
});

/** Random Pipfile.lock content: categories of packages with versions, hashes and markers. */
const name = fc.stringMatching(/^[A-Za-z][A-Za-z0-9]{0,6}$/);
const entry = fc.record({
  version: fc.tuple(fc.nat(20), fc.nat(20)).map(([a, b]) => `==${a}.${b}`),
  hashes: fc.array(fc.stringMatching(/^[0-9a-f]{8}$/).map((h) => `sha256:${h}`), { maxLength: 3 }),
  markers: fc.option(fc.constantFrom("python_version >= '3.8'", "python_version < '3.11'", "sys_platform == 'win32'", "platform_machine == 'x86_64'"), { nil: undefined }),
});
const category = fc.dictionary(name, entry, { maxKeys: 6 }).map((d) => Object.fromEntries(Object.entries(d).map(([k, v]) => [k.toLowerCase(), v])));
const lockData = fc.record({ default: category, develop: category, docs: category });

function writeLock(data: Record<string, unknown>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipfile-lock-prop-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'Pipfile.lock'), JSON.stringify({ _meta: { 'pipfile-spec': 6, sources: [], requires: {} }, ...data }));
  return dir;
}

function shuffled<T>(items: T[], seed: number): T[] {
  return items.map((v, i) => ({ v, k: (i * 7919 + seed) % 104729 })).sort((a, b) => a.k - b.k).map((x) => x.v);
}

describe('Pipfile.lock properties', () => {
  it('the production set is exactly default\'s entries whose markers hold, with their versions and hashes', () => {
    fc.assert(
      fc.property(lockData, (data) => {
        const got = readPipfileLock(writeLock(data), 'Pipfile.lock').select({ env: ENV, groups: [], extras: [] });
        const holds = (m: string | undefined) => m === undefined || m.includes('>=') || m.includes('x86_64');
        const want = Object.entries(data.default).filter(([, e]) => holds(e.markers)).map(([n, e]) => ({ n, v: e.version.slice(2), h: e.hashes.map((h) => h.slice(7)) })).sort((a, b) => (a.n < b.n ? -1 : 1));
        expect(got.map((p) => ({ n: p.name, v: p.version, h: p.artifacts.map((a) => a.hashes.sha256) }))).to.deep.equal(want);
      }),
      { numRuns: 60 },
    );
  });

  it('the order of categories and of packages in the file does not change the selection', () => {
    fc.assert(
      fc.property(lockData, fc.nat(1000), (data, seed) => {
        const reorder = (c: Record<string, unknown>) => Object.fromEntries(shuffled(Object.entries(c), seed));
        const a = writeLock(data);
        const b = writeLock(Object.fromEntries(shuffled(Object.entries(data), seed).map(([k, v]) => [k, reorder(v)])));
        for (const groups of [[], ['dev'], ['docs', 'develop']]) {
          const sel = (d: string) => readPipfileLock(d, 'Pipfile.lock').select({ env: ENV, groups, extras: [] });
          expect(sel(b)).to.deep.equal(sel(a));
        }
      }),
      { numRuns: 40 },
    );
  });

  it('default wins over any requested category for a package in both', () => {
    fc.assert(
      fc.property(lockData, (data) => {
        const got = readPipfileLock(writeLock(data), 'Pipfile.lock').select({ env: markerEnvironment('3.9.0', 'arm64'), groups: ['docs', 'dev'], extras: [] });
        for (const p of got) {
          const own = data.default[p.name];
          if (own) expect(p.version).to.equal(own.version.slice(2));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('requested categories are refused exactly when one is neither a category of the lock nor an alias of one', () => {
    const names = fc.constantFrom('default', 'packages', 'develop', 'dev-packages', 'dev', 'docs', 'Docs', 'DEV', 'lint', 'nosuch');
    fc.assert(
      fc.property(lockData, fc.array(names, { maxLength: 4 }), (data, groups) => {
        const known = new Set(['default', 'packages', 'develop', 'dev-packages', 'dev', 'docs']);
        const unknown = groups.find((g) => !known.has(g));
        const run = () => readPipfileLock(writeLock(data), 'Pipfile.lock').select({ env: ENV, groups, extras: [] });
        if (unknown === undefined) expect(run).to.not.throw();
        else expect(thrownCause(run)).to.deep.equal({ type: 'lock-unknown-selection', file: 'Pipfile.lock', kind: 'group', name: unknown, known: ['default', 'develop', 'docs'] });
      }),
      { numRuns: 60 },
    );
  });

  it('a mutated lock either reads or fails with a lock cause, never anything else', () => {
    const base = fs.readFileSync(path.join(VECTORS, 'local-sources/Pipfile.lock'), 'utf8');
    const mutation = fc.oneof(
      fc.tuple(fc.nat(base.length), fc.nat(40), fc.string({ maxLength: 8 })).map(([at, len, s]) => base.slice(0, at) + s + base.slice(at + len)),
      fc.tuple(fc.constantFrom('"==26.2.0"', '"sha256:', '"editable": true', '"path": "."', '"git": "file:///tmp/pv/gitsrc"', '6,', '"local"'), fc.constantFrom('null', '[]', '{}', '1', '"x"', 'true', '"../x"', '"@"')).map(([from, to]) => base.replace(from, to)),
    );
    fc.assert(
      fc.property(mutation, (text) => {
        const dir = writeLock({});
        fs.writeFileSync(path.join(dir, 'Pipfile.lock'), text);
        try {
          readPipfileLock(dir, 'Pipfile.lock').select({ env: ENV, groups: ['develop'], extras: [] });
        } catch (err) {
          expect(err).to.be.instanceOf(BuildpackError);
          // A mutation that renames `develop` leaves the requested group unknown.
          expect((err as BuildpackError).cause.type).to.be.oneOf(['lock-malformed', 'lock-version-unsupported', 'lock-stale', 'lock-unknown-selection']);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("Pipenv's hash input is Python's json.dumps(sort_keys=True, separators=(',', ':'))", () => {
  it('matches CPython on random TOML-like values: any text (escapes, astral characters), integers, booleans, nesting', () => {
    const text = fc.string({ unit: 'binary', maxLength: 12 });
    const leaf = fc.oneof(text, fc.integer(), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d)));
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(text, tie('v'), { maxKeys: 4 })),
    })).v;
    const samples = fc.sample(fc.dictionary(text, value, { maxKeys: 5 }), 300);
    // Python reads each value from JSON (lone surrogates and all) and prints json.dumps as the Pipfile hash does.
    const python = spawnSync('python3', ['-c', 'import json,sys\nfor l in sys.stdin:\n    print(json.dumps(json.loads(l), sort_keys=True, separators=(",", ":")))'], { input: samples.map((s) => JSON.stringify(s)).join('\n'), encoding: 'utf8' });
    expect(python.status, `python3 (CPython, the reference for json.dumps) must be on PATH: ${python.error?.message ?? python.stderr}`).to.equal(0);
    const want = python.stdout.split('\n').slice(0, samples.length);
    samples.forEach((s, i) => {
      expect(pythonJson(s), JSON.stringify(s)).to.equal(want[i]);
    });
  });
});
