/**
 * Issue 15: the rest of OpenShift's s2i run contract (APP_HOME, a Gunicorn config naming wsgi_app,
 * DISABLE_MIGRATE) and Django projects without a wsgi.py at the top (the WSGI module from manage.py,
 * runserver without Gunicorn, the migrate process, migrating at start).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { collectstatic } from '../../src/django.js';
import { appHomeLaunchEnv, startDir, withAppOnPath } from '../../src/start/app-home.js';
import { djangoWsgiModule, settingsModule } from '../../src/start/django-start.js';
import { userGunicornConfig } from '../../src/start/user-config.js';
import { planStart, type StartInputs } from '../../src/start/web-process.js';
import { configWsgiApp, gunicornReadsWsgiApp } from '../../src/start/wsgi-app.js';
import { ok } from '../fakes/executor.js';
import { fakeDeps } from '../fakes/deps.js';
import { thrownCause } from '../fakes/thrown.js';
import type { BuildWarning, Cause } from '../../src/causes.js';
import { renderCause, renderWarning } from '../../src/messages.js';

const made: string[] = [];
after(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function appWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'start-s2i-'));
  made.push(dir);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const PY = '/layers/p/bin/python';
const base = (appDir: string, over: Partial<StartInputs> = {}): StartInputs => ({
  appDir, appRun: undefined, s2iRun: undefined, gunicorn: undefined, gunicornAppModule: undefined,
  userGunicornConfig: undefined, fallbackGunicornConfig: '/layers/g/gunicorn.conf.py', python: PY, ...over,
});

/** What `django-admin startproject mysite .` writes (Django 5.2), cut to the lines that matter here. */
const MANAGE_PY = `#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main():
    """Run administrative tasks."""
    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)


if __name__ == '__main__':
    main()
`;
const STARTPROJECT = { 'manage.py': MANAGE_PY, 'mysite/__init__.py': '', 'mysite/settings.py': '', 'mysite/wsgi.py': 'application = None\n', 'mysite/urls.py': '' };

