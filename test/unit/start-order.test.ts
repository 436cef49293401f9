/**
 * The documented order of README "Starting the app", walked rule by rule against planStart: for each rule, an
 * app where that rule and EVERY later rule would also apply, so the earlier one must win. The table's labels
 * are compared with README's numbered list (and the sub-orders of rules 6 and 8), so a README that lists
 * another order, or code that follows another, fails here. The walk runs twice: from the app's top folder,
 * and with APP_HOME, where the start files sit in that folder and the Procfile, .s2i/ and setup.py at the top.
 * (APP_MODULE and GUNICORN_APP_MODULE set to different values stop the build before planStart runs:
 * test/unit/settings.test.ts.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { readProcfile } from '../../src/start/procfile.js';
import { userGunicornConfig } from '../../src/start/user-config.js';
import { planStart, type StartInputs, type StartPlan } from '../../src/start/web-process.js';
import { thrownCause } from '../fakes/thrown.js';

const made: string[] = [];
after(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const G = '/g';
const PY = '/py';
const FALLBACK = '/fallback.conf.py';
const WORKER = 'uvicorn.workers.UvicornWorker';

const MANAGE_PY = "import os\nif __name__ == '__main__':\n    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n";
const FASTAPI = 'from fastapi import FastAPI\napp = FastAPI()\n';

/** What one rule adds to the app: files at its top, files where the processes start, and settings. */
interface Layer {
  top?: Record<string, string>;
  start?: Record<string, string>;
  inputs?: Partial<StartInputs>;
}

interface Row {
  /** README's rule number, and its label there (the bold text opening the item), or the sub-rule's. */
  rule: number;
  readme: string;
  sub?: string;
  layer: Layer;
  /** The web process the rule makes, as `rule: command args` with paths in the app shown relative to it. */
  web: (home: string) => string;
}

/**
 * In README order. Row k's app has the layers of rows k..end, so every later rule applies too. One server
 * set for all: gunicorn (23.0) with uvicorn and its worker, so no rule is left out for want of a server.
 */
