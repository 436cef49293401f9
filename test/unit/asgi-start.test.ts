// Issue 15, part 4: ASGI apps. What the source of main.py, app.py, asgi.py and an explicitly named module says
// (read as text, never imported), and the web process planStart makes of it: Gunicorn with uvicorn's worker,
// uvicorn alone, or `python app.py` without WEB_CONCURRENCY for an app that calls uvicorn.run(app).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { asgiApp, pythonCode, runsItself, uvicornRunObject } from '../../src/start/asgi-app.js';
import { workerClassNamed } from '../../src/start/asgi.js';
import { planStart, uvicornShellLine, type StartInputs } from '../../src/start/web-process.js';
import { renderCause } from '../../src/messages.js';
import { thrownCause } from '../fakes/thrown.js';

const made: string[] = [];
after(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function appWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'asgi-app-'));
  made.push(dir);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const FASTAPI = 'from fastapi import FastAPI\n\napp = FastAPI()\n\n\n@app.get("/")\ndef root():\n    return {"hello": "world"}\n';
const FLASK = 'from flask import Flask\napp = Flask(__name__)\n';
const MAIN_BLOCK = '\nif __name__ == "__main__":\n    import uvicorn\n    uvicorn.run(app, host="0.0.0.0", port=8080)\n';

const G = '/layers/pip-deps/bin/gunicorn';
const U = '/layers/pip-deps/bin/uvicorn';
const CONFIG = '/layers/g/gunicorn.conf.py';
const base = (appDir: string, over: Partial<StartInputs> = {}): StartInputs => ({
  appDir, appRun: undefined, s2iRun: undefined, gunicorn: undefined, gunicornAppModule: undefined,
  userGunicornConfig: undefined, fallbackGunicornConfig: CONFIG, python: '/layers/p/bin/python', ...over,
});
/** Both servers, as with `gunicorn` and `uvicorn` in requirements.txt (uvicorn 0.54 still ships its worker). */
const BOTH = { gunicorn: G, uvicorn: U, uvicornWorker: 'uvicorn.workers.UvicornWorker' };

