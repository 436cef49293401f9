/**
 * Pipfile.lock files written by Pipenv (and one from a public project), read by the buildpack: the selected set
 * equals what `pipenv requirements` exports and what `pipenv sync` installs, for the stated Python and arch.
 * Each folder's SOURCE.md says how its files were made.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { evaluateMarker, markerEnvironment } from '../../src/lock/markers.js';
import type { LockedPackage } from '../../src/lock/model.js';
import { readPipfileLock } from '../../src/lock/pipfile.js';
import { pipfileHashes } from '../../src/lock/pipfile-hash.js';
import { normalizeName } from '../../src/python/package-name.js';
import { thrownCause } from '../fakes/thrown.js';

const VECTORS = path.resolve(import.meta.dirname, '../fixtures/lock-vectors/pipenv');
const PY311 = markerEnvironment('3.11.2', 'amd64');

interface ExportLine {
  /** `name==version` for index and URL lines, the location for the others. */
  spec: string;
  editable: boolean;
  marker: string | undefined;
  hashes: string[];
}

/** The lines of a `pipenv requirements` file, its `-i` / `--extra-index-url` lines apart. */
function readExport(file: string): { indexes: string[]; lines: ExportLine[] } {
  const indexes: string[] = [];
  const lines: ExportLine[] = [];
  for (const raw of fs.readFileSync(file, 'utf8').split('\n')) {
    if (raw.trim() === '') continue;
    const index = /^(?:-i|--extra-index-url) (\S+)$/.exec(raw);
    if (index?.[1]) {
      indexes.push(index[1]);
      continue;
    }
    const hashes = [...raw.matchAll(/ --hash=(\S+)/g)].map((m) => m[1] ?? '');
    let rest = raw.replace(/ --hash=\S+/g, '');
    let marker: string | undefined;
    const semi = rest.indexOf(' ; ');
    if (semi >= 0) {
      marker = rest.slice(semi + 3).trim();
      rest = rest.slice(0, semi);
    }
    const editable = rest.startsWith('-e ');
    lines.push({ spec: rest.replace(/^-e /, '').trim(), editable, marker, hashes: hashes.sort() });
  }
  return { indexes, lines };
}

/** What pip would install from an export on `env`: the lines whose marker holds, as `name==version` or location. */
function exported(file: string, env = PY311): ExportLine[] {
  return readExport(path.join(VECTORS, file)).lines.filter((l) => evaluateMarker(l.marker, env));
}

/** The selected set as export lines: index packages as `name==version` with their hashes. */
function asExport(p: LockedPackage): Omit<ExportLine, 'marker'> {
  const hashes = p.artifacts.flatMap((a) => Object.entries(a.hashes).map(([alg, hex]) => `${alg}:${hex}`)).sort();
  switch (p.source.kind) {
    case 'index':
      return { spec: `${p.name}==${p.version}`, editable: false, hashes };
    case 'url':
      return { spec: `${p.source.url}#egg=${p.name}`, editable: false, hashes };
    case 'git':
      return { spec: `git+${p.source.url}@${p.source.commit}#egg=${p.name}`, editable: false, hashes };
    case 'path':
    case 'app':
      return { spec: p.source.path === '.' ? '.' : `./${p.source.path}`, editable: p.source.editable, hashes };
  }
}

/** An export line as the selected set shows it: the name part of `name[extras]==1.2` normalized. */
function normalizedLine(l: ExportLine): Omit<ExportLine, 'marker'> {
  const m = /^([A-Za-z0-9._-]+)(\[[^\]]*\])?==(\S+)$/.exec(l.spec);
  return { spec: m ? `${normalizeName(m[1] ?? '')}==${m[3]}` : l.spec, editable: l.editable, hashes: l.hashes };
}

/** `pip freeze` output as normalized `name==version` (direct references by name only). */
function frozen(file: string): string[] {
  return fs
    .readFileSync(path.join(VECTORS, file), 'utf8')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const pinned = /^([A-Za-z0-9._-]+)==(\S+)$/.exec(l);
      if (pinned) return `${normalizeName(pinned[1] ?? '')}==${pinned[2]}`;
      const direct = /^([A-Za-z0-9._-]+) @ /.exec(l);
      if (direct) return normalizeName(direct[1] ?? '');
      return l;
    })
    .sort();
}

function selected(vector: string, groups: string[] = [], env = PY311): LockedPackage[] {
  return readPipfileLock(path.join(VECTORS, vector), 'Pipfile.lock').select({ env, groups, extras: [] });
}

