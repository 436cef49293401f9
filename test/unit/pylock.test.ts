/**
 * pylock.toml (src/lock/pylock.ts): the selection on locks written by the real tools (pip 26's `pip lock`, with
 * `pip install --dry-run --report` for the same inputs; uv's own export tests, with uv's requirements.txt export
 * of the same project), a differential test against the `packaging` library's reference reader
 * (packaging.pylock) on those and on generated multi-use locks, the reader's refusals, and properties.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Cause } from '../../src/causes.js';
import { parseToml } from '../../src/cnb/toml.js';
import { BuildpackError } from '../../src/failure.js';
import { evaluateMarker, markerEnvironment } from '../../src/lock/markers.js';
import type { LockedPackage, SelectionRequest } from '../../src/lock/model.js';
import { PYLOCK_FILE_NAME, readPylock } from '../../src/lock/pylock.js';
import { renderCause } from '../../src/messages.js';
import { packagingPylockSelect, type PylockAnswer, type PylockQuestion } from '../helpers/packaging-reference.js';
import { thrownCause } from '../fakes/thrown.js';

const VECTORS = path.resolve('test/fixtures/lock-vectors/pylock');
const request = (version: string, arch = 'amd64', extras: string[] = [], groups: string[] = []): SelectionRequest => ({ env: markerEnvironment(version, arch), extras, groups });

/** `name==version` plus sorted `algorithm:hex` hashes, or `name (app)` for the app itself. */
function describe_(p: LockedPackage): string {
  if (p.source.kind === 'app') return `${p.name} (app${p.source.editable ? ', editable' : ''})`;
  const hashes = p.artifacts.flatMap((a) => Object.entries(a.hashes).map(([k, v]) => `${k}:${v}`)).sort();
  return `${p.name}==${p.version} ${hashes.join(' ')}`;
}

/** What `pip install --dry-run --report` would install: the same form as describe_ (the report names one file per package). */
function fromPipReport(file: string): { python: string; packages: string[] } {
  const report = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    environment: { python_full_version: string };
    install: Array<{ metadata: { name: string; version: string }; download_info: { dir_info?: { editable?: boolean }; archive_info?: { hashes?: Record<string, string> } } }>;
  };
  const packages = report.install.map(({ metadata, download_info }) => {
    const name = metadata.name.toLowerCase().replace(/[-_.]+/g, '-');
    if (download_info.dir_info) return `${name} (app${download_info.dir_info.editable ? ', editable' : ''})`;
    const hashes = Object.entries(download_info.archive_info?.hashes ?? {}).map(([k, v]) => `${k}:${v}`).sort();
    return `${name}==${metadata.version} ${hashes.join(' ')}`;
  });
  return { python: report.environment.python_full_version, packages: packages.sort() };
}

/** uv's requirements.txt export: each `name==version ; marker` with its `--hash` lines, and `-e .`, for one environment. */
function fromUvExport(file: string, env: SelectionRequest['env']): string[] {
  const text = fs.readFileSync(file, 'utf8').replace(/\\\n\s*/g, ' ');
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    if (line === '-e .') {
      out.push('project (app, editable)');
      continue;
    }
    const m = /^([A-Za-z0-9._-]+)==(\S+)\s*(?:;\s*(.*?))?\s*((?:--hash=\S+\s*)*)$/.exec(line);
    if (m === null) throw new Error(`unexpected export line ${JSON.stringify(line)}`);
    const [, name = '', version, marker, hashText = ''] = m;
    if (marker && !evaluateMarker(marker, env)) continue;
    const hashes = hashText.split(/\s+/).filter(Boolean).map((h) => h.replace('--hash=', '').replace('=', ':').replace(/^(\w+):/, '$1:')).sort();
    out.push(`${name.toLowerCase()}==${version} ${hashes.join(' ')}`);
  }
  return out.sort();
}

