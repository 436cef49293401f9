/**
 * What the source of a Python file says about how to serve it, read as text at build, never imported (the
 * app's code may need settings and secrets the build does not have):
 *
 * - `asgiApp`: the ASGI callable (ASGI spec, https://asgi.readthedocs.io/en/latest/specs/main.html) the module
 *   creates at its top level: `NAME = FastAPI(...)`, `Starlette(...)`, `Quart(...)`, `Litestar(...)`, Django's
 *   `get_asgi_application()` or Channels' `ProtocolTypeRouter(...)` (a module prefix such as `fastapi.` is
 *   fine, and so is an annotation, `app: FastAPI = FastAPI()`), or `async def NAME(scope, receive, send)`.
 *   Only unindented statements count: an app made inside a function or an `if` is not seen, and the kind
 *   then stays unknown, which means WSGI.
 * - `runsItself`: an unindented `if __name__ == "__main__":`, or an unindented call that starts a server or an
 *   event loop (`uvicorn.run(app)`, `app.run()`, `asyncio.run(main())`), so that `python file.py` does more
 *   than define the app (and importing it would start a server of its own).
 * - `uvicornRunObject`: a call of `uvicorn.run()` whose app is an object rather than an import string.
 *
 * Comments and the text of triple-quoted strings (docstrings) are left out first, so `# app = FastAPI()` or an
 * example in a docstring is not taken for code. A one-line string is kept as written (it is never at the
 * start of a line, where the patterns look, except as a statement of its own, which they do not match).
 */
import fs from 'node:fs';
import path from 'node:path';
import { locateAppFile } from './app-file.js';

export interface AsgiApp {
  /** The name the app is bound to in its module: what `MODULE:NAME` serves. */
  callable: string;
  /** The statement that was read, for the log: `app = FastAPI(...)`, `async def app(scope, receive, send)`. */
  found: string;
}

/** Constructors of ASGI apps, by the framework that defines them. */
const CONSTRUCTORS = ['FastAPI', 'Starlette', 'Quart', 'Litestar', 'get_asgi_application', 'ProtocolTypeRouter'];

const ASSIGNED = new RegExp(
  // NAME [: annotation] = [pkg.mod.]Constructor(   — at the start of a line, `=` not part of `==`
  `^([A-Za-z_][A-Za-z0-9_]*)[ \\t]*(?::[^=\\n]*)?=(?!=)[ \\t]*(?:[A-Za-z_][A-Za-z0-9_]*[ \\t]*\\.[ \\t]*)*(${CONSTRUCTORS.join('|')})[ \\t]*\\(`,
  'gm',
);
const ASGI_FUNCTION = /^async[ \t]+def[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]*\([ \t]*scope[ \t]*,[ \t]*receive[ \t]*,[ \t]*send[ \t]*\)/gm;

/**
 * The ASGI app the source defines at its top level: the one bound to `callable` when given (as in
 * `MODULE:CALLABLE`), else the first one.
 */
export function asgiApp(source: string, callable?: string): AsgiApp | undefined {
  const code = pythonCode(source);
  const found: Array<AsgiApp & { at: number }> = [];
  for (const m of code.matchAll(ASSIGNED)) found.push({ callable: m[1] as string, found: `${m[1]} = ${m[2]}(...)`, at: m.index });
  for (const m of code.matchAll(ASGI_FUNCTION)) found.push({ callable: m[1] as string, found: `async def ${m[1]}(scope, receive, send)`, at: m.index });
  found.sort((a, b) => a.at - b.at);
  const app = callable === undefined ? found[0] : found.find((f) => f.callable === callable);
  return app ? { callable: app.callable, found: app.found } : undefined;
}

/**
 * Whether running the file does more than define its app: a top-level `if __name__ == '__main__':` block
 * (either operand order, parentheses allowed), or a top-level call of something named `run`, `run_app`,
 * `run_simple` or `serve` (`uvicorn.run(app)`, `app.run()`, `asyncio.run(main())`, `web.run_app(app)`), which
 * would also run if a server imported the file. Such a file is run, as the seed ran it, not served.
 */