const ROWS: Row[] = [
  { rule: 1, readme: '`APP_RUN`', layer: { inputs: { appRun: 'python run.py' } }, web: () => 'APP_RUN: /bin/sh -c exec python run.py' },
  { rule: 2, readme: '`Procfile`', layer: { top: { Procfile: 'web: python proc.py\n' } }, web: () => 'Procfile: /bin/sh -c exec python proc.py' },
  { rule: 3, readme: '`.s2i/bin/run`', layer: { top: { '.s2i/bin/run': '#!/bin/sh\n' } }, web: () => '.s2i/bin/run: .s2i/bin/run' },
  { rule: 4, readme: '`APP_SCRIPT`', layer: { start: { 'start.sh': '#!/bin/sh\n' }, inputs: { appScript: 'start.sh' } }, web: (h) => `APP_SCRIPT: ${h}start.sh` },
  { rule: 5, readme: '`APP_FILE`', layer: { start: { 'server.py': '' }, inputs: { appFile: 'server.py' } }, web: () => `APP_FILE: ${PY} server.py` },
  {
    rule: 6, readme: 'Gunicorn', sub: '`GUNICORN_APP_MODULE` (or `APP_MODULE`)',
    layer: { start: { 'named.py': 'def application(environ, start_response):\n    pass\n' }, inputs: { gunicornAppModule: 'named:application', gunicornAppModuleName: 'APP_MODULE' } },
    web: (h) => `gunicorn: ${G} --config ${h}gunicorn.conf.py named:application`,
  },
  { rule: 6, readme: 'Gunicorn', sub: '`wsgi` (for `./wsgi.py`)', layer: { start: { 'wsgi.py': 'application = None\n' } }, web: (h) => `gunicorn: ${G} --config ${h}gunicorn.conf.py wsgi` },
  { rule: 6, readme: 'Gunicorn', sub: 'the `name` in `setup.py`', layer: { top: { 'setup.py': "setup(name='hello-site')\n" } }, web: (h) => `gunicorn: ${G} --config ${h}gunicorn.conf.py hello_site` },
  { rule: 7, readme: '`app.py`', layer: { start: { 'app.py': 'print("hello")\n' } }, web: () => `app.py: ${PY} app.py` },
  {
    rule: 8, readme: 'A module the seed builder did not look for', sub: "your config's `wsgi_app`",
    layer: { start: { 'gunicorn.conf.py': 'wsgi_app = "hello:app"\n', 'hello.py': '' } },
    web: (h) => `gunicorn: ${G} --config ${h}gunicorn.conf.py`,
  },
  { rule: 8, readme: 'A module the seed builder did not look for', sub: '`main.py`', layer: { start: { 'main.py': 'from flask import Flask\napp = Flask(__name__)\n' } }, web: () => `gunicorn: ${G} --config ${FALLBACK} main:app` },
  {
    rule: 8, readme: 'A module the seed builder did not look for', sub: "a Django project's WSGI module",
    // mysite/asgi.py beside mysite/wsgi.py: the project stays WSGI, under Gunicorn's own worker.
    layer: { start: { 'mysite/__init__.py': '', 'mysite/settings.py': '', 'mysite/wsgi.py': 'application = None\n', 'mysite/asgi.py': 'from django.core.asgi import get_asgi_application\napplication = get_asgi_application()\n' } },
    web: () => `gunicorn: ${G} --config ${FALLBACK} mysite.wsgi`,
  },
  {
    rule: 8, readme: 'A module the seed builder did not look for', sub: '`asgi.py`',
    layer: { start: { 'asgi.py': 'from django.core.asgi import get_asgi_application\napplication = get_asgi_application()\n' } },
    web: () => `gunicorn: ${G} --config ${FALLBACK} --worker-class ${WORKER} asgi:application`,
  },
  { rule: 9, readme: '`app.sh`', layer: { start: { 'app.sh': '#!/bin/sh\n' } }, web: (h) => `app.sh: ${h}app.sh` },
  {
    rule: 10, readme: "Django's development server", layer: { start: { 'manage.py': MANAGE_PY }, inputs: { django: true } },
    web: () => `django-runserver: /bin/sh -c exec "$@" "0.0.0.0:\${PORT:-8080}" sh ${PY} manage.py runserver`,
  },
];
/** Rule 11 ends the list: nothing applies. */
const LAST = { rule: 11, readme: 'Otherwise' };

/** The app for row k: the layers of rows k..end; `home` is APP_HOME ('' for none). */
function appFor(k: number, home: string): { inputs: StartInputs; start: string } {
  const app = fs.mkdtempSync(path.join(os.tmpdir(), 'start-order-'));
  made.push(app);
  const start = path.join(app, home);
  const inputs: Partial<StartInputs> = {};
  for (const row of ROWS.slice(k)) {
    for (const [dir, files] of [[app, row.layer.top], [start, row.layer.start]] as const) {
      for (const [name, text] of Object.entries(files ?? {})) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), text);
      }
    }
    Object.assign(inputs, row.layer.inputs);
  }
  fs.mkdirSync(start, { recursive: true });
  // What configureStart gathers from the app, by the same helpers.
  const s2iRun = path.join(app, '.s2i', 'bin', 'run');
  return {
    start,
    inputs: {
      appDir: app, appRun: undefined, gunicornAppModule: undefined, python: PY, fallbackGunicornConfig: FALLBACK,
      gunicorn: G, uvicorn: '/u', uvicornWorker: WORKER, gunicornVersion: '23.0.0',
      s2iRun: fs.existsSync(s2iRun) ? s2iRun : undefined,
      procfile: readProcfile(app),
      userGunicornConfig: userGunicornConfig(app, undefined, start),
      ...(home ? { startDir: start } : {}),
      ...inputs,
    },
  };
}

function webOf(plan: StartPlan, app: string): string {
  const web = plan.processes.find((p) => p.default);
  const words = [...(web?.command ?? []), ...(web?.args ?? [])].map((w) => (w.startsWith(`${app}/`) ? path.relative(app, w) : w));
  return `${plan.rule}: ${words.join(' ')}`;
}