describe('pylock.toml: locks written by the real tools', () => {
  for (const dir of ['pip-flask', 'pip-extra', 'pip-marker-py310', 'pip-marker-py313', 'pip-app']) {
    it(`${dir}: selects what pip 26 installs for the same input (pip install --dry-run --report)`, () => {
      const { python, packages } = fromPipReport(path.join(VECTORS, dir, 'report.json'));
      const lock = readPylock(path.join(VECTORS, dir), 'pylock.toml');
      expect(lock.tool).to.equal('pylock');
      expect(lock.select(request(python)).map(describe_)).to.deep.equal(packages);
    });
  }

  it('pip-marker-py310 and -py313: the lock pip writes on each Python has the marker-dependent packages or not', () => {
    const names = (dir: string, python: string): string[] => readPylock(path.join(VECTORS, dir), 'pylock.toml').select(request(python)).map((p) => p.name);
    expect(names('pip-marker-py310', '3.10.13')).to.include.members(['exceptiongroup', 'typing-extensions']);
    expect(names('pip-marker-py313', '3.13.0')).to.not.include.members(['exceptiongroup']);
  });

  it('pip-app: the app itself is the directory entry "." (installed last by the install, not from an index)', () => {
    const app = readPylock(path.join(VECTORS, 'pip-app'), 'pylock.toml').select(request('3.11.7')).find((p) => p.name === 'hello-app');
    expect(app?.source).to.deep.equal({ kind: 'app', path: '.', editable: false });
  });

  for (const arch of ['amd64', 'arm64']) {
    it(`uv-dependency-extra on linux/${arch}: selects uv's requirements export of the same project (colorama is win32 only)`, () => {
      const req = request('3.12.7', arch);
      const lock = readPylock(path.join(VECTORS, 'uv-dependency-extra'), 'pylock.toml');
      expect(lock.requiresPython).to.equal('>=3.12');
      expect(lock.indexes).to.deep.equal(['https://pypi.org/simple']);
      const selected = lock.select(req);
      expect(selected.map(describe_)).to.deep.equal(fromUvExport(path.join(VECTORS, 'uv-dependency-extra', 'requirements.txt'), req.env));
      expect(selected.map((p) => p.name)).to.not.include('colorama');
    });
  }

  it("uv-dependency-extra on Windows: colorama's marker holds there (the marker is read, not ignored)", () => {
    const windows = { ...markerEnvironment('3.12.7', 'amd64'), sys_platform: 'win32', os_name: 'nt', platform_system: 'Windows' };
    const selected = readPylock(path.join(VECTORS, 'uv-dependency-extra'), 'pylock.toml').select({ env: windows, extras: [], groups: [] });
    expect(selected.map((p) => p.name)).to.include('colorama');
  });

  for (const [lockFile, exportName] of [
    ['pylock.toml', 'default'],
    ['pylock.async.toml', 'async'],
    ['pylock.pytest.toml', 'pytest'],
    ['pylock.all-extras.toml', 'all-extras'],
    ['pylock.all-but-pytest.toml', 'all-but-pytest'],
  ] as const) {
    it(`uv-project-extra ${lockFile}: selects uv's requirements export with the same extras flags`, () => {
      const req = request('3.12.7');
      const selected = readPylock(path.join(VECTORS, 'uv-project-extra'), lockFile).select(req);
      expect(selected.map(describe_)).to.deep.equal(fromUvExport(path.join(VECTORS, 'uv-project-extra', `requirements.${exportName}.txt`), req.env));
    });
  }

  it('uv-sources: git at the locked commit, a direct wheel URL, an archive with its subdirectory once, the project not editable', () => {
    const sel = (file: string): Record<string, LockedPackage> => Object.fromEntries(readPylock(path.join(VECTORS, 'uv-sources'), file).select(request('3.12.7')).map((p) => [p.name, p]));
    expect(Object.keys(sel('pylock.git.toml'))).to.deep.equal(['uv-public-pypackage']);
    expect(sel('pylock.git.toml')['uv-public-pypackage']?.source).to.deep.equal({ kind: 'git', url: 'https://github.com/astral-test/uv-public-pypackage', commit: 'b270df1a2fb5d012294e9aaf05e7e0bab1e6a389' });
    const wheel = sel('pylock.wheel-url.toml').anyio;
    expect(wheel?.source).to.deep.equal({ kind: 'url', url: 'https://files.pythonhosted.org/packages/14/fd/2f20c40b45e4fb4324834aea24bd4afdf1143390242c0b33774da0e2e34f/anyio-4.3.0-py3-none-any.whl' });
    expect(wheel?.artifacts).to.deep.equal([{ filename: 'anyio-4.3.0-py3-none-any.whl', url: 'https://files.pythonhosted.org/packages/14/fd/2f20c40b45e4fb4324834aea24bd4afdf1143390242c0b33774da0e2e34f/anyio-4.3.0-py3-none-any.whl', hashes: { sha256: '048e05d0f6caeed70d731f3db756d35dcc1f35747c8c403364a8332c630441b8' } }]);
    const root = sel('pylock.sdist-url-subdirectory.toml').root;
    expect(root?.source).to.deep.equal({ kind: 'url', url: 'https://github.com/user-attachments/files/18216295/subdirectory-test.tar.gz', subdirectory: 'packages/root' });
    expect(root?.artifacts[0]).to.include({ filename: 'subdirectory-test.tar.gz', url: 'https://github.com/user-attachments/files/18216295/subdirectory-test.tar.gz' });
    expect(sel('pylock.no-editable.toml').project?.source).to.deep.equal({ kind: 'app', path: '.', editable: false });
  });

  it('every artifact keeps its URL and file name; index packages name the index', () => {
    const flask = readPylock(path.join(VECTORS, 'uv-dependency-extra'), 'pylock.toml').select(request('3.12.7')).find((p) => p.name === 'jinja2');
    expect(flask?.source).to.deep.equal({ kind: 'index', url: 'https://pypi.org/simple' });
    expect(flask?.artifacts.map((a) => a.filename)).to.deep.equal(['jinja2-3.1.3-py3-none-any.whl', 'Jinja2-3.1.3.tar.gz']);
    expect(flask?.artifacts[0]?.url).to.match(/^https:\/\/files\.pythonhosted\.org\/.*Jinja2-3\.1\.3-py3-none-any\.whl$/);
  });

  it('accepts pylock.toml and pylock.<name>.toml as names, not others (PEP 751 "File Name")', () => {
    for (const ok of ['pylock.toml', 'pylock.ausnimbus.toml', 'pylock.dev.toml']) expect(PYLOCK_FILE_NAME.test(ok), ok).to.equal(true);
    for (const bad of ['pylock..toml', 'pylock.a.b.toml', 'Pylock.toml', 'pylock.toml.bak', 'test.toml']) expect(PYLOCK_FILE_NAME.test(bad), bad).to.equal(false);
  });
});

