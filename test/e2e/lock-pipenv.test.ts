/**
 * Issue 14, end to end through the local platform: Pipfile.lock, written by Debian's Pipenv (the readers'
 * vector test/fixtures/lock-vectors/pipenv/flask-app, whose SOURCE.md says how), with the lock-flask fixture's
 * wsgi.py; and OpenShift s2i's ENABLE_PIPENV / ENABLE_MICROPIPENV. The builds use the loopback index through
 * PIP_INDEX_URL, which the lock's own source (another port) gives way to.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { E2E, e2eForFile, WHEELHOUSE_PYTHON, filesContaining, fixture, plainLog } from './support.js';
import { appFiles, errorLine } from './lock-support.js';

describe('e2e: locked installs (issue 14): Pipfile.lock', function () {
  this.timeout(900_000);
  const e2e = e2eForFile();

  const pipenvApp = (extra: Record<string, string> = {}): Record<string, string> => {
    const vector = appFiles('lock-vectors/pipenv/flask-app');
    return { ...appFiles('lock-flask'), Pipfile: vector.Pipfile as string, 'Pipfile.lock': vector['Pipfile.lock'] as string, ...extra };
  };

  it('a Flask app serves HTTP 200 from Pipfile.lock (beside a requirements.txt it replaces); develop is off by default and on when asked', async () => {
    const app = await e2e.app(pipenvApp({ 'requirements.txt': 'no-such-package-anywhere==1.0\n' }));
    const env = await e2e.env(WHEELHOUSE_PYTHON);
    const first = await e2e.platform.buildOk(app, { platformEnv: env });
    const log = plainLog(first.output);
    expect(log).to.contain('Installing Pipfile.lock');
    expect(log).to.contain('requirements.txt is not installed: Pipfile.lock is');
    const { proc, status, body } = await e2e.serve(first);
    await proc.stop();
    expect([status, body]).to.deep.equal([200, 'Hello from a locked Flask']);
    const noPytest = await e2e.platform.launch(first, { processType: 'python', args: ['-c', 'import pytest'] });
    expect((await noPytest.waitForExit(60_000)).code, 'pytest is a dev package').to.not.equal(0);

    const withDev = await e2e.platform.buildOk(app, { platformEnv: { ...env, BP_PYTHON_DEPENDENCY_GROUPS: 'develop' } });
    expect(plainLog(withDev.output)).to.match(/Locked packages added: .*pytest /);
    const pytest = await e2e.platform.launch(withDev, { processType: 'python', args: ['-c', 'import pytest'] });
    expect((await pytest.waitForExit(60_000)).code).to.equal(0);
  });

  it('a Pipfile edited after locking stops the build with pipenv lock, before anything is installed', async () => {
    const files = pipenvApp();
    const app = await e2e.app({ ...files, Pipfile: (files.Pipfile as string).replace('[packages]\n', '[packages]\nblinker = "*"\n') });
    const res = await e2e.platform.build(app, { platformEnv: await e2e.env(WHEELHOUSE_PYTHON) });
    const log = plainLog(res.output);
    expect(res.success).to.equal(false);
    expect(log).to.contain(errorLine({ type: 'lock-stale', file: 'Pipfile.lock', tool: 'pipenv', manifest: 'Pipfile', command: 'pipenv lock', detail: '' }));
    expect(log).to.match(/1\. Run pipenv lock/);
    // [Installing Python] heads both an install and a restore (of a shared cache too): its absence means neither ran
    expect(log).to.not.contain('[Installing Python]');
  });

  describe('a private index whose credentials and host come from the build env ($VARIABLES in the source URL)', () => {
    // The index requires HTTP basic auth; the lock (test/fixtures/lock-vectors/pipenv/private-index, written by
    // Pipenv) names it as http://${PRIVATE_INDEX_USER}:${PRIVATE_INDEX_PASSWORD}@${PRIVATE_INDEX_HOST}/simple.
    // characters a URL's user-info must carry encoded: Pipenv (and the build) percent-encode the expanded values
    const AUTH = { username: 'ci@builder', password: "Pr1v@te:1ndex/Pw!'(x)" };
    let priv: E2E;
    before(async () => {
      priv = await E2E.start({ indexAuth: AUTH });
    });
    after(async () => priv?.stop());

    it('serves HTTP 200 with the credentials from the build env, which reach the index and nothing else; without them the build stops naming the variables', async () => {
      const vector = appFiles('lock-vectors/pipenv/private-index');
      // the user name from the app's .s2i/environment (the build reads it there too), the rest from the platform
      const app = await priv.app({
        ...appFiles('lock-flask'),
        Pipfile: vector.Pipfile as string,
        'Pipfile.lock': vector['Pipfile.lock'] as string,
        '.s2i/environment': `PRIVATE_INDEX_USER=${AUTH.username}\n`,
      });
      const { PIP_INDEX_URL: _ours, ...env } = await priv.env(WHEELHOUSE_PYTHON); // the lock names the index
      const fromEnv = { PRIVATE_INDEX_PASSWORD: AUTH.password, PRIVATE_INDEX_HOST: new URL(priv.index.indexUrl()).host };
      const res = await priv.platform.buildOk(app, { platformEnv: { ...env, ...fromEnv } });
      const log = plainLog(res.output);
      expect(log).to.contain("The lock's package indexes take PRIVATE_INDEX_USER, PRIVATE_INDEX_PASSWORD, PRIVATE_INDEX_HOST from the build environment, as Pipenv does");
      const basic = `Basic ${Buffer.from(`${AUTH.username}:${AUTH.password}`).toString('base64')}`;
      expect(priv.index.requests.filter((r) => r.headers.authorization === basic).length, 'requests with the credentials').to.be.above(0);
      const { proc, status, body } = await priv.serve(res);
      await proc.stop();
      expect([status, body]).to.deep.equal([200, 'Hello from a locked Flask']);
      expect(log).to.contain("PRIVATE_INDEX_USER from .s2i/environment is kept out of the image: the lock's index URL names it");
      expect(proc.details.env, 'the launch env').to.not.have.property('PRIVATE_INDEX_USER');
      for (const form of [AUTH.password, encodeURIComponent(AUTH.password), 'Pr1v%40te%3A1ndex%2FPw%21%27%28x%29']) {
        expect(res.output, form).to.not.contain(form);
        expect(filesContaining([res.app.layersDir, res.image?.dir as string, res.cache?.dir as string], form), form).to.deep.equal([]);
      }

      const { PRIVATE_INDEX_PASSWORD: _pw, ...withoutPassword } = fromEnv;
      const failed = await priv.platform.build(app, { platformEnv: { ...env, ...withoutPassword } });
      const failedLog = plainLog(failed.output);
      expect(failed.success).to.equal(false);
      expect(failedLog).to.contain(errorLine({ type: 'lock-index-variable-unset', file: 'Pipfile.lock', source: 'private', variables: ['PRIVATE_INDEX_PASSWORD'] }));
      expect(failedLog).to.contain('pack build --env PRIVATE_INDEX_PASSWORD=...');
    });
  });

  describe('ENABLE_PIPENV / ENABLE_MICROPIPENV (OpenShift s2i)', () => {
    const pipfileOnly = (): Record<string, string> => {
      const { 'Pipfile.lock': _lock, ...rest } = pipenvApp({ 'requirements.txt': fs.readFileSync(path.join(fixture('flask-wsgi'), 'requirements.txt'), 'utf8') });
      return rest;
    };

    it('without them, a Pipfile with no lock beside requirements.txt: requirements.txt is installed, and the log says the Pipfile is not', async () => {
      const res = await e2e.platform.buildOk(await e2e.app(pipfileOnly()), { platformEnv: await e2e.env(WHEELHOUSE_PYTHON) });
      const log = plainLog(res.output);
      expect(log).to.contain('The Pipfile is not used: it has no Pipfile.lock, and requirements.txt is installed');
      expect(log).to.contain("Running 'python -m pip install --user -r requirements.txt'");
    });

    it('ENABLE_PIPENV with a Pipfile and no Pipfile.lock stops the build with pipenv lock, as pipenv install --deploy would', async () => {
      const res = await e2e.platform.build(await e2e.app(pipfileOnly()), { platformEnv: await e2e.env(WHEELHOUSE_PYTHON, { ENABLE_PIPENV: '1' }) });
      expect(res.success).to.equal(false);
      expect(plainLog(res.output)).to.contain(errorLine({ type: 'pipfile-without-lock' }));
    });

    it('both set stop the build naming both, as s2i does', async () => {
      const res = await e2e.platform.build(await e2e.app(pipenvApp()), { platformEnv: await e2e.env(WHEELHOUSE_PYTHON, { ENABLE_PIPENV: 'true', ENABLE_MICROPIPENV: 'true' }) });
      expect(res.success).to.equal(false);
      expect(plainLog(res.output)).to.contain(errorLine({ type: 'conflicting-dependency-settings', names: ['ENABLE_PIPENV', 'ENABLE_MICROPIPENV'] }));
    });
  });
});
