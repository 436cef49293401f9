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
}

export type WebRule = 'APP_RUN' | 'Procfile' | '.s2i/bin/run' | 'APP_SCRIPT' | 'APP_FILE' | 'gunicorn' | 'app.py' | 'app.sh' | 'django-runserver';

export interface StartPlan {
  processes: Process[];
  rule: WebRule;
  /** A sentence for the log: what runs and why. */
  reason: string;
  /** The module web serves under Gunicorn (rule 'gunicorn'), and where its name came from. */
  served?: { module: string; source: string };
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
  let text: string;
  try {
    text = fs.readFileSync(path.join(appDir, 'main.py'), 'utf8');
  } catch {
    return undefined;
  }
  const callable = /^application[ \t]*=/m.test(text) ? 'application' : /^app[ \t]*=[ \t]*(?:flask\.)?Flask\(/m.test(text) ? 'app' : undefined;
  if (!callable || asgiEvidence(text, callable)) return undefined;
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

export function planStart(i: StartInputs): StartPlan {
  const processes: Process[] = [];
  const dir = i.startDir ?? i.appDir;
  const warnings: BuildWarning[] = [];
  const notes: string[] = [];
  const seedModule = gunicornModule(i.appDir, i.gunicornAppModule, i.gunicornAppModuleName, dir);
  // Module sources the seed did not have come after app.py (below): the seed ran `python app.py` for an app
  // with app.py and any of them. First the app's config naming its app, then main.py, then a Django project.
  const configSets = i.gunicorn ? wsgiAppOfConfig(i) : undefined;
  const configApp = seedModule ? undefined : configSets?.target;
  if (seedModule && configSets) notes.push(`The wsgi_app your Gunicorn config sets is not used: Gunicorn serves '${seedModule.module}' (from ${seedModule.source}), which comes first`);
  else if (configSets?.tooOld !== undefined) warnings.push({ type: 'gunicorn-too-old-for-wsgi-app', config: configSets.config, version: configSets.tooOld });
  const manage = i.django ? managePyIn(i.appDir, dir) : undefined;
  const laterModule: GunicornTarget | undefined =
    i.gunicorn && !seedModule ? (configApp ?? mainPyModule(dir) ?? (manage ? djangoWsgiModule(i.appDir, dir) : undefined)) : undefined;
  const module: GunicornTarget | undefined = seedModule ?? laterModule;
  const gunicornProcess = (type: string, isDefault: boolean): Process | undefined =>
    i.gunicorn && module
      ? process_(type, [i.gunicorn, '--config', i.userGunicornConfig ?? i.fallbackGunicornConfig], { args: module.fromConfig ? [] : [module.module as string], default: isDefault })
      : undefined;
  const gunicornReason = (m: GunicornTarget): string => {
    const config = i.userGunicornConfig ? `the app's config ${path.relative(i.appDir, i.userGunicornConfig) || i.userGunicornConfig}` : 'the buildpack\'s fallback config';
    const what = m.module === undefined ? 'the app that wsgi_app names' : `'${m.module}'`;
    return `gunicorn is installed: web serves ${what} (from ${m.source}) with ${config}`;
  };
  const hasAppPy = fs.existsSync(path.join(dir, 'app.py'));
  const hasAppSh = appSh(i.appDir, dir);

  const procfileWeb = i.procfile?.find((e) => e.type === 'web');
  let web: Process;
  let rule: WebRule;
  let reason: string;
  let script: string | undefined;
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
    startFile(i.appDir, 'APP_FILE', i.appFile, dir);
    web = process_('web', [i.python, i.appFile], { default: true });
    rule = 'APP_FILE';
    reason = `APP_FILE is set: web runs 'python ${i.appFile}'`;
  } else if (i.gunicorn && seedModule) {
    web = gunicornProcess('web', true) as Process;
    rule = 'gunicorn';
    reason = gunicornReason(seedModule);
  } else if (hasAppPy) {
    web = process_('web', [i.python, 'app.py'], { default: true });
    rule = 'app.py';
    reason = laterModule
      ? `web runs 'python app.py' (app.py comes before ${laterModule.source}; /cnb/process/gunicorn serves ${laterModule.module === undefined ? 'it' : `'${laterModule.module}'`})`
      : i.gunicorn ? 'gunicorn is installed but no WSGI module was found; web runs \'python app.py\'' : 'web runs \'python app.py\'';
  } else if (laterModule) {
    web = gunicornProcess('web', true) as Process;
    rule = 'gunicorn';
    reason = gunicornReason(laterModule);
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
    throw new BuildpackError({ type: 'dont-know-how-to-run', hasGunicorn: Boolean(i.gunicorn) });
  }
  for (const name of ['APP_SCRIPT', 'APP_FILE'] as const) {
    const value = name === 'APP_SCRIPT' ? i.appScript : i.appFile;
    if (value && (rule === 'APP_RUN' || rule === 'Procfile' || rule === '.s2i/bin/run')) notes.push(`${name} ('${value}') is not used: ${rule === 'Procfile' ? 'the Procfile\'s web' : rule} comes first`);
  }
  if (configApp && module === configApp && rule !== 'gunicorn' && rule !== 'app.py') {
    // (For app.py, the reason says it.)
    notes.push(`web does not serve the wsgi_app your Gunicorn config sets: ${rule} comes first (/cnb/process/gunicorn serves it)`);
  }
  web = withMigrations(i, web, rule, manage, notes);
  processes.push(web);
  if (rule !== 'gunicorn') {
    const g = gunicornProcess('gunicorn', false);
    if (g) processes.push(g);
  }
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
  const served = rule === 'gunicorn' && module?.module !== undefined ? { served: { module: module.module, source: module.source } } : {};
  return { processes: placed, rule, reason, notes, warnings, ...(script ? { script } : {}), ...served };
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
 * BP_DJANGO_MIGRATE_AT_START: web migrates first when it serves the Django project (Gunicorn or runserver), as
 * s2i's run script does before those two; DISABLE_MIGRATE turns it off. Any other web is the app's own
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
  if (rule !== 'gunicorn' && rule !== 'django-runserver') {
    notes.push(`BP_DJANGO_MIGRATE_AT_START is set, but web runs ${rule}: run 'python manage.py migrate --noinput' from your own start command`);
    return web;
  }
  notes.push("BP_DJANGO_MIGRATE_AT_START is set: web runs 'python manage.py migrate --noinput' first, then the server");
  return migrateFirst(web, i.python);
}
