/**
 * Starting a Django project (https://docs.djangoproject.com/en/stable/howto/deployment/wsgi/): the layout
 * `django-admin startproject mysite .` writes has manage.py at the top and the WSGI module inside the project
 * package (mysite/wsgi.py), with no wsgi.py at the top. manage.py names the settings module
 * (`os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')`), and the WSGI module sits in the same
 * package. Both are read as text; nothing of the app runs at build.
 *
 * The rest follows OpenShift's s2i run script (sclorg/s2i-python-container s2i/bin/run): it looks for
 * ./manage.py where the processes start (APP_HOME), runs `manage.py migrate --noinput` before Gunicorn or
 * runserver unless DISABLE_MIGRATE is set, and serves a project Gunicorn cannot serve with
 * `manage.py runserver 0.0.0.0:$PORT`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { process_, type Process } from '../cnb/launch.js';
import { locateAppFile } from './app-file.js';

/** manage.py where the processes start, when it is a file of the app. */
export function managePyIn(appDir: string, dir: string): string | undefined {
  const found = locateAppFile(appDir, path.join(dir, 'manage.py'));
  return found.kind === 'file' ? found.file : undefined;
}

/**
 * The settings module manage.py sets: `os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'x.settings')` (what
 * startproject writes) or `os.environ['DJANGO_SETTINGS_MODULE'] = 'x.settings'`, outside comments.
 */
export function settingsModule(managePyText: string): string | undefined {
  const code = managePyText.replace(/^[ \t]*#.*$/gm, '');
  const m = /DJANGO_SETTINGS_MODULE['"][ \t]*(?:,|\][ \t]*=)[ \t]*['"]([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)['"]/.exec(code);
  return m?.[1];
}

/**
 * The project's WSGI module, from the settings module manage.py names: `wsgi` in the settings' package, or in
 * a package above it (`config.settings.production` → `config.settings.wsgi`, then `config.wsgi`), the first
 * whose file exists in `dir`. Undefined when manage.py names none, or no such file exists.
 */
export function djangoWsgiModule(appDir: string, dir: string): { module: string; source: string } | undefined {
  const manage = managePyIn(appDir, dir);
  if (!manage) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(manage, 'utf8');
  } catch {
    return undefined;
  }
  const settings = settingsModule(text);
  if (!settings) return undefined;
  const parts = settings.split('.');
  for (let n = parts.length - 1; n >= 1; n--) {
    const pkg = parts.slice(0, n);
    if (locateAppFile(appDir, path.join(dir, ...pkg, 'wsgi.py')).kind === 'file') {
      return { module: [...pkg, 'wsgi'].join('.'), source: `DJANGO_SETTINGS_MODULE '${settings}' in manage.py` };
    }
  }
  return undefined;
}

/**
 * web as the s2i builder's last resort: Django's development server on 0.0.0.0:$PORT. /bin/sh expands PORT at
 * start and execs Python, so Python is PID 1; Django's autoreloader, on by default as in s2i, exits on SIGTERM.
 */
export function runserverProcess(python: string): Process {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, expanded by /bin/sh at start
  return process_('web', ['/bin/sh', '-c', 'exec "$@" "0.0.0.0:${PORT:-8080}"', 'sh', python, 'manage.py', 'runserver'], { default: true });
}

/** The `migrate` process, for a release job or an init container: `python manage.py migrate --noinput`. */
export function migrateProcess(python: string): Process {
  return process_('migrate', [python, 'manage.py', 'migrate', '--noinput']);
}

/**
 * `web` that runs `python manage.py migrate --noinput` first and, when it succeeds, execs the server (so the
 * server is PID 1 and gets SIGTERM); a failed migration stops the start, as `set -e` does in s2i's run script.
 * Default arguments stay arguments, after the command, so a user's arguments still replace them.
 */
export function migrateFirst(web: Process, python: string): Process {
  return process_(web.type, ['/bin/sh', '-c', '"$1" manage.py migrate --noinput || exit; shift; exec "$@"', 'sh', python, ...web.command], {
    args: web.args,
    default: web.default,
    ...(web.workingDir !== undefined ? { workingDir: web.workingDir } : {}),
  });
}