describe('APP_HOME (issue 15)', () => {
  it('is a folder of the app; missing, a file, or leading outside the app (as written or through a link) stops the build', () => {
    const app = appWith({ 'project/wsgi.py': '', 'notes.txt': '' });
    fs.symlinkSync('/etc', path.join(app, 'etc-link'));
    fs.symlinkSync('project', path.join(app, 'inside-link'));
    expect(startDir(app, undefined)).to.equal(app);
    expect(startDir(app, '.')).to.equal(app);
    expect(startDir(app, 'project')).to.equal(path.join(app, 'project'));
    expect(startDir(app, './project/')).to.equal(path.join(app, 'project'));
    expect(startDir(app, 'inside-link')).to.equal(path.join(app, 'inside-link'));
    expect(thrownCause(() => startDir(app, 'projet'))).to.deep.equal({ type: 'app-home-unusable', value: 'projet', problem: { kind: 'missing' } });
    expect(thrownCause(() => startDir(app, 'notes.txt'))).to.deep.equal({ type: 'app-home-unusable', value: 'notes.txt', problem: { kind: 'not-a-folder' } });
    expect(thrownCause(() => startDir(app, '..'))).to.deep.equal({ type: 'app-home-unusable', value: '..', problem: { kind: 'outside', resolved: path.dirname(app) } });
    expect(thrownCause(() => startDir(app, '/opt/app-root/src/project'))).to.deep.equal({ type: 'app-home-unusable', value: '/opt/app-root/src/project', problem: { kind: 'outside', resolved: '/opt/app-root/src/project' } });
    expect(thrownCause(() => startDir(app, 'etc-link'))).to.deep.equal({ type: 'app-home-unusable', value: 'etc-link', problem: { kind: 'outside', resolved: '/etc' } });
  });

  it('keeps the app root importable: PYTHONPATH prepended at launch and for the build tools, only when APP_HOME moves the start', () => {
    const app = '/workspace';
    expect(appHomeLaunchEnv(app, '/workspace/project').apply('launch', { PYTHONPATH: '/opt/lib' })).to.deep.equal({ PYTHONPATH: '/workspace:/opt/lib' });
    expect(appHomeLaunchEnv(app, '/workspace/project').apply('launch', {})).to.deep.equal({ PYTHONPATH: '/workspace' });
    expect(appHomeLaunchEnv(app, '/workspace').apply('launch', {})).to.deep.equal({});
    expect(withAppOnPath({ A: '1' }, app, '/workspace/project')).to.deep.equal({ A: '1', PYTHONPATH: '/workspace' });
    expect(withAppOnPath({ PYTHONPATH: '/x' }, app, '/workspace/project')).to.deep.equal({ PYTHONPATH: '/workspace:/x' });
    expect(withAppOnPath({ A: '1' }, app, '/workspace')).to.deep.equal({ A: '1' });
  });

  it('the start files are looked for there, and every process starts there but the app\'s own .s2i/bin/run', () => {
    const app = appWith({ 'project/wsgi.py': '', 'project/app.py': '', 'project/bin/start.sh': '', 'project/server.py': '', 'wsgi.py': '', 'setup.py': "setup(name='svc')" });
    const home = path.join(app, 'project');
    const g = planStart(base(app, { startDir: home, gunicorn: '/g' }));
    expect(g.served).to.deep.equal({ module: 'wsgi', source: 'wsgi.py' });
    expect(g.processes.map((p) => [p.type, p.workingDir])).to.deep.equal([['web', home], ['python', home]]);
    // Relative to APP_HOME, as s2i's run script resolves them after changing there.
    expect(planStart(base(app, { startDir: home, appScript: 'bin/start.sh' })).processes[0]?.command).to.deep.equal([path.join(home, 'bin', 'start.sh')]);
    expect(planStart(base(app, { startDir: home, appFile: 'server.py' })).processes[0]).to.deep.include({ command: [PY, 'server.py'], workingDir: home });
    expect(thrownCause(() => planStart(base(app, { startDir: home, appFile: 'run.py' })))).to.deep.equal({ type: 'start-file-unusable', name: 'APP_FILE', value: 'run.py', problem: { kind: 'missing' }, home: 'project' });
    expect(planStart(base(app, { startDir: home })).rule).to.equal('app.py');
    const s2i = planStart(base(app, { startDir: home, s2iRun: '/l/app-run', gunicorn: '/g' }));
    expect(s2i.processes.map((p) => [p.type, p.workingDir])).to.deep.equal([['web', undefined], ['gunicorn', home], ['python', home]]);
    const procfile = planStart(base(app, { startDir: home, procfile: [{ type: 'web', command: 'python server.py' }, { type: 'worker', command: 'python w.py' }] }));
    expect(procfile.processes.map((p) => p.workingDir)).to.deep.equal([home, home, home]);
    // setup.py stays at the top (s2i finds it in the app's home, not in APP_HOME).
    const top = appWith({ 'project/readme': '', 'setup.py': "setup(name='svc')" });
    expect(planStart(base(top, { startDir: path.join(top, 'project'), gunicorn: '/g' })).served).to.deep.equal({ module: 'svc', source: 'the name in setup.py' });
    // Without APP_HOME, no working-dir at all: the launcher's default, the app.
    expect(planStart(base(app, { gunicorn: '/g' })).processes.map((p) => p.workingDir)).to.deep.equal([undefined, undefined]);
  });

  it('GUNICORN_CONFIG and APP_CONFIG are relative to it; gunicorn.conf.py is looked for there, then at the top', () => {
    const app = appWith({ 'project/conf/g.py': '', 'project/gunicorn.conf.py': '', 'gunicorn.conf.py': '' });
    const home = path.join(app, 'project');
    expect(userGunicornConfig(app, { name: 'APP_CONFIG', value: 'conf/g.py' }, home)).to.equal(path.join(home, 'conf', 'g.py'));
    expect(thrownCause(() => userGunicornConfig(app, { name: 'APP_CONFIG', value: 'g.py' }, home))).to.deep.equal({ type: 'missing-gunicorn-config', name: 'APP_CONFIG', value: 'g.py', home: 'project' });
    expect(userGunicornConfig(app, undefined, home)).to.equal(path.join(home, 'gunicorn.conf.py'));
    fs.rmSync(path.join(home, 'gunicorn.conf.py'));
    expect(userGunicornConfig(app, undefined, home)).to.equal(path.join(app, 'gunicorn.conf.py'));
  });

  it('collectstatic runs the manage.py found from APP_HOME, with the app root on PYTHONPATH', async () => {
    const app = appWith({ 'manage.py': '', 'project/manage.py': '' });
    const { deps, exec } = fakeDeps([ok('1 static file copied')]);
    const outcome = await collectstatic({ appDir: app, startDir: path.join(app, 'project'), env: { PATH: '/bin' }, python: PY, djangoInstalled: true, disabled: false, log: deps.log, exec });
    expect(outcome).to.equal('collected');
    expect(exec.executions).to.have.length(1);
    expect(exec.executions[0]).to.deep.include({ command: PY, args: [path.join(app, 'project', 'manage.py'), 'collectstatic', '--noinput'], cwd: path.join(app, 'project') });
    expect(exec.executions[0]?.env).to.deep.equal({ PATH: '/bin', PYTHONPATH: app });
  });
});

