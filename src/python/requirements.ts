/**
 * What a pip install reads from the file system, for the pip-deps cache key: the requirement files and the
 * files they include (-r, -c), and every local file or folder pip can install from: a wheel or sdist named
 * by path or `file:` URL, a project folder (`./lib`, `-e .`), a find-links folder (-f, --find-links,
 * PIP_FIND_LINKS) and a `file:` package index. Their contents are hashed in src/python/local-inputs.ts.
 *
 * Paths are resolved as pip resolves them (pip/_internal/req/req_file.py and req/constructors.py): -r and -c
 * relative to the file that names them; requirement paths, editables and `file:` URLs relative to pip's working
 * directory (the app); a find-links path relative to its requirements file when it exists there, else to the
 * working directory.
 *
 * Reading the files also checks them before pip runs, where pip would stop with a bare `ERROR: Exception:`: an
 * include cycle (pip recurses until RecursionError), a file that is not in its encoding (UnicodeDecodeError),
 * and an include that exists but is a folder or cannot be read.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BuildpackError } from '../failure.js';
import { decodeRequirementBytes } from './requirement-encoding.js';

/**
 * A local input: `path` is app-relative, or absolute when it is outside the app. `path` is a requirement
 * naming a file or folder (`editable`: `-e`, counted by its metadata files, since its code is used in place).
 */
export type LocalInput =
  | { kind: 'path'; path: string; editable: boolean }
  | { kind: 'find-links'; path: string }
  | { kind: 'index'; path: string };

export interface RequirementInputs {
  /** Requirement and constraint files, app-relative (absolute outside the app), in the order found. */
  files: string[];
  local: LocalInput[];
}

/** A logical line (comments removed, backslash continuations joined) and the line it starts on, from 1. */
export interface NumberedLine {
  line: number;
  text: string;
}

/**
 * The line without its comment: pip's COMMENT_RE, `(^|\s+)#.*$` (pip/_internal/req/req_file.py), cuts at the
 * first '#' at the start or after whitespace. A scan, not that regex: `(^|\s+)#` retries `\s+` from every
 * position of a run of spaces, quadratic on a long line (64 KB of spaces took 6 s).
 */
function withoutComment(line: string): string {
  for (let i = line.indexOf('#'); i !== -1; i = line.indexOf('#', i + 1)) {
    if (i === 0 || /\s/.test(line.charAt(i - 1))) return line.slice(0, i);
  }
  return line;
}

/**
 * The text without trailing extras, `name[a,b]` → `name`: a final ']' and the first '[' after the ']' before
 * it, as `/\[[^\]]+\]$/` matches, by two index searches (that regex retries from every '[': quadratic on a run
 * of them).
 */
function withoutExtras(text: string): string {
  if (!text.endsWith(']')) return text;
  const open = text.indexOf('[', text.lastIndexOf(']', text.length - 2) + 1);
  return open >= 0 && open < text.length - 2 ? text.slice(0, open) : text;
}

/** Python's str.splitlines() boundaries, where pip splits the file (some are control characters). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: \x1c-\x1e are line boundaries to str.splitlines(), so pip's line numbers count them
const LINE_BREAKS = /\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]/;

/** Logical lines, numbered as pip numbers them (a continued line by its first physical line). */
export function numberedLines(text: string): NumberedLine[] {
  const out: NumberedLine[] = [];
  let pending: string[] = [];
  let first = 0;
  text.split(LINE_BREAKS).forEach((raw, i) => {
    const comment = /^\s*#/.test(raw);
    if (raw.endsWith('\\') && !comment) {
      if (pending.length === 0) first = i + 1;
      pending.push(raw.slice(0, -1));
      return;
    }
    // pip puts a space before a comment line that ends a continuation, so that it is still a comment.
    const joined = pending.length > 0 ? pending.join('') + (comment ? ` ${raw}` : raw) : raw;
    out.push({ line: pending.length > 0 ? first : i + 1, text: joined });
    pending = [];
  });
  if (pending.length > 0) out.push({ line: first, text: pending.join('') });
  return out.map((l) => ({ line: l.line, text: withoutComment(l.text).trim() })).filter((l) => l.text !== '');
}

