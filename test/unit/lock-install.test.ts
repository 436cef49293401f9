/**
 * Locked installs in the pip-deps layer (issue 14, items 4, 7 and 10), with hand-built Lockfile objects and
 * the recording executor as pip: what pip is run with (the hash-checked requirements file, git packages at
 * their commits, the app and local paths), the checks that stop the build before pip, the reuse key (the
 * selected set, not the lock's bytes), the log of what changed, credentials kept out of the log and the layer
 * metadata, and the SBOM. pip's own behaviour with these arguments is proven end to end (test/e2e/lock.test.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { Execution } from '../../src/deps.js';
import { installDependencies } from '../../src/layers/pip-deps.js';
import { hashMismatch } from '../../src/layers/locked-install.js';
import type { InstalledPython } from '../../src/layers/python.js';
import { indexKey, type LockedPackage } from '../../src/lock/model.js';
import { readSettings } from '../../src/settings.js';
import { TempBuild, type ContextOptions } from '../fakes/context.js';
import { fakeDeps, type FakeDeps } from '../fakes/deps.js';
import { exit, ok, type ScriptStep } from '../fakes/executor.js';
import { fakeLock, indexPackage, wheel, type FakeLock } from '../fakes/lockfile.js';
import { rejectedCause } from '../fakes/thrown.js';
import { restoreLayer } from '../helpers/layers.js';

const PYTHON: InstalledPython = { version: '3.12.7', sha256: 'a'.repeat(64), layerPath: '/layers/python', python: '/layers/python/bin/python' };
const PIP_CACHE = '/layers/pip-cache';

const FLASK = indexPackage('flask', '3.1.3');
const WERKZEUG = indexPackage('werkzeug', '3.1.9');
const MARKUPSAFE: LockedPackage = {
  name: 'markupsafe',
  version: '3.0.3',
  source: { kind: 'index', url: undefined },
  artifacts: [
    wheel('markupsafe-3.0.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl', 'ms-x86'),
    wheel('markupsafe-3.0.3-cp312-cp312-manylinux_2_17_aarch64.manylinux2014_aarch64.whl', 'ms-arm'),
    { filename: 'markupsafe-3.0.3.tar.gz', url: undefined, hashes: { sha256: 'c'.repeat(64), md5: 'd'.repeat(32) } },
  ],
};

/** pip's user scheme writes each distribution's metadata into PYTHONUSERBASE; the requirements file is kept. */
function installs(names: Array<[string, string]>, seen?: { files: string[]; texts: string[] }): (e: Execution) => void {
  return (e) => {
    const r = e.args.indexOf('-r');
    if (r !== -1 && seen) {
      const file = e.args[r + 1] as string;
      seen.files.push(file);
      seen.texts.push(fs.readFileSync(file, 'utf8'));
    }
    for (const [name, version] of names) {
      const info = path.join(e.env.PYTHONUSERBASE as string, 'lib', 'python3.12', 'site-packages', `${name}-${version}.dist-info`);
      fs.mkdirSync(info, { recursive: true });
      fs.writeFileSync(path.join(info, 'METADATA'), `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`);
    }
  };
}

