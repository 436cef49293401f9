/**
 * Issue 14, end to end through the local platform: poetry.lock, written by Poetry (test/fixtures/lock-poetry-flask
 * and the readers' vectors, test/fixtures/lock-vectors/poetry/, say how). The builds use the loopback index
 * through PIP_INDEX_URL, which the lock's own source (another port) gives way to.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { WHEELHOUSE, e2eForFile, WHEELHOUSE_PYTHON, fixture, plainLog } from './support.js';
import { PackageIndexServer } from '../helpers/servers.js';
import { NOT_RUN, appFiles, errorLine } from './lock-support.js';

describe('e2e: locked installs (issue 14): poetry.lock', function () {
  this.timeout(900_000);
  const e2e = e2eForFile();

  describe('poetry.lock, written by Poetry', () => {
    /** Poetry's groups and the extra that brings gunicorn; the index is ours (the lock names Poetry's source on another port). */
    const SERVE = { BP_PYTHON_EXTRAS: 'server', GUNICORN_APP_MODULE: 'app:app' };

    it('a Flask app serves HTTP 200 (gunicorn from the extra asked for); the dev group is off by default and on when asked', async () => {
      const app = await e2e.app(appFiles('lock-poetry-flask'));
      const env = await e2e.env(WHEELHOUSE_PYTHON, SERVE);
      const first = await e2e.platform.buildOk(app, { platformEnv: env });
      const log = plainLog(first.output);
      expect(log).to.contain('Installing poetry.lock');
      expect(log).to.match(/Selected \d+ locked packages for CPython 3\.11 on linux\/amd64, with extras server \(BP_PYTHON_EXTRAS\)/);
      expect(log).to.contain('Installed the app and its local packages');
      const { proc, status, body } = await e2e.serve(first);
      await proc.stop();
      expect([status, body]).to.deep.equal([200, 'ok']);
      const noPytest = await e2e.platform.launch(first, { processType: 'python', args: ['-c', 'import pytest'] });
      expect((await noPytest.waitForExit(60_000)).code, 'pytest is a dev dependency').to.not.equal(0);

      const withDev = await e2e.platform.buildOk(app, { platformEnv: { ...env, BP_PYTHON_DEPENDENCY_GROUPS: 'dev' } });
      const devLog = plainLog(withDev.output);
      expect(devLog).to.match(/Selected \d+ locked packages for CPython 3\.11 on linux\/amd64, with groups dev \(BP_PYTHON_DEPENDENCY_GROUPS\) and extras server/);
      expect(devLog).to.match(/Locked packages added: .*pytest 8\.4\.2/);
      const pytest = await e2e.platform.launch(withDev, { processType: 'python', args: ['-c', 'import pytest; print(pytest.__version__)'] });
      expect((await pytest.waitForExit(60_000)).code).to.equal(0);
      expect(pytest.output()).to.contain('8.4.2');
    });

    it('a dev-only lock change (poetry update pytest) reinstalls nothing: pip does not run, the index sees no request', async () => {
      const app = await e2e.app(appFiles('lock-poetry-flask'));
      const env = await e2e.env(WHEELHOUSE_PYTHON, SERVE);
      const first = await e2e.platform.buildOk(app, { platformEnv: env });
      await app.writeFile('poetry.lock', fs.readFileSync(path.join(fixture('lock-poetry-flask'), 'dev-bump', 'poetry.lock'), 'utf8'));
      e2e.index.clearRequests();
      const again = await e2e.platform.buildOk(app, { platformEnv: env });
      const log = plainLog(again.output);
      expect(e2e.index.requests.map((r) => r.path)).to.deep.equal([]);
      expect(log).to.contain(NOT_RUN);
      expect(again.layers['pip-deps']?.digest).to.equal(first.layers['pip-deps']?.digest);
    });

    it('a file on the index that is not the locked one (tampered) stops the build naming the package; nothing is kept', async () => {
      const app = await e2e.app(appFiles('lock-poetry-flask'));
      e2e.index.setFault('/files/flask-3.1.3-py3-none-any.whl', { kind: 'corrupt' });
      try {
        const res = await e2e.platform.build(app, { platformEnv: await e2e.env(WHEELHOUSE_PYTHON, SERVE) });
        const log = plainLog(res.output);
        expect(res.success).to.equal(false);
        expect(log).to.contain('[Error: A file of flask==3.1.3 does not match poetry.lock]');
        expect(log).to.match(/pip downloaded a file of flask==3\.1\.3 whose sha256 is [0-9a-f]{64}, but poetry\.lock allows only [0-9a-f]{64}/);
        expect(res.layers['pip-deps']).to.equal(undefined);
      } finally {
        e2e.index.clearFaults();
      }
    });

    it('an out-of-date lock stops the build with poetry lock', async () => {
      const res = await e2e.platform.build(await e2e.app(fixture('lock-vectors/poetry/stale')), { platformEnv: await e2e.env(WHEELHOUSE_PYTHON) });
      const log = plainLog(res.output);
      expect(res.success).to.equal(false);
      expect(log).to.contain(errorLine({ type: 'lock-stale', file: 'poetry.lock', tool: 'poetry', manifest: 'pyproject.toml', command: 'poetry lock', detail: '' }));
      expect(log, log).to.match(/1\. Run poetry lock/);
      expect(res.layers['pip-deps']).to.equal(undefined);
    });

    it("the lock's own source, behind basic auth, with POETRY_HTTP_BASIC_LOCAL_*: pip sends the credentials there, the app serves HTTP 200; without them pip's 401 stops the build", async () => {
      // The source "local" the lock names is http://127.0.0.1:18741/simple/ (SOURCE.md): the index listens there.
      const AUTH = { username: 'poetry-ci', password: 'p0etry:Pa$$/w0rd' };
      const owned = await PackageIndexServer.start({ root: WHEELHOUSE, auth: AUTH, port: 18741 });
      try {
        const app = await e2e.app(appFiles('lock-poetry-flask'));
        const { PIP_INDEX_URL: _ours, ...env } = await e2e.env(WHEELHOUSE_PYTHON, SERVE);
        const creds = { POETRY_HTTP_BASIC_LOCAL_USERNAME: AUTH.username, POETRY_HTTP_BASIC_LOCAL_PASSWORD: AUTH.password };
        const res = await e2e.platform.buildOk(app, { platformEnv: { ...env, ...creds } });
        const log = plainLog(res.output);
        expect(log).to.contain("The lock's package indexes take POETRY_HTTP_BASIC_LOCAL_USERNAME, POETRY_HTTP_BASIC_LOCAL_PASSWORD from the build environment, as Poetry does");
        const basic = `Basic ${Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64')}`;
        expect(owned.requests.some((r) => r.headers.authorization === basic), 'a request with the credentials').to.equal(true);
        expect(res.output).to.not.contain(AUTH.password);
        const { proc, status, body } = await e2e.serve(res);
        await proc.stop();
        expect([status, body]).to.deep.equal([200, 'ok']);

        const denied = await e2e.platform.build(await e2e.app(appFiles('lock-poetry-flask')), { platformEnv: env });
        expect(denied.success).to.equal(false);
        // pip shows the index's 401 only as no matching distribution: the message names the variables to set
        expect(plainLog(denied.output)).to.contain('No matching distribution found for blinker==1.9.0');
        expect(plainLog(denied.output)).to.contain('set POETRY_HTTP_BASIC_LOCAL_USERNAME and POETRY_HTTP_BASIC_LOCAL_PASSWORD for the build, as Poetry reads them');
      } finally {
        await owned.close();
      }
    });
  });
});