describe("a Gunicorn config that sets wsgi_app (issue 15)", () => {
  it('is read as text: the last top-level assignment; a string names the module, code leaves it unknown', () => {
    expect(configWsgiApp('bind = "0.0.0.0:5000"\nwsgi_app = "hello:app"\n')).to.deep.equal({ module: 'hello:app' });
    expect(configWsgiApp("wsgi_app='a.b:create_app()'  # factory\n")).to.deep.equal({ module: 'a.b:create_app()' });
    expect(configWsgiApp('wsgi_app = "a:x"\nwsgi_app = "b:y"\n')).to.deep.equal({ module: 'b:y' });
    expect(configWsgiApp('import os\nwsgi_app = os.environ["APP"]\n')).to.deep.equal({ module: undefined });
    expect(configWsgiApp('# wsgi_app = "a:b"\nworkers = 2\n')).to.equal(undefined);
    expect(configWsgiApp('if DEV:\n    wsgi_app = "a:b"\n')).to.equal(undefined);
    expect(configWsgiApp('wsgi_app == "a:b"\n')).to.equal(undefined);
    expect(configWsgiApp('my_wsgi_app = "a:b"\n')).to.equal(undefined);
  });

  it('Gunicorn reads it from 20.1 on; an unknown version is trusted', () => {
    for (const v of ['20.1.0', '20.1', '21.2.0', '23.0.0', '26.2.0', '100.0']) expect(gunicornReadsWsgiApp(v), v).to.equal(true);
    for (const v of ['20.0.4', '19.9.0', '0.17.4']) expect(gunicornReadsWsgiApp(v), v).to.equal(false);
    expect(gunicornReadsWsgiApp(undefined)).to.equal(true);
  });

  const CONFIG = 'import os\nbind = "127.0.0.1:" + os.environ.get("APP_BIND_PORT", "5000")\nwsgi_app = "hello:app"\n';

  it('Gunicorn serves what it names with no module argument, when no seed rule comes first', () => {
    const app = appWith({ 'gunicorn.conf.py': CONFIG, 'hello.py': '' });
    const conf = path.join(app, 'gunicorn.conf.py');
    const plan = planStart(base(app, { gunicorn: '/g', userGunicornConfig: conf, gunicornVersion: '26.2.0' }));
    expect(plan.rule).to.equal('gunicorn');
    expect(plan.processes[0]).to.deep.include({ command: ['/g', '--config', conf], args: [] });
    expect(plan.served).to.deep.equal({ module: 'hello:app', source: 'wsgi_app in gunicorn.conf.py' });
    expect(plan.reason).to.equal("gunicorn is installed: web serves 'hello:app' (from wsgi_app in gunicorn.conf.py) with the app's config gunicorn.conf.py");
    expect(plan.warnings).to.deep.equal([]);
    // Set from code: served all the same, unchecked.
    fs.writeFileSync(conf, 'import os\nwsgi_app = os.environ.get("APP", "hello:app")\n');
    const fromCode = planStart(base(app, { gunicorn: '/g', userGunicornConfig: conf }));
    expect(fromCode.processes[0]?.args).to.deep.equal([]);
    expect(fromCode.served).to.equal(undefined);
    expect(fromCode.reason).to.equal("gunicorn is installed: web serves the app that wsgi_app names (from wsgi_app in gunicorn.conf.py) with the app's config gunicorn.conf.py");
  });

  it('an older Gunicorn: a warning, and the other rules choose web', () => {
    const app = appWith({ 'gunicorn.conf.py': CONFIG, 'hello.py': '', 'app.sh': '' });
    const conf = path.join(app, 'gunicorn.conf.py');
    const plan = planStart(base(app, { gunicorn: '/g', userGunicornConfig: conf, gunicornVersion: '20.0.4' }));
    expect(plan.rule).to.equal('app.sh');
    expect(plan.warnings).to.deep.equal([{ type: 'gunicorn-too-old-for-wsgi-app', config: 'gunicorn.conf.py', version: '20.0.4' }]);
    expect(plan.processes.map((p) => p.type)).to.deep.equal(['web', 'python']);
  });

  it("comes after the seed's rules: wsgi.py (Gunicorn's module argument wins over wsgi_app) and app.py, with a log line", () => {
    const withWsgi = appWith({ 'gunicorn.conf.py': CONFIG, 'wsgi.py': '' });
    const w = planStart(base(withWsgi, { gunicorn: '/g', userGunicornConfig: path.join(withWsgi, 'gunicorn.conf.py'), gunicornVersion: '26.2.0' }));
    expect(w.processes[0]?.args).to.deep.equal(['wsgi']);
    expect(w.notes).to.deep.equal(["The wsgi_app your Gunicorn config sets is not used: Gunicorn serves 'wsgi' (from wsgi.py), which comes first"]);
    const withAppPy = appWith({ 'gunicorn.conf.py': CONFIG, 'app.py': '' });
    const a = planStart(base(withAppPy, { gunicorn: '/g', userGunicornConfig: path.join(withAppPy, 'gunicorn.conf.py') }));
    expect(a.rule).to.equal('app.py');
    expect(a.reason).to.equal("web runs 'python app.py' (app.py comes before wsgi_app in gunicorn.conf.py; /cnb/process/gunicorn serves 'hello:app')");
    expect(a.processes.find((p) => p.type === 'gunicorn')?.args).to.deep.equal([]);
    expect(a.notes).to.deep.equal([]);
    const appRun = planStart(base(withAppPy, { gunicorn: '/g', appRun: 'python x.py', userGunicornConfig: path.join(withAppPy, 'gunicorn.conf.py') }));
    expect(appRun.notes).to.deep.equal(['web does not serve the wsgi_app your Gunicorn config sets: APP_RUN comes first (/cnb/process/gunicorn serves it)']);
    // Before main.py and a Django project.
    const withMain = appWith({ 'gunicorn.conf.py': CONFIG, 'main.py': 'application = f()\n', ...STARTPROJECT });
    expect(planStart(base(withMain, { gunicorn: '/g', django: true, userGunicornConfig: path.join(withMain, 'gunicorn.conf.py') })).served?.module).to.equal('hello:app');
    // The fallback config is never read for it.
    expect(planStart(base(appWith({ 'hello.py': '', 'app.sh': '' }), { gunicorn: '/g' })).rule).to.equal('app.sh');
  });
});