describe('Pipfile.lock vectors from Pipenv', () => {
  it("the buildpack's marker evaluator agrees with packaging on every marker of the exports", () => {
    const { cases } = JSON.parse(fs.readFileSync(path.join(VECTORS, 'markers.json'), 'utf8')) as { cases: Array<{ marker: string; python_full_version: string; platform_machine: string; result: boolean }> };
    expect(cases.length).to.be.greaterThan(10);
    for (const c of cases) {
      expect(evaluateMarker(c.marker, markerEnvironment(c.python_full_version, c.platform_machine === 'x86_64' ? 'amd64' : c.platform_machine)), `${c.marker} on ${c.python_full_version}`).to.equal(c.result);
    }
  });

  const cases: Array<{ vector: string; groups: string[]; export: string; installed?: string }> = [
    { vector: 'flask-app', groups: [], export: 'requirements.txt', installed: 'installed.txt' },
    { vector: 'flask-app', groups: ['develop'], export: 'requirements-dev.txt', installed: 'installed-dev.txt' },
    { vector: 'flask-app', groups: ['dev'], export: 'requirements-dev.txt', installed: 'installed-dev.txt' },
    { vector: 'flask-app', groups: ['dev-packages'], export: 'requirements-dev.txt', installed: 'installed-dev.txt' },
    { vector: 'categories', groups: [], export: 'requirements.txt', installed: 'installed.txt' },
    { vector: 'categories', groups: ['dev'], export: 'requirements-dev.txt', installed: 'installed-dev.txt' },
    { vector: 'categories', groups: ['docs'], export: 'requirements-docs-default.txt', installed: 'installed-default-docs.txt' },
    { vector: 'categories', groups: ['docs', 'lint'], export: 'requirements-docs-lint-default.txt', installed: 'installed-default-docs-lint.txt' },
    { vector: 'local-sources', groups: [], export: 'requirements.txt', installed: 'installed.txt' },
    { vector: 'private-index', groups: [], export: 'requirements.txt', installed: 'installed.txt' },
    { vector: 'chronicle', groups: [], export: 'requirements.txt' },
    { vector: 'chronicle', groups: ['linters', 'tests'], export: 'requirements-linters-tests-default.txt' },
    { vector: 'chronicle', groups: ['tests', 'linters'], export: 'requirements-tests-linters-default.txt' },
  ];
  for (const c of cases) {
    const title = `${c.vector}, groups [${c.groups.join(', ')}]: the set of \`${c.export}\`${c.installed ? ` and of ${c.installed}` : ''} on CPython 3.11.2 linux/amd64`;
    it(title, () => {
      const got = selected(c.vector, c.groups);
      const want = exported(`${c.vector}/${c.export}`).map(normalizedLine);
      const sortKey = (l: { spec: string }) => l.spec;
      expect(got.map(asExport).sort((a, b) => sortKey(a).localeCompare(sortKey(b)))).to.deep.equal(want.sort((a, b) => sortKey(a).localeCompare(sortKey(b))));
      if (c.installed) {
        const names = got.map((p) => (p.source.kind === 'index' ? `${p.name}==${p.version}` : p.name)).sort();
        // pip freeze names an editable project without version control in a comment and its folder: myapp.
        expect(names).to.deep.equal(frozen(`${c.vector}/${c.installed}`).map((l) => (l.startsWith('-e ') ? 'myapp' : l)).sort());
      }
    });
  }

  it("categories: a category the lock lacks is refused, which `pipenv requirements --categories` silently lists nothing for (requirements-unknown-categories.txt)", () => {
    // What Pipenv does: exit 0 and no package line, for `nosuch` as for `Docs` (categories are not normalized).
    const transcript = fs.readFileSync(path.join(VECTORS, 'categories/requirements-unknown-categories.txt'), 'utf8');
    expect(transcript.split('\n').filter((l) => l.startsWith('$ '))).to.deep.equal(['$ pipenv requirements --categories nosuch', '$ pipenv requirements --categories Docs']);
    expect(transcript.split('\n').filter((l) => l !== '' && !/^(\$ |# exit 0$|-i |--extra-index-url )/.test(l))).to.deep.equal([]);
    const known = ['default', 'develop', 'docs', 'lint'];
    for (const [groups, name] of [[['nosuch'], 'nosuch'], [['Docs'], 'Docs'], [['docs', 'nosuch'], 'nosuch'], [['dev', 'lnt'], 'lnt']] as const) {
      expect(thrownCause(() => selected('categories', [...groups])), name).to.deep.equal({ type: 'lock-unknown-selection', file: 'Pipfile.lock', kind: 'group', name, known });
    }
  });

  it("Pipenv's names for its own categories are known: default, packages, develop, dev-packages, dev", () => {
    for (const group of ['default', 'packages', 'develop', 'dev-packages', 'dev']) expect(() => selected('flask-app', [group]), group).to.not.throw();
    expect(selected('flask-app', ['packages']).map((p) => p.name)).to.deep.equal(selected('flask-app').map((p) => p.name));
  });

  it('any requested extra is refused: a Pipfile declares no extras of the app', () => {
    const lock = readPipfileLock(path.join(VECTORS, 'local-sources'), 'Pipfile.lock');
    expect(thrownCause(() => lock.select({ env: PY311, groups: [], extras: ['server'] }))).to.deep.equal({ type: 'lock-unknown-selection', file: 'Pipfile.lock', kind: 'extra', name: 'server', known: [] });
  });

  it('Python 3.10 on the chronicle lock picks the entries marked for it (tomli, typing-extensions)', () => {
    const env = markerEnvironment('3.10.14', 'amd64');
    const got = selected('chronicle', [], env).map((p) => `${p.name}==${p.version}`);
    expect(got).to.deep.equal(exported('chronicle/requirements.txt', env).map((l) => normalizedLine(l).spec).sort());
    expect(got).to.include('typing-extensions==4.6.3');
  });

  it('the indexes are the lock\'s sources in order, as `pipenv requirements` prints them', () => {
    for (const vector of ['flask-app', 'categories', 'chronicle', 'private-index']) {
      const lock = readPipfileLock(path.join(VECTORS, vector), 'Pipfile.lock');
      expect(lock.indexes, vector).to.deep.equal(readExport(path.join(VECTORS, vector, 'requirements.txt')).indexes);
    }
  });

  it('an entry with `index` names its source: pycountry from "more", Flask from "local"', () => {
    const got = selected('categories');
    expect(got.find((p) => p.name === 'pycountry')?.source).to.deep.equal({ kind: 'index', url: 'http://127.0.0.1:8766/simple' });
    expect(got.find((p) => p.name === 'flask')?.source).to.deep.equal({ kind: 'index', url: 'http://127.0.0.1:8765/simple' });
    expect(got.find((p) => p.name === 'click')?.source).to.deep.equal({ kind: 'index', url: undefined });
  });

  it('local-sources: the app, a path, a git commit and a file URL become their sources', () => {
    const bySource = Object.fromEntries(selected('local-sources').map((p) => [p.name, p.source]));
    expect(bySource).to.deep.include({
      myapp: { kind: 'app', path: '.', editable: true },
      localpkg: { kind: 'path', path: 'vendor/localpkg', editable: false },
      gitpkg: { kind: 'git', url: 'file:///tmp/pv/gitsrc', commit: '9f0aefd6d40d5da87bd1de9e5e72e441d5875340' },
      idna: { kind: 'url', url: 'http://127.0.0.1:8765/files/idna-3.20-py3-none-any.whl' },
    });
  });

  it('democracyclub-website: file URLs without hashes are URL sources with no artifact, for the install to refuse by name', () => {
    const got = selected('democracyclub-website', [], markerEnvironment('3.12.7', 'amd64'));
    const urls = got.filter((p) => p.source.kind === 'url');
    expect(urls.map((p) => p.name)).to.deep.equal(['aws-wsgi', 'dc-design-system', 'dc-django-utils', 'django-typogrify']);
    for (const p of urls) expect(p.artifacts, p.name).to.deep.equal([]);
    expect(got.find((p) => p.name === 'aws-wsgi')?.source).to.deep.equal({ kind: 'url', url: 'https://github.com/DemocracyClub/awsgi/archive/refs/tags/v0.2.8.tar.gz' });
    expect(got.find((p) => p.name === 'pillow')).to.deep.include({ version: '10.3.0' });
    expect(got.filter((p) => p.source.kind === 'index').every((p) => p.artifacts.length > 0)).to.equal(true);
  });

  it('requires: python_version "3.11" is ==3.11.*, python_full_version "3.11.2" is ==3.11.2, none is undefined', () => {
    expect(readPipfileLock(path.join(VECTORS, 'flask-app'), 'Pipfile.lock').requiresPython).to.equal('==3.11.*');
    expect(readPipfileLock(path.join(VECTORS, 'local-sources'), 'Pipfile.lock').requiresPython).to.equal('==3.11.2');
    expect(readPipfileLock(path.join(VECTORS, 'chronicle'), 'Pipfile.lock').requiresPython).to.equal(undefined);
  });

  it("Pipenv's Pipfile hash: every vector's _meta.hash is what the buildpack computes from its Pipfile", () => {
    for (const vector of ['flask-app', 'categories', 'local-sources', 'chronicle', 'democracyclub-website', 'private-index']) {
      const lock = JSON.parse(fs.readFileSync(path.join(VECTORS, vector, 'Pipfile.lock'), 'utf8')) as { _meta: { hash: { sha256: string } } };
      expect(pipfileHashes(fs.readFileSync(path.join(VECTORS, vector, 'Pipfile'), 'utf8')).plette, vector).to.equal(lock._meta.hash.sha256);
    }
  });

  it("Pipenv 2026.4's hash (package names normalized, pypa/pipenv#6609) of a Pipfile naming `Flask`", () => {
    const want = fs.readFileSync(path.join(VECTORS, 'categories/pipfile-hash-2026.txt'), 'utf8').trim();
    const hashes = pipfileHashes(fs.readFileSync(path.join(VECTORS, 'categories/Pipfile'), 'utf8'));
    expect(hashes.normalizedNames).to.equal(want);
    expect(hashes.plette).to.not.equal(want);
  });
});
