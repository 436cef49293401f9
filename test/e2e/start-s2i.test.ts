/**
 * Issue 15, end to end through the local platform: the rest of OpenShift's s2i run contract (APP_HOME, a
 * gunicorn.conf.py naming wsgi_app) and Django projects laid out as `django-admin startproject` writes them,
 * with no wsgi.py at the top: served by Gunicorn, by runserver without Gunicorn, and migrated by the `migrate`
 * process against SQLite. Each app serves HTTP 200 and stops within 10 s of SIGTERM. The django-startproject
 * fixture is what `django-admin startproject mysite <dir>` (Django 5.2.17, from the wheelhouse) wrote, plus a
 * requirements.txt.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { freePort, type BuildResult, type LaunchedProcess } from '../platform/index.js';
import type { Cause } from '../../src/causes.js';
import { renderCause, renderWarning } from '../../src/messages.js';
import { E2E, plainLog, stopsCleanly } from './support.js';

/** startproject's settings name no STATIC_ROOT, so collectstatic would stop the build (test/e2e/django-s2i.test.ts). */
const NO_COLLECTSTATIC = { DISABLE_COLLECTSTATIC: 'TRUE' };
const CONGRATULATIONS = 'The install worked successfully! Congratulations!';

describe('e2e: s2i run contract and Django projects (issue 15)', function () {
  this.timeout(300_000);
  let e2e: E2E;
  const builds = new Map<string, Promise<BuildResult>>();
  const running: LaunchedProcess[] = [];

  /** Builds `fixture` (with extra platform env) once; later calls reuse the result. */
  /** `requirements`, when given, replaces the fixture's requirements.txt (one generated project serves both). */
  function built(fixture: string, extra: Record<string, string> = {}, requirements?: string): Promise<BuildResult> {
    const key = `${fixture} ${JSON.stringify(extra)} ${requirements}`;
    let b = builds.get(key);
    if (!b) {
      b = (async () => {
        const app = await e2e.app(fixture);
        if (requirements !== undefined) await app.writeFile('requirements.txt', requirements);
        return e2e.platform.buildOk(app, { platformEnv: await e2e.env(undefined, extra) });
      })();
      builds.set(key, b);
    }
    return b;
  }

  async function serve(res: BuildResult, opts: Parameters<E2E['serve']>[1] = {}): Promise<Awaited<ReturnType<E2E['serve']>>> {
    const s = await e2e.serve(res, opts);
    running.push(s.proc);
    return s;
  }

  async function launch(res: BuildResult, opts: Parameters<E2E['platform']['launch']>[1]): Promise<LaunchedProcess> {
    const p = await e2e.platform.launch(res, opts);
    running.push(p);
    return p;
  }

  function processOf(res: BuildResult, type: string): BuildResult['processes'][number] {
    const p = res.processes.find((x) => x.type === type);
    if (!p) throw new Error(`no process '${type}' in launch.toml: ${res.processes.map((x) => x.type).join(', ')}`);
    return p;
  }

  /** Runs `/cnb/process/python -c code` and returns its output. */
  async function python(res: BuildResult, code: string): Promise<string> {
    const p = await launch(res, { processType: 'python', args: ['-c', code] });
    const exit = await p.waitForExit(30_000);
    expect(exit.code, p.output()).to.equal(0);
    return p.output();
  }

  /**
   * The app directory made writable by the launch user, as a volume mounted there would be: SQLite writes
   * db.sqlite3 next to manage.py (startproject's DATABASES), and the image's files belong to the build user.
   */
  async function writableAppDir(res: BuildResult): Promise<string> {
    const { appDir } = await res.app.materialize();
    fs.chmodSync(appDir, 0o777);
    return appDir;
  }

  const errorLine = (c: Cause): string => `[Error: ${renderCause(c).title}]`;

  before(async () => {
    e2e = await E2E.start();
  });
  afterEach(async () => {
    for (const p of running.splice(0)) if (p.running) await p.stop('SIGKILL', 5000).catch(() => undefined);
  });
  after(async () => {
    await e2e?.stop();
  });

  describe('APP_HOME', () => {
    it('APP_HOME=project (from .s2i/environment): every process starts there, its wsgi.py is served, the top folder stays importable; stops on SIGTERM', async () => {
      const res = await built('start-app-home');
      const log = plainLog(res.output);
      expect(log).to.contain("APP_HOME is set: the processes start in project, with the app's top folder on PYTHONPATH");
      expect(log).to.contain("gunicorn is installed: web serves 'wsgi' (from wsgi.py) with the buildpack's fallback config");
      const home = path.join(res.app.appDir, 'project');
      expect(res.processes.map((p) => [p.type, p.workingDir])).to.deep.equal([['web', home], ['python', home]]);

      const { proc, status, body } = await serve(res);
      expect(status, proc.output()).to.equal(200);
      expect(body).to.equal('Hello from project/wsgi.py (cwd project)');
      await stopsCleanly(proc);

      const out = await python(res, 'import os, greeting; print("cwd=" + os.getcwd()); print("PYTHONPATH=" + os.environ["PYTHONPATH"])');
      expect(out).to.contain(`cwd=${home}`);
      expect(out).to.contain(`PYTHONPATH=${res.app.appDir}`);
    });

    it("APP_HOME with .s2i/bin/run: the app's script starts at the top, as in s2i, and the default run it calls changes to APP_HOME", async () => {
      const res = await e2e.platform.buildOk(
        await e2e.app({
          'requirements.txt': 'gunicorn\n',
          '.s2i/environment': 'APP_HOME=project\n',
          '.s2i/bin/run': { content: '#!/bin/sh\necho "---> custom run in $(pwd)"\nexec "$STI_SCRIPTS_PATH/run"\n', mode: 0o755 },
          'project/wsgi.py': 'import os\n\ndef application(environ, start_response):\n    start_response("200 OK", [])\n    return [("served from " + os.getcwd()).encode()]\n',
        }),
        { platformEnv: await e2e.env() },
      );
      expect(plainLog(res.output)).to.contain("web runs the app's own .s2i/bin/run");
      expect(processOf(res, 'web').workingDir).to.equal(undefined);
      const { proc, status, body } = await serve(res);
      expect(status, proc.output()).to.equal(200);
      expect(body).to.equal(`served from ${path.join(res.app.appDir, 'project')}`);
      expect(proc.output()).to.contain(`---> custom run in ${res.app.appDir}\n`);
      await stopsCleanly(proc);
    });

    it('APP_HOME naming no folder of the app stops the build before anything is installed, saying what to set', async () => {
      const app = await e2e.app({ 'requirements.txt': 'gunicorn\n', 'project/wsgi.py': 'application = None\n', '.s2i/environment': 'APP_HOME=projet\n' });
      const res = await e2e.platform.build(app, { platformEnv: await e2e.env() });
      const log = plainLog(res.output);
      expect(res.success, log).to.equal(false);
      expect(log).to.contain(errorLine({ type: 'app-home-unusable', value: 'projet', problem: { kind: 'missing' } }));
      expect(log).to.contain("APP_HOME names 'projet', which is not a folder in the app.");
      expect(log).to.contain('Set APP_HOME to the folder of the app that holds your wsgi.py or manage.py');
      expect(log).not.to.contain('Installing');
    });
  });

  describe('a gunicorn.conf.py that names its app', () => {
    it('wsgi_app: Gunicorn serves what it names with no module argument, on the bind port of its own; stops on SIGTERM', async () => {
      const res = await built('start-wsgi-app-config');
      const log = plainLog(res.output);
      expect(log).to.contain("gunicorn is installed: web serves 'hello:app' (from wsgi_app in gunicorn.conf.py) with the app's config gunicorn.conf.py");
      const web = processOf(res, 'web');
      expect(web.command.slice(1)).to.deep.equal(['--config', path.join(res.app.appDir, 'gunicorn.conf.py')]);
      expect(web.args).to.deep.equal([]);

      const [own, port] = [await freePort(), await freePort()];
      const p = await launch(res, { env: { APP_BIND_PORT: String(own), PORT: String(port) } });
      const http = await p.waitForHttp(`http://127.0.0.1:${own}/`, { timeoutMs: 30_000 });
      expect(http.status, p.output()).to.equal(200);
      expect(http.body).to.equal('Hello from the app wsgi_app names');
      expect(p.output()).to.contain(`Listening at: http://127.0.0.1:${own}`);
      expect(p.output()).not.to.contain(`:${port}`);
      await stopsCleanly(p);
    });
  });

  describe('conflicts, so the documented order is tested', () => {
    it('app.py and wsgi.py with gunicorn installed: Gunicorn serves wsgi.py (rule 6 before rule 7); app.py never runs', async () => {
      const res = await built('start-app-py-wsgi-py');
      expect(plainLog(res.output)).to.contain("gunicorn is installed: web serves 'wsgi' (from wsgi.py) with the buildpack's fallback config");
      expect(res.processes.map((p) => p.type)).to.deep.equal(['web', 'python']);
      const { proc, status, body } = await serve(res);
      expect(status, proc.output()).to.equal(200);
      expect(body).to.equal('Hello from wsgi.py: Gunicorn comes before app.py');
      expect(proc.output()).not.to.contain('app.py should not run');
      await stopsCleanly(proc);
    });
  });

  describe('Django, startproject layout (no wsgi.py at the top)', () => {
    it("Gunicorn serves the project's WSGI module, found from DJANGO_SETTINGS_MODULE in manage.py; stops on SIGTERM", async () => {
      const res = await built('django-startproject', NO_COLLECTSTATIC);
      const log = plainLog(res.output);
      expect(log).to.contain("gunicorn is installed: web serves 'mysite.wsgi' (from DJANGO_SETTINGS_MODULE 'mysite.settings' in manage.py) with the buildpack's fallback config");
      expect(processOf(res, 'web').args).to.deep.equal(['mysite.wsgi']);
      expect(processOf(res, 'migrate').command.map((c) => path.basename(c))).to.deep.equal(['python', 'manage.py', 'migrate', '--noinput']);
      expect(res.processes.map((p) => p.type)).to.deep.equal(['web', 'python', 'migrate']);

      const { proc, status, body } = await serve(res);
      expect(status, proc.output()).to.equal(200);
      expect(body).to.contain(CONGRATULATIONS); // Django's page for a new project (DEBUG = True)
      expect(proc.output()).to.contain('Starting gunicorn');
      await stopsCleanly(proc);
    });

    it('the migrate process creates the tables in SQLite and exits 0', async () => {
      const res = await built('django-startproject', NO_COLLECTSTATIC);
      const appDir = await writableAppDir(res);
      const p = await launch(res, { processType: 'migrate' });
      const exit = await p.waitForExit(60_000);
      expect(exit.code, p.output()).to.equal(0);
      expect(p.output()).to.contain('Applying auth.0001_initial... OK');
      expect(fs.existsSync(path.join(appDir, 'db.sqlite3'))).to.equal(true);
      const tables = await python(res, "import sqlite3; print(sorted(r[0] for r in sqlite3.connect('db.sqlite3').execute(\"select name from sqlite_master where type='table'\")))");
      for (const t of ['django_migrations', 'auth_user', 'django_session', 'django_admin_log']) expect(tables).to.contain(`'${t}'`);
    });

    it('BP_DJANGO_MIGRATE_AT_START=TRUE: web migrates first, then Gunicorn serves as PID 1; stops on SIGTERM', async () => {
      const res = await built('django-startproject', { ...NO_COLLECTSTATIC, BP_DJANGO_MIGRATE_AT_START: 'TRUE' });
      expect(plainLog(res.output)).to.contain("BP_DJANGO_MIGRATE_AT_START is set: web runs 'python manage.py migrate --noinput' first, then the server");
      await writableAppDir(res);
      const { proc, status, body } = await serve(res);
      expect(status, proc.output()).to.equal(200);
      expect(body).to.contain(CONGRATULATIONS);
      const out = proc.output();
      expect(out.indexOf('Applying auth.0001_initial... OK'), out).to.be.greaterThan(-1);
      expect(out.indexOf('Starting gunicorn')).to.be.greaterThan(out.indexOf('Applying auth.0001_initial... OK'));
      await stopsCleanly(proc);
    });

    it('without Gunicorn: runserver on 0.0.0.0:$PORT, with a warning naming the fix; stops on SIGTERM (ENABLE_INIT_WRAPPER and DISABLE_MIGRATE accepted, the log says why they have nothing to do)', async () => {
      // The s2i builder's README suggests ENABLE_INIT_WRAPPER for runserver: here the launcher already makes it PID 1.
      const res = await built('django-startproject', { ...NO_COLLECTSTATIC, ENABLE_INIT_WRAPPER: 'true', DISABLE_MIGRATE: '1' }, 'django\n');
      const log = plainLog(res.output);
      expect(log).to.contain('ENABLE_INIT_WRAPPER is set: nothing to do; the launcher starts every process as PID 1 of the container');
      expect(log).to.contain('DISABLE_MIGRATE is set: nothing to turn off, since migrations run at start only with BP_DJANGO_MIGRATE_AT_START');
      expect(log).to.contain(`[Warning: ${renderWarning({ type: 'django-runserver', gunicorn: false, managePy: 'manage.py' }).title}]`);
      expect(log).to.contain('Add gunicorn to your requirements');
      expect(log).to.contain("web runs 'python manage.py runserver 0.0.0.0:$PORT'");
      expect(res.processes.map((p) => p.type)).to.deep.equal(['web', 'python', 'migrate']);

      // runserver looks for unapplied migrations as it starts, which opens (creates) the SQLite database.
      await writableAppDir(res);
      const { proc, port, status, body } = await serve(res);
      expect(status, proc.output()).to.equal(200);
      expect(body).to.contain(CONGRATULATIONS);
      expect(proc.output()).to.contain(`Starting development server at http://0.0.0.0:${port}/`);
      await stopsCleanly(proc);
    });
  });
});
