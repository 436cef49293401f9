/**
 * Which Python the app asks for, and who asked. First found wins:
 * BP_PYTHON_VERSION, .python-version, runtime.txt, pyproject.toml [project] requires-python, the lockfile's
 * requires-python (issue 14, item 6: uv.lock requires-python, poetry.lock python-versions, Pipfile.lock
 * python_version, pylock.toml requires-python, as src/lock/model.ts Lockfile.requiresPython), then the
 * default in buildpack.toml. Requests are PEP 440 specifiers; bare versions become prefix matches.
 */
import fs from 'node:fs';
import path from 'node:path';
import { validRange } from '@renovatebot/pep440';
import { parseToml, isTable } from '../cnb/toml.js';
import { BuildpackError } from '../failure.js';

export type VersionSource = 'BP_PYTHON_VERSION' | '.python-version' | 'runtime.txt' | 'pyproject.toml' | 'lockfile' | 'default';

export interface VersionRequest {
  /** A PEP 440 specifier set, e.g. `==3.12.*` or `>=3.10,<3.13`. */
  specifier: string;
  /** What the user wrote. */
  written: string;
  source: VersionSource;
  /** For source `lockfile`: the lockfile's app-relative path. */
  file?: string;
}

/** Where a request came from, as the log and messages name it. */
export function describeSource(request: VersionRequest): string {
  if (request.source === 'default') return 'the buildpack default';
  return request.source === 'lockfile' ? (request.file ?? 'the lockfile') : request.source;
}

const BARE_VERSION = /^(\d+)(\.\d+)?(\.\d+)?$/;

/** `3` → `==3.*`, `3.12` → `==3.12.*`, `3.12.7` → `==3.12.7`, `3.12.*` → `==3.12.*`; specifiers pass through. */
export function toSpecifier(written: string): string | undefined {
  const text = written.trim().replace(/^python-?/i, '').replace(/\s+/g, '');
  if (text === '') return undefined;
  const bare = BARE_VERSION.exec(text);
  let spec: string;
  if (bare) spec = bare[3] ? `==${text}` : `==${text}.*`;
  else if (/^\d+(\.\d+)*\.\*$/.test(text)) spec = `==${text}`;
  else if (/^\d+(\.\d+)*\.x$/i.test(text)) spec = `==${text.slice(0, -1)}*`;
  else spec = text;
  return validRange(spec) ? spec : undefined;
}

/** The first non-blank, non-comment line of .python-version. */
export function parsePythonVersionFile(text: string): string | undefined {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  return lines[0];
}

/** runtime.txt holds `python-3.6.15` (s2i and Heroku era); `3.6.15` is accepted too. */
export function parseRuntimeTxt(text: string): string | undefined {
  const m = /^\s*(?:python-)?(\d+(?:\.\d+){0,2})\s*$/i.exec(text.replace(/\r?\n/g, ' ').trim());
  return m?.[1];
}

export function parseRequiresPython(text: string): string | undefined {
  const doc = parseToml(text);
  const project = doc.project;
  if (!isTable(project)) return undefined;
  const rp = project['requires-python'];
  return typeof rp === 'string' ? rp : undefined;
}

function readIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** `fromEnv` is BP_PYTHON_VERSION (read in settings.ts). */
export function readVersionRequest(appDir: string, fromEnv: string | undefined, defaultVersion: string, lock?: { file: string; requiresPython: string | undefined }): VersionRequest {
  if (fromEnv !== undefined) return request(fromEnv, 'BP_PYTHON_VERSION');

  const pv = readIfExists(path.join(appDir, '.python-version'));
  if (pv !== undefined) {
    const line = parsePythonVersionFile(pv);
    if (line === undefined || !BARE_VERSION.test(line)) throw new BuildpackError({ type: 'bad-python-version-file', line: line ?? '' });
    return request(line, '.python-version');
  }

  const rt = readIfExists(path.join(appDir, 'runtime.txt'));
  if (rt !== undefined) {
    const v = parseRuntimeTxt(rt);
    if (v === undefined) throw new BuildpackError({ type: 'bad-runtime-txt', text: rt.trim() });
    return request(v, 'runtime.txt');
  }

  const pp = readIfExists(path.join(appDir, 'pyproject.toml'));
  if (pp !== undefined) {
    let rp: string | undefined;
    try {
      rp = parseRequiresPython(pp);
    } catch (err) {
      throw new BuildpackError({ type: 'bad-pyproject-toml', detail: err instanceof Error ? err.message : String(err) });
    }
    if (rp !== undefined) return request(rp, 'pyproject.toml');
  }
  // A lock's range that is no PEP 440 specifier (Poetry's `*`) asks for nothing: the default applies.
  const locked = lock?.requiresPython === undefined ? undefined : toSpecifier(lock.requiresPython);
  if (lock !== undefined && locked !== undefined) return { specifier: locked, written: (lock.requiresPython as string).trim(), source: 'lockfile', file: lock.file };
  return request(defaultVersion, 'default');
}

function request(written: string, source: VersionSource): VersionRequest {
  const specifier = toSpecifier(written);
  if (specifier === undefined) throw new BuildpackError({ type: 'invalid-version-request', written: written.trim(), source });
  return { specifier, written: written.trim(), source };
}
