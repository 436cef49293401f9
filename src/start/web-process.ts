/**
 * How the app starts: the `web` process, chosen at build in the seed builder's order, and named processes a
 * user can pick (`gunicorn`, `python`). Commands are argv arrays with no shell, except APP_RUN, which is a
 * shell command line by definition.
 */
import fs from 'node:fs';
import path from 'node:path';
import { process_, type Process } from '../cnb/launch.js';
import type { BuildWarning } from '../causes.js';
import { BuildpackError } from '../failure.js';
import { asgiEvidence } from './asgi.js';
import { appModuleSource, asgiApp, pythonCode, runsItself, readSource, uvicornRunObject, type AsgiApp } from './asgi-app.js';
import { splitAppModule } from './app-module.js';
import type { ProcfileEntry } from './procfile.js';
import { locateAppFile } from './app-file.js';
import { shownDir, startsElsewhere } from './app-home.js';
import { djangoWsgiModule, managePyIn, migrateFirst, migrateProcess, runserverProcess } from './django-start.js';
import { configWsgiApp, gunicornReadsWsgiApp } from './wsgi-app.js';

export interface StartInputs {
  appDir: string;
  /** APP_RUN: a shell command line. */
  appRun: string | undefined;
  /** .s2i/bin/run, when present and executable: the app's own run script. */
  s2iRun: string | undefined;
  /** The gunicorn console script in pip-deps, when gunicorn is installed. */
  gunicorn: string | undefined;
  /** GUNICORN_APP_MODULE (or APP_MODULE, as `gunicornAppModuleName` says). */
  gunicornAppModule: string | undefined;
  /** The variable gunicornAppModule came from, for the log; GUNICORN_APP_MODULE when not given. */
  gunicornAppModuleName?: 'GUNICORN_APP_MODULE' | 'APP_MODULE';
  /** The user's config (GUNICORN_CONFIG, APP_CONFIG or ./gunicorn.conf.py), else undefined. */
  userGunicornConfig: string | undefined;
  fallbackGunicornConfig: string;
  /** The interpreter in the python layer. */
  python: string;
  /** The app's Procfile, parsed (src/start/procfile.ts), when it has one. */
  procfile?: ProcfileEntry[];
  /** APP_SCRIPT (OpenShift s2i): a script of the app to run directly. */
  appScript?: string;
  /** APP_FILE (OpenShift s2i): a Python file of the app to run. */
  appFile?: string;
  /**
   * APP_HOME (OpenShift s2i): the folder the processes start in, where wsgi.py, app.py, main.py, app.sh and
   * manage.py are looked for and APP_SCRIPT and APP_FILE are relative to. The app itself when not given.
   */
  startDir?: string;
  /** The installed Gunicorn's version, from its metadata (undefined: not known). */
  gunicornVersion?: string;
  /** Django is among the app's installed packages. */
  django?: boolean;
  /** BP_DJANGO_MIGRATE_AT_START: web runs `manage.py migrate --noinput` before serving the Django project. */
  migrateAtStart?: boolean;
  /** DISABLE_MIGRATE (OpenShift s2i): migrations never run at start, whatever BP_DJANGO_MIGRATE_AT_START says. */
  disableMigrate?: boolean;
  /** The uvicorn console script in pip-deps, when uvicorn is installed. */
  uvicorn?: string;
  /** The Gunicorn worker class that runs ASGI apps, when it is installed: uvicorn-worker's, else uvicorn's own. */
  uvicornWorker?: string;
  /** GUNICORN_CMD_ARGS (as the build sees it) or the app's Gunicorn config names a worker class: none is added. */
  workerClassSet?: boolean;
}

export type WebRule = 'APP_RUN' | 'Procfile' | '.s2i/bin/run' | 'APP_SCRIPT' | 'APP_FILE' | 'gunicorn' | 'uvicorn' | 'app.py' | 'app.sh' | 'django-runserver';