/** Logical lines without their numbers. */
export function logicalLines(text: string): string[] {
  return numberedLines(text).map((l) => l.text);
}

/** What one line refers to; paths are as written (resolved by collectRequirementInputs). */
export type LineRef =
  | { kind: 'include'; file: string; constraint: boolean }
  | { kind: 'path'; target: string; editable: boolean }
  | { kind: 'find-links'; target: string }
  | { kind: 'index'; target: string };

/** Options of a requirements file that take a value (pip's req_file SUPPORTED_OPTIONS and per-line options). */
const VALUE_OPTIONS: Record<string, LineRef['kind'] | 'constraint' | 'editable' | 'other'> = {
  '-r': 'include', '--requirement': 'include',
  '-c': 'constraint', '--constraint': 'constraint',
  '-e': 'editable', '--editable': 'editable',
  '-f': 'find-links', '--find-links': 'find-links',
  '-i': 'index', '--index-url': 'index', '--extra-index-url': 'index',
  '--trusted-host': 'other', '--use-feature': 'other', '--only-binary': 'other', '--no-binary': 'other',
  '--hash': 'other', '--config-settings': 'other', '--global-option': 'other', '--install-option': 'other',
};

/** Wheels and the archives pip accepts as sdists (pip/_internal/utils/filetypes.py). */
export const ARCHIVE = /\.(whl|zip|tar|tar\.gz|tgz|tar\.bz2|tbz|tar\.xz|txz|tlz|tar\.lz|tar\.lzma)$/i;

/** The includes and local paths one logical line refers to. */
export function parseLine(line: string): LineRef[] {
  if (line.startsWith('-')) return parseOptions(shellWords(line));
  // A requirement: the words before the first option (pip's break_args_options), without environment markers.
  const words = line.split(' ');
  const cut = words.findIndex((w) => w.startsWith('-'));
  const req = (cut < 0 ? words : words.slice(0, cut)).join(' ').trim();
  const target = requirementPath(req);
  return target === undefined ? [] : [{ kind: 'path', target, editable: false }];
}

function parseOptions(tokens: string[]): LineRef[] {
  const refs: LineRef[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i] as string;
    let name = tok;
    let value: string | undefined;
    if (tok.startsWith('--')) {
      const eq = tok.indexOf('=');
      if (eq > 0) [name, value] = [tok.slice(0, eq), tok.slice(eq + 1)];
    } else if (tok.length > 2) [name, value] = [tok.slice(0, 2), tok.slice(2)];
    const kind = VALUE_OPTIONS[name];
    if (kind === undefined) continue;
    if (value === undefined) value = tokens[++i];
    if (value === undefined || value === '') continue;
    if (kind === 'include' || kind === 'constraint') refs.push({ kind: 'include', file: value, constraint: kind === 'constraint' });
    else if (kind === 'editable') {
      const local = value.startsWith('file:') ? fileUrlPath(value) : isRemote(value) ? undefined : withoutExtras(value);
      if (local !== undefined) refs.push({ kind: 'path', target: local.replace(/#.*$/, ''), editable: true });
    } else if (kind === 'find-links') {
      if (!isRemote(value)) refs.push({ kind: 'find-links', target: value });
    } else if (kind === 'index') {
      const local = value.startsWith('file:') ? fileUrlPath(value) : undefined;
      if (local !== undefined) refs.push({ kind: 'index', target: local });
    }
  }
  return refs;
}

/** A URL pip fetches (http, https, a VCS scheme): nothing on this file system to hash. */
function isRemote(value: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value) && !value.startsWith('file:');
}

/**
 * The local path a requirement names, if any: a `file:` URL (alone or after `name @`), or a string pip takes
 * for a path (a '/' in it, a leading '.', or an archive name) rather than a project name.
 */
export function requirementPath(req: string): string | undefined {
  // `\s*(?:(\[…\])\s*)?@`, not `\s*(\[…\])?\s*@`: two `\s*` side by side split a run of spaces every way.
  const url = /^[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:(\[[^\]]*\])\s*)?@\s*(\S+)/.exec(req)?.[2] ?? (req.startsWith('file:') ? req.split('; ')[0]?.trim() : undefined);
  if (url !== undefined) return url.startsWith('file:') ? fileUrlPath(url) : undefined;
  const spec = withoutExtras((req.split(';')[0] ?? '').trim());
  if (spec === '' || isRemote(spec) || /^(git|hg|svn|bzr)\+/i.test(spec)) return undefined;
  return spec.includes('/') || spec.startsWith('.') || ARCHIVE.test(spec) ? spec : undefined;
}