describe('ASGI apps: reading the source (issue 15)', () => {
  it('finds the callable a framework constructor makes at the top level, with its name', () => {
    const cases: Array<[string, string, string]> = [
      [FASTAPI, 'app', 'app = FastAPI(...)'],
      ['import fastapi\napi = fastapi.FastAPI(title="x")\n', 'api', 'api = FastAPI(...)'],
      ['from fastapi import FastAPI\napp: FastAPI = FastAPI()\n', 'app', 'app = FastAPI(...)'],
      ['from starlette.applications import Starlette\napp = Starlette(routes=[])\n', 'app', 'app = Starlette(...)'],
      ['import starlette.applications\napp = starlette.applications . Starlette()\n', 'app', 'app = Starlette(...)'],
      ['from quart import Quart\napp = Quart(__name__)\n', 'app', 'app = Quart(...)'],
      ['from litestar import Litestar\napp = Litestar(route_handlers=[])\n', 'app', 'app = Litestar(...)'],
      ['import os\nfrom django.core.asgi import get_asgi_application\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")\napplication = get_asgi_application()\n', 'application', 'application = get_asgi_application(...)'],
      ['from channels.routing import ProtocolTypeRouter\napplication = ProtocolTypeRouter({})\n', 'application', 'application = ProtocolTypeRouter(...)'],
      ['async def app(scope, receive, send):\n    pass\n', 'app', 'async def app(scope, receive, send)'],
    ];
    for (const [source, callable, found] of cases) expect(asgiApp(source), source).to.deep.equal({ callable, found });
  });

  it('picks the callable a MODULE:CALLABLE names, else the first one', () => {
    const two = 'from fastapi import FastAPI\nadmin = FastAPI()\napp = FastAPI()\n';
    expect(asgiApp(two)?.callable).to.equal('admin');
    expect(asgiApp(two, 'app')?.callable).to.equal('app');
    expect(asgiApp(two, 'application')).to.equal(undefined);
    // a2wsgi wraps an ASGI app as WSGI: the callable Gunicorn is given is WSGI.
    expect(asgiApp('from a2wsgi import ASGIMiddleware\napi = FastAPI()\napplication = ASGIMiddleware(api)\n', 'application')).to.equal(undefined);
  });

  it('ignores comments, docstrings, nested and conditional apps, and WSGI apps: the kind stays unknown (WSGI)', () => {
    for (const source of [
      '# app = FastAPI()\napplication = make()\n',
      '"""Run it like this:\n\napp = FastAPI()\n"""\n',
      "'''\napp = FastAPI()\n'''\n",
      'x = 1  # app = FastAPI()\n',
      'def make():\n    app = FastAPI()\n    return app\n',
      'if True:\n    app = FastAPI()\n',
      'app == FastAPI()\n',
      FLASK,
      'from django.core.wsgi import get_wsgi_application\napplication = get_wsgi_application()\n',
      'async def helper(request):\n    pass\n',
      'app = create_app()\n',
    ]) {
      expect(asgiApp(source), source).to.equal(undefined);
    }
  });

  it('a false positive it accepts: a one-line string holding the pattern is code only when it starts a line, which it cannot', () => {
    expect(asgiApp('EXAMPLE = "app = FastAPI()"\n')).to.equal(undefined);
    expect(asgiApp('print("""\napp = FastAPI()""")\n')).to.equal(undefined);
  });

  it('strips comments and the text of triple-quoted strings, keeping line breaks and one-line strings', () => {
    expect(pythonCode('a = 1  # one\n"""doc\nstring"""\nb = "#not a comment"\nc = r"\\"" # x\n')).to.equal('a = 1  \n""""""\nb = "#not a comment"\nc = r"\\"" \n'.replace('""""""', '"""\n"""'));
    expect(pythonCode("s = 'it''s'\n")).to.equal("s = 'it''s'\n");
    expect(pythonCode('s = "unterminated\nx = 1\n')).to.equal('s = "unterminated\nx = 1\n');
  });

  it('sees a file that runs itself: a top-level __main__ block (either order, parentheses) or a server started at the top level', () => {
    for (const s of [
      'if __name__ == "__main__":\n    go()\n',
      "if __name__=='__main__':\n    go()\n",
      'if "__main__" == __name__:\n    go()\n',
      'if (__name__ == "__main__"):\n    go()\n',
      'uvicorn.run(app, port=8000)\n',
      'app.run(host="0.0.0.0")\n',
      'asyncio.run(main())\n',
      'web.run_app(app)\n',
      'run(app)\n',
    ]) {
      expect(runsItself(s), s).to.equal(true);
    }
    for (const s of [
      '# if __name__ == "__main__":\n',
      'def f():\n    if __name__ == "__main__":\n        pass\n',
      'x = 1\n',
      'if __name__ == "main":\n    pass\n',
      'def start():\n    uvicorn.run(app)\n',
      '# uvicorn.run(app)\n',
      'runner = make_runner()\n',
      FASTAPI,
    ]) {
      expect(runsItself(s), s).to.equal(false);
    }
  });

  it('sees uvicorn.run() given an app object, however uvicorn or run was imported; an import string is left alone', () => {
    const objects: Array<[string, string]> = [
      ['import uvicorn\nuvicorn.run(app, host="0.0.0.0")\n', 'app'],
      ['import uvicorn\nif __name__ == "__main__":\n    uvicorn.run(\n        app,\n        port=8000,\n    )\n', 'app'],
      ['import uvicorn\nuvicorn.run(app=app, port=8000)\n', 'app'],
      ['import uvicorn\nuvicorn.run(main.app)\n', 'main.app'],
      ['import uvicorn\nuvicorn.run(create_app(), port=1)\n', 'create_app()'],
      ['import os, uvicorn as uv\nuv.run(app)\n', 'app'],
      ['from uvicorn import run\nrun(app)\n', 'app'],
      ['from uvicorn import Config, run as serve\nserve(app)\n', 'app'],
      ['from uvicorn import (\n    Config,\n    run,\n)\nrun(app)\n', 'app'],
    ];
    for (const [source, arg] of objects) expect(uvicornRunObject(source), source).to.equal(arg);
    for (const source of [
      'import uvicorn\nuvicorn.run("main:app", workers=4)\n',
      "import uvicorn\nuvicorn.run(app='main:app')\n",
      'import uvicorn\nuvicorn.run(f"{name}:app")\n',
      'import uvicorn\n# uvicorn.run(app)\n',
      'import uvicorn\n"""uvicorn.run(app)"""\n',
      'server.run(app)\n', // not uvicorn's run
      'run(app)\n', // run not imported from uvicorn
      'import uvicorn\nuvicorn.run(**settings)\n',
      FASTAPI,
    ]) {
      expect(uvicornRunObject(source), source).to.equal(undefined);
    }
  });

  it("tells whether the app's Gunicorn settings choose a worker class", () => {
    expect(workerClassNamed(undefined, undefined)).to.equal(false);
    expect(workerClassNamed('-k gevent', undefined)).to.equal(true);
    expect(workerClassNamed('--worker-class=sync --workers 3', undefined)).to.equal(true);
    expect(workerClassNamed('--workers 3', "bind = ':8000'\n")).to.equal(false);
    expect(workerClassNamed(undefined, "worker_class = 'uvicorn_worker.UvicornWorker'\n")).to.equal(true);
    expect(workerClassNamed(undefined, "# worker_class = 'gevent'\n")).to.equal(false);
  });
});

