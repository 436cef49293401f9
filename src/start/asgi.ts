/**
 * A cheap, textual guess at whether the app Gunicorn serves is an ASGI app (ASGI spec:
 * https://asgi.readthedocs.io/en/latest/specs/main.html) while Gunicorn runs its default sync worker, which
 * calls it as WSGI (PEP 3333) so that every request fails. Nothing is imported; only these are read:
 *
 * - the module's own source file (a package's __init__.py), its code without comments and docstrings: an
 *   import of fastapi, starlette, quart, litestar or django.core.asgi, or
 *   `async def <callable>(scope, receive, send)`; a module that uses a2wsgi (which wraps an ASGI app as WSGI)
 *   is taken as WSGI;
 * - the worker class: `-k`/`--worker-class` in GUNICORN_CMD_ARGS (which Gunicorn lets override the config
 *   file), else `worker_class = ...` in the app's own config. Any class naming uvicorn counts as ASGI-capable;
 *   a value that is not a plain string (read from the environment, say) is trusted, since it cannot be read
 *   at build. The buildpack's fallback config sets none: Gunicorn's default is the sync worker.
 *
 * It leads to a warning, and keeps a main.py that looks like ASGI from being served by the sync worker
 * (src/start/web-process.ts mainPyModule): a wrong guess costs a line in the log, or leaves main.py to the
 * ASGI rules.
 */
import { pythonCode } from './asgi-app.js';

const ASGI_IMPORT = /^[ \t]*(?:from|import)[ \t]+(fastapi|starlette|quart|litestar|django\.core\.asgi)\b/m;

/** What makes the module look like an ASGI app (for the warning), or undefined. */
export function asgiEvidence(source: string, callable: string): string | undefined {
  // Without comments and docstring text, as asgi-app.ts reads a module: an example in a docstring is not code.
  const code = pythonCode(source);
  if (/\ba2wsgi\b/.test(code)) return undefined;
  const imported = ASGI_IMPORT.exec(code);
  if (imported) return `imports ${imported[1]}`;
  const fn = /^[ \t]*async[ \t]+def[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]*\([ \t]*scope[ \t]*,[ \t]*receive[ \t]*,[ \t]*send[ \t]*\)/m.exec(code);
  if (fn && fn[1] === callable) return `defines async def ${callable}(scope, receive, send)`;
  return undefined;
}

/**
 * Whether Gunicorn will run an ASGI-capable worker: from GUNICORN_CMD_ARGS, else the app's config text
 * (undefined: the buildpack's fallback config, which sets no worker class).
 */
export function asgiWorkerConfigured(cmdArgs: string | undefined, configText: string | undefined): boolean {
  const fromArgs = cmdArgs ? /(?:^|\s)(?:-k|--worker-class)(?:=|\s+)(\S+)/.exec(cmdArgs) : null;
  if (fromArgs?.[1]) return /uvicorn/i.test(fromArgs[1]);
  if (configText === undefined) return false;
  const set = /^worker_class[ \t]*=[ \t]*(.+)$/m.exec(withoutComments(configText));
  if (!set?.[1]) return false;
  const value = set[1].replace(/[ \t]+#.*$/, '').trim();
  if (/uvicorn/i.test(value)) return true;
  // A plain string literal names a class we can read (sync, gevent, ...); anything else is decided at start.
  return !/^(['"])[^'"]*\1$/.test(value);
}

/**
 * Whether the app's own Gunicorn settings choose the worker class: `-k`/`--worker-class` in GUNICORN_CMD_ARGS
 * (as the build sees it), or `worker_class = ...` in its config. The buildpack then adds none of its own.
 */
export function workerClassNamed(cmdArgs: string | undefined, configText: string | undefined): boolean {
  if (cmdArgs && /(?:^|\s)(?:-k|--worker-class)(?:=|\s|$)/.test(cmdArgs)) return true;
  return configText !== undefined && /^worker_class[ \t]*=/m.test(withoutComments(configText));
}

function withoutComments(text: string): string {
  return text.replace(/^[ \t]*#.*$/gm, '');
}
