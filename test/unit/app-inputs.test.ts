import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectRequirementInputs, hashRequirementFiles, logicalLines, parseLine } from '../../src/python/requirements.js';
import { localInputsKey } from '../../src/python/local-inputs.js';
import { parseS2iEnvironment } from '../../src/s2i/environment.js';
import { mainPyModule, planStart, setupPyName, type StartInputs } from '../../src/start/web-process.js';
import { realExecutor } from '../../src/exec.js';
import { describeMiss, findModule, splitAppModule } from '../../src/start/app-module.js';
import { asgiEvidence, asgiWorkerConfigured } from '../../src/start/asgi.js';
import { userGunicornConfig } from '../../src/start/user-config.js';
import { parseProcfile } from '../../src/start/procfile.js';
import { cleanPythonEnv, pyenvRoot, resolvePyenvVersion } from '../helpers/python-dist.js';
import { thrownCause } from '../fakes/thrown.js';

/** Temp dirs made by these tests, removed after them. */
const made: string[] = [];
after(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

function appWith(files: Record<string, string>): string {
  const dir = tempDir('app-');
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe('requirement inputs', () => {
  it('joins continuations and drops comments', () => {
    expect(logicalLines('flask==3.0 \\\n  --hash=sha256:x # pinned\n# comment\n\ngunicorn\n')).to.deep.equal(['flask==3.0   --hash=sha256:x', 'gunicorn']);
  });

  it('recognises includes and local projects', () => {
    expect(parseLine('-r base.txt')).to.deep.equal([{ kind: 'include', file: 'base.txt', constraint: false }]);
    expect(parseLine('--constraint=c.txt')).to.deep.equal([{ kind: 'include', file: 'c.txt', constraint: true }]);
    expect(parseLine('-e .')).to.deep.equal([{ kind: 'path', target: '.', editable: true }]);
    expect(parseLine('./libs/util')).to.deep.equal([{ kind: 'path', target: './libs/util', editable: false }]);
    expect(parseLine('flask>=3')).to.deep.equal([]);
    expect(parseLine('-e git+https://x/y.git#egg=y')).to.deep.equal([]);
  });

  it('follows -r and -c includes and changes the key when an included file or local project changes', () => {
    const app = appWith({ 'requirements.txt': '-r reqs/base.txt\n-e .\n./libs/util\n', 'reqs/base.txt': '-c constraints.txt\nflask\n', 'reqs/constraints.txt': 'flask<4\n', 'setup.py': 'setup(name="x")', 'libs/util/setup.py': 'u', 'libs/util/util.py': 'v1', 'app.py': 'code' });
    const inputs = collectRequirementInputs(app, ['requirements.txt']);
    expect(inputs.files).to.deep.equal(['requirements.txt', 'reqs/base.txt', 'reqs/constraints.txt']);
    expect(inputs.local).to.deep.equal([{ kind: 'path', path: '.', editable: true }, { kind: 'path', path: 'libs/util', editable: false }]);
    const key = (): string => JSON.stringify([hashRequirementFiles(app, inputs.files), localInputsKey(app, inputs.local)]);
    const before = key();
    fs.writeFileSync(path.join(app, 'app.py'), 'editable code changes do not count');
    expect(key()).to.equal(before);
    fs.writeFileSync(path.join(app, 'reqs/constraints.txt'), 'flask<3\n');
    const afterConstraint = key();
    expect(afterConstraint).to.not.equal(before);
    fs.writeFileSync(path.join(app, 'libs/util/util.py'), 'v2');
    expect(key()).to.not.equal(afterConstraint);
  });

  it('names a missing included file', () => {
    const app = appWith({ 'requirements.txt': '-r missing.txt\n' });
    expect(thrownCause(() => collectRequirementInputs(app, ['requirements.txt']))).to.deep.equal({ type: 'missing-requirement-file', file: 'missing.txt', from: 'requirements.txt' });
  });
});

describe('.s2i/environment', () => {
  it('reads KEY=VALUE lines with comments and blanks, keeping values verbatim', () => {
    expect(parseS2iEnvironment('# c\n\nAPP_RUN=python app.py --x=1\nEMPTY=\r\nQUOTED="a b"\n')).to.deep.equal({ APP_RUN: 'python app.py --x=1', EMPTY: '', QUOTED: '"a b"' });
  });
  it('stops at a malformed line with its number', () => {
    expect(thrownCause(() => parseS2iEnvironment('A=1\nthis is wrong\n'))).to.deep.equal({ type: 's2i-environment-malformed', line: 2, text: 'this is wrong' });
    expect(thrownCause(() => parseS2iEnvironment('=x'))).to.deep.equal({ type: 's2i-environment-malformed', line: 1, text: '=x' });
    expect(thrownCause(() => parseS2iEnvironment('CNB_X=1'))).to.deep.equal({ type: 's2i-environment-reserved', line: 1, key: 'CNB_X' });
  });
});

describe('start command', () => {
  const base = (appDir: string, over: Partial<StartInputs> = {}): StartInputs => ({
    appDir, appRun: undefined, s2iRun: undefined, gunicorn: undefined, gunicornAppModule: undefined,
    userGunicornConfig: undefined, fallbackGunicornConfig: '/layers/g/gunicorn.conf.py', python: '/layers/p/bin/python', ...over,
  });

  it('follows the seed order: APP_RUN, gunicorn with wsgi.py, app.py', () => {
    const app = appWith({ 'wsgi.py': '', 'app.py': '' });
    const runPlan = planStart(base(app, { appRun: 'python serve.py $PORT', gunicorn: '/g' }));
    expect(runPlan.rule).to.equal('APP_RUN');
    expect(runPlan.processes[0]).to.include({ type: 'web', default: true });
    expect(runPlan.processes[0]?.command).to.deep.equal(['/bin/sh', '-c', 'exec python serve.py $PORT']); // see app-run.test.ts
    expect(runPlan.processes.map((p) => p.type)).to.deep.equal(['web', 'gunicorn', 'python']);
    const g = planStart(base(app, { gunicorn: '/d/bin/gunicorn' }));
    expect(g.rule).to.equal('gunicorn');
    expect(g.processes[0]?.command).to.deep.equal(['/d/bin/gunicorn', '--config', '/layers/g/gunicorn.conf.py']);
    expect(g.processes[0]?.args).to.deep.equal(['wsgi']);
    expect(planStart(base(app)).rule).to.equal('app.py');
  });

  it('takes the module from GUNICORN_APP_MODULE, then setup.py', () => {
    const app = appWith({ 'setup.py': "setup(\n  name='my-service',\n)" });
    expect(setupPyName(app)).to.equal('my_service');
    expect(planStart(base(app, { gunicorn: '/g' })).processes[0]?.args).to.deep.equal(['my_service']);
    expect(planStart(base(app, { gunicorn: '/g', gunicornAppModule: 'pkg.web:app', userGunicornConfig: '/w/conf.py' })).processes[0]).to.deep.include({ command: ['/g', '--config', '/w/conf.py'], args: ['pkg.web:app'] });
  });

  it("fails with the seed's message when nothing can start the app", () => {
    expect(thrownCause(() => planStart(base(appWith({ 'requirements.txt': '' }))))).to.deep.equal({ type: 'dont-know-how-to-run', hasGunicorn: false });
  });

  it('says which module web serves under gunicorn, and where its name came from', () => {
    const app = appWith({ 'wsgi.py': '' });
    expect(planStart(base(app, { gunicorn: '/g' })).served).to.deep.equal({ module: 'wsgi', source: 'wsgi.py' });
    expect(planStart(base(app, { gunicorn: '/g', gunicornAppModule: 'a.b:app' })).served).to.deep.equal({ module: 'a.b:app', source: 'GUNICORN_APP_MODULE' });
    expect(planStart(base(app, { gunicorn: '/g', appRun: 'python x.py' })).served).to.equal(undefined);
    const alias = planStart(base(app, { gunicorn: '/g', gunicornAppModule: 'a.b:app', gunicornAppModuleName: 'APP_MODULE' }));
    expect(alias.served).to.deep.equal({ module: 'a.b:app', source: 'APP_MODULE' });
    expect(alias.reason).to.equal("gunicorn is installed: web serves 'a.b:app' (from APP_MODULE) with the buildpack's fallback config");
  });
});

describe('Procfile (issue 15)', () => {
  const base = (appDir: string, over: Partial<StartInputs> = {}): StartInputs => ({
    appDir, appRun: undefined, s2iRun: undefined, gunicorn: undefined, gunicornAppModule: undefined,
    userGunicornConfig: undefined, fallbackGunicornConfig: '/layers/g/gunicorn.conf.py', python: '/layers/p/bin/python', ...over,
  });

  it("reads Heroku's format: type: command, comments, blank lines, CRLF", () => {
    expect(parseProcfile('# processes\r\n\nweb: gunicorn app:app --log-file -\r\nworker_2:python worker.py\n  release-x :  ./release.sh  \n')).to.deep.equal([
      { type: 'web', command: 'gunicorn app:app --log-file -' },
      { type: 'worker_2', command: 'python worker.py' },
      { type: 'release-x', command: './release.sh' },
    ]);
  });

  it('stops at a malformed line, quoting it with its number', () => {
    expect(thrownCause(() => parseProcfile('web: python app.py\nworker python w.py\n'))).to.deep.equal({ type: 'procfile-malformed', line: 2, text: 'worker python w.py', problem: 'not-type-command' });
    expect(thrownCause(() => parseProcfile('web:\n'))).to.deep.equal({ type: 'procfile-malformed', line: 1, text: 'web:', problem: 'not-type-command' });
    expect(thrownCause(() => parseProcfile('we.b: x\n'))).to.deep.equal({ type: 'procfile-malformed', line: 1, text: 'we.b: x', problem: 'not-type-command' });
    expect(thrownCause(() => parseProcfile('web: a\nweb: b\n'))).to.deep.equal({ type: 'procfile-malformed', line: 2, text: 'web: b', problem: 'duplicate-type' });
  });

  it('web from the Procfile wins over the rules (gunicorn with wsgi.py) but not over APP_RUN; other types are added, run through /bin/sh with exec', () => {
    const app = appWith({ 'wsgi.py': '', 'app.py': '' });
    const procfile = parseProcfile('web: python server.py $PORT\nworker: python worker.py\n');
    const plan = planStart(base(app, { gunicorn: '/g', procfile }));
    expect(plan.rule).to.equal('Procfile');
    expect(plan.reason).to.equal("the Procfile defines web: web runs 'python server.py $PORT' through /bin/sh");
    expect(plan.processes.map((p) => [p.type, p.command, p.default])).to.deep.equal([
      ['web', ['/bin/sh', '-c', 'exec python server.py $PORT'], true],
      ['gunicorn', ['/g', '--config', '/layers/g/gunicorn.conf.py'], false],
      ['python', ['/layers/p/bin/python'], false],
      ['worker', ['/bin/sh', '-c', 'exec python worker.py'], false],
    ]);
    const withRun = planStart(base(app, { gunicorn: '/g', procfile, appRun: 'python other.py' }));
    expect(withRun.rule).to.equal('APP_RUN');
    expect(withRun.processes[0]?.command).to.deep.equal(['/bin/sh', '-c', 'exec python other.py']);
    expect(withRun.notes).to.deep.equal(["The Procfile's web ('python server.py $PORT') is not used: APP_RUN comes first"]);
    expect(withRun.processes.map((p) => p.type)).to.deep.equal(['web', 'gunicorn', 'python', 'worker']);
    expect(planStart(base(app, { procfile, s2iRun: '/layers/s2i/run' })).rule).to.equal('Procfile');
  });

  it('a Procfile type named gunicorn or python replaces ours, with a log line', () => {
    const app = appWith({ 'wsgi.py': '' });
    const plan = planStart(base(app, { gunicorn: '/g', procfile: parseProcfile('python: python3 -X dev\ngunicorn: gunicorn -w 1 wsgi\n') }));
    expect(plan.rule).to.equal('gunicorn');
    expect(plan.processes.map((p) => [p.type, p.command])).to.deep.equal([
      ['web', ['/g', '--config', '/layers/g/gunicorn.conf.py']],
      ['python', ['/bin/sh', '-c', 'exec python3 -X dev']],
      ['gunicorn', ['/bin/sh', '-c', 'exec gunicorn -w 1 wsgi']], // web is ours under Gunicorn: no `gunicorn` of ours to replace
    ]);
    expect(plan.notes).to.deep.equal(["The Procfile's python replaces the buildpack's python process"]);
    const noWeb = planStart(base(appWith({ 'app.py': '', 'wsgi.py': '' }), { gunicorn: '/g', appRun: 'x', procfile: parseProcfile('gunicorn: gunicorn wsgi\n') }));
    expect(noWeb.processes.find((p) => p.type === 'gunicorn')?.command).to.deep.equal(['/bin/sh', '-c', 'exec gunicorn wsgi']);
    expect(noWeb.notes).to.deep.equal(["The Procfile's gunicorn replaces the buildpack's gunicorn process"]);
  });
});

describe('APP_SCRIPT, APP_FILE and app.sh (issue 15)', () => {
  const base = (appDir: string, over: Partial<StartInputs> = {}): StartInputs => ({
    appDir, appRun: undefined, s2iRun: undefined, gunicorn: undefined, gunicornAppModule: undefined,
    userGunicornConfig: undefined, fallbackGunicornConfig: '/layers/g/gunicorn.conf.py', python: '/layers/p/bin/python', ...over,
  });

  it("s2i's order: APP_SCRIPT, then APP_FILE, both after APP_RUN, the Procfile's web and .s2i/bin/run and before Gunicorn and app.py", () => {
    const app = appWith({ 'wsgi.py': '', 'app.py': '', 'bin/start.sh': '#!/bin/sh\n', 'server.py': '' });
    const script = planStart(base(app, { gunicorn: '/g', appScript: 'bin/start.sh', appFile: 'server.py' }));
    expect(script.rule).to.equal('APP_SCRIPT');
    expect(script.processes[0]?.command).to.deep.equal([path.join(app, 'bin/start.sh')]);
    expect(script.script).to.equal(path.join(app, 'bin/start.sh'));
    expect(script.reason).to.equal("APP_SCRIPT is set: web runs './bin/start.sh'");
    expect(script.notes).to.deep.equal(["APP_FILE ('server.py') is not used: APP_SCRIPT comes first"]);
    expect(script.processes.map((p) => p.type)).to.deep.equal(['web', 'gunicorn', 'python']);
    const file = planStart(base(app, { gunicorn: '/g', appFile: 'server.py' }));
    expect(file.rule).to.equal('APP_FILE');
    expect(file.processes[0]?.command).to.deep.equal(['/layers/p/bin/python', 'server.py']);
    expect(file.reason).to.equal("APP_FILE is set: web runs 'python server.py'");
    expect(file.script).to.equal(undefined);
    const run = planStart(base(app, { appRun: 'python x.py', appFile: 'server.py' }));
    expect(run.rule).to.equal('APP_RUN');
    expect(run.notes).to.deep.equal(["APP_FILE ('server.py') is not used: APP_RUN comes first"]);
    expect(planStart(base(app, { s2iRun: '/l/app-run', appScript: 'bin/start.sh' })).rule).to.equal('.s2i/bin/run');
    expect(planStart(base(app, { procfile: [{ type: 'web', command: 'x' }], appFile: 'server.py' })).notes).to.deep.equal(["APP_FILE ('server.py') is not used: the Procfile's web comes first"]);
  });

  it('a named file missing, or leading outside the app, stops the build', () => {
    const app = appWith({ 'app.py': '' });
    fs.symlinkSync('/etc/passwd', path.join(app, 'out.sh'));
    expect(thrownCause(() => planStart(base(app, { appScript: 'start.sh' })))).to.deep.equal({ type: 'start-file-unusable', name: 'APP_SCRIPT', value: 'start.sh', problem: { kind: 'missing' } });
    expect(thrownCause(() => planStart(base(app, { appFile: 'srv.py' })))).to.deep.equal({ type: 'start-file-unusable', name: 'APP_FILE', value: 'srv.py', problem: { kind: 'missing' } });
    expect(thrownCause(() => planStart(base(app, { appFile: '../x.py' })))).to.deep.equal({ type: 'start-file-unusable', name: 'APP_FILE', value: '../x.py', problem: { kind: 'outside', resolved: path.resolve(app, '../x.py') } });
    expect(thrownCause(() => planStart(base(app, { appScript: 'out.sh' })))).to.deep.equal({ type: 'start-file-unusable', name: 'APP_SCRIPT', value: 'out.sh', problem: { kind: 'outside', resolved: '/etc/passwd' } });
    expect(thrownCause(() => planStart(base(app, { appScript: '.' })))).to.deep.include({ type: 'start-file-unusable' });
  });

  it("app.sh is a rule only where the seed's rules find nothing", () => {
    const sh = appWith({ 'app.sh': '#!/bin/sh\n' });
    const plan = planStart(base(sh, { gunicorn: '/g' }));
    expect(plan.rule).to.equal('app.sh');
    expect(plan.processes[0]?.command).to.deep.equal([path.join(sh, 'app.sh')]);
    expect(plan.script).to.equal(path.join(sh, 'app.sh'));
    expect(planStart(base(appWith({ 'app.sh': '', 'app.py': '' }))).rule).to.equal('app.py');
    expect(planStart(base(appWith({ 'app.sh': '', 'wsgi.py': '' }), { gunicorn: '/g' })).rule).to.equal('gunicorn');
    const outside = appWith({});
    fs.symlinkSync('/etc/passwd', path.join(outside, 'app.sh'));
    expect(thrownCause(() => planStart(base(outside)))).to.deep.equal({ type: 'dont-know-how-to-run', hasGunicorn: false });
  });
});

describe('main.py (issue 15)', () => {
  const base = (appDir: string, over: Partial<StartInputs> = {}): StartInputs => ({
    appDir, appRun: undefined, s2iRun: undefined, gunicorn: undefined, gunicornAppModule: undefined,
    userGunicornConfig: undefined, fallbackGunicornConfig: '/layers/g/gunicorn.conf.py', python: '/layers/p/bin/python', ...over,
  });

  it("finds the WSGI callable from main.py's source: app = Flask(...) or application = ...; not an ASGI app, not a nested name", () => {
    expect(mainPyModule(appWith({ 'main.py': 'from flask import Flask\napp = Flask(__name__)\n' }))).to.deep.equal({ module: 'main:app', source: 'main.py' });
    expect(mainPyModule(appWith({ 'main.py': 'import flask\napp=flask.Flask(__name__)\n' }))).to.deep.equal({ module: 'main:app', source: 'main.py' });
    expect(mainPyModule(appWith({ 'main.py': 'from x import make\napplication = make()\n' }))).to.deep.equal({ module: 'main:application', source: 'main.py' });
    expect(mainPyModule(appWith({ 'main.py': 'from fastapi import FastAPI\napp = FastAPI()\n' }))).to.equal(undefined);
    expect(mainPyModule(appWith({ 'main.py': 'from django.core.asgi import get_asgi_application\napplication = get_asgi_application()\n' }))).to.equal(undefined);
    expect(mainPyModule(appWith({ 'main.py': 'def f():\n    app = Flask(__name__)\n' }))).to.equal(undefined);
    expect(mainPyModule(appWith({ 'main.py': 'print("hello")\n' }))).to.equal(undefined);
  });

  it("reads main.py's code, not the text of its docstrings, as the ASGI reader does (issue 15)", () => {
    // A Flask app whose docstring shows a FastAPI example: still the WSGI app Gunicorn serves.
    const doc = '"""Entry point.\n\nThe FastAPI version of this app:\n    from fastapi import FastAPI\n    application = FastAPI()\n"""\n';
    const flask = `${doc}from flask import Flask\napp = Flask(__name__)\n`;
    expect(mainPyModule(appWith({ 'main.py': flask }))).to.deep.equal({ module: 'main:app', source: 'main.py' });
    expect(asgiEvidence(flask, 'app')).to.equal(undefined);
    // A name bound only inside a docstring is not a callable.
    expect(mainPyModule(appWith({ 'main.py': '"""\napplication = make()\n"""\nprint("hello")\n' }))).to.equal(undefined);
  });

  it("serves main.py under Gunicorn after the seed's wsgi.py, setup.py and app.py rules, and only with Gunicorn", () => {
    const flask = 'from flask import Flask\napp = Flask(__name__)\n';
    const plan = planStart(base(appWith({ 'main.py': flask }), { gunicorn: '/g' }));
    expect(plan.rule).to.equal('gunicorn');
    expect(plan.processes[0]).to.deep.include({ command: ['/g', '--config', '/layers/g/gunicorn.conf.py'], args: ['main:app'] });
    expect(plan.served).to.deep.equal({ module: 'main:app', source: 'main.py' });
    expect(plan.reason).to.equal("gunicorn is installed: web serves 'main:app' (from main.py) with the buildpack's fallback config");
    expect(planStart(base(appWith({ 'main.py': flask, 'wsgi.py': '' }), { gunicorn: '/g' })).served?.module).to.equal('wsgi');
    expect(planStart(base(appWith({ 'main.py': flask, 'setup.py': "setup(name='svc')" }), { gunicorn: '/g' })).served?.module).to.equal('svc');
    const withAppPy = planStart(base(appWith({ 'main.py': flask, 'app.py': '' }), { gunicorn: '/g' }));
    expect(withAppPy.rule).to.equal('app.py');
    expect(withAppPy.processes.find((p) => p.type === 'gunicorn')?.args).to.deep.equal(['main:app']);
    expect(planStart(base(appWith({ 'main.py': flask, 'app.sh': '' }), { gunicorn: '/g' })).rule).to.equal('gunicorn');
    expect(thrownCause(() => planStart(base(appWith({ 'main.py': flask }))))).to.deep.equal({ type: 'dont-know-how-to-run', hasGunicorn: false });
  });
});

describe("the app's Gunicorn config", () => {
  const G = (value: string) => ({ name: 'GUNICORN_CONFIG' as const, value });

  it('is a file of the app: a path leaving the app, as written or through a link, stops the build naming the variable and where it leads', () => {
    const app = appWith({ 'deploy/g.py': 'workers = 2\n', 'wsgi.py': '' });
    const outsideFile = path.join(appWith({ 'shared.py': 'workers = 3\n' }), 'shared.py');
    fs.symlinkSync(outsideFile, path.join(app, 'deploy', 'linked-out.py'));
    fs.symlinkSync('g.py', path.join(app, 'deploy', 'linked-in.py'));
    fs.symlinkSync('/etc', path.join(app, 'etc-dir'));

    expect(thrownCause(() => userGunicornConfig(app, G('/etc/passwd')))).to.deep.equal({ type: 'gunicorn-config-outside-app', name: 'GUNICORN_CONFIG', value: '/etc/passwd', resolved: '/etc/passwd' });
    expect(thrownCause(() => userGunicornConfig(app, { name: 'APP_CONFIG', value: '../x.py' }))).to.deep.equal({ type: 'gunicorn-config-outside-app', name: 'APP_CONFIG', value: '../x.py', resolved: path.resolve(app, '../x.py') });
    expect(thrownCause(() => userGunicornConfig(app, G('deploy/linked-out.py')))).to.deep.equal({ type: 'gunicorn-config-outside-app', name: 'GUNICORN_CONFIG', value: 'deploy/linked-out.py', resolved: fs.realpathSync(outsideFile) });
    expect(thrownCause(() => userGunicornConfig(app, G('etc-dir/passwd')))).to.deep.equal({ type: 'gunicorn-config-outside-app', name: 'GUNICORN_CONFIG', value: 'etc-dir/passwd', resolved: '/etc/passwd' });
    expect(thrownCause(() => userGunicornConfig(app, G('.')))).to.deep.include({ type: 'gunicorn-config-outside-app' });
    // Inside the app, whichever way it is written; a link within the app is fine.
    expect(userGunicornConfig(app, G('deploy/g.py'))).to.equal(path.join(app, 'deploy', 'g.py'));
    expect(userGunicornConfig(app, G(path.join(app, 'deploy', 'g.py')))).to.equal(path.join(app, 'deploy', 'g.py'));
    expect(userGunicornConfig(app, G('deploy/linked-in.py'))).to.equal(path.join(app, 'deploy', 'linked-in.py'));
    expect(thrownCause(() => userGunicornConfig(app, G('deploy/none.py')))).to.deep.equal({ type: 'missing-gunicorn-config', name: 'GUNICORN_CONFIG', value: 'deploy/none.py' });
  });

  it("./gunicorn.conf.py is the app's config only when it is a file of the app", () => {
    expect(userGunicornConfig(appWith({ 'wsgi.py': '' }), undefined)).to.equal(undefined);
    const own = appWith({ 'gunicorn.conf.py': 'workers = 2\n' });
    expect(userGunicornConfig(own, undefined)).to.equal(path.join(own, 'gunicorn.conf.py'));
    const linked = appWith({ 'wsgi.py': '' });
    fs.symlinkSync('/etc/passwd', path.join(linked, 'gunicorn.conf.py'));
    expect(thrownCause(() => userGunicornConfig(linked, undefined))).to.deep.equal({ type: 'gunicorn-config-outside-app', name: undefined, value: 'gunicorn.conf.py', resolved: '/etc/passwd' });
  });
});

describe('the module Gunicorn serves', () => {
  const pythonOf = (spec: string): string => path.join(pyenvRoot(), 'versions', resolvePyenvVersion(spec), 'bin', 'python');
  // The app's settings may need secrets: finding the module must never run it, nor its package's __init__.
  const NEVER_RUN = 'raise SystemExit("the app was imported")\n';
  const app = appWith({
    'service/__init__.py': NEVER_RUN,
    'service/web.py': NEVER_RUN,
    'service/api/__init__.py': NEVER_RUN,
    'wsgi.py': NEVER_RUN,
    'src/inner/__init__.py': NEVER_RUN,
    'src/inner/wsgi.py': NEVER_RUN,
  });

  it('splits MODULE:CALLABLE as Gunicorn does', () => {
    expect(splitAppModule('service.web:app')).to.deep.equal({ module: 'service.web', callable: 'app' });
    expect(splitAppModule('wsgi')).to.deep.equal({ module: 'wsgi', callable: 'application' });
    expect(splitAppModule('factory:create_app()')).to.deep.equal({ module: 'factory', callable: 'create_app' });
    expect(splitAppModule('factory:create_app(debug=True)')).to.deep.equal({ module: 'factory', callable: 'create_app' });
  });

  for (const spec of ['3.11', '2.7']) {
    it(`Python ${spec}: finds modules and packages of the app without importing them, and names the first part that is missing`, async () => {
      const find = (module: string, env: Record<string, string> = {}) =>
        findModule({ module, appDir: app, python: pythonOf(spec), env: cleanPythonEnv(env), exec: realExecutor });
      expect(await find('service.web')).to.deep.equal({ kind: 'found', file: path.join(fs.realpathSync(app), 'service', 'web.py') });
      expect(await find('service.api')).to.deep.equal({ kind: 'found', file: path.join(fs.realpathSync(app), 'service', 'api', '__init__.py') });
      expect(await find('wsgi')).to.deep.equal({ kind: 'found', file: path.join(fs.realpathSync(app), 'wsgi.py') });
      expect(await find('service.webapp')).to.deep.include({ kind: 'missing', missing: 'service.webapp', searched: [path.join(fs.realpathSync(app), 'service')], parentModule: undefined });
      expect(await find('service.api.views')).to.deep.include({ kind: 'missing', missing: 'service.api.views' });
      const top = await find('nosuchmodule');
      expect(top).to.deep.include({ kind: 'missing', missing: 'nosuchmodule', parentModule: undefined });
      expect(top.kind === 'missing' && top.searched[0]).to.equal(fs.realpathSync(app));
      // wsgi.py is a module, not a package: 'wsgi.py' (a file name written as a module) is not in it.
      expect(await find('wsgi.py')).to.deep.equal({ kind: 'missing', missing: 'wsgi.py', searched: [], parentModule: path.join(fs.realpathSync(app), 'wsgi.py') });
      // src/ is not on Gunicorn's path unless the app is installed as a project.
      expect(await find('inner.wsgi')).to.deep.include({ kind: 'missing', missing: 'inner' });
      // src/ itself, with no __init__.py, is a namespace package on Python 3 (PEP 420); 2.7 has none.
      expect(await find('src.inner.wsgi')).to.deep.include(spec === '2.7' ? { kind: 'missing', missing: 'src' } : { kind: 'found' });
      // Installed (pip puts src/ on the path, as an editable install's .pth does): found there.
      const userBase = tempDir('userbase-');
      const site = path.join(userBase, 'lib', `python${spec}`, 'site-packages');
      fs.mkdirSync(site, { recursive: true });
      fs.writeFileSync(path.join(site, '__editable__.inner-1.0.pth'), `${path.join(app, 'src')}\n`);
      expect(await find('inner.wsgi', { PYTHONUSERBASE: userBase })).to.deep.equal({ kind: 'found', file: path.join(fs.realpathSync(app), 'src', 'inner', 'wsgi.py') });
      expect(await find('')).to.deep.include({ kind: 'missing', missing: '' });
    });
  }

  it('reports a lookup it could not run as unknown (the check is skipped, never the build stopped)', async () => {
    expect((await findModule({ module: 'wsgi', appDir: app, python: '/nonexistent/python', env: {}, exec: realExecutor })).kind).to.equal('unknown');
  });

  it('names the files looked for, app-relative, and where', () => {
    const appDir = '/workspace';
    expect(describeMiss(appDir, { missing: 'service.webapp', searched: ['/workspace/service'], parentModule: undefined }))
      .to.deep.equal({ files: ['service/webapp.py', 'service/webapp/__init__.py'], lookedIn: [] });
    expect(describeMiss(appDir, { missing: 'mysite', searched: ['/workspace', '/layers/pip-deps/lib/python3.11/site-packages'], parentModule: undefined }))
      .to.deep.equal({ files: ['mysite.py', 'mysite/__init__.py'], lookedIn: ['the app directory', '/layers/pip-deps/lib/python3.11/site-packages'] });
    expect(describeMiss(appDir, { missing: 'wsgi.py', searched: [], parentModule: '/workspace/wsgi.py' }))
      .to.deep.equal({ files: ['wsgi/py.py', 'wsgi/py/__init__.py'], lookedIn: ['the app directory'] });
  });
});

describe('ASGI app under the sync worker (heuristic)', () => {
  it('sees ASGI frameworks and a raw ASGI callable in the module source', () => {
    expect(asgiEvidence('from fastapi import FastAPI\napp = FastAPI()\n', 'app')).to.equal('imports fastapi');
    expect(asgiEvidence('import starlette.applications\n', 'app')).to.equal('imports starlette');
    expect(asgiEvidence('from quart import Quart\n', 'app')).to.equal('imports quart');
    expect(asgiEvidence('from django.core.asgi import get_asgi_application\napplication = get_asgi_application()\n', 'application')).to.equal('imports django.core.asgi');
    expect(asgiEvidence('async def app(scope, receive, send):\n    pass\n', 'app')).to.equal('defines async def app(scope, receive, send)');
  });

  it('leaves WSGI apps alone: Flask, Django wsgi, other async functions, commented imports, a2wsgi-wrapped apps', () => {
    expect(asgiEvidence('from flask import Flask\napp = Flask(__name__)\n', 'app')).to.equal(undefined);
    expect(asgiEvidence('from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n', 'application')).to.equal(undefined);
    expect(asgiEvidence('async def helper(scope, receive, send):\n    pass\ndef app(environ, start_response):\n    pass\n', 'app')).to.equal(undefined);
    expect(asgiEvidence('# from fastapi import FastAPI\ndef application(e, s): pass\n', 'application')).to.equal(undefined);
    expect(asgiEvidence('from fastapi import FastAPI\nfrom a2wsgi import ASGIMiddleware\napplication = ASGIMiddleware(FastAPI())\n', 'application')).to.equal(undefined);
  });

  it('counts a uvicorn worker from GUNICORN_CMD_ARGS or the config, and trusts a worker_class it cannot read', () => {
    expect(asgiWorkerConfigured(undefined, undefined), "the buildpack's fallback config").to.equal(false);
    expect(asgiWorkerConfigured('-k uvicorn.workers.UvicornWorker', undefined)).to.equal(true);
    expect(asgiWorkerConfigured('--worker-class=uvicorn_worker.UvicornWorker --workers 2', undefined)).to.equal(true);
    expect(asgiWorkerConfigured('-k gevent', "worker_class = 'uvicorn.workers.UvicornWorker'\n"), 'GUNICORN_CMD_ARGS wins over the config').to.equal(false);
    expect(asgiWorkerConfigured(undefined, "bind = '0.0.0.0:8000'\nworker_class = 'uvicorn.workers.UvicornWorker'\n")).to.equal(true);
    expect(asgiWorkerConfigured(undefined, 'worker_class = "sync"  # the default\n')).to.equal(false);
    expect(asgiWorkerConfigured(undefined, "# worker_class = 'uvicorn.workers.UvicornWorker'\nworkers = 2\n")).to.equal(false);
    expect(asgiWorkerConfigured(undefined, "worker_class = os.environ.get('WORKER_CLASS', 'sync')\n")).to.equal(true);
    expect(asgiWorkerConfigured('--workers 4', undefined)).to.equal(false);
  });
});