describe('ASGI apps: the web process (issue 15)', () => {
  it('main.py with FastAPI, gunicorn and uvicorn installed: Gunicorn with uvicorn\'s worker class, checked as Gunicorn\'s module', () => {
    const plan = planStart(base(appWith({ 'main.py': FASTAPI }), BOTH));
    expect(plan.rule).to.equal('gunicorn');
    expect(plan.processes[0]).to.deep.include({ type: 'web', command: [G, '--config', CONFIG, '--worker-class', 'uvicorn.workers.UvicornWorker'], args: ['main:app'], default: true });
    expect(plan.served).to.deep.equal({ module: 'main:app', source: 'main.py', workerClass: 'uvicorn.workers.UvicornWorker' });
    expect(plan.reason).to.equal(
      "gunicorn and uvicorn are installed: web serves 'main:app' (from main.py, an ASGI app: app = FastAPI(...)) with uvicorn's worker class uvicorn.workers.UvicornWorker and the buildpack's fallback config",
    );
    expect(plan.processes.map((p) => p.type)).to.deep.equal(['web', 'python']);
  });

  it("the uvicorn-worker package's class when installed; a worker class of the app's own settings is left to them", () => {
    const app = appWith({ 'main.py': FASTAPI });
    expect(planStart(base(app, { ...BOTH, uvicornWorker: 'uvicorn_worker.UvicornWorker' })).processes[0]?.command).to.deep.equal([G, '--config', CONFIG, '--worker-class', 'uvicorn_worker.UvicornWorker']);
    const own = planStart(base(app, { ...BOTH, workerClassSet: true, userGunicornConfig: path.join(app, 'gunicorn.conf.py') }));
    expect(own.processes[0]?.command).to.deep.equal([G, '--config', path.join(app, 'gunicorn.conf.py')]);
    expect(own.served).to.deep.equal({ module: 'main:app', source: 'main.py' }); // so the sync-worker check still runs
    expect(own.reason).to.contain('with the worker class your Gunicorn settings name');
  });

  it('uvicorn without gunicorn: uvicorn through /bin/sh with exec, $PORT, WEB_CONCURRENCY workers, FORWARDED_ALLOW_IPS and a 25 s graceful stop', () => {
    const plan = planStart(base(appWith({ 'main.py': FASTAPI, 'requirements.txt': 'fastapi\nuvicorn\n' }), { uvicorn: U }));
    expect(plan.rule).to.equal('uvicorn');
    expect(plan.processes[0]?.command).to.deep.equal(['/bin/sh', '-c', uvicornShellLine(U, 'main:app')]);
    expect(uvicornShellLine(U, 'main:app')).to.equal(
      `exec ${U} main:app --host 0.0.0.0 --port "\${PORT:-8080}" --workers "\${WEB_CONCURRENCY:-2}" --forwarded-allow-ips "\${FORWARDED_ALLOW_IPS:-*}" --timeout-graceful-shutdown 25`,
    );
    expect(plan.served).to.equal(undefined); // not Gunicorn's
    expect(plan.reason).to.equal("uvicorn is installed: web serves 'main:app' (from main.py, an ASGI app: app = FastAPI(...)) with uvicorn, WEB_CONCURRENCY workers on $PORT");
    // gunicorn without uvicorn's worker module (a uvicorn that no longer ships it): uvicorn alone too.
    expect(planStart(base(appWith({ 'main.py': FASTAPI }), { gunicorn: G, uvicorn: U })).rule).to.equal('uvicorn');
  });

  it('the uvicorn line runs in /bin/sh: values expand at start, and a quoted path survives', () => {
    const bin = appWith({ "it's/uvicorn": '#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a"; done\n' });
    const fake = path.join(bin, "it's", 'uvicorn');
    fs.chmodSync(fake, 0o755);
    const run = (env: Record<string, string>): string => execFileSync('/bin/sh', ['-c', uvicornShellLine(fake, 'main:app')], { env: { PATH: '/usr/bin:/bin', ...env }, encoding: 'utf8' });
    expect(run({ PORT: '9000', WEB_CONCURRENCY: '3', FORWARDED_ALLOW_IPS: '10.0.0.1' })).to.equal(
      '[main:app][--host][0.0.0.0][--port][9000][--workers][3][--forwarded-allow-ips][10.0.0.1][--timeout-graceful-shutdown][25]',
    );
    expect(run({})).to.equal('[main:app][--host][0.0.0.0][--port][8080][--workers][2][--forwarded-allow-ips][*][--timeout-graceful-shutdown][25]');
  });

  it('asgi.py (Django\'s get_asgi_application, or a framework) is served after main.py; a WSGI main.py under Gunicorn comes first', () => {
    const django = 'from django.core.asgi import get_asgi_application\napplication = get_asgi_application()\n';
    const plan = planStart(base(appWith({ 'asgi.py': django }), BOTH));
    expect(plan.processes[0]?.args).to.deep.equal(['asgi:application']);
    expect(plan.served?.source).to.equal('asgi.py');
    expect(planStart(base(appWith({ 'asgi.py': django, 'main.py': FASTAPI }), BOTH)).served?.module).to.equal('main:app');
    expect(planStart(base(appWith({ 'asgi.py': django, 'main.py': FLASK }), BOTH)).served).to.deep.equal({ module: 'main:app', source: 'main.py' });
    // An asgi.py that creates no app the build can see: WSGI stays the default, and nothing serves it.
    expect(thrownCause(() => planStart(base(appWith({ 'asgi.py': 'application = make()\n' }), BOTH)))).to.deep.include({ type: 'dont-know-how-to-run' });
  });

  it("an explicit module that is ASGI is served as ASGI, by Gunicorn or by uvicorn alone; one that cannot be read stays WSGI", () => {
    const app = appWith({ 'mysite/__init__.py': '', 'mysite/asgi.py': 'from django.core.asgi import get_asgi_application\napplication = get_asgi_application()\n', 'wsgi.py': '' });
    const g = planStart(base(app, { ...BOTH, gunicornAppModule: 'mysite.asgi', gunicornAppModuleName: 'APP_MODULE' }));
    expect(g.processes[0]).to.deep.include({ command: [G, '--config', CONFIG, '--worker-class', 'uvicorn.workers.UvicornWorker'], args: ['mysite.asgi'] });
    expect(g.reason).to.contain("web serves 'mysite.asgi' (from APP_MODULE, an ASGI app: application = get_asgi_application(...))");
    const u = planStart(base(app, { uvicorn: U, gunicornAppModule: 'mysite.asgi' }));
    expect(u.rule).to.equal('uvicorn');
    expect(u.processes[0]?.command[2]).to.contain(' mysite.asgi:application --host'); // Gunicorn's default callable, named for uvicorn
    // The explicit name wins over wsgi.py; a module the build cannot find in the app keeps the seed's behaviour.
    expect(planStart(base(app, { ...BOTH, gunicornAppModule: 'installed.pkg:app' })).processes[0]).to.deep.include({ command: [G, '--config', CONFIG], args: ['installed.pkg:app'] });
    // wsgi.py (the seed's rule 6) that holds an ASGI app is served as one.
    expect(planStart(base(appWith({ 'wsgi.py': 'from fastapi import FastAPI\napplication = FastAPI()\n' }), BOTH)).processes[0]?.command).to.include('--worker-class');
    expect(planStart(base(appWith({ 'wsgi.py': FASTAPI }), BOTH)).processes[0]?.command, 'wsgi:application is not the ASGI app').not.to.include('--worker-class');
  });

  it('an ASGI app with an explicit WSGI module: the explicit module wins, under the sync worker, and the log says the ASGI app is not used', () => {
    const app = appWith({ 'main.py': FASTAPI, 'legacy.py': FLASK });
    const plan = planStart(base(app, { ...BOTH, gunicornAppModule: 'legacy:app', gunicornAppModuleName: 'APP_MODULE' }));
    expect(plan.processes[0]).to.deep.include({ command: [G, '--config', CONFIG], args: ['legacy:app'] });
    expect(plan.served).to.deep.equal({ module: 'legacy:app', source: 'APP_MODULE' });
    expect(plan.notes).to.deep.equal(["main.py's ASGI app (app = FastAPI(...)) is not used: 'legacy:app' (from APP_MODULE) comes first"]);
  });

  it('app.py with an ASGI app and no __main__ block is served instead of run; with a __main__ block it runs as the seed did', () => {
    const served = planStart(base(appWith({ 'app.py': FASTAPI }), { uvicorn: U }));
    expect(served.rule).to.equal('uvicorn');
    expect(served.processes[0]?.command).to.deep.equal(['/bin/sh', '-c', uvicornShellLine(U, 'app:app')]);
    expect(served.reason).to.equal(
      "app.py defines an ASGI app and has no if __name__ == '__main__': block, so 'python app.py' would exit at once; uvicorn is installed: web serves 'app:app' (from app.py, an ASGI app: app = FastAPI(...)) with uvicorn, WEB_CONCURRENCY workers on $PORT",
    );
    expect(planStart(base(appWith({ 'app.py': FASTAPI }), BOTH)).processes[0]).to.deep.include({ args: ['app:app'] });
    // Before main.py, as app.py's rule is.
    expect(planStart(base(appWith({ 'app.py': FASTAPI, 'main.py': FLASK }), BOTH)).served?.module).to.equal('app:app');

    const script = planStart(base(appWith({ 'app.py': `${FASTAPI}\nif __name__ == "__main__":\n    print("serving")\n` }), { uvicorn: U }));
    expect(script.rule).to.equal('app.py');
    expect(script.processes[0]?.command).to.deep.equal(['/layers/p/bin/python', 'app.py']);
    // A server started at the top level, with no __main__ guard: importing the file would start it too, so it runs.
    const unguarded = planStart(base(appWith({ 'app.py': `${FASTAPI}\nimport hypercorn.asyncio, asyncio\nasyncio.run(hypercorn.asyncio.serve(app, cfg))\n` }), BOTH));
    expect(unguarded.rule).to.equal('app.py');
    expect(unguarded.warnings).to.deep.equal([]);
  });

  it('app.py with an ASGI app, no __main__ block and no uvicorn: python app.py as before, with a warning saying what to add', () => {
    const plan = planStart(base(appWith({ 'app.py': FASTAPI }), { gunicorn: G }));
    expect(plan.rule).to.equal('app.py');
    expect(plan.warnings).to.deep.equal([{ type: 'asgi-app-without-server', file: 'app.py', callable: 'app', found: 'app = FastAPI(...)', hasGunicorn: true }]);
    expect(planStart(base(appWith({ 'app.py': FLASK }), { gunicorn: G })).warnings).to.deep.equal([]);
  });

  it('app.py calling uvicorn.run(app): runs without WEB_CONCURRENCY (uvicorn would take it as its worker count and exit), and says so', () => {
    const plan = planStart(base(appWith({ 'app.py': FASTAPI + MAIN_BLOCK }), { uvicorn: U }));
    expect(plan.rule).to.equal('app.py');
    expect(plan.processes[0]?.command).to.deep.equal(['/bin/sh', '-c', 'unset WEB_CONCURRENCY; exec /layers/p/bin/python app.py']);
    expect(plan.notes).to.deep.equal([
      'app.py passes an app object to uvicorn.run() (app), which cannot start workers: it runs without WEB_CONCURRENCY, which uvicorn would take as its worker count and exit; to serve it with WEB_CONCURRENCY workers instead, set APP_MODULE=app:app',
    ]);
    // An import string lets uvicorn start WEB_CONCURRENCY workers: left as the seed ran it.
    const imported = planStart(base(appWith({ 'app.py': `${FASTAPI}\nif __name__ == "__main__":\n    import uvicorn\n    uvicorn.run("app:app", host="0.0.0.0")\n` }), { uvicorn: U }));
    expect(imported.processes[0]?.command).to.deep.equal(['/layers/p/bin/python', 'app.py']);
    // APP_FILE is run the same way.
    const file = planStart(base(appWith({ 'srv/run.py': `import uvicorn\nfrom api import app\nuvicorn.run(app)\n` }), { appFile: 'srv/run.py' }));
    expect(file.processes[0]?.command).to.deep.equal(['/bin/sh', '-c', 'unset WEB_CONCURRENCY; exec /layers/p/bin/python srv/run.py']);
  });

  it("the line runs in /bin/sh: python gets the file, no WEB_CONCURRENCY, and replaces the shell (its parent is this test's process)", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, expanded by the fake python (a sh script)
    const app = appWith({ 'app.py': FASTAPI + MAIN_BLOCK, 'bin/python': '#!/bin/sh\necho "$1 [${WEB_CONCURRENCY-unset}] [$PORT] $PPID"\n' });
    fs.chmodSync(path.join(app, 'bin', 'python'), 0o755);
    const web = planStart(base(app, { uvicorn: U, python: path.join(app, 'bin', 'python') })).processes[0];
    const [sh, ...args] = web?.command ?? [];
    const out = execFileSync(sh as string, args, { cwd: app, env: { WEB_CONCURRENCY: '4', PORT: '8080', PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
    expect(out.trim()).to.equal(`app.py [unset] [8080] ${process.pid}`);
  });

  it('the gunicorn process serves an ASGI main.py with the worker class when web is app.py', () => {
    const plan = planStart(base(appWith({ 'app.py': 'print(1)\n', 'main.py': FASTAPI }), BOTH));
    expect(plan.rule).to.equal('app.py');
    expect(plan.processes.find((p) => p.type === 'gunicorn')).to.deep.include({ command: [G, '--config', CONFIG, '--worker-class', 'uvicorn.workers.UvicornWorker'], args: ['main:app'] });
    expect(plan.reason).to.equal("web runs 'python app.py' (app.py comes before main.py; /cnb/process/gunicorn serves 'main:app')");
  });

  it('an ASGI main.py with no server installed stops the build as before, saying to add uvicorn', () => {
    const cause = thrownCause(() => planStart(base(appWith({ 'main.py': FASTAPI }), { gunicorn: G })));
    expect(cause).to.deep.equal({ type: 'dont-know-how-to-run', hasGunicorn: true, asgiApp: 'main.py (app = FastAPI(...))' });
    const { body } = renderCause(cause as Parameters<typeof renderCause>[0]);
    expect(body).to.contain('main.py (app = FastAPI(...)) is an ASGI app, but uvicorn, which would serve it, is not in your requirements.');
    expect(body).to.contain('1. Add uvicorn to your requirements');
  });

  it('rules before Gunicorn keep coming first: APP_RUN, the Procfile, APP_FILE', () => {
    const app = appWith({ 'main.py': FASTAPI, 'app.py': FASTAPI, 'run.py': 'print(1)\n' });
    expect(planStart(base(app, { ...BOTH, appRun: 'python x.py' })).rule).to.equal('APP_RUN');
    expect(planStart(base(app, { ...BOTH, procfile: [{ type: 'web', command: 'python x.py' }] })).rule).to.equal('Procfile');
    expect(planStart(base(app, { ...BOTH, appFile: 'run.py' })).rule).to.equal('APP_FILE');
  });
});

describe('ASGI apps with APP_HOME and Django projects (issue 15)', () => {
  const DJANGO_ASGI = 'import os\nfrom django.core.asgi import get_asgi_application\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")\napplication = get_asgi_application()\n';
  const DJANGO_WSGI = 'import os\nfrom django.core.wsgi import get_wsgi_application\nos.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")\napplication = get_wsgi_application()\n';
  /** What `django-admin startproject mysite .` writes, cut to what the start rules read: both wsgi.py and asgi.py. */
  const STARTPROJECT = {
    'manage.py': "import os\nimport sys\n\n\ndef main():\n    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n\n\nif __name__ == '__main__':\n    main()\n",
    'mysite/__init__.py': '',
    'mysite/settings.py': '',
    'mysite/wsgi.py': DJANGO_WSGI,
    'mysite/asgi.py': DJANGO_ASGI,
  };

  it('app.py, main.py and asgi.py are read where the processes start (APP_HOME), as the other start files are', () => {
    const app = appWith({ 'project/app.py': FASTAPI, 'project/main.py': FASTAPI, 'project/asgi.py': DJANGO_ASGI, 'app.py': FLASK });
    const home = path.join(app, 'project');
    const appPy = planStart(base(app, { startDir: home, uvicorn: U }));
    expect(appPy.rule).to.equal('uvicorn');
    expect(appPy.processes[0]).to.deep.include({ command: ['/bin/sh', '-c', uvicornShellLine(U, 'app:app')], workingDir: home });
    fs.rmSync(path.join(home, 'app.py'));
    expect(planStart(base(app, { startDir: home, ...BOTH })).processes[0]).to.deep.include({ args: ['main:app'], workingDir: home });
    fs.rmSync(path.join(home, 'main.py'));
    expect(planStart(base(app, { startDir: home, ...BOTH })).served).to.deep.equal({ module: 'asgi:application', source: 'asgi.py', workerClass: 'uvicorn.workers.UvicornWorker' });
    // An ASGI app at the top is not where the processes start: not a start file (as s2i looks there only).
    const top = appWith({ 'main.py': FASTAPI, 'project/readme': '' });
    expect(thrownCause(() => planStart(base(top, { startDir: path.join(top, 'project'), uvicorn: U })))).to.deep.equal({ type: 'dont-know-how-to-run', hasGunicorn: false, home: 'project' });
  });

  it("a named module's kind is read where Python finds it: APP_HOME first, then the app's top folder (on PYTHONPATH)", () => {
    const app = appWith({ 'project/api.py': FASTAPI, 'project/legacy.py': FLASK, 'legacy.py': FASTAPI, 'shared/__init__.py': '', 'shared/web.py': FASTAPI });
    const home = path.join(app, 'project');
    const named = (module: string) => planStart(base(app, { startDir: home, ...BOTH, gunicornAppModule: module, gunicornAppModuleName: 'APP_MODULE' })).processes[0];
    expect(named('api:app')).to.deep.include({ command: [G, '--config', CONFIG, '--worker-class', 'uvicorn.workers.UvicornWorker'], args: ['api:app'], workingDir: home });
    expect(named('shared.web:app')?.command).to.include('--worker-class');
    // project/legacy.py shadows the top folder's legacy.py, as on sys.path: WSGI, no worker class.
    expect(named('legacy:app')).to.deep.include({ command: [G, '--config', CONFIG], args: ['legacy:app'] });
  });

  it("a startproject layout (mysite/wsgi.py and mysite/asgi.py) stays WSGI under Gunicorn, whatever ASGI server is installed", () => {
    const app = appWith(STARTPROJECT);
    const plan = planStart(base(app, { ...BOTH, django: true }));
    expect(plan.rule).to.equal('gunicorn');
    expect(plan.processes[0]).to.deep.include({ command: [G, '--config', CONFIG], args: ['mysite.wsgi'] });
    expect(plan.served).to.deep.equal({ module: 'mysite.wsgi', source: "DJANGO_SETTINGS_MODULE 'mysite.settings' in manage.py" });
    expect(plan.processes.map((p) => p.type)).to.deep.equal(['web', 'python', 'migrate']);
    // uvicorn alone does not serve the project's asgi.py unasked: Django's development server, as before.
    const runserver = planStart(base(app, { uvicorn: U, django: true }));
    expect(runserver.rule).to.equal('django-runserver');
    expect(runserver.warnings).to.deep.equal([{ type: 'django-runserver', gunicorn: false, managePy: 'manage.py' }]);
  });

  it('APP_MODULE naming the asgi module serves it as ASGI: Gunicorn with the worker class, or uvicorn alone, migrating first when asked', () => {
    const app = appWith(STARTPROJECT);
    const asgi = { django: true, gunicornAppModule: 'mysite.asgi:application', gunicornAppModuleName: 'APP_MODULE' as const };
    const g = planStart(base(app, { ...BOTH, ...asgi }));
    expect(g.processes[0]).to.deep.include({ command: [G, '--config', CONFIG, '--worker-class', 'uvicorn.workers.UvicornWorker'], args: ['mysite.asgi:application'] });
    const u = planStart(base(app, { uvicorn: U, ...asgi }));
    expect(u.rule).to.equal('uvicorn');
    expect(u.processes.map((p) => p.type)).to.deep.equal(['web', 'python', 'migrate']);
    // BP_DJANGO_MIGRATE_AT_START: uvicorn serves the project, so web migrates first, as it does before Gunicorn.
    const migrating = planStart(base(app, { uvicorn: U, ...asgi, migrateAtStart: true }));
    expect(migrating.processes[0]?.command).to.deep.equal([
      '/bin/sh', '-c', '"$1" manage.py migrate --noinput || exit; shift; exec "$@"', 'sh', '/layers/p/bin/python', '/bin/sh', '-c', uvicornShellLine(U, 'mysite.asgi:application'),
    ]);
    expect(migrating.notes).to.include("BP_DJANGO_MIGRATE_AT_START is set: web runs 'python manage.py migrate --noinput' first, then the server");
  });

  it("a Django project's WSGI module comes before a top-level asgi.py; asgi.py still comes before runserver", () => {
    const app = appWith({ ...STARTPROJECT, 'asgi.py': DJANGO_ASGI });
    expect(planStart(base(app, { ...BOTH, django: true })).processes[0]).to.deep.include({ command: [G, '--config', CONFIG], args: ['mysite.wsgi'] });
    const u = planStart(base(app, { uvicorn: U, django: true }));
    expect(u.rule).to.equal('uvicorn');
    expect(u.processes[0]?.command).to.deep.equal(['/bin/sh', '-c', uvicornShellLine(U, 'asgi:application')]);
  });
});
