/**
 * One model of a locked install, whatever tool wrote the lock: each reader (src/lock/<format>.ts) turns its
 * file into a `Lockfile`, whose `select` picks exactly the packages the tool's own export would install for one
 * Python and target. The install (pip-deps) and the SBOM read only this model, never a format.
 */
import type { MarkerEnvironment } from './markers.js';

/** The tools whose locks the buildpack reads; `pylock` is PEP 751's standard format (pip lock, uv, PDM...). */
export type LockTool = 'pylock' | 'uv' | 'poetry' | 'pipenv';

/** Where a locked package's files come from. */
export type LockSource =
  /** A package index (PEP 503/691); `url` is the index the lock names, when it names one. */
  | { kind: 'index'; url: string | undefined }
  /** An archive at a direct URL (PEP 440 direct reference), hash-checked like an index file. */
  | { kind: 'url'; url: string; subdirectory?: string }
  /** A git repository at a locked commit: pinned by commit, not by hash. */
  | { kind: 'git'; url: string; commit: string; subdirectory?: string }
  /** A file or folder in the app (app-relative, POSIX separators); `editable`: installed in place. */
  | { kind: 'path'; path: string; editable: boolean }
  /** The app itself (uv's project package, Poetry's root project): installed with --no-deps after the rest. */
  | { kind: 'app'; path: string; editable: boolean };

/** One file of a locked package: a wheel, an sdist or an archive, with its hashes. */
export interface LockedArtifact {
  /**
   * The file's name as the index lists it (`flask-3.1.0-py3-none-any.whl`); undefined when the lock lists a
   * package's hashes without their files (Pipfile.lock), so which file fits the target is pip's to find.
   */
  filename: string | undefined;
  /** Where to fetch it, when the lock says; registry files may carry only a name. */
  url: string | undefined;
  /** Hashes by algorithm, lower-case hex: `{ sha256: '…' }`. */
  hashes: Record<string, string>;
}

/** One package of the selected set. */
export interface LockedPackage {
  /** The PEP 503 normalized name (`flask`, `typing-extensions`). */
  name: string;
  /** The locked version; undefined only for git, path and app sources that lock none. */
  version: string | undefined;
  source: LockSource;
  /** Every file the lock lists for this version; the install lets pip pick the one for the target. */
  artifacts: LockedArtifact[];
}

/** What to select: the target the image runs on and the optional parts the user asked for. */
export interface SelectionRequest {
  env: MarkerEnvironment;
  /** Dependency groups (PEP 735, Poetry groups, Pipfile categories) to add to the production set. */
  groups: readonly string[];
  /** Extras of the app's own package to add. */
  extras: readonly string[];
}

/** A lockfile read into the model. */
export interface Lockfile {
  tool: LockTool;
  /** App-relative path of the file. */
  file: string;
  /** The Python versions the lock was made for (PEP 440 specifier), when it says. */
  requiresPython: string | undefined;
  /** Index URLs the lock names, in its order (the first is the default index). */
  indexes: string[];
  /**
   * The tool's names of those indexes, by indexKey(url): Pipenv's and Poetry's source names, uv's
   * `[[tool.uv.index]]` names. The tools find an index's credentials by its name (src/lock/index-credentials.ts).
   */
  indexNames: ReadonlyMap<string, string>;
  /** The packages to install for this request, in a stable order (by name). */
  select(request: SelectionRequest): LockedPackage[];
}

/**
 * An index URL as the tools' names for indexes are looked up: without credentials and trailing slashes, the scheme
 * and host in lower case and a default port left out (WHATWG URL), so that `https://Host:443/simple/` and
 * `https://host/simple` are one index. A URL that does not parse (a Pipfile source with `${HOST}`) only loses its
 * trailing slashes.
 */
export function indexKey(url: string): string {
  let key = url;
  try {
    const u = new URL(url);
    key = `${u.protocol}//${u.host}${u.pathname}${u.search}`;
  } catch {
    // not a URL as it stands
  }
  return key.replace(/\/+$/, '');
}
