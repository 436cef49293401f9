/**
 * Issue 14, end to end through the local platform: uv.lock, with uv's own test locks (the readers' vectors,
 * test/fixtures/lock-vectors/uv/, whose SOURCE.md files say where each comes from). Their packages are
 * PyPI's, which the loopback index does not serve, and no uv can run here to lock against it: these builds
 * stop before pip, on the lock's Python range, its staleness, and a second tool's lock.
 *
 * One build installs end to end: test/fixtures/lock-uv-app, a lock of uv's own test suite whose one locked
 * package (sniffio 1.3.1) the loopback index holds, the same file with the same sha256 (its SOURCE.md). It asks
 * for Python >=3.12; no real uv.lock admitting 3.11 was found whose selection the index holds entirely.
 */
import { expect } from 'chai';
import { e2eForFile, WHEELHOUSE_PYTHON, plainLog } from './support.js';
import { NOT_RUN, appFiles, errorLine } from './lock-support.js';

describe('e2e: locked installs (issue 14): uv.lock', function () {
  this.timeout(300_000);
  const e2e = e2eForFile();

  it("a chosen Python outside the lock's requires-python stops the build naming both, before Python is installed", async () => {
    const res = await e2e.platform.build(await e2e.app(appFiles('lock-vectors/uv/lock-dev-group')), { platformEnv: await e2e.env(WHEELHOUSE_PYTHON) });
    const log = plainLog(res.output);
    expect(res.success).to.equal(false);
    expect(log).to.contain(errorLine({ type: 'lock-python-mismatch', file: 'uv.lock', requiresPython: '', python: '', source: '' }));
    expect(log).to.match(/The build chose Python 3\.11\.\d+ \(from BP_PYTHON_VERSION\), but uv\.lock was made for Python >=3\.12\./);
    // [Installing Python] heads both an install and a restore (of a shared cache too): its absence means neither ran
    expect(log).to.not.contain('[Installing Python]');
  });

  it('a pyproject.toml changed after locking stops the build with uv lock', async () => {
    const files = appFiles('lock-vectors/uv/lock-dev-group');
    const app = await e2e.app({ ...files, 'pyproject.toml': (files['pyproject.toml'] as string).replace('dependencies = ["iniconfig"]', 'dependencies = ["iniconfig", "flask"]') });
    const res = await e2e.platform.build(app, { platformEnv: await e2e.env(WHEELHOUSE_PYTHON) });
    const log = plainLog(res.output);
    expect(res.success).to.equal(false);
    expect(log).to.contain(errorLine({ type: 'lock-stale', file: 'uv.lock', tool: 'uv', manifest: 'pyproject.toml', command: 'uv lock', detail: '' }));
    expect(log).to.match(/1\. Run uv lock/);
  });

  it('uv.lock beside poetry.lock stops the build naming both and BP_PYTHON_DEPENDENCY_FILE; setting it picks one', async () => {
    const files = { ...appFiles('lock-vectors/uv/lock-dev-group'), 'poetry.lock': appFiles('lock-poetry-flask')['poetry.lock'] as string };
    const app = await e2e.app(files);
    const res = await e2e.platform.build(app, { platformEnv: await e2e.env(WHEELHOUSE_PYTHON) });
    const log = plainLog(res.output);
    expect(res.success).to.equal(false);
    expect(log).to.contain(errorLine({ type: 'lockfiles-ambiguous', files: ['uv.lock', 'poetry.lock'], setting: 'BP_PYTHON_DEPENDENCY_FILE' }));
    expect(log).to.contain('The app has lockfiles of different tools: uv.lock, poetry.lock.');
    expect(log).to.contain('set BP_PYTHON_DEPENDENCY_FILE to the one to install (for example BP_PYTHON_DEPENDENCY_FILE=uv.lock)');

    const picked = await e2e.platform.build(app, { platformEnv: await e2e.env(WHEELHOUSE_PYTHON, { BP_PYTHON_DEPENDENCY_FILE: 'uv.lock' }) });
    expect(plainLog(picked.output), 'the uv.lock is read (and its Python range applies)').to.contain(errorLine({ type: 'lock-python-mismatch', file: 'uv.lock', requiresPython: '', python: '', source: '' }));
  });

  it('a uv.lock whose packages the index holds installs them: the app imports the locked sniffio and serves HTTP 200; a rebuild runs no pip (the index sees no request)', async () => {
    const app = await e2e.app(appFiles('lock-uv-app'));
    const env = await e2e.env('3.12');
    e2e.index.clearRequests();
    const first = await e2e.platform.buildOk(app, { platformEnv: env });
    const log = plainLog(first.output);
    expect(log).to.contain('Installing uv.lock');
    expect(log).to.match(/Selected 1 locked package for CPython 3\.12 on linux\/amd64/);
    expect(log).to.match(/Running 'python -m pip install --user --require-hashes .*-r \S+locked-requirements\.txt'/);
    expect(log).to.match(/Installed 1 locked packages?, hash-checked/);
    expect(e2e.index.requests.map((r) => r.path)).to.include('/files/sniffio-1.3.1-py3-none-any.whl');

    const { proc, status, body } = await e2e.serve(first);
    await proc.stop();
    expect(status).to.equal(200);
    expect(body).to.equal('sniffio 1.3.1');

    e2e.index.clearRequests();
    const again = await e2e.platform.buildOk(app, { platformEnv: env });
    const againLog = plainLog(again.output);
    expect(e2e.index.requests.map((r) => r.path)).to.deep.equal([]);
    expect(againLog).to.contain(NOT_RUN);
    expect(againLog).not.to.contain("Running 'python -m pip");
    expect(again.layers['pip-deps']?.digest).to.equal(first.layers['pip-deps']?.digest);
  });
});