// ---- the reader's refusals, on copies of a pip-written lock changed one way each ----

const PIP_FLASK = fs.readFileSync(path.join(VECTORS, 'pip-flask', 'pylock.toml'), 'utf8');

function withLock(text: string, name = 'pylock.toml'): { dir: string; name: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pylock-'));
  fs.writeFileSync(path.join(dir, name), text);
  return { dir, name };
}

function readCause(text: string, req: SelectionRequest = request('3.11.7')): Cause {
  const { dir, name } = withLock(text);
  try {
    return thrownCause(() => readPylock(dir, name).select(req));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function select(text: string, req: SelectionRequest = request('3.11.7'), name = 'pylock.toml'): LockedPackage[] {
  const { dir } = withLock(text, name);
  try {
    return readPylock(dir, name).select(req);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('pylock.toml: refusals', () => {
  const malformed: Array<[string, string, RegExp, RegExp?]> = [
    ['not TOML', `${PIP_FLASK}\n[[packages]\n`, /not TOML/],
    ['no lock-version', PIP_FLASK.replace('lock-version = "1.0"\n', ''), /lock-version is missing/],
    ['no created-by', PIP_FLASK.replace('created-by = "pip"\n', ''), /created-by is missing/],
    ['no packages', 'lock-version = "1.0"\ncreated-by = "pip"\n', /\[\[packages\]\] is missing/],
    ['a name not normalized', PIP_FLASK.replace('name = "flask"', 'name = "Flask"'), /not normalized/, /"Flask"/],
    ['a wheel of another package', PIP_FLASK.replace('name = "flask-3.1.3-py3-none-any.whl"', 'name = "click-8.5.0-py3-none-any.whl"'), /not a file of flask/, /"flask"/],
    ['a wheel of another version', PIP_FLASK.replace('name = "flask-3.1.3-py3-none-any.whl"', 'name = "flask-3.1.2-py3-none-any.whl"'), /not version 3\.1\.3/],
    ['a file without hashes', PIP_FLASK.replace(/\[packages\.wheels\.hashes\]\nsha256 = "f4bc[0-9a-f]+"\n/, ''), /no hashes/, /"flask"/],
    ['a hash that is not hex', PIP_FLASK.replace(/sha256 = "f4bc[0-9a-f]+"/, 'sha256 = "not-hex"'), /not a hexadecimal string/],
    ['wheels beside a directory', PIP_FLASK.replace('name = "flask"\nversion = "3.1.3"\n', 'name = "flask"\nversion = "3.1.3"\ndirectory = { path = "." }\n'), /one kind of source/],
    ['a package without a source', `${PIP_FLASK}\n[[packages]]\nname = "nothing"\nversion = "1.0"\n`, /has no source/, /"nothing"/],
    ['a bad marker', PIP_FLASK.replace('name = "flask"\nversion = "3.1.3"\n', 'name = "flask"\nversion = "3.1.3"\nmarker = "python_version >> \'3\'"\n'), /not a PEP 508 marker/],
    ['a bad requires-python', PIP_FLASK.replace('created-by = "pip"', 'created-by = "pip"\nrequires-python = ">=3.x"'), /not a PEP 440 version specifier/],
    ['an absolute directory', PIP_FLASK.replace('name = "flask"\nversion = "3.1.3"\n\n[[packages.wheels]]\nname = "flask-3.1.3-py3-none-any.whl"\nurl = "file:///opt/pypi/files/flask-3.1.3-py3-none-any.whl"\n\n[packages.wheels.hashes]\nsha256 = "f4bcbefc124291925f1a26446da31a5178f9483862233b23c0c96a20701f670c"\n', 'name = "flask"\ndirectory = { path = "/home/me/flask" }\n'), /absolute path/],
    ['a directory outside the app', PIP_FLASK.replace('name = "flask"\nversion = "3.1.3"\n\n[[packages.wheels]]\nname = "flask-3.1.3-py3-none-any.whl"\nurl = "file:///opt/pypi/files/flask-3.1.3-py3-none-any.whl"\n\n[packages.wheels.hashes]\nsha256 = "f4bcbefc124291925f1a26446da31a5178f9483862233b23c0c96a20701f670c"\n', 'name = "flask"\ndirectory = { path = "../flask" }\n'), /outside the app/],
    ['an hg repository', PIP_FLASK.replace('name = "flask"\nversion = "3.1.3"\n\n[[packages.wheels]]\nname = "flask-3.1.3-py3-none-any.whl"\nurl = "file:///opt/pypi/files/flask-3.1.3-py3-none-any.whl"\n\n[packages.wheels.hashes]\nsha256 = "f4bcbefc124291925f1a26446da31a5178f9483862233b23c0c96a20701f670c"\n', 'name = "flask"\nvcs = { type = "hg", url = "https://hg.example/flask", commit-id = "abc" }\n'), /git repositories only/],
  ];
  for (const [what, text, detail, entry] of malformed) {
    it(`refuses ${what} (lock-malformed, naming the entry)`, () => {
      const cause = readCause(text);
      expect(cause.type).to.equal('lock-malformed');
      if (cause.type !== 'lock-malformed') return;
      expect(cause.detail).to.match(detail);
      if (entry) expect(cause.entry).to.match(entry);
      expect(renderCause(cause).title).to.equal('pylock.toml cannot be read');
    });
  }

  it('refuses lock-version 2.0 (lock-version-unsupported) and reads 1.1', () => {
    expect(readCause(PIP_FLASK.replace('lock-version = "1.0"', 'lock-version = "2.0"'))).to.deep.equal({ type: 'lock-version-unsupported', file: 'pylock.toml', tool: 'pylock', found: '2.0', supported: '1.x (PEP 751)' });
    expect(select(PIP_FLASK.replace('lock-version = "1.0"', 'lock-version = "1.1"'))).to.have.length(8);
  });

  it('stops when no environments marker holds for the target (lock-environment-mismatch)', () => {
    const text = PIP_FLASK.replace('created-by = "pip"', `created-by = "pip"\nenvironments = ["sys_platform == 'darwin'", "sys_platform == 'win32'"]`);
    expect(readCause(text)).to.deep.equal({ type: 'lock-environment-mismatch', file: 'pylock.toml', environments: ["sys_platform == 'darwin'", "sys_platform == 'win32'"], target: 'CPython 3.11.7 on linux/amd64' });
    expect(select(text.replace("'win32'", "'linux'"))).to.have.length(8);
  });

  it("stops when a selected package's requires-python excludes the Python (lock-no-artifact)", () => {
    const text = PIP_FLASK.replace('name = "flask"\nversion = "3.1.3"\n', 'name = "flask"\nversion = "3.1.3"\nrequires-python = ">=3.12"\n');
    expect(readCause(text)).to.deep.include({ type: 'lock-no-artifact', package: 'flask==3.1.3 (requires-python >=3.12)', target: 'CPython 3.11.7 on linux/amd64' });
    expect(select(text, request('3.12.1')).map((p) => p.name)).to.include('flask');
  });

  it('stops when two entries of one name apply (PEP 751: "an error about the ambiguity MUST be raised")', () => {
    const flask2 = `\n[[packages]]\nname = "flask"\nversion = "3.1.2"\nmarker = "python_version >= '3.11'"\narchive = { url = "https://example.test/flask-3.1.2.tar.gz", hashes = { sha256 = "00" } }\n`;
    const cause = readCause(PIP_FLASK + flask2);
    expect(cause.type).to.equal('lock-malformed');
    expect(cause.type === 'lock-malformed' && cause.detail).to.match(/both this entry and entry 3 of flask apply/);
    expect(select(PIP_FLASK + flask2, request('3.10.13')).find((p) => p.name === 'flask')?.version).to.equal('3.1.3');
  });
});

// ---- multi-use locks: extras, dependency groups, default-groups (PEP 751 "Installation", step 1) ----

const MULTI = `lock-version = "1.0"
created-by = "a test"
extras = ["cli"]
dependency-groups = ["dev"]
default-groups = ["main"]

[[packages]]
name = "core"
version = "1.0"
marker = "'main' in dependency_groups"
archive = { url = "https://example.test/core-1.0.tar.gz", hashes = { sha256 = "aa" } }

[[packages]]
name = "click"
version = "8.0"
marker = "'cli' in extras"
archive = { url = "https://example.test/click-8.0.tar.gz", hashes = { sha256 = "bb" } }

[[packages]]
name = "pytest"
version = "8.0"
marker = "'dev' in dependency_groups"
archive = { url = "https://example.test/pytest-8.0.tar.gz", hashes = { sha256 = "cc" } }

[[packages]]
name = "app"
directory = { path = ".", editable = true }
`;

describe('pylock.toml: extras and dependency groups', () => {
  const names = (extras: string[], groups: string[]): string[] => select(MULTI, request('3.12.1', 'amd64', extras, groups)).map((p) => p.name);
  it('default-groups are in dependency_groups; requested groups and extras add theirs', () => {
    expect(names([], [])).to.deep.equal(['app', 'core']);
    expect(names(['cli'], [])).to.deep.equal(['app', 'click', 'core']);
    expect(names([], ['dev'])).to.deep.equal(['app', 'core', 'pytest']);
    expect(names(['CLI'], ['Dev'])).to.deep.equal(['app', 'click', 'core', 'pytest']);
  });
  it('a requested extra or group the lock does not list stops the build naming the ones it has (lock-unknown-selection)', () => {
    expect(readCause(MULTI, request('3.12.1', 'amd64', ['nope']))).to.deep.equal({ type: 'lock-unknown-selection', file: 'pylock.toml', kind: 'extra', name: 'nope', known: ['cli'] });
    expect(readCause(MULTI, request('3.12.1', 'amd64', [], ['tests']))).to.deep.equal({ type: 'lock-unknown-selection', file: 'pylock.toml', kind: 'group', name: 'tests', known: ['dev'] });
    expect(names([], ['main'])).to.deep.equal(['app', 'core'], 'a default group may be named');
    expect(readCause(PIP_FLASK, request('3.11.7', 'amd64', [], ['dev']))).to.deep.equal({ type: 'lock-unknown-selection', file: 'pylock.toml', kind: 'group', name: 'dev', known: [] });
  });

  it('the lock\'s own folder is the app; another folder is a path', () => {
    expect(select(MULTI, request('3.12.1')).find((p) => p.name === 'app')?.source).to.deep.equal({ kind: 'app', path: '.', editable: true });
    const nested = select(MULTI, request('3.12.1'), 'pylock.toml');
    expect(nested.find((p) => p.name === 'app')?.source.kind).to.equal('app');
    const member = select(MULTI.replace('path = "."', 'path = "packages/member"'), request('3.12.1'));
    expect(member.find((p) => p.name === 'app')?.source).to.deep.equal({ kind: 'path', path: 'packages/member', editable: true });
  });
});

// ---- differential test against packaging.pylock ----

const sha = (seed: number): string => seed.toString(16).padStart(2, '0').repeat(32);

/** A generated multi-use lock: a few packages (names repeat, so ambiguity happens), markers on groups, extras and the target. */
const generatedLock = fc
  .record({
    defaultGroups: fc.subarray(['main', 'web']),
    environments: fc.option(fc.subarray(["sys_platform == 'linux'", "sys_platform == 'win32'", "platform_machine == 'aarch64'"], { minLength: 1 }), { nil: undefined }),
    packages: fc.array(
      fc.record({
        name: fc.constantFrom('core', 'click', 'pytest', 'colorama', 'exceptiongroup'),
        version: fc.constantFrom('1.0', '2.0.1', '8.0rc1'),
        marker: fc.option(
          fc.constantFrom(
            "'main' in dependency_groups",
            "'dev' in dependency_groups",
            "'dev' not in dependency_groups",
            "'cli' in extras",
            "python_version < '3.11'",
            "python_full_version >= '3.12.1' and 'web' in dependency_groups",
            "sys_platform == 'win32' or 'cli' in extras",
            "platform_machine == 'aarch64'",
            "('dev' in dependency_groups or 'cli' in extras) and python_version >= '3.8'",
          ),
          { nil: undefined },
        ),
        requiresPython: fc.option(fc.constantFrom('>=3.8', '>=3.12', '<3.13'), { nil: undefined }),
        source: fc.constantFrom('wheel', 'sdist', 'archive', 'directory', 'vcs'),
      }),
      { minLength: 1, maxLength: 6 },
    ),
  })
  .map(({ defaultGroups, environments, packages }) => {
    const lines = ['lock-version = "1.0"', 'created-by = "fast-check"', 'extras = ["cli"]', 'dependency-groups = ["dev"]', `default-groups = ${JSON.stringify(defaultGroups)}`];
    if (environments) lines.push(`environments = ${JSON.stringify(environments)}`);
    packages.forEach((p, i) => {
      lines.push('', '[[packages]]', `name = "${p.name}"`);
      if (p.source !== 'directory') lines.push(`version = "${p.version}"`);
      if (p.marker) lines.push(`marker = ${JSON.stringify(p.marker)}`);
      if (p.requiresPython) lines.push(`requires-python = "${p.requiresPython}"`);
      const file = p.name.replace(/-/g, '_');
      if (p.source === 'wheel') lines.push(`wheels = [{ url = "https://files.example/${file}-${p.version}-py3-none-any.whl", hashes = { sha256 = "${sha(i)}" } }]`);
      if (p.source === 'sdist') lines.push(`sdist = { url = "https://files.example/${file}-${p.version}.tar.gz", hashes = { sha256 = "${sha(i)}" } }`);
      if (p.source === 'archive') lines.push(`archive = { url = "https://files.example/${file}-${p.version}.zip", hashes = { sha256 = "${sha(i)}" } }`);
      if (p.source === 'directory') lines.push(`directory = { path = "src/${p.name}" }`);
      if (p.source === 'vcs') lines.push(`vcs = { type = "git", url = "https://git.example/${p.name}", commit-id = "${sha(i).slice(0, 40)}" }`);
    });
    return `${lines.join('\n')}\n`;
  });

type Outcome = { selected: string[] } | { error: true };

const KIND: Record<LockedPackage['source']['kind'], (p: LockedPackage) => string> = {
  index: (p) => (p.artifacts.some((a) => a.filename?.endsWith('.whl')) ? 'wheel' : 'sdist'),
  url: () => 'archive',
  git: () => 'vcs',
  path: () => 'directory',
  app: () => 'directory',
};

function oursOutcome(text: string, req: SelectionRequest): Outcome {
  const { dir, name } = withLock(text);
  try {
    return { selected: readPylock(dir, name).select(req).map((p) => `${p.name} ${p.version ?? '-'} ${KIND[p.source.kind](p)}`) };
  } catch (err) {
    if (err instanceof BuildpackError) return { error: true };
    throw err;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function theirsOutcome(answer: PylockAnswer): Outcome {
  if ('error' in answer) return { error: true };
  return { selected: answer.selected.map((p) => `${p.name} ${p.version ?? '-'} ${p.source}`).sort() };
}

describe('pylock.toml: differential test against packaging.pylock', function () {
  this.timeout(300_000);

  it("selects what packaging's Pylock.select selects, on the vectors and on generated multi-use locks", () => {
    const requests: Array<{ req: SelectionRequest }> = [
      { req: request('3.12.7') },
      { req: request('3.10.13', 'arm64', ['cli']) },
      { req: request('3.12.1', 'amd64', [], ['dev']) },
      { req: request('3.13.1', 'arm64', ['cli'], ['dev', 'web']) },
    ];
    const vectorLocks = ['pip-flask', 'pip-extra', 'pip-marker-py310', 'pip-marker-py313', 'pip-app', 'uv-dependency-extra']
      .map((d) => fs.readFileSync(path.join(VECTORS, d, 'pylock.toml'), 'utf8'))
      .concat(['uv-project-extra', 'uv-sources'].flatMap((d) => fs.readdirSync(path.join(VECTORS, d)).filter((f) => f.endsWith('.toml') && f.startsWith('pylock')).map((f) => fs.readFileSync(path.join(VECTORS, d, f), 'utf8'))))
      // The top-level requires-python is the install's check (src/python), which packaging makes in select: keep only locks every request meets.
      .map((t) => t.replace(/^requires-python = .*$/m, ''));
    const locks = [...vectorLocks, ...fc.sample(generatedLock, { numRuns: 250, seed: 751 })];
    // Only the extras and groups each lock lists (the buildpack refuses others, lock-unknown-selection; packaging ignores them).
    const known = (toml: string, key: string): string[] => (parseToml(toml)[key] as string[] | undefined) ?? [];
    const cases = locks.flatMap((toml) =>
      requests.map(({ req }) => ({
        toml,
        req: { ...req, extras: req.extras.filter((e) => known(toml, 'extras').includes(e)), groups: req.groups.filter((g) => [...known(toml, 'dependency-groups'), ...known(toml, 'default-groups')].includes(g)) },
      })),
    );
    const questions: PylockQuestion[] = cases.map(({ toml, req }) => ({
      toml,
      environment: { ...req.env },
      extras: [...req.extras],
      // packaging takes the whole set; the buildpack adds the requested groups to default-groups.
      dependencyGroups: [...new Set([...(/^default-groups = (.*)$/m.exec(toml)?.[1] ? (JSON.parse(/^default-groups = (.*)$/m.exec(toml)?.[1] ?? '[]') as string[]) : []), ...req.groups])],
    }));
    const answers = packagingPylockSelect(questions);
    const disagreements: string[] = [];
    let selections = 0;
    let errors = 0;
    cases.forEach(({ toml, req }, i) => {
      const ours = oursOutcome(toml, req);
      const theirs = theirsOutcome(answers[i] as PylockAnswer);
      if ('error' in ours) errors++;
      else selections++;
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) disagreements.push(`${JSON.stringify(req.env.python_full_version)} ${req.env.platform_machine} extras=${req.extras} groups=${req.groups}: ours ${JSON.stringify(ours)}, packaging ${JSON.stringify(answers[i])}\n${toml}`);
    });
    console.log(`      ${locks.length} locks x ${requests.length} requests: ${selections} selections and ${errors} refusals agree`);
    expect(disagreements.length, disagreements.slice(0, 3).join('\n---\n')).to.equal(0);
    expect(errors).to.be.greaterThan(50);
    expect(selections).to.be.greaterThan(300);
  });
});

// ---- properties ----

describe('pylock.toml: properties', () => {
  it('a changed lock ends in a selection or a BuildpackError, never another exception', () => {
    fc.assert(
      fc.property(fc.constantFrom(PIP_FLASK, MULTI), fc.nat(), fc.constantFrom('delete', '"', '[', '=', '\n', 'x', '1'), (text, at, how) => {
        const i = at % text.length;
        const changed = how === 'delete' ? text.slice(0, i) + text.slice(i + 1) : text.slice(0, i) + how + text.slice(i);
        try {
          select(changed);
        } catch (err) {
          expect(err).to.be.instanceOf(BuildpackError);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('the order of [[packages]] changes nothing', () => {
    const blocks = PIP_FLASK.split('\n[[packages]]\n');
    const head = blocks.shift() ?? '';
    const expected = select(PIP_FLASK);
    fc.assert(
      fc.property(fc.shuffledSubarray(blocks, { minLength: blocks.length }), (shuffled) => {
        expect(select(`${head}\n[[packages]]\n${shuffled.join('\n[[packages]]\n')}`)).to.deep.equal(expected);
      }),
      { numRuns: 50 },
    );
  });
});