/** README's "Starting the app": the numbered rules' labels, and the text of each rule. */
function readmeRules(): { label: string; text: string }[] {
  const readme = fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('### Starting the app'));
  const list = section.slice(0, section.indexOf('\nOther processes'));
  const items = list.split(/\n(?=\d+\. )/).filter((s) => /^\d+\. /.test(s));
  return items.map((text, i) => {
    expect(text.startsWith(`${i + 1}. `), `README rule ${i + 1} is numbered in order`).to.equal(true);
    const bold = /^\d+\. \*\*(.+?)\*\*/.exec(text)?.[1];
    return { label: bold ?? (text.replace(/^\d+\. /, '').split(/[ ,]/)[0] as string), text: text.replace(/\s+/g, ' ') };
  });
}

describe('README "Starting the app" is the order planStart follows (issue 15)', () => {
  it('README lists the rules, and the sub-orders of rules 6 and 8, as this table does', () => {
    const rules = readmeRules();
    const table = [...new Map(ROWS.map((r) => [r.rule, r.readme])).values(), LAST.readme];
    expect(rules.map((r) => r.label)).to.deep.equal(table);
    // Rule 6: where the module comes from, in order.
    const six = /a WSGI module is known: (.+?)\. It runs/.exec(rules[5]?.text ?? '')?.[1]?.split(', else ');
    expect(six).to.deep.equal(ROWS.filter((r) => r.rule === 6).map((r) => r.sub));
    // Rule 8: its bulleted modules, in order.
    const eight = [...(rules[7]?.text ?? '').matchAll(/ - \*\*(.+?)\*\*/g)].map((m) => m[1]);
    expect(eight).to.deep.equal(ROWS.filter((r) => r.rule === 8).map((r) => r.sub));
  });

  for (const home of ['', 'project']) {
    const h = home ? `${home}/` : '';
    describe(home ? `with APP_HOME=${home}: start files there, Procfile, .s2i/ and setup.py at the top` : 'from the app\'s top folder', () => {
      ROWS.forEach((row, k) => {
        it(`rule ${row.rule}${row.sub ? ` (${row.sub})` : ''} wins over every later rule`, () => {
          const { inputs, start } = appFor(k, home);
          const plan = planStart(inputs);
          expect(webOf(plan, inputs.appDir)).to.equal(row.web(h));
          const web = plan.processes.find((p) => p.default);
          // Every process starts in APP_HOME but the app's own .s2i/bin/run, as in s2i.
          expect(web?.workingDir).to.equal(home && row.rule !== 3 ? start : undefined);
        });
      });
      it(`rule ${LAST.rule}: nothing applies, the build stops`, () => {
        const { inputs } = appFor(ROWS.length, home);
        expect(thrownCause(() => planStart(inputs))).to.deep.equal({ type: 'dont-know-how-to-run', hasGunicorn: true, ...(home ? { home } : {}) });
      });
    });
  }
});