describe('Django projects without a wsgi.py at the top (issue 15)', () => {
  it("reads the settings module from manage.py, and finds the WSGI module in its package or one above", () => {
    expect(settingsModule(MANAGE_PY)).to.equal('mysite.settings');
    expect(settingsModule("os.environ['DJANGO_SETTINGS_MODULE'] = \"config.settings.production\"\n")).to.equal('config.settings.production');
    expect(settingsModule("# os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'old.settings')\n")).to.equal(undefined);
    expect(settingsModule('os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_name)\n')).to.equal(undefined);
    expect(djangoWsgiModule(appWith(STARTPROJECT), appWith(STARTPROJECT))).to.equal(undefined); // another app's folder
    const app = appWith(STARTPROJECT);
    expect(djangoWsgiModule(app, app)).to.deep.equal({ module: 'mysite.wsgi', source: "DJANGO_SETTINGS_MODULE 'mysite.settings' in manage.py" });
    const split = appWith({ 'manage.py': "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings.production')\n", 'config/wsgi.py': '' });
    expect(djangoWsgiModule(split, split)?.module).to.equal('config.wsgi');
    expect(djangoWsgiModule(appWith({ 'manage.py': MANAGE_PY }), appWith({}))).to.equal(undefined);
    const noWsgi = appWith({ 'manage.py': MANAGE_PY, 'mysite/settings.py': '' });
    expect(djangoWsgiModule(noWsgi, noWsgi)).to.equal(undefined);
  });

  it('Gunicorn serves the project\'s WSGI module; a migrate process runs manage.py migrate', () => {
    const app = appWith(STARTPROJECT);
    const plan = planStart(base(app, { gunicorn: '/g', django: true }));
    expect(plan.rule).to.equal('gunicorn');
    expect(plan.processes[0]?.args).to.deep.equal(['mysite.wsgi']);
    expect(plan.served).to.deep.equal({ module: 'mysite.wsgi', source: "DJANGO_SETTINGS_MODULE 'mysite.settings' in manage.py" });
    expect(plan.processes.map((p) => p.type)).to.deep.equal(['web', 'python', 'migrate']);
    expect(plan.processes[2]?.command).to.deep.equal([PY, 'manage.py', 'migrate', '--noinput']);
    expect(plan.warnings).to.deep.equal([]);
    // Only for Django: the same files without Django installed are no project to serve.
    expect(thrownCause(() => planStart(base(app, { gunicorn: '/g' })))).to.deep.equal({ type: 'dont-know-how-to-run', hasGunicorn: true });
    // The seed's rules first: app.py; a Procfile migrate replaces ours.
    expect(planStart(base(appWith({ ...STARTPROJECT, 'app.py': '' }), { gunicorn: '/g', django: true })).rule).to.equal('app.py');
    const own = planStart(base(app, { gunicorn: '/g', django: true, procfile: [{ type: 'migrate', command: 'python manage.py migrate --database=x' }] }));
    expect(own.processes.find((p) => p.type === 'migrate')?.command).to.deep.equal(['/bin/sh', '-c', 'exec python manage.py migrate --database=x']);
  });

  it('without Gunicorn (or a module for it): runserver on 0.0.0.0:$PORT, after app.sh, with a warning naming the fix', () => {
    const app = appWith(STARTPROJECT);
    const plan = planStart(base(app, { django: true }));
    expect(plan.rule).to.equal('django-runserver');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text
    expect(plan.processes[0]).to.deep.include({ command: ['/bin/sh', '-c', 'exec "$@" "0.0.0.0:${PORT:-8080}"', 'sh', PY, 'manage.py', 'runserver'], args: [], default: true });
    expect(plan.warnings).to.deep.equal([{ type: 'django-runserver', gunicorn: false, managePy: 'manage.py' }]);
    expect(plan.processes.map((p) => p.type)).to.deep.equal(['web', 'python', 'migrate']);
    const noModule = appWith({ 'manage.py': MANAGE_PY });
    expect(planStart(base(noModule, { gunicorn: '/g', django: true })).warnings).to.deep.equal([{ type: 'django-runserver', gunicorn: true, managePy: 'manage.py' }]);
    expect(planStart(base(appWith({ ...STARTPROJECT, 'app.sh': '' }), { django: true })).rule).to.equal('app.sh');
  });

  it('with APP_HOME, manage.py is looked for there', () => {
    const app = appWith(Object.fromEntries(Object.entries(STARTPROJECT).map(([k, v]) => [`src/${k}`, v])));
    expect(thrownCause(() => planStart(base(app, { gunicorn: '/g', django: true })))).to.deep.include({ type: 'dont-know-how-to-run' });
    const plan = planStart(base(app, { gunicorn: '/g', django: true, startDir: path.join(app, 'src') }));
    expect(plan.served?.module).to.equal('mysite.wsgi');
    expect(plan.processes.find((p) => p.type === 'migrate')?.workingDir).to.equal(path.join(app, 'src'));
  });

  it('with APP_HOME, the build log shows the command web runs and the folder it runs in, and where the files were looked for', () => {
    const app = appWith({ 'src/manage.py': MANAGE_PY, 'app.py': '' });
    const src = path.join(app, 'src');
    const plan = planStart(base(app, { django: true, startDir: src }));
    expect(plan.warnings).to.deep.equal([{ type: 'django-runserver', gunicorn: false, managePy: 'src/manage.py' }]);
    // web runs `python manage.py runserver` in src/, not `python src/manage.py`.
    const runserver = renderWarning(plan.warnings[0] as BuildWarning).body;
    expect(runserver).to.include("web runs 'python manage.py runserver 0.0.0.0:$PORT' in APP_HOME (src)");
    expect(runserver).not.to.include('python src/manage.py');
    // app.py at the top is not where the start files are looked for: the message says where they were.
    const cause = thrownCause(() => planStart(base(app, { startDir: src })));
    expect(cause).to.deep.equal({ type: 'dont-know-how-to-run', hasGunicorn: false, home: 'src' });
    expect(renderCause(cause as Cause).body).to.include('None of them was found in APP_HOME (src), where the processes start');
  });

  it('BP_DJANGO_MIGRATE_AT_START: web migrates first when it serves the project; DISABLE_MIGRATE wins; other webs are left alone, with a log line', () => {
    const app = appWith(STARTPROJECT);
    const plan = planStart(base(app, { gunicorn: '/g', django: true, migrateAtStart: true }));
    expect(plan.processes[0]).to.deep.include({
      command: ['/bin/sh', '-c', '"$1" manage.py migrate --noinput || exit; shift; exec "$@"', 'sh', PY, '/g', '--config', '/layers/g/gunicorn.conf.py'],
      args: ['mysite.wsgi'],
      default: true,
    });
    expect(plan.served?.module).to.equal('mysite.wsgi');
    expect(plan.notes).to.deep.equal(["BP_DJANGO_MIGRATE_AT_START is set: web runs 'python manage.py migrate --noinput' first, then the server"]);
    expect(planStart(base(app, { django: true, migrateAtStart: true })).processes[0]?.command.slice(0, 5)).to.deep.equal(['/bin/sh', '-c', '"$1" manage.py migrate --noinput || exit; shift; exec "$@"', 'sh', PY]);
    const off = planStart(base(app, { gunicorn: '/g', django: true, migrateAtStart: true, disableMigrate: true }));
    expect(off.processes[0]?.command).to.deep.equal(['/g', '--config', '/layers/g/gunicorn.conf.py']);
    expect(off.notes).to.deep.equal(['DISABLE_MIGRATE is set: web does not run migrate first, although BP_DJANGO_MIGRATE_AT_START is set']);
    expect(planStart(base(app, { gunicorn: '/g', django: true, disableMigrate: true })).notes).to.deep.equal([
      'DISABLE_MIGRATE is set: nothing to turn off, since migrations run at start only with BP_DJANGO_MIGRATE_AT_START (/cnb/process/migrate runs them)',
    ]);
    const appRun = planStart(base(app, { gunicorn: '/g', django: true, migrateAtStart: true, appRun: 'python serve.py' }));
    expect(appRun.processes[0]?.command).to.deep.equal(['/bin/sh', '-c', 'exec python serve.py']);
    expect(appRun.notes).to.deep.equal(["BP_DJANGO_MIGRATE_AT_START is set, but web runs APP_RUN: run 'python manage.py migrate --noinput' from your own start command"]);
    expect(planStart(base(appWith({ 'wsgi.py': '' }), { gunicorn: '/g', migrateAtStart: true })).notes).to.deep.equal(['BP_DJANGO_MIGRATE_AT_START is set, but Django is not installed: nothing to migrate']);
  });
});
