/**
 * The module Gunicorn serves must be importable, or every request fails at run time. Gunicorn imports the
 * module part of `MODULE:CALLABLE` (gunicorn/util.py import_app) with the app directory first on sys.path
 * (its `chdir`, the working directory), then the installed packages. The build asks the app's own Python
 * where that module is, without importing it: the app's code (its settings may need secrets the build does
 * not have) never runs. Python's path finders look for `a/b.py` or `a/b/__init__.py` (or a namespace
 * folder) under each sys.path entry (https://docs.python.org/3/reference/import.html#path-entry-finders),
 * so a package in src/ counts only when the app is installed as a project (pip puts src/ on the path, or
 * the package into site-packages), as it does for Gunicorn.
 */
import path from 'node:path';
import type { Env } from '../cnb/env.js';
import type { Executor } from '../deps.js';

/** `MODULE[:CALLABLE]` split as Gunicorn splits it; the callable defaults to `application`. */
export function splitAppModule(value: string): { module: string; callable: string } {
  const i = value.indexOf(':');
  if (i < 0) return { module: value, callable: 'application' };
  // Gunicorn 20.1+ also takes a factory call, `create_app()`: the name is what precedes the parenthesis.
  const callable = value.slice(i + 1).trim();
  return { module: value.slice(0, i).trim(), callable: /^[^(\s]*/.exec(callable)?.[0] ?? callable };
}

/**
 * Finds a dotted module without importing it (finding a submodule never runs its package's __init__):
 * importlib's finders on Python 3, imp.find_module on 2.7. Prints one JSON line.
 */
const FIND_MODULE_PY = `
import json, os, sys
sys.path.insert(0, os.getcwd())
prefixes = set(os.path.realpath(p) for p in (sys.prefix, getattr(sys, 'base_prefix', sys.prefix), sys.exec_prefix))
def searched(path):
    out = []
    for p in (path if path is not None else sys.path):
        p = os.path.realpath(p or '.')
        if os.path.isdir(p) and not any(p == x or p.startswith(x + os.sep) for x in prefixes) and p not in out:
            out.append(p)
    return out
try:
    import importlib.util, importlib.machinery
    def find(full, part, path):
        try:
            spec = importlib.util.find_spec(full) if path is None else importlib.machinery.PathFinder.find_spec(full, path)
        except (ImportError, ValueError):
            return None
        if spec is None:
            return None
        locs = spec.submodule_search_locations
        return (spec.origin if spec.has_location else None, list(locs) if locs is not None else None)
except ImportError:
    import imp
    def find(full, part, path):
        try:
            f, pathname, desc = imp.find_module(part, path)
        except ImportError:
            return None
        if f:
            f.close()
        if desc[2] == imp.PKG_DIRECTORY:
            return (os.path.join(pathname, '__init__.py'), [pathname])
        return (pathname, None)
def main(name):
    parts = name.split('.')
    path = None
    origin = None
    for i in range(len(parts)):
        full = '.'.join(parts[:i + 1])
        if i > 0 and path is None:
            return {'found': False, 'missing': full, 'searched': [], 'parentModule': origin}
        found = None if parts[i] == '' else find(full, parts[i], path)
        if found is None:
            return {'found': False, 'missing': full, 'searched': searched(path), 'parentModule': None}
        origin, path = found
    return {'found': True, 'file': origin}
print(json.dumps(main(sys.argv[1])))
`;

export type ModuleLookup =
  /** `file`: its source (a package's __init__.py), undefined for a namespace package. */
  | { kind: 'found'; file: string | undefined }
  /**
   * `missing`: the first dotted prefix not found; `searched`: the folders looked in (the app dir and installed
   * packages, not Python's standard library); `parentModule`: the file of the parent when it is a plain module
   * rather than a package (so it has no submodules).
   */
  | { kind: 'missing'; missing: string; searched: string[]; parentModule: string | undefined }
  /** The lookup itself could not run: the check is skipped. */
  | { kind: 'unknown'; reason: string };

/** `cwd`: where Gunicorn starts (APP_HOME), the app when not given. */
export async function findModule(opts: { module: string; appDir: string; cwd?: string; python: string; env: Env; exec: Executor }): Promise<ModuleLookup> {
  const outcome = await opts.exec.capture({
    command: opts.python,
    args: ['-c', FIND_MODULE_PY, opts.module],
    cwd: opts.cwd ?? opts.appDir,
    env: { ...opts.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  if (outcome.kind === 'io') return { kind: 'unknown', reason: outcome.message };
  if (outcome.kind === 'exit') return { kind: 'unknown', reason: `exit status ${outcome.status}: ${outcome.output.trim().split('\n').slice(-1)[0] ?? ''}` };
  // The last line: site customisations may print before it.
  const line = outcome.output.trim().split('\n').slice(-1)[0] ?? '';
  try {
    const r = JSON.parse(line) as { found: boolean; file?: string | null; missing?: string; searched?: string[]; parentModule?: string | null };
    if (r.found) return { kind: 'found', file: r.file ?? undefined };
    return { kind: 'missing', missing: r.missing ?? opts.module, searched: r.searched ?? [], parentModule: r.parentModule ?? undefined };
  } catch {
    return { kind: 'unknown', reason: `unexpected output: ${line.slice(0, 200)}` };
  }
}

/** How a lookup miss is reported: the files looked for and where, app-relative inside the app. */
export function describeMiss(appDir: string, miss: { missing: string; searched: string[]; parentModule: string | undefined }): { files: string[]; lookedIn: string[] } {
  const show = (p: string): string => {
    const rel = path.relative(appDir, p);
    if (rel === '') return 'the app directory';
    return rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel) ? p : rel;
  };
  const asPath = miss.missing.split('.').join('/');
  const candidates = (base: string): string[] => [`${base}.py`, `${base}/__init__.py`];
  if (miss.parentModule !== undefined) {
    // `a.b` where a is a plain module (a.py): b would have to be in a package a/ next to it.
    return { files: candidates(asPath), lookedIn: [show(path.dirname(miss.parentModule))] };
  }
  if (!miss.missing.includes('.')) return { files: candidates(asPath), lookedIn: miss.searched.map(show) };
  // Below a package: the files in the package's own folder(s), which is where Python looked.
  const last = miss.missing.slice(miss.missing.lastIndexOf('.') + 1);
  const inDir = (d: string): string => (show(d) === 'the app directory' ? last : `${show(d)}/${last}`);
  return { files: miss.searched.flatMap((d) => candidates(inDir(d))), lookedIn: [] };
}
