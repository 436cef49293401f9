/**
 * The contents of the local files and folders pip installs from (src/python/requirements.ts finds them), one
 * sha256 each, for the pip-deps cache key: a wheel or sdist replaced under the same name, a file added to a
 * find-links folder, or an edited local project must reinstall.
 *
 * The bytes are hashed, not sizes and modification times: after a git checkout every file has the checkout's
 * time, and an archive rebuilt from changed code often keeps its size; sources unpacked from an archive with
 * fixed times (reproducible tarballs) would even keep both. Hashing reads each byte once per build:
 * bench/local-inputs.ts measured 0.27 s (quiet) to 0.57 s (median, loaded) for a 224 MB find-links folder of
 * 90 wheels under Bun. A cache of hashes keyed by path, size and time would save that by trusting exactly the
 * two fields that fail, and a fresh workspace (a new clone) gives every file a new time anyway.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ARCHIVE, type LocalInput } from './requirements.js';

/** Files an editable project is counted by: its code is used in place, only its metadata is installed. */
const PROJECT_METADATA = ['setup.py', 'setup.cfg', 'pyproject.toml'];
/** Folders of a project tree that are not part of what pip builds. */
const SKIP_DIRS = new Set(['.git', '__pycache__', 'node_modules', '.venv', 'venv', '.tox', '.mypy_cache', '.pytest_cache']);
/** Never walked, whatever a requirement names (a project `..` of an app in /workspace is `/`). */
const SYSTEM_DIRS = new Set(['/proc', '/sys', '/dev']);
/** A tree with more files than this is not compared: the input counts as changed at every build. */
export const MAX_TREE_FILES = 50_000;

/** The prefix of the value recorded for an input that could not be compared: with a nonce, it never equals another build's. */
export const UNCOMPARABLE = 'uncomparable:';

export type InputLabelKind = 'wheel' | 'archive' | 'project' | 'editable' | 'find-links' | 'index';

/** The key of each input: `<kind>:<path>` → sha256 of its contents (or a marker: missing, uncomparable). */
export function localInputsKey(appDir: string, inputs: LocalInput[], maxTreeFiles = MAX_TREE_FILES): Record<string, string> {
  const out: Record<string, string> = {};
  for (const input of inputs) {
    const abs = path.resolve(appDir, input.path);
    const st = statOf(abs);
    const kind = labelKind(input, st);
    out[`${kind}:${input.path}`] = hashInput(abs, kind, st, maxTreeFiles);
  }
  return out;
}

function labelKind(input: LocalInput, st: fs.Stats | undefined): InputLabelKind {
  if (input.kind !== 'path') return input.kind;
  if (st?.isDirectory()) return input.editable ? 'editable' : 'project';
  return /\.whl$/i.test(input.path) ? 'wheel' : ARCHIVE.test(input.path) ? 'archive' : st?.isFile() ? 'archive' : 'project';
}

function hashInput(abs: string, kind: InputLabelKind, st: fs.Stats | undefined, maxTreeFiles: number): string {
  if (st === undefined) return 'missing';
  if (st.isFile()) return sha256File(abs);
  if (!st.isDirectory()) return 'not-a-file-or-folder';
  const h = crypto.createHash('sha256');
  const add = (rel: string): void => {
    const file = path.join(abs, rel);
    h.update(`${rel}\0`).update(statOf(file)?.isFile() ? sha256File(file) : 'missing').update('\n');
  };
  if (kind === 'editable') {
    for (const m of PROJECT_METADATA) add(m);
  } else if (kind === 'find-links') {
    // pip lists a find-links folder itself, not its subfolders (pip/_internal/index/sources.py).
    for (const name of sortedNames(abs)) if (statOf(path.join(abs, name))?.isFile()) add(name);
  } else {
    const files = walk(abs, maxTreeFiles);
    if (files === undefined) return `${UNCOMPARABLE}${crypto.randomUUID()}`;
    for (const f of files) add(f);
  }
  return h.digest('hex');
}

function statOf(p: string): fs.Stats | undefined {
  try {
    return fs.statSync(p); // follows symbolic links, as pip does
  } catch {
    return undefined;
  }
}

function sortedNames(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort(byCodeUnit);
  } catch {
    return [];
  }
}

/** Locale-independent order, so that the key is the same on every build host. */
const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** sha256 of a file's bytes, read in 1 MiB blocks; unreadable files count by the error. */
export function sha256File(file: string): string {
  const h = crypto.createHash('sha256');
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    return `unreadable:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  }
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
    }
  } catch (err) {
    return `unreadable:${(err as NodeJS.ErrnoException).code ?? 'error'}`;
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * The regular files under `root`, relative and sorted, following symbolic links (each real folder once);
 * undefined past `maxFiles`.
 */
function walk(root: string, maxFiles: number): string[] | undefined {
  const out: string[] = [];
  const seen = new Set<string>();
  const stack = [''];
  while (stack.length > 0) {
    const rel = stack.pop() as string;
    const dir = path.join(root, rel);
    let real: string;
    try {
      real = fs.realpathSync(dir);
    } catch {
      continue;
    }
    if (seen.has(real) || SYSTEM_DIRS.has(real)) continue;
    seen.add(real);
    for (const name of sortedNames(dir)) {
      const child = rel === '' ? name : `${rel}/${name}`;
      const st = statOf(path.join(root, child));
      if (st?.isDirectory()) {
        if (!SKIP_DIRS.has(name)) stack.push(child);
      } else if (st?.isFile() && !name.endsWith('.pyc')) {
        out.push(child);
        if (out.length > maxFiles) return undefined;
      }
    }
  }
  return out.sort(byCodeUnit);
}