describe('each conflict the README names is decided as it says (issue 15)', () => {
  const rowOf = (rule: number, sub?: string): number => ROWS.findIndex((r) => r.rule === rule && (sub === undefined || r.sub === sub));

  it('Procfile and APP_RUN: APP_RUN, and the log says the Procfile\'s web is not used', () => {
    const plan = planStart(appFor(rowOf(1), '').inputs);
    expect(plan.notes).to.include("The Procfile's web ('python proc.py') is not used: APP_RUN comes first");
    // Its other types stay processes of the image.
    expect(plan.notes).to.include("APP_SCRIPT ('start.sh') is not used: APP_RUN comes first");
  });

  it('APP_SCRIPT and APP_FILE: APP_SCRIPT, with a log line', () => {
    expect(planStart(appFor(rowOf(4), '').inputs).notes).to.include("APP_FILE ('server.py') is not used: APP_SCRIPT comes first");
  });

  it(".s2i/bin/run and APP_SCRIPT or APP_FILE: the script, and the log says only the default start it may call uses them", () => {
    const { inputs } = appFor(rowOf(3), '');
    const calls = 'the default start .s2i/bin/run may call ($STI_SCRIPTS_PATH/run) runs it';
    const ofFiles = (plan: StartPlan): string[] => plan.notes.filter((n) => n.startsWith('APP_'));
    expect(ofFiles(planStart(inputs))).to.deep.equal([
      `APP_SCRIPT ('start.sh') is not what web runs: .s2i/bin/run comes first; ${calls}`,
      "APP_FILE ('server.py') is not used: APP_SCRIPT comes first",
    ]);
    expect(ofFiles(planStart({ ...inputs, appScript: undefined }))).to.deep.equal([`APP_FILE ('server.py') is not what web runs: .s2i/bin/run comes first; ${calls}`]);
  });

  it('an ASGI app and an explicit WSGI module: the module, with a log line naming the ASGI app', () => {
    const plan = planStart(appFor(rowOf(6), '').inputs);
    expect(plan.served).to.deep.equal({ module: 'named:application', source: 'APP_MODULE' });
    expect(plan.notes).to.include("asgi.py's ASGI app (application = get_asgi_application(...)) is not used: 'named:application' (from APP_MODULE) comes first");
  });

  it('app.py and wsgi.py: wsgi.py, even when app.py defines an ASGI app with no __main__ block', () => {
    const { inputs } = appFor(rowOf(6, '`wsgi` (for `./wsgi.py`)'), '');
    expect(planStart(inputs).served?.module).to.equal('wsgi');
    fs.writeFileSync(path.join(inputs.appDir, 'app.py'), FASTAPI);
    const plan = planStart(inputs);
    expect(plan.served?.module).to.equal('wsgi');
    expect(plan.notes).to.include("app.py's ASGI app (app = FastAPI(...)) is not used: 'wsgi' (from wsgi.py) comes first");
  });

  it('app.py with an ASGI app and no __main__ block is served, ahead of rule 8, as README rule 7 says', () => {
    const { inputs } = appFor(rowOf(7), '');
    fs.writeFileSync(path.join(inputs.appDir, 'app.py'), FASTAPI);
    expect(webOf(planStart(inputs), inputs.appDir)).to.equal(`gunicorn: ${G} --config gunicorn.conf.py --worker-class ${WORKER} app:app`);
  });

  it('a config\'s wsgi_app and app.py: app.py runs, and /cnb/process/gunicorn serves wsgi_app', () => {
    const plan = planStart(appFor(rowOf(7), '').inputs);
    expect(plan.reason).to.equal("web runs 'python app.py' (app.py comes before wsgi_app in gunicorn.conf.py; /cnb/process/gunicorn serves 'hello:app')");
    expect(plan.processes.find((p) => p.type === 'gunicorn')?.args).to.deep.equal([]);
  });

  it("main.py: a WSGI app under Gunicorn, else an ASGI app, both before a Django project's WSGI module", () => {
    const { inputs } = appFor(rowOf(8, '`main.py`'), '');
    fs.writeFileSync(path.join(inputs.appDir, 'main.py'), FASTAPI);
    expect(webOf(planStart(inputs), inputs.appDir)).to.equal(`gunicorn: ${G} --config ${FALLBACK} --worker-class ${WORKER} main:app`);
  });

  it("a Django project's wsgi.py and asgi.py: wsgi.py under Gunicorn's own worker; APP_MODULE naming asgi serves it as ASGI", () => {
    const { inputs } = appFor(rowOf(8, "a Django project's WSGI module"), '');
    expect(planStart(inputs).served).to.deep.equal({ module: 'mysite.wsgi', source: "DJANGO_SETTINGS_MODULE 'mysite.settings' in manage.py" });
    const named = planStart({ ...inputs, gunicornAppModule: 'mysite.asgi:application', gunicornAppModuleName: 'APP_MODULE' });
    expect(named.served).to.deep.equal({ module: 'mysite.asgi:application', source: 'APP_MODULE', workerClass: WORKER });
  });
});