export interface StartPlan {
  processes: Process[];
  rule: WebRule;
  /** A sentence for the log: what runs and why. */
  reason: string;
  /**
   * The module web serves under Gunicorn (rule 'gunicorn'), where its name came from, and the worker class
   * the buildpack gives Gunicorn for an ASGI app.
   */
  served?: { module: string; source: string; workerClass?: string };
  /** More sentences for the log: settings and Procfile types that replace or lose to others. */
  notes: string[];
  /** The script web runs directly (APP_SCRIPT, app.sh), which must be executable. */
  script?: string;
  /** Findings to print as warnings (the build goes on). */
  warnings: BuildWarning[];
}

/**
 * What Gunicorn serves: a module passed as its argument, or (`fromConfig`) the app the config's wsgi_app
 * names, with no argument; `module` is then undefined when wsgi_app is set from code the build cannot read.
 */
interface GunicornTarget {
  module: string | undefined;
  source: string;
  fromConfig?: boolean;
}

/**
 * The WSGI module gunicorn serves: GUNICORN_APP_MODULE, else wsgi (./wsgi.py, where the processes start), else
 * the name setup.py (at the app's top) declares.
 */
export function gunicornModule(appDir: string, fromEnv: string | undefined, envName = 'GUNICORN_APP_MODULE', startDir = appDir): { module: string; source: string } | undefined {
  if (fromEnv) return { module: fromEnv, source: envName };
  if (fs.existsSync(path.join(startDir, 'wsgi.py'))) return { module: 'wsgi', source: 'wsgi.py' };
  const name = setupPyName(appDir);
  if (name) return { module: name, source: 'the name in setup.py' };
  return undefined;
}

/**
 * The WSGI callable a `main.py` defines, the entry file Google's Python buildpack and many tutorials use:
 * `application = ...` (Gunicorn's default name) or `app = Flask(...)`, at the top level of the file. The source
 * is read, never run; a file that looks like ASGI (src/start/asgi.ts) is left out, since Gunicorn's sync
 * worker cannot serve it.
 */
export function mainPyModule(appDir: string): { module: string; source: string } | undefined {
  const source = readSource(path.join(appDir, 'main.py'));
  if (source === undefined) return undefined;
  const text = pythonCode(source);
  const callable = /^application[ \t]*=/m.test(text) ? 'application' : /^app[ \t]*=[ \t]*(?:flask\.)?Flask\(/m.test(text) ? 'app' : undefined;
  if (!callable || asgiEvidence(source, callable)) return undefined;
  return { module: `main:${callable}`, source: 'main.py' };
}

/** The `name=` argument of setup() in setup.py, as the seed code read it (a module name, so `-` becomes `_`). */
export function setupPyName(appDir: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(appDir, 'setup.py'), 'utf8');
  } catch {
    return undefined;
  }
  const m = /\bname\s*=\s*['"]([A-Za-z0-9_.-]+)['"]/.exec(text);
  return m?.[1]?.replace(/-/g, '_');
}

/**
 * The file APP_SCRIPT or APP_FILE names, as an absolute path in the app. It must be a file of the app (symlinks
 * followed), since only the app's files are in the image; otherwise the build stops.
 */
function startFile(appDir: string, name: 'APP_SCRIPT' | 'APP_FILE', value: string, startDir = appDir): string {
  // Relative to APP_HOME when it is set, as s2i's run script resolves it after changing there.
  const found = locateAppFile(appDir, path.resolve(startDir, value));
  if (found.kind === 'file') return found.file;
  const home = startsElsewhere(appDir, startDir) ? { home: shownDir(appDir, startDir) } : {};
  throw new BuildpackError({ type: 'start-file-unusable', name, value, problem: found.kind === 'outside' ? { kind: 'outside', resolved: found.resolved } : { kind: 'missing' }, ...home });
}

/** `./app.sh` when it is a file of the app (a link leading out of it does not count). */
function appSh(appDir: string, startDir = appDir): string | undefined {
  const found = locateAppFile(appDir, path.join(startDir, 'app.sh'));
  return found.kind === 'file' ? found.file : undefined;
}