/** The path of a `file:` URL (pip's url_to_path): `file:///x` and `file://localhost/x` are absolute, `file:x` relative. */
export function fileUrlPath(url: string): string | undefined {
  const bare = url.replace(/[#?].*$/, '').slice('file:'.length);
  let p: string;
  if (bare.startsWith('//')) {
    const slash = bare.indexOf('/', 2);
    const host = bare.slice(2, slash < 0 ? undefined : slash);
    if (host !== '' && host !== 'localhost') return undefined; // a network share
    p = slash < 0 ? '/' : bare.slice(slash);
  } else p = bare;
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

/** POSIX shell words (pip splits option lines with shlex.split): quotes and backslashes. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      [cur, inWord] = ['', false];
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      cur += line.slice(i + 1, end < 0 ? undefined : end);
      i = end < 0 ? line.length : end;
      inWord = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && '"\\$`'.includes(line[j + 1] ?? '')) j++;
        cur += line[j];
      }
      i = j;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** A path as shown and keyed: app-relative inside the app ('.' for the app), absolute outside it. */
export function appPath(appDir: string, abs: string): string {
  const rel = path.relative(appDir, abs);
  if (rel === '') return '.';
  return rel.startsWith('..') || path.isAbsolute(rel) ? abs : rel;
}

/** Where an include was named: the file (as shown), its line and the line's text. */
interface Origin {
  file: string;
  line: number;
  text: string;
}

/**
 * Reads the requirement files `roots` (relative to the app, as pip's command line names them) and everything
 * they include, and lists the local inputs they and the PIP_* variables name. Throws a BuildpackError for an
 * include that is missing, unreadable or a folder, an include cycle, and a file pip could not decode.
 */
export function collectRequirementInputs(appDir: string, roots: string[], pipVariables: Record<string, string> = {}): RequirementInputs {
  const files: string[] = [];
  const local: LocalInput[] = [];
  const seenLocal = new Set<string>();
  const addLocal = (input: LocalInput): void => {
    const id = JSON.stringify(input);
    if (!seenLocal.has(id)) [seenLocal.add(id), local.push(input)];
  };
  const done = new Set<string>();
  /** The chain of files being read, for cycles: real path and name as shown. */
  const stack: Array<{ real: string; shown: string }> = [];
  const fromCwd = (p: string): string => path.resolve(appDir, p);

  const visit = (abs: string, from: Origin | undefined): void => {
    const shown = appPath(appDir, abs);
    const real = realPath(abs);
    const open = stack.findIndex((s) => s.real === real);
    if (open >= 0 && from !== undefined) {
      throw new BuildpackError({ type: 'requirement-include-cycle', files: [...stack.slice(open).map((s) => s.shown), shown], line: from.line, text: from.text });
    }
    if (done.has(real)) return;
    const data = readRequirementFile(abs, shown, from);
    const decoded = decodeRequirementBytes(data);
    if (!decoded.ok) {
      throw new BuildpackError({ type: 'requirement-file-not-decodable', file: shown, line: decoded.line, byte: decoded.byte, declared: decoded.declared });
    }
    done.add(real);
    files.push(shown);
    stack.push({ real, shown });
    for (const { line, text } of numberedLines(decoded.text)) {
      for (const ref of parseLine(text)) {
        if (ref.kind === 'include') {
          if (isRemote(ref.file)) continue; // fetched by pip: nothing here to read or hash
          const target = ref.file.startsWith('file:') ? fileUrlPath(ref.file) : path.resolve(path.dirname(abs), ref.file);
          if (target !== undefined) visit(fromCwd(target), { file: shown, line, text });
        } else if (ref.kind === 'path') {
          addLocal({ kind: 'path', path: appPath(appDir, fromCwd(ref.target)), editable: ref.editable });
        } else if (ref.kind === 'find-links') {
          addLocal({ kind: 'find-links', path: appPath(appDir, findLinksPath(appDir, abs, ref.target)) });
        } else addLocal({ kind: 'index', path: appPath(appDir, fromCwd(ref.target)) });
      }
    }
    stack.pop();
  };

  // pip reads append-type options from the environment split on whitespace (PIP_REQUIREMENT, PIP_CONSTRAINT,
  // PIP_FIND_LINKS, PIP_EXTRA_INDEX_URL), paths relative to its working directory.
  const words = (name: string): string[] => (pipVariables[name] ?? '').split(/\s+/).filter((w) => w !== '');
  for (const r of [...roots, ...words('PIP_REQUIREMENT'), ...words('PIP_CONSTRAINT')]) {
    const p = r.startsWith('file:') ? fileUrlPath(r) : isRemote(r) ? undefined : r;
    if (p !== undefined) visit(fromCwd(p), undefined);
  }
  for (const f of words('PIP_FIND_LINKS')) {
    const p = f.startsWith('file:') ? fileUrlPath(f) : isRemote(f) ? undefined : f;
    if (p !== undefined) addLocal({ kind: 'find-links', path: appPath(appDir, fromCwd(p)) });
  }
  for (const u of [...words('PIP_INDEX_URL'), ...words('PIP_EXTRA_INDEX_URL')]) {
    const p = u.startsWith('file:') ? fileUrlPath(u) : undefined;
    if (p !== undefined) addLocal({ kind: 'index', path: appPath(appDir, fromCwd(p)) });
  }
  return { files, local };
}

/** pip joins a find-links path to its requirements file's folder and keeps that when it exists. */
function findLinksPath(appDir: string, reqFile: string, target: string): string {
  if (target.startsWith('file:')) return path.resolve(appDir, fileUrlPath(target) ?? target);
  const besideFile = path.resolve(path.dirname(reqFile), target);
  return fs.existsSync(besideFile) ? besideFile : path.resolve(appDir, target);
}

function realPath(abs: string): string {
  try {
    return fs.realpathSync(abs);
  } catch {
    return abs;
  }
}

function readRequirementFile(abs: string, shown: string, from: Origin | undefined): Buffer {
  try {
    return fs.readFileSync(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new BuildpackError({ type: 'missing-requirement-file', file: shown, from: from?.file });
    const problem = code === 'EISDIR' ? 'folder' : code === 'EACCES' || code === 'EPERM' ? 'permission-denied' : 'io';
    throw new BuildpackError({ type: 'unreadable-requirement-file', file: shown, from: from?.file, line: from?.line, problem, detail: code ?? (err as Error).message });
  }
}

/** sha256 over the requirement and constraint files, named as shown. */
export function hashRequirementFiles(appDir: string, files: string[]): string {
  const h = crypto.createHash('sha256');
  for (const f of files) {
    let content: Buffer;
    try {
      content = fs.readFileSync(path.resolve(appDir, f));
    } catch {
      content = Buffer.from('\0unreadable');
    }
    h.update(`${f}\0${content.length}\0`).update(content);
  }
  return h.digest('hex');
}