describe('lock: the locked install in pip-deps', () => {
  let b: TempBuild;
  beforeEach(() => {
    b = new TempBuild();
    b.writeApp({ 'pylock.toml': '' });
  });
  afterEach(() => b.cleanup());

  async function build(lock: FakeLock, script: ScriptStep[], ctxOpts: ContextOptions = {}): Promise<FakeDeps> {
    const f = fakeDeps(script);
    const ctx = b.context(ctxOpts);
    const settings = readSettings(ctx.userEnv);
    await installDependencies(ctx, { PATH: '/usr/bin:/bin' }, PYTHON, settings, PIP_CACHE, f.deps, { input: { kind: 'lock', lock, notes: ['Installing pylock.toml'] } });
    return f;
  }
  async function fails(lock: FakeLock, script: ScriptStep[], ctxOpts: ContextOptions = {}): Promise<{ cause: unknown; f: FakeDeps }> {
    const f = fakeDeps(script);
    const ctx = b.context(ctxOpts);
    const cause = await rejectedCause(installDependencies(ctx, {}, PYTHON, readSettings(ctx.userEnv), PIP_CACHE, f.deps, { input: { kind: 'lock', lock, notes: [] } }));
    return { cause, f };
  }

  it('selects for the chosen Python and the CNB target arch, with the groups and extras asked for', async () => {
    const lock = fakeLock({ packages: [FLASK] });
    await build(lock, [ok('', installs([['flask', '3.1.3']]))], { arch: 'arm64', processEnv: { BP_PYTHON_DEPENDENCY_GROUPS: 'dev,test', BP_PYTHON_EXTRAS: 'async' } });
    const [r] = lock.requests;
    expect(r?.env).to.include({ python_version: '3.12', python_full_version: '3.12.7', platform_machine: 'aarch64', sys_platform: 'linux' });
    expect(r?.groups).to.deep.equal(['dev', 'test']);
    expect(r?.extras).to.deep.equal(['async']);
  });

  it('runs pip install --no-deps --require-hashes on a pinned, hash-carrying file outside the layer, from the lock`s index', async () => {
    const seen = { files: [] as string[], texts: [] as string[] };
    const lock = fakeLock({ indexes: ['https://pypi.org/simple', 'https://extra.example/simple'], packages: [FLASK, MARKUPSAFE, { ...WERKZEUG, source: { kind: 'url', url: 'https://files.example/werkzeug-3.1.9-py3-none-any.whl' } }] });
    const f = await build(lock, [ok('', installs([['flask', '3.1.3'], ['markupsafe', '3.0.3'], ['werkzeug', '3.1.9']], seen))]);
    const [e] = f.exec.executions;
    expect(e?.args.slice(0, 3)).to.deep.equal(['-m', 'pip', 'install']);
    expect(e?.args.slice(-9, -1)).to.deep.equal(['--no-warn-script-location', '--no-deps', '--require-hashes', '--index-url', 'https://pypi.org/simple', '--extra-index-url', 'https://extra.example/simple', '-r']);
    expect(seen.texts[0]?.split('\n')).to.deep.equal([
      `flask==3.1.3 --hash=sha256:${FLASK.artifacts[0]?.hashes.sha256}`,
      `markupsafe==3.0.3 ${MARKUPSAFE.artifacts.map((a) => `--hash=sha256:${a.hashes.sha256}`).sort().join(' ')}`,
      `werkzeug @ https://files.example/werkzeug-3.1.9-py3-none-any.whl --hash=sha256:${WERKZEUG.artifacts[0]?.hashes.sha256}`,
      '',
    ]);
    const file = seen.files[0] as string;
    expect(file.startsWith(b.layersDir)).to.equal(false);
    expect(fs.existsSync(file), 'removed after the install').to.equal(false);
    expect(f.log.lines).to.include.members(['- Installing pylock.toml', '- Selected 3 locked packages for CPython 3.12 on linux/amd64']);
  });

  it('an http:// index the lock names is trusted for pip (Pipenv`s verify_ssl = false): the hashes still decide', async () => {
    const lock = fakeLock({ tool: 'pipenv', file: 'Pipfile.lock', indexes: ['http://pypi.lan:8080/simple'], packages: [FLASK] });
    const f = await build(lock, [ok('', installs([['flask', '3.1.3']]))]);
    const args = f.exec.executions[0]?.args ?? [];
    expect(args.slice(args.indexOf('--index-url'), args.indexOf('--index-url') + 4)).to.deep.equal(['--index-url', 'http://pypi.lan:8080/simple', '--trusted-host', 'pypi.lan:8080']);
  });

  it('PIP_INDEX_URL set: no --index-url from the lock (pip would let it override the user`s index)', async () => {
    const lock = fakeLock({ indexes: ['https://pypi.org/simple'], packages: [FLASK] });
    const f = await build(lock, [ok('', installs([['flask', '3.1.3']]))], { processEnv: { PIP_INDEX_URL: 'https://mirror.internal/simple' } });
    expect(f.exec.executions[0]?.args).to.not.include('--index-url');
    expect(f.exec.executions[0]?.env.PIP_INDEX_URL).to.equal('https://mirror.internal/simple');
  });

  it('BP_DEPENDENCY_MIRROR rewrites the lock`s index and file URLs (scheme and host), as every download', async () => {
    const seen = { files: [] as string[], texts: [] as string[] };
    const lock = fakeLock({ indexes: ['https://pypi.org/simple'], packages: [FLASK, { ...WERKZEUG, source: { kind: 'url', url: 'https://files.example/w/werkzeug-3.1.9-py3-none-any.whl' } }] });
    const f = await build(lock, [ok('', installs([['flask', '3.1.3']], seen))], { processEnv: { BP_DEPENDENCY_MIRROR: 'https://mirror.internal/pypi' } });
    const args = f.exec.executions[0]?.args ?? [];
    expect(args[args.indexOf('--index-url') + 1]).to.equal('https://mirror.internal/pypi/simple');
    expect(seen.texts[0]).to.contain('werkzeug @ https://mirror.internal/pypi/w/werkzeug-3.1.9-py3-none-any.whl --hash=');
  });

  it('a lock that names no index, only file URLs (pip lock): a find-links page of the files fitting the target', async () => {
    const lock = fakeLock({ packages: [{ ...MARKUPSAFE, artifacts: MARKUPSAFE.artifacts.map((a) => ({ ...a, url: `file:///wheels/${a.filename}` })) }] });
    let page = '';
    const f = await build(lock, [ok('', (e) => {
      page = fs.readFileSync(e.args[e.args.indexOf('--find-links') + 1] as string, 'utf8');
      installs([['markupsafe', '3.0.3']])(e);
    })]);
    expect(f.exec.executions[0]?.args).to.not.include('--index-url');
    expect(f.exec.executions[0]?.args).to.include('--no-index');
    expect(page).to.contain(`<a href="file:///wheels/markupsafe-3.0.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl#sha256=${MARKUPSAFE.artifacts[0]?.hashes.sha256}">`);
    expect(page).to.contain('markupsafe-3.0.3.tar.gz');
    expect(page).to.not.contain('aarch64');
  });

  it('git packages at their commit, then local paths and the app (editable where locked), each --no-deps; the log says git is pinned by commit', async () => {
    const lock = fakeLock({
      packages: [
        FLASK,
        { name: 'myapp', version: '0.1.0', source: { kind: 'app', path: '.', editable: false }, artifacts: [] },
        { name: 'libgit', version: undefined, source: { kind: 'git', url: 'https://github.com/o/libgit.git', commit: 'a'.repeat(40), subdirectory: 'py' }, artifacts: [] },
        { name: 'shared', version: '1.0', source: { kind: 'path', path: 'libs/shared', editable: true }, artifacts: [] },
      ],
    });
    b.writeApp({ 'libs/shared/pyproject.toml': '[project]\nname = "shared"\n' });
    const f = await build(lock, [ok('', installs([['flask', '3.1.3']])), ok(''), ok('')]);
    const tails = f.exec.executions.map((e) => e.args.slice(e.args.indexOf('--no-deps')));
    expect(tails[0]?.slice(0, 2)).to.deep.equal(['--no-deps', '--require-hashes']);
    expect(tails[1]).to.deep.equal(['--no-deps', `libgit @ git+https://github.com/o/libgit.git@${'a'.repeat(40)}#subdirectory=py`]);
    expect(tails[2]).to.deep.equal(['--no-deps', '-e', './libs/shared', '.']);
    expect(f.log.lines).to.include('- Git packages are pinned by commit, not by hash: libgit');
  });

  it("DISABLE_PYPROJECT_TOML_PROCESSING (OpenShift s2i) leaves the lock's app itself out, and the log says so", async () => {
    b.writeApp({ 'pyproject.toml': '[project]\nname = "myapp"\n' });
    const lock = fakeLock({ packages: [FLASK, { name: 'myapp', version: '0.1.0', source: { kind: 'app', path: '.', editable: true }, artifacts: [] }] });
    const f = await build(lock, [ok('', installs([['flask', '3.1.3']]))], { processEnv: { DISABLE_PYPROJECT_TOML_PROCESSING: '1' } });
    expect(f.exec.executions).to.have.length(1);
    expect(f.log.lines).to.include('- The app itself is not installed (DISABLE_PYPROJECT_TOML_PROCESSING is set)');
  });

  it('an index package without a hash pip accepts stops the build naming it, before pip runs and with no layer left', async () => {
    const lock = fakeLock({ packages: [FLASK, { ...WERKZEUG, artifacts: [{ filename: 'werkzeug-3.1.9-py3-none-any.whl', url: undefined, hashes: { md5: 'e'.repeat(32) } }] }] });
    const { cause, f } = await fails(lock, []);
    expect(cause).to.deep.equal({ type: 'lock-missing-hash', file: 'pylock.toml', package: 'werkzeug==3.1.9' });
    expect(f.exec.executions).to.deep.equal([]);
    expect(fs.readdirSync(b.layersDir)).to.deep.equal([]);
  });

  it('no file of a package for this Python and architecture stops the build naming the package and the target', async () => {
    const lock = fakeLock({ packages: [{ ...MARKUPSAFE, artifacts: MARKUPSAFE.artifacts.slice(0, 2) }] });
    const { cause } = await fails(lock, [], { arch: 'ppc64le' });
    expect(cause).to.deep.equal({ type: 'lock-no-artifact', file: 'pylock.toml', package: 'markupsafe==3.0.3', target: 'CPython 3.12 on linux/ppc64le' });
  });

  it('a file whose hash pip refuses stops the build naming the package and both hashes; nothing is left in the layer', async () => {
    const output = [
      'ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. If you have updated the package versions, please update the hashes. Otherwise, examine the package contents carefully; someone may have tampered with them.',
      `    flask==3.1.3 from http://127.0.0.1:1/files/flask-3.1.3-py3-none-any.whl#sha256=${'f'.repeat(64)} (from -r /tmp/x/locked-requirements.txt (line 1)):`,
      `        Expected sha256 ${'0'.repeat(64)}`,
      `        Expected     or ${'1'.repeat(64)}`,
      `             Got        ${'f'.repeat(64)}`,
      '',
    ].join('\n');
    const { cause } = await fails(fakeLock({ packages: [FLASK] }), [exit(1, output, installs([['flask', '3.1.3']]))]);
    expect(cause).to.deep.equal({ type: 'lock-hash-mismatch', file: 'pylock.toml', package: 'flask==3.1.3', expected: ['0'.repeat(64), '1'.repeat(64)], got: 'f'.repeat(64) });
    expect(fs.readdirSync(b.layersDir)).to.deep.equal([]);
  });

  it('hashMismatch reads a direct URL requirement too (pip prints `name@ url`)', () => {
    const output = `ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE.\n    flask@ file:///w/flask.whl from file:///w/flask.whl (from -r r.txt (line 1)):\n        Expected sha256 ${'0'.repeat(64)}\n             Got        ${'f'.repeat(64)}\n`;
    expect(hashMismatch(output, fakeLock({ packages: [] }))).to.deep.include({ package: 'flask', got: 'f'.repeat(64) });
  });

  describe('reuse: the selected set is the key', () => {
    async function first(lock: FakeLock, ctxOpts: ContextOptions = {}): Promise<void> {
      await build(lock, [ok('', installs([['flask', '3.1.3']]))], ctxOpts);
      restoreLayer(b.layersDir, 'pip-deps');
    }

    it('the same selected set from an edited lock (a dev-only bump) reinstalls nothing: pip is not run', async () => {
      await first(fakeLock({ packages: (r) => (r.groups.includes('dev') ? [FLASK, indexPackage('pytest', '8.0.0')] : [FLASK, WERKZEUG]) }));
      b.writeApp({ 'pylock.toml': 'edited' });
      const f = await build(fakeLock({ packages: (r) => (r.groups.includes('dev') ? [FLASK, indexPackage('pytest', '9.0.0')] : [WERKZEUG, FLASK]) }), []);
      expect(f.exec.executions).to.deep.equal([]);
      expect(f.log.lines).to.include('- Using cached dependencies: the locked packages, Python and pip settings are unchanged (pip was not run)');
    });

    it('a changed set reinstalls, and the log lists the packages added, removed and changed (from → to)', async () => {
      await first(fakeLock({ packages: [FLASK, WERKZEUG, indexPackage('itsdangerous', '2.2.0')] }));
      const reuploaded = { ...WERKZEUG, artifacts: [wheel('werkzeug-3.1.9-py3-none-any.whl', 'other bytes')] };
      const f = await build(fakeLock({ packages: [indexPackage('flask', '3.1.4'), reuploaded, indexPackage('blinker', '1.9.0')] }), [ok('', installs([['flask', '3.1.4']]))]);
      expect(f.log.block('- Discarding cached')).to.deep.equal([
        '- Discarding cached dependencies since:',
        '  - Locked packages added: blinker 1.9.0',
        '  - Locked packages removed: itsdangerous 2.2.0',
        '  - Locked packages changed: flask 3.1.3 → 3.1.4, werkzeug 3.1.9 (its files or source)',
      ]);
      expect(f.exec.executions).to.have.length(1);
    });

    it('asking for a group changes the set, and so reinstalls', async () => {
      const lock = fakeLock({ packages: (r) => (r.groups.includes('dev') ? [FLASK, indexPackage('pytest', '8.0.0')] : [FLASK]) });
      await first(lock);
      const f = await build(lock, [ok('', installs([['flask', '3.1.3']]))], { processEnv: { BP_PYTHON_DEPENDENCY_GROUPS: 'dev' } });
      expect(f.log.block('- Discarding cached')).to.deep.equal(['- Discarding cached dependencies since:', '  - Locked packages added: pytest 8.0.0']);
    });

    it('from requirements.txt to a lock: reinstalls and says why', async () => {
      b.writeApp({ 'requirements.txt': 'flask==3.1.3\n' });
      const f0 = fakeDeps([ok('', installs([['flask', '3.1.3']]))]);
      const ctx = b.context();
      await installDependencies(ctx, {}, PYTHON, readSettings(ctx.userEnv), PIP_CACHE, f0.deps, { input: { kind: 'pip', plan: { kind: 'requirements', files: ['requirements.txt'] }, notes: [] } });
      restoreLayer(b.layersDir, 'pip-deps');
      const f = await build(fakeLock({ packages: [FLASK] }), [ok('', installs([['flask', '3.1.3']]))]);
      expect(f.log.block('- Discarding cached')).to.deep.equal(['- Discarding cached dependencies since:', '  - The dependencies now come from a lockfile']);
    });
  });

  it('a password written into a lock URL: the build goes on with it and warns, naming the file and the URL masked; none for Pipenv variables', async () => {
    const written = 'https://ci:wr1tten-pw@pypi.corp.example/simple';
    const f = await build(fakeLock({ tool: 'poetry', file: 'poetry.lock', indexes: [written], packages: [FLASK] }), [ok('', installs([['flask', '3.1.3']]))]);
    expect(f.log.stderr).to.contain('[Warning: poetry.lock holds index credentials]');
    expect(f.log.stderr).to.contain('names the package index https://****@pypi.corp.example/simple with a password or token written into its URL');
    expect(f.log.stderr).to.contain('POETRY_HTTP_BASIC_<SOURCE>_USERNAME');
    expect(f.log.stdout + f.log.stderr).to.not.contain('wr1tten-pw');
    const url = `https://\${PYPI_USER}:\${PYPI_PASSWORD}@pypi.internal/simple`;
    const g = await build(fakeLock({ tool: 'pipenv', file: 'Pipfile.lock', indexes: [url], packages: [FLASK] }), [ok('', installs([['flask', '3.1.3']]))], { processEnv: { PYPI_USER: 'u', PYPI_PASSWORD: 'p' } });
    expect(g.log.stderr).to.not.contain('holds index credentials');
  });

  it('index credentials in the lock reach pip, but neither the log nor the layer metadata nor the SBOM', async () => {
    const secretIndex = 'https://ci:s3cr3t-t0ken@pypi.internal/simple';
    const lock = fakeLock({ indexes: [secretIndex], packages: [{ ...FLASK, source: { kind: 'index', url: secretIndex }, artifacts: [wheel('flask-3.1.3-py3-none-any.whl', 'f', `${secretIndex.replace('/simple', '')}/files/flask-3.1.3-py3-none-any.whl`)] }] });
    const f = await build(lock, [ok('', installs([['flask', '3.1.3']]))]);
    expect(f.exec.executions[0]?.args).to.include(secretIndex);
    const layerFiles = [b.tomlPath('pip-deps'), path.join(b.layersDir, 'pip-deps.sbom.cdx.json')].map((p) => fs.readFileSync(p, 'utf8'));
    for (const text of [f.log.stdout, f.log.stderr, ...layerFiles]) expect(text).to.not.contain('s3cr3t');
    expect(f.log.stdout).to.contain('--index-url https://****@pypi.internal/simple');
  });

  it('a Pipfile.lock source with $VARIABLES: pip gets them expanded from the build env; the log names them, never their values (a path token either); new credentials reinstall nothing', async () => {
    const url = `https://\${PYPI_USER}:\${PYPI_PASSWORD}@pypi.internal/\${PYPI_TOKEN}/simple`;
    const lock = (): FakeLock => fakeLock({ tool: 'pipenv', file: 'Pipfile.lock', indexes: [url], indexNames: new Map([[indexKey(url), 'private']]), packages: [FLASK] });
    b.writePlatformEnv({ PYPI_USER: 'ci-user', PYPI_PASSWORD: 'pw-0001', PYPI_TOKEN: 'tok-path-0001' });
    // pip echoes the index it looks in: it hides the password, not a token in the path
    const f = await build(lock(), [ok('Looking in indexes: https://ci-user:****@pypi.internal/tok-path-0001/simple\n', installs([['flask', '3.1.3']]))]);
    const args = f.exec.executions[0]?.args ?? [];
    expect(args[args.indexOf('--index-url') + 1]).to.equal('https://ci-user:pw-0001@pypi.internal/tok-path-0001/simple');
    expect(f.log.lines).to.include("- The lock's package indexes take PYPI_USER, PYPI_PASSWORD, PYPI_TOKEN from the build environment, as Pipenv does");
    expect(f.log.stdout).to.contain('Looking in indexes: https://****@pypi.internal/****/simple');
    const layerFiles = [b.tomlPath('pip-deps'), path.join(b.layersDir, 'pip-deps.sbom.cdx.json')].map((p) => fs.readFileSync(p, 'utf8'));
    for (const secret of ['ci-user', 'pw-0001', 'tok-path-0001']) {
      for (const text of [f.log.stdout, f.log.stderr, ...layerFiles]) expect(text, secret).to.not.contain(secret);
    }

    // a rotated password and path token (the key holds the lock's URL as written): the layer is kept, pip does not run
    restoreLayer(b.layersDir, 'pip-deps');
    b.writePlatformEnv({ PYPI_USER: 'ci-user', PYPI_PASSWORD: 'pw-0002', PYPI_TOKEN: 'tok-path-0002' });
    const again = await build(lock(), []);
    expect(again.exec.executions).to.deep.equal([]);
  });

  it('BP_DEPENDENCY_MIRROR with a credentialed lock index: the mirror gets the path, never the user name or password', async () => {
    const url = `https://\${PYPI_USER}:\${PYPI_PASSWORD}@pypi.internal/simple`;
    const lock = fakeLock({ tool: 'pipenv', file: 'Pipfile.lock', indexes: [url], indexNames: new Map([[indexKey(url), 'private']]), packages: [FLASK] });
    const f = await build(lock, [ok('', installs([['flask', '3.1.3']]))], { processEnv: { PYPI_USER: 'ci-user', PYPI_PASSWORD: 'pw-0001', BP_DEPENDENCY_MIRROR: 'https://mirror.internal/pypi' } });
    const args = f.exec.executions[0]?.args ?? [];
    expect(args[args.indexOf('--index-url') + 1]).to.equal('https://mirror.internal/pypi/simple');
    expect(args.join(' ')).to.not.contain('pw-0001');
  });

  it("pip failing on a lock's named index with no credentials set: the message names the variables the lock's tool reads (a 401 looks like a missing package)", async () => {
    const url = 'https://pypi.corp.example/simple/';
    const poetry = fakeLock({ tool: 'poetry', file: 'poetry.lock', indexes: [url], indexNames: new Map([[indexKey(url), 'corp.repo']]), packages: [FLASK] });
    // an index URL that carries its own credentials gets no hint: the variables would not be used
    const own = `https://u:p@pypi.corp.example/simple/`;
    const { cause: ownCreds } = await fails(fakeLock({ tool: 'poetry', file: 'poetry.lock', indexes: [own], indexNames: new Map([[indexKey(own), 'corp.repo']]), packages: [FLASK] }), [exit(1, 'ERROR: No matching distribution found for flask==3.1.3\n')]);
    expect(ownCreds).to.not.have.property('lockCredentials');
    const { cause } = await fails(poetry, [exit(1, 'ERROR: No matching distribution found for flask==3.1.3\n')]);
    expect(cause).to.deep.include({ type: 'pip-install-failed', lockCredentials: { tool: 'Poetry', variables: ['POETRY_HTTP_BASIC_CORP_REPO_USERNAME', 'POETRY_HTTP_BASIC_CORP_REPO_PASSWORD'] } });
    // with one of the variables set (either spelling), or for another failure than a missing package, the usual advice
    const { cause: withCreds } = await fails(poetry, [exit(1, 'ERROR: No matching distribution found for flask==3.1.3\n')], { processEnv: { 'POETRY_HTTP_BASIC_CORP.REPO_PASSWORD': 'x' } });
    expect(withCreds).to.not.have.property('lockCredentials');
    const { cause: build } = await fails(poetry, [exit(1, 'ERROR: Failed building wheel for flask\n')]);
    expect(build).to.deep.include({ type: 'pip-install-failed' }).and.not.have.property('lockCredentials');
  });

  it('a Pipfile.lock source variable the build env lacks stops the build before pip, naming it', async () => {
    const url = `https://\${PYPI_USER}:\${PYPI_PASSWORD}@pypi.internal/simple`;
    const { cause, f } = await fails(fakeLock({ tool: 'pipenv', file: 'Pipfile.lock', indexes: [url], indexNames: new Map([[indexKey(url), 'private']]), packages: [FLASK] }), [], { processEnv: { PYPI_USER: 'ci' } });
    expect(cause).to.deep.equal({ type: 'lock-index-variable-unset', file: 'Pipfile.lock', source: 'private', variables: ['PYPI_PASSWORD'] });
    expect(f.exec.executions).to.deep.equal([]);
  });

  it('the SBOM: each locked package with its files (URL and hashes), the installed file`s hash when one fits, and the lockfile named', async () => {
    const flaskWheel = wheel('flask-3.1.3-py3-none-any.whl', 'flask', 'https://files.example/flask-3.1.3-py3-none-any.whl');
    const lock = fakeLock({ packages: [{ ...FLASK, artifacts: [flaskWheel] }, MARKUPSAFE] });
    await build(lock, [ok('', installs([['flask', '3.1.3'], ['markupsafe', '3.0.3']]))]);
    const sbom = JSON.parse(fs.readFileSync(path.join(b.layersDir, 'pip-deps.sbom.cdx.json'), 'utf8')) as { components: Array<Record<string, unknown>> };
    const flask = sbom.components.find((c) => c.name === 'flask') as Record<string, unknown>;
    expect(flask.purl).to.equal('pkg:pypi/flask@3.1.3');
    expect(flask.hashes).to.deep.equal([{ alg: 'SHA-256', content: flaskWheel.hashes.sha256 }]);
    expect(flask.externalReferences).to.deep.equal([{ type: 'distribution', url: 'https://files.example/flask-3.1.3-py3-none-any.whl', hashes: [{ alg: 'SHA-256', content: flaskWheel.hashes.sha256 }] }]);
    expect(flask.properties).to.deep.include({ name: 'ausnimbus:lockfile', value: 'pylock.toml' });
    const markupsafe = sbom.components.find((c) => c.name === 'markupsafe') as Record<string, unknown>;
    expect(markupsafe.hashes, 'the x86_64 wheel and the sdist both fit: which one pip took is not known').to.equal(undefined);
  });
});