/** A path as the s2i builder runs a script: `./` before a relative one, so that it is not looked up in PATH. */
function shownScript(value: string): string {
  return value.startsWith('/') || value.startsWith('./') ? value : `./${value}`;
}

/** Words that cannot follow `exec`: shell reserved words and builtins with no program of that name. */
const NOT_EXECUTABLE = new Set([
  '!', '{', '}', '[[', ']]', 'case', 'do', 'done', 'elif', 'else', 'esac', 'fi', 'for', 'function', 'if', 'in', 'select', 'then', 'time', 'until', 'while',
  '.', ':', 'alias', 'bg', 'break', 'cd', 'command', 'continue', 'eval', 'exec', 'exit', 'export', 'fg', 'getopts', 'hash', 'jobs', 'local', 'read',
  'readonly', 'return', 'set', 'shift', 'source', 'times', 'trap', 'type', 'ulimit', 'umask', 'unalias', 'unset', 'wait',
]);

/**
 * The shell line web runs for APP_RUN: the user's line, with `exec` before the command when the line is one
 * simple command (`python app.py`, `PORT=5000 gunicorn x:app 2>&1`), as `bash -c` does by itself (the seed ran
 * `bash -c "$APP_RUN"`). The app then replaces the shell and is PID 1, so it gets SIGTERM on stop; dash, the
 * /bin/sh of Debian and Ubuntu images, would stay PID 1 instead and ignore it. Anything else (lists,
 * pipelines, `&&`, subshells, `$(...)`, `cd`, `export`) runs unchanged.
 */
export function appRunShellLine(appRun: string): string {
  const words: { start: number; text: string }[] = [];
  let quote: "'" | '"' | undefined;
  let word: { start: number; text: string } | undefined;
  let afterRedirect = false; // the previous character was an unquoted < or >: `&` is part of `2>&1`
  for (let i = 0; i < appRun.length; i++) {
    const c = appRun[i] as string;
    const at = i;
    const redirect = afterRedirect;
    afterRedirect = false;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"') i++;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '\\') {
      i++;
    } else if (';|()`\n'.includes(c) || (c === '&' && !redirect)) {
      return appRun;
    } else if (c === ' ' || c === '\t') {
      if (word) words.push(word);
      word = undefined;
      continue;
    } else if (c === '<' || c === '>') {
      afterRedirect = true;
    }
    word ??= { start: at, text: '' };
    word.text = appRun.slice(word.start, i + 1);
  }
  if (quote) return appRun;
  if (word) words.push(word);
  const command = words.find((w) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w.text));
  if (!command || NOT_EXECUTABLE.has(command.text) || /^[0-9]*[<>]/.test(command.text) || command.text.startsWith('#')) return appRun;
  return `${appRun.slice(0, command.start)}exec ${appRun.slice(command.start)}`;
}