export function runsItself(source: string): boolean {
  const code = pythonCode(source);
  return (
    /^if[ \t(]+(?:__name__[ \t]*==[ \t]*(['"])__main__\1|(['"])__main__\2[ \t]*==[ \t]*__name__)[ \t)]*:/m.test(code) ||
    /^(?:[A-Za-z_][A-Za-z0-9_]*[ \t]*\.[ \t]*)*(?:run|run_app|run_simple|serve)[ \t]*\(/m.test(code)
  );
}

/**
 * The app argument of a `uvicorn.run(...)` call that passes an object (`uvicorn.run(app, ...)`,
 * `uvicorn.run(app=app)`), as written; undefined when every call passes an import string
 * (`uvicorn.run("main:app")`) or there is none. The call may be written `uvicorn.run`, `<alias>.run` after
 * `import uvicorn as <alias>`, or `run`/`<alias>` after `from uvicorn import run [as <alias>]`.
 */
export function uvicornRunObject(source: string): string | undefined {
  const code = pythonCode(source);
  const callees = ['uvicorn\\s*\\.\\s*run'];
  for (const m of code.matchAll(/^[ \t]*import[ \t]+([^\n]*)/gm)) {
    for (const part of (m[1] as string).split(',')) {
      const alias = /^\s*uvicorn\s+as\s+([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(part)?.[1];
      if (alias) callees.push(`${alias}\\s*\\.\\s*run`);
    }
  }
  for (const m of code.matchAll(/^[ \t]*from[ \t]+uvicorn[ \t]+import[ \t]+(?:\(([^)]*)\)|([^\n]*))/gm)) {
    for (const part of (m[1] ?? m[2] ?? '').split(',')) {
      const name = /^\s*run(?:\s+as\s+([A-Za-z_][A-Za-z0-9_]*))?\s*$/.exec(part);
      if (name) callees.push(name[1] ?? 'run');
    }
  }
  const call = new RegExp(`(?<![A-Za-z0-9_.])(?:${callees.join('|')})\\s*\\(\\s*(?:app\\s*=(?!=)\\s*)?`, 'g');
  for (const m of code.matchAll(call)) {
    const rest = code.slice(m.index + m[0].length);
    // An import string: a literal with an optional prefix (r, f, u, b...). `*args`, `**kwargs`, `)` or another
    // keyword first: not known.
    if (/^[A-Za-z]{0,2}['"]/.test(rest) || /^[*)]/.test(rest) || /^[A-Za-z_][A-Za-z0-9_]*\s*=(?!=)/.test(rest)) continue;
    const arg = /^[A-Za-z_][A-Za-z0-9_.]*(?:\([^()\n]*\))?/.exec(rest)?.[0];
    if (arg) return arg;
  }
  return undefined;
}

/**
 * Python source without its comments and without the text of triple-quoted strings (their quotes and line
 * breaks stay, so lines keep their numbers and an indented line stays indented). Strings are scanned as
 * Python's tokenizer does (https://docs.python.org/3/reference/lexical_analysis.html#string-and-bytes-literals):
 * a backslash escapes the next character, even in a raw string, and a one-quote string ends at its line.
 */
export function pythonCode(source: string): string {
  const out: string[] = [];
  const special = /[#'"]/g;
  let i = 0;
  for (;;) {
    special.lastIndex = i;
    const m = special.exec(source);
    if (!m) break;
    out.push(source.slice(i, m.index));
    i = m.index;
    const c = m[0];
    if (c === '#') {
      const end = source.indexOf('\n', i);
      i = end < 0 ? source.length : end;
      continue;
    }
    const quote = source.startsWith(c.repeat(3), i) ? c.repeat(3) : c;
    const triple = quote.length === 3;
    let j = i + quote.length;
    while (j < source.length && !source.startsWith(quote, j) && (triple || source[j] !== '\n')) j += source[j] === '\\' ? 2 : 1;
    const body = source.slice(i + quote.length, Math.min(j, source.length));
    out.push(quote, triple ? body.replace(/[^\n]/g, '') : body);
    if (source.startsWith(quote, j)) {
      out.push(quote);
      j += quote.length;
    }
    i = j;
  }
  out.push(source.slice(i));
  return out.join('');
}

/** Reads at most this much of a file: more than any module that defines an app at its top. */
const MAX_SOURCE = 1024 * 1024;

/** The text of a file (its first MiB), or undefined when it cannot be read. */
export function readSource(file: string): string | undefined {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(Math.min(MAX_SOURCE, fs.fstatSync(fd).size));
      return buf.toString('utf8', 0, fs.readSync(fd, buf, 0, buf.length, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/**
 * The source of a dotted module when it is a file of the app: `a.b` is `a/b/__init__.py` or `a/b.py` under the
 * first of `dirs` (folders of the app, the app directory when not given) that has one, the places Python looks
 * first: the folder the server starts in is first on sys.path under Gunicorn and uvicorn, and with APP_HOME the
 * app's top folder follows it through PYTHONPATH. A module found only among the installed packages is not
 * read: its kind stays unknown.
 */
export function appModuleSource(appDir: string, module: string, dirs: string[] = [appDir]): string | undefined {
  const parts = module.split('.');
  if (!parts.every((p) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(p))) return undefined;
  for (const dir of dirs) {
    // A package before a module of the same name, as Python's path finder looks.
    for (const rel of [path.join(...parts, '__init__.py'), `${path.join(...parts)}.py`]) {
      const found = locateAppFile(appDir, path.join(dir, rel));
      if (found.kind === 'file') return readSource(found.file);
    }
  }
  return undefined;
}
