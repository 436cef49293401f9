/**
 * How the app starts: the `web` process, chosen at build in the seed builder's order, and named processes a
 * user can pick (`gunicorn`, `python`). Commands are argv arrays with no shell, except APP_RUN, which is a
 * shell command line by definition.
 */
import fs from 'node:fs';
import path from 'node:path';
import { process_, type Process } from '../cnb/launch.js';
import { BuildpackError } from '../failure.js';
import { asgiEvidence } from './asgi.js';
import type { ProcfileEntry } from './procfile.js';
import { locateAppFile } from './app-file.js';

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
}

export type WebRule = 'APP_RUN' | 'Procfile' | '.s2i/bin/run' | 'APP_SCRIPT' | 'APP_FILE' | 'gunicorn' | 'app.py' | 'app.sh';

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
}

/** The WSGI module gunicorn serves: GUNICORN_APP_MODULE, else wsgi (./wsgi.py), else the name setup.py declares. */
export function gunicornModule(appDir: string, fromEnv: string | undefined, envName = 'GUNICORN_APP_MODULE'): { module: string; source: string } | undefined {
  if (fromEnv) return { module: fromEnv, source: envName };
  if (fs.existsSync(path.join(appDir, 'wsgi.py'))) return { module: 'wsgi', source: 'wsgi.py' };
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
function startFile(appDir: string, name: 'APP_SCRIPT' | 'APP_FILE', value: string): string {
  const found = locateAppFile(appDir, value);
  if (found.kind === 'file') return found.file;
  throw new BuildpackError({ type: 'start-file-unusable', name, value, problem: found.kind === 'outside' ? { kind: 'outside', resolved: found.resolved } : { kind: 'missing' } });
}

/** `./app.sh` when it is a file of the app (a link leading out of it does not count). */
function appSh(appDir: string): string | undefined {
  const found = locateAppFile(appDir, 'app.sh');
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
  const seedModule = gunicornModule(i.appDir, i.gunicornAppModule, i.gunicornAppModuleName);
  // main.py comes after app.py (below): the seed ran `python app.py` for an app with both.
  const mainModule = i.gunicorn && !seedModule ? mainPyModule(i.appDir) : undefined;
  const module = seedModule ?? mainModule;
  const gunicornProcess = (type: string, isDefault: boolean): Process | undefined =>
    i.gunicorn && module
      ? process_(type, [i.gunicorn, '--config', i.userGunicornConfig ?? i.fallbackGunicornConfig], { args: [module.module], default: isDefault })
      : undefined;
  const gunicornReason = (m: { module: string; source: string }): string => {
    const config = i.userGunicornConfig ? `the app's config ${path.relative(i.appDir, i.userGunicornConfig) || i.userGunicornConfig}` : 'the buildpack\'s fallback config';
    return `gunicorn is installed: web serves '${m.module}' (from ${m.source}) with ${config}`;
  };
  const hasAppPy = fs.existsSync(path.join(i.appDir, 'app.py'));
  const hasAppSh = appSh(i.appDir);

  const notes: string[] = [];
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
    script = startFile(i.appDir, 'APP_SCRIPT', i.appScript);
    web = process_('web', [script], { default: true });
    rule = 'APP_SCRIPT';
    reason = `APP_SCRIPT is set: web runs '${shownScript(i.appScript)}'`;
    if (i.appFile) notes.push(`APP_FILE ('${i.appFile}') is not used: APP_SCRIPT comes first`);
  } else if (i.appFile) {
    startFile(i.appDir, 'APP_FILE', i.appFile);
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
    reason = mainModule
      ? `web runs 'python app.py' (app.py comes before main.py; /cnb/process/gunicorn serves '${mainModule.module}')`
      : i.gunicorn ? 'gunicorn is installed but no WSGI module was found; web runs \'python app.py\'' : 'web runs \'python app.py\'';
  } else if (mainModule) {
    web = gunicornProcess('web', true) as Process;
    rule = 'gunicorn';
    reason = gunicornReason(mainModule);
  } else if (hasAppSh) {
    // The s2i builder's default APP_SCRIPT, here after every rule the seed had, so no app it served changes.
    script = hasAppSh;
    web = process_('web', [script], { default: true });
    rule = 'app.sh';
    reason = 'no other rule applies and the app has app.sh: web runs \'./app.sh\'';
  } else {
    throw new BuildpackError({ type: 'dont-know-how-to-run', hasGunicorn: Boolean(i.gunicorn) });
  }
  for (const name of ['APP_SCRIPT', 'APP_FILE'] as const) {
    const value = name === 'APP_SCRIPT' ? i.appScript : i.appFile;
    if (value && (rule === 'APP_RUN' || rule === 'Procfile' || rule === '.s2i/bin/run')) notes.push(`${name} ('${value}') is not used: ${rule === 'Procfile' ? 'the Procfile\'s web' : rule} comes first`);
  }
  processes.push(web);
  if (rule !== 'gunicorn') {
    const g = gunicornProcess('gunicorn', false);
    if (g) processes.push(g);
  }
  processes.push(process_('python', [i.python]));
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
  return { processes, rule, reason, notes, ...(script ? { script } : {}), ...(rule === 'gunicorn' && module ? { served: module } : {}) };
}