/** A word for a shell line: as it is when it needs no quoting, else in single quotes. */
export function shellWord(value: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The shell line web runs for an ASGI app under uvicorn without Gunicorn (uvicorn's options:
 * https://www.uvicorn.org/settings/). `exec` makes uvicorn PID 1, so it gets SIGTERM and shuts down
 * gracefully (with workers, its supervisor stops them). Every value is read at start, like the fallback
 * Gunicorn config: `$PORT` on all interfaces, `WEB_CONCURRENCY` worker processes (exported by exec.d; 2, as
 * in the fallback config, when unset), `FORWARDED_ALLOW_IPS` (uvicorn's own default trusts only localhost,
 * the fallback config's trusts the load balancer: `*`), and requests get 25 s to finish after SIGTERM, as
 * in the fallback config.
 */
export function uvicornShellLine(uvicorn: string, target: string): string {
  return (
    `exec ${shellWord(uvicorn)} ${shellWord(target)} --host 0.0.0.0 --port "\${PORT:-8080}" --workers "\${WEB_CONCURRENCY:-2}"` +
    ` --forwarded-allow-ips "\${FORWARDED_ALLOW_IPS:-*}" --timeout-graceful-shutdown 25`
  );
}

/** A module named in full: what an ASGI server is given. */
interface Target extends GunicornTarget {
  module: string;
}

/** How a target is served: the command for a process of any type, the rule, and the sentence for the log. */
interface Serving {
  target: GunicornTarget;
  rule: 'gunicorn' | 'uvicorn';
  make: (type: string, isDefault: boolean) => Process;
  reason: string;
  workerClass?: string;
}

/**
 * The ASGI app a module the server names (`MODULE[:CALLABLE]`) defines, read from its file in the app: where
 * the processes start (APP_HOME), then the app's top folder, which is on PYTHONPATH then.
 */
function moduleAsgiApp(appDir: string, dir: string, value: string): AsgiApp | undefined {
  const { module, callable } = splitAppModule(value);
  const source = appModuleSource(appDir, module, startsElsewhere(appDir, dir) ? [dir, appDir] : [appDir]);
  return source === undefined ? undefined : asgiApp(source, callable);
}

export function planStart(i: StartInputs): StartPlan {
  const processes: Process[] = [];
  const dir = i.startDir ?? i.appDir;
  const warnings: BuildWarning[] = [];
  const notes: string[] = [];
  const config = i.userGunicornConfig ?? i.fallbackGunicornConfig;
  const configName = i.userGunicornConfig ? `the app's config ${path.relative(i.appDir, i.userGunicornConfig) || i.userGunicornConfig}` : 'the buildpack\'s fallback config';
  const gunicornServing = (t: GunicornTarget): Serving | undefined =>
    i.gunicorn
      ? {
          target: t,
          rule: 'gunicorn',
          make: (type, isDefault) => process_(type, [i.gunicorn as string, '--config', config], { args: t.fromConfig ? [] : [t.module as string], default: isDefault }),
          reason: `gunicorn is installed: web serves ${t.module === undefined ? 'the app that wsgi_app names' : `'${t.module}'`} (from ${t.source}) with ${configName}`,
        }
      : undefined;
  /**
   * An ASGI app: Gunicorn with uvicorn's worker class when both are installed (Gunicorn manages the workers),
   * else uvicorn alone; undefined when neither can serve it.
   */
  const asgiServing = (t: Target, app: AsgiApp): Serving | undefined => {
    const what = `from ${t.source}, an ASGI app: ${app.found}`;
    if (i.gunicorn && i.uvicornWorker) {
      // On the command line, so that it wins over the fallback config (which names none); a worker class the
      // app's own settings name is left to them.
      const workerClass = i.workerClassSet ? undefined : i.uvicornWorker;
      return {
        target: t,
        rule: 'gunicorn',
        make: (type, isDefault) => process_(type, [i.gunicorn as string, '--config', config, ...(workerClass ? ['--worker-class', workerClass] : [])], { args: [t.module], default: isDefault }),
        reason: `gunicorn and uvicorn are installed: web serves '${t.module}' (${what}) with ${workerClass ? `uvicorn's worker class ${workerClass}` : "the worker class your Gunicorn settings name"} and ${configName}`,
        ...(workerClass ? { workerClass } : {}),
      };
    }
    if (i.uvicorn) {
      // uvicorn needs MODULE:CALLABLE; Gunicorn's default callable is `application`.
      const { module, callable } = splitAppModule(t.module);
      const target = `${module}:${callable}`;
      return {
        target: { ...t, module: target },
        rule: 'uvicorn',
        make: (type, isDefault) => process_(type, ['/bin/sh', '-c', uvicornShellLine(i.uvicorn as string, target)], { default: isDefault }),
        reason: `uvicorn is installed${i.gunicorn ? " (and gunicorn, but not uvicorn's Gunicorn worker)" : ''}: web serves '${target}' (${what}) with uvicorn, WEB_CONCURRENCY workers on $PORT`,
      };
    }
    return undefined;
  };

  // Rule 6: the module named by GUNICORN_APP_MODULE/APP_MODULE, wsgi.py (where the processes start) or
  // setup.py. WSGI under Gunicorn unless its source shows an ASGI app and an ASGI server is installed.
  const seedModule = gunicornModule(i.appDir, i.gunicornAppModule, i.gunicornAppModuleName, dir);
  const seedAsgi = seedModule ? moduleAsgiApp(i.appDir, dir, seedModule.module) : undefined;
  const seed = seedModule ? ((seedAsgi && asgiServing(seedModule, seedAsgi)) ?? gunicornServing(seedModule)) : undefined;

  // Rule 7, app.py, for an ASGI app with no `__main__` block (nor a server started at the top level):
  // `python app.py` would define the app and exit at once.
  const appPyFile = path.join(dir, 'app.py');
  const appPySource = fs.existsSync(appPyFile) ? (readSource(appPyFile) ?? '') : undefined;
  const appPyAsgi = appPySource === undefined ? undefined : asgiApp(appPySource);
  const appPyServed = appPySource !== undefined && appPyAsgi && !runsItself(appPySource) ? asgiServing({ module: `app:${appPyAsgi.callable}`, source: 'app.py' }, appPyAsgi) : undefined;

  // Rule 8: module sources the seed did not have come after app.py (the seed ran `python app.py` for an app
  // with app.py and any of them): the app's Gunicorn config naming its app, main.py (WSGI under Gunicorn, else
  // ASGI), a Django project's WSGI module, then asgi.py (ASGI). A Django project is served as WSGI, as before
  // ASGI apps were read: its asgi.py sits beside wsgi.py in the project package, where only an explicit
  // APP_MODULE (rule 6) reaches it.
  const configSets = i.gunicorn ? wsgiAppOfConfig(i) : undefined;
  const configApp = seed ? undefined : configSets?.target;
  if (seed && configSets) notes.push(`The wsgi_app your Gunicorn config sets is not used: ${seed.rule === 'gunicorn' ? 'Gunicorn' : 'uvicorn'} serves '${seed.target.module}' (from ${seed.target.source}), which comes first`);
  else if (configSets?.tooOld !== undefined) warnings.push({ type: 'gunicorn-too-old-for-wsgi-app', config: configSets.config, version: configSets.tooOld });
  const manage = i.django ? managePyIn(i.appDir, dir) : undefined;
  const asgiEntry = (name: 'main' | 'asgi'): { target: Target; app: AsgiApp } | undefined => {
    const source = readSource(path.join(dir, `${name}.py`));
    const app = source === undefined ? undefined : asgiApp(source);
    return app ? { target: { module: `${name}:${app.callable}`, source: `${name}.py` }, app } : undefined;
  };
  const mainAsgi = asgiEntry('main');
  const asgiPy = asgiEntry('asgi');
  const entryAsgi = mainAsgi ?? asgiPy;
  const laterServing = (): Serving | undefined => {
    const mainWsgi = mainPyModule(dir);
    const djangoWsgi = manage ? djangoWsgiModule(i.appDir, dir) : undefined;
    return (
      (configApp && gunicornServing(configApp)) ??
      (mainWsgi && gunicornServing(mainWsgi)) ??
      (mainAsgi && asgiServing(mainAsgi.target, mainAsgi.app)) ??
      (djangoWsgi && gunicornServing(djangoWsgi)) ??
      (asgiPy && asgiServing(asgiPy.target, asgiPy.app))
    );
  };
  const entry = seed ? undefined : laterServing();
  const named = seed ?? entry;
  const hasAppSh = appSh(i.appDir, dir);

  const procfileWeb = i.procfile?.find((e) => e.type === 'web');
  let web: Process;
  let rule: WebRule;
  let reason: string;
  let script: string | undefined;
  let served: Serving | undefined;
  /** `python <file>`; without WEB_CONCURRENCY when the file passes an app object to uvicorn.run() (see below). */
  const pythonFile = (file: string, source: string | undefined): Process => {
    const object = source === undefined ? undefined : uvicornRunObject(source);
    if (!object) return process_('web', [i.python, file], { default: true });
    // uvicorn.run() reads WEB_CONCURRENCY as its worker count when not given `workers` (uvicorn/config.py), and
    // with more than one worker it exits unless the app is an import string ("You must pass the application as
    // an import string to enable 'reload' or 'workers'"). exec.d exports WEB_CONCURRENCY for every process
    // and cannot unset it, so this process drops it: one uvicorn process serves the app, as it would on a
    // machine without WEB_CONCURRENCY. Every other process (and Gunicorn) keeps it.
    const hint = file === 'app.py' && appPyAsgi ? `; to serve it with WEB_CONCURRENCY workers instead, set APP_MODULE=app:${appPyAsgi.callable}` : '';
    notes.push(
      `${file} passes an app object to uvicorn.run() (${object}), which cannot start workers: it runs without WEB_CONCURRENCY, which uvicorn would take as its worker count and exit${hint}`,
    );
    return process_('web', ['/bin/sh', '-c', `unset WEB_CONCURRENCY; exec ${shellWord(i.python)} ${shellWord(file)}`], { default: true });
  };
  if (i.appRun) {
    web = process_('web', ['/bin/sh', '-c', appRunShellLine(i.appRun)], { default: true });
    rule = 'APP_RUN';
    reason = `APP_RUN is set: web runs '${i.appRun}' through /bin/sh`;
    if (procfileWeb) notes.push(`The Procfile's web ('${procfileWeb.command}') is not used: APP_RUN comes first`);
  } else if (procfileWeb) {
    // Heroku runs Procfile commands through a shell; `exec` as for APP_RUN, so the app is PID 1 and gets SIGTERM.
    web = process_('web', ['/bin/sh', '-c', appRunShellLine(procfileWeb.command)], { default: true });
    rule = 'Procfile';
    reason = `the Procfile defines web: web runs '${procfileWeb.command}' through /bin/sh`;
  } else if (i.s2iRun) {
    web = process_('web', [i.s2iRun], { default: true });
    rule = '.s2i/bin/run';
    reason = 'web runs the app\'s own .s2i/bin/run';
  } else if (i.appScript) {
    // OpenShift s2i's run script: APP_SCRIPT first, then APP_FILE, then Gunicorn (sclorg/s2i-python-container s2i/bin/run).
    script = startFile(i.appDir, 'APP_SCRIPT', i.appScript, dir);
    web = process_('web', [script], { default: true });
    rule = 'APP_SCRIPT';
    reason = `APP_SCRIPT is set: web runs '${shownScript(i.appScript)}'`;
    if (i.appFile) notes.push(`APP_FILE ('${i.appFile}') is not used: APP_SCRIPT comes first`);
  } else if (i.appFile) {
    const file = startFile(i.appDir, 'APP_FILE', i.appFile, dir);
    web = pythonFile(i.appFile, readSource(file));
    rule = 'APP_FILE';
    reason = `APP_FILE is set: web runs 'python ${i.appFile}'`;
  } else if (seed) {
    served = seed;
    web = seed.make('web', true);
    rule = seed.rule;
    reason = seed.reason;
    const other = appPyServed ? { target: appPyServed.target, found: appPyAsgi?.found } : entryAsgi ? { target: entryAsgi.target, found: entryAsgi.app.found } : undefined;
    if (other && !seedAsgi) notes.push(`${other.target.source}'s ASGI app (${other.found}) is not used: '${seed.target.module}' (from ${seed.target.source}) comes first`);
  } else if (appPyServed) {
    served = appPyServed;
    web = appPyServed.make('web', true);
    rule = appPyServed.rule;
    reason = `app.py defines an ASGI app and has no if __name__ == '__main__': block, so 'python app.py' would exit at once; ${appPyServed.reason}`;
  } else if (appPySource !== undefined) {
    web = pythonFile('app.py', appPySource);
    rule = 'app.py';
    const gunicornServes = entry?.rule === 'gunicorn' ? `; /cnb/process/gunicorn serves ${entry.target.module === undefined ? 'it' : `'${entry.target.module}'`}` : '';
    reason = entry
      ? `web runs 'python app.py' (app.py comes before ${entry.target.source}${gunicornServes})`
      : i.gunicorn ? 'gunicorn is installed but no WSGI module was found; web runs \'python app.py\'' : 'web runs \'python app.py\'';
    if (appPyAsgi && !runsItself(appPySource)) warnings.push({ type: 'asgi-app-without-server', file: 'app.py', callable: appPyAsgi.callable, found: appPyAsgi.found, hasGunicorn: Boolean(i.gunicorn) });
  } else if (entry) {
    served = entry;
    web = entry.make('web', true);
    rule = entry.rule;
    reason = entry.reason;
  } else if (hasAppSh) {
    // The s2i builder's default APP_SCRIPT, here after every rule the seed had, so no app it served changes.
    script = hasAppSh;
    web = process_('web', [script], { default: true });
    rule = 'app.sh';
    reason = 'no other rule applies and the app has app.sh: web runs \'./app.sh\'';
  } else if (manage) {
    // s2i's last resort for a Django project Gunicorn cannot serve.
    web = runserverProcess(i.python);
    rule = 'django-runserver';
    reason = 'Django is installed and nothing else can serve the project: web runs \'python manage.py runserver 0.0.0.0:$PORT\'';
    warnings.push({ type: 'django-runserver', gunicorn: Boolean(i.gunicorn), managePy: path.relative(i.appDir, manage) });
  } else {
    throw new BuildpackError({
      type: 'dont-know-how-to-run',
      hasGunicorn: Boolean(i.gunicorn),
      ...(entryAsgi ? { asgiApp: `${entryAsgi.target.source} (${entryAsgi.app.found})` } : {}),
      ...(startsElsewhere(i.appDir, dir) ? { home: shownDir(i.appDir, dir) } : {}),
    });
  }
  for (const name of ['APP_SCRIPT', 'APP_FILE'] as const) {
    const value = name === 'APP_SCRIPT' ? i.appScript : i.appFile;
    if (!value || (rule !== 'APP_RUN' && rule !== 'Procfile' && rule !== '.s2i/bin/run')) continue;
    if (rule !== '.s2i/bin/run') notes.push(`${name} ('${value}') is not used: ${rule === 'Procfile' ? 'the Procfile\'s web' : rule} comes first`);
    // The app's run script replaces s2i's, which is what reads APP_SCRIPT and APP_FILE: they still count when
    // the script calls that default start (src/layers/s2i-run.ts), which plans web as if it were not there.
    else if (name === 'APP_FILE' && i.appScript) notes.push(`APP_FILE ('${value}') is not used: APP_SCRIPT comes first`);
    else notes.push(`${name} ('${value}') is not what web runs: .s2i/bin/run comes first; the default start .s2i/bin/run may call ($STI_SCRIPTS_PATH/run) runs it`);
  }
  if (configApp && entry?.target === configApp && served !== entry && rule !== 'app.py') {
    // (For `python app.py`, the reason says it.)
    notes.push(`web does not serve the wsgi_app your Gunicorn config sets: ${served !== undefined && served === appPyServed ? "app.py's ASGI app" : rule} comes first (/cnb/process/gunicorn serves it)`);
  }
  web = withMigrations(i, web, rule, manage, notes);
  processes.push(web);
  // `gunicorn`: the app under Gunicorn as in rule 6 or 8, when web is something else.
  if (named?.rule === 'gunicorn' && rule !== 'gunicorn') processes.push(named.make('gunicorn', false));
  processes.push(process_('python', [i.python]));
  if (manage) processes.push(migrateProcess(i.python));
  // The Procfile's other types; one named like ours (`gunicorn`, `python`) is the app's choice and replaces ours.
  for (const e of i.procfile ?? []) {
    if (e.type === 'web') continue;
    const own = processes.findIndex((p) => p.type === e.type);
    const p = process_(e.type, ['/bin/sh', '-c', appRunShellLine(e.command)]);
    if (own >= 0) {
      processes[own] = p;
      notes.push(`The Procfile's ${e.type} replaces the buildpack's ${e.type} process`);
    } else {
      processes.push(p);
    }
  }
  // APP_HOME: every process starts there, but the app's own .s2i/bin/run, which starts at the top as in s2i
  // (where the builder's run script, which it replaces, is what changes to APP_HOME).
  const placed = startsElsewhere(i.appDir, dir) ? processes.map((p) => (rule === '.s2i/bin/run' && p === web ? p : { ...p, workingDir: dir })) : processes;
  const servedModule =
    served?.rule === 'gunicorn' && served.target.module !== undefined
      ? { served: { module: served.target.module, source: served.target.source, ...(served.workerClass ? { workerClass: served.workerClass } : {}) } }
      : {};
  return { processes: placed, rule, reason, notes, warnings, ...(script ? { script } : {}), ...servedModule };
}

/**
 * The app the user's Gunicorn config names with wsgi_app (`target`), when the installed Gunicorn reads it
 * (20.1 or later); `tooOld` is the version of an older one. Undefined when the config sets no wsgi_app.
 */
function wsgiAppOfConfig(i: StartInputs): { config: string; target?: GunicornTarget; tooOld?: string } | undefined {
  if (!i.userGunicornConfig) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(i.userGunicornConfig, 'utf8');
  } catch {
    return undefined;
  }
  const set = configWsgiApp(text);
  if (!set) return undefined;
  const config = path.relative(i.appDir, i.userGunicornConfig) || i.userGunicornConfig;
  if (!gunicornReadsWsgiApp(i.gunicornVersion)) return { config, tooOld: i.gunicornVersion ?? '' };
  return { config, target: { module: set.module, source: `wsgi_app in ${config}`, fromConfig: true } };
}

/**
 * BP_DJANGO_MIGRATE_AT_START: web migrates first when it serves the Django project (Gunicorn, uvicorn for an
 * ASGI module, or runserver), as s2i's run script does before Gunicorn and runserver; DISABLE_MIGRATE turns it off. Any other web is the app's own
 * command, which the log says to extend instead.
 */
function withMigrations(i: StartInputs, web: Process, rule: WebRule, manage: string | undefined, notes: string[]): Process {
  if (!i.migrateAtStart) {
    if (i.disableMigrate) notes.push('DISABLE_MIGRATE is set: nothing to turn off, since migrations run at start only with BP_DJANGO_MIGRATE_AT_START (/cnb/process/migrate runs them)');
    return web;
  }
  if (i.disableMigrate) {
    notes.push('DISABLE_MIGRATE is set: web does not run migrate first, although BP_DJANGO_MIGRATE_AT_START is set');
    return web;
  }
  if (!manage) {
    notes.push(`BP_DJANGO_MIGRATE_AT_START is set, but ${i.django ? 'there is no manage.py where the processes start' : 'Django is not installed'}: nothing to migrate`);
    return web;
  }
  if (rule !== 'gunicorn' && rule !== 'uvicorn' && rule !== 'django-runserver') {
    notes.push(`BP_DJANGO_MIGRATE_AT_START is set, but web runs ${rule}: run 'python manage.py migrate --noinput' from your own start command`);
    return web;
  }
  notes.push("BP_DJANGO_MIGRATE_AT_START is set: web runs 'python manage.py migrate --noinput' first, then the server");
  return migrateFirst(web, i.python);
}
