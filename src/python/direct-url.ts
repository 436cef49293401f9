/**
 * Masks the URL credentials pip records in `direct_url.json` (PEP 610, "Recording the Direct URL Origin of
 * installed distributions", https://packaging.python.org/en/latest/specifications/direct-url/).
 *
 * pip writes the file into the `.dist-info` of a distribution installed from a direct URL (`name @ url`, a bare
 * URL or a local path), not of one found on an index or a find-links page. It removes only the `user:password`
 * of the URL (PEP 610 asks for that), so a signed URL's query (`?X-Amz-Signature=…`, `?token=…`) is written as
 * it is, into a layer the image exports. Every string of the file goes through the buildpack's one masker
 * (src/secrets.ts), which leaves strings without a credential (hashes, commit ids, `file:` URLs) as they are.
 *
 * The file is listed with its sha256 and size in the distribution's RECORD (PEP 376, "Recording installed
 * projects", https://packaging.python.org/en/latest/specifications/recording-installed-packages/): that line
 * is rewritten too, so tools that check RECORD still agree with the file.
 *
 * Linear and cheap: one directory listing per site-packages, one lstat per `.dist-info`, and only the files
 * that hold a credential are read in full (most installs have none). Symbolic links are not followed: only
 * what is inside the layer is rewritten, and a link's target is not in it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { maskSecrets } from '../secrets.js';

const DIRECT_URL = 'direct_url.json';

/**
 * Rewrites each direct_url.json holding a URL credential in a `.dist-info` of `lib/python<version>/site-packages`
 * under `userBase`, and its line in RECORD. Returns how many files it rewrote.
 */
export function maskDirectUrls(userBase: string): number {
  let masked = 0;
  const lib = path.join(userBase, 'lib');
  for (const py of subdirectories(lib)) {
    if (!/^python\d/.test(py)) continue;
    const site = path.join(lib, py, 'site-packages');
    for (const info of subdirectories(site)) {
      if (info.endsWith('.dist-info') && maskDistInfo(site, info)) masked++;
    }
  }
  return masked;
}

/** The names of the real directories (not links to one) in `dir`; none when `dir` is missing or not a real directory. */
function subdirectories(dir: string): string[] {
  try {
    if (!fs.lstatSync(dir).isDirectory()) return [];
    return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** A regular file's mode, or undefined when there is none (missing, a link, a directory). */
function regularFileMode(file: string): number | undefined {
  try {
    const st = fs.lstatSync(file);
    return st.isFile() ? st.mode & 0o7777 : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function maskDistInfo(site: string, info: string): boolean {
  const file = path.join(site, info, DIRECT_URL);
  const mode = regularFileMode(file);
  if (mode === undefined) return false;
  const text = fs.readFileSync(file, 'utf8');
  const next = maskedDirectUrl(text);
  if (next === undefined) return false;
  const bytes = Buffer.from(next, 'utf8');
  replaceFile(file, bytes, mode);
  updateRecord(site, path.join(site, info, 'RECORD'), file, bytes);
  return true;
}

/**
 * The file with every string value masked, written as pip writes it (Python's `json.dumps(…, sort_keys=True)`:
 * `", "` and `": "` separators, non-ASCII escaped; keys keep their order, pip's sorted one), or undefined when
 * nothing in it is a credential. A file that is not JSON (not pip's) is masked as text: it holds no credential
 * afterwards and stays as unreadable to pip as it was.
 */
export function maskedDirectUrl(text: string): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    const masked = maskSecrets(text);
    return masked === text ? undefined : masked;
  }
  let changed = false;
  const mask = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const m = maskSecrets(v);
      if (m !== v) changed = true;
      return m;
    }
    if (Array.isArray(v)) return v.map(mask);
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mask(x)]));
    return v;
  };
  const masked = mask(doc);
  return changed ? pythonJson(masked) : undefined;
}

/** JSON as Python's json.dumps writes it by default (ensure_ascii, `", "` and `": "`). */
function pythonJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pythonJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${asciiJson(k)}: ${pythonJson(x)}`).join(', ')}}`;
  return asciiJson(v);
}

function asciiJson(v: unknown): string {
  return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Sets the hash and size of `file`'s line in RECORD (a CSV file: path, `sha256=<urlsafe base64, no padding>`,
 * size), leaving every other byte of RECORD as it is (pip ends its lines with CRLF). A path in RECORD is
 * relative to site-packages or absolute. Without a RECORD or such a line there is nothing to update.
 */
function updateRecord(site: string, record: string, file: string, bytes: Buffer): void {
  const mode = regularFileMode(record);
  if (mode === undefined) return;
  const hash = `sha256=${crypto.createHash('sha256').update(bytes).digest('base64url')}`;
  const target = path.resolve(file);
  const lines = fs.readFileSync(record, 'utf8').split('\n');
  let changed = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (!line.includes(DIRECT_URL)) continue;
    const field = firstCsvField(line);
    if (field === undefined || path.resolve(site, field.value) !== target) continue;
    lines[i] = `${line.slice(0, field.end)},${hash},${bytes.length}${line.endsWith('\r') ? '\r' : ''}`;
    changed = true;
  }
  if (changed) replaceFile(record, Buffer.from(lines.join('\n'), 'utf8'), mode);
}

/** The first field of a CSV line (RFC 4180 quoting, as Python's csv module writes it) and where it ends. */
export function firstCsvField(line: string): { value: string; end: number } | undefined {
  if (!line.startsWith('"')) {
    const comma = line.indexOf(',');
    return comma < 0 ? undefined : { value: line.slice(0, comma), end: comma };
  }
  let value = '';
  let i = 1;
  for (;;) {
    const quote = line.indexOf('"', i);
    if (quote < 0) return undefined;
    value += line.slice(i, quote);
    if (line[quote + 1] === '"') {
      value += '"';
      i = quote + 2;
    } else {
      return line[quote + 1] === ',' ? { value, end: quote + 1 } : undefined;
    }
  }
}

/** Replaces a file by a complete new one (renamed over it): a crash leaves the old file or the new, never half of one. */
function replaceFile(file: string, bytes: Buffer, mode: number): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.rmSync(tmp, { force: true });
  try {
    fs.writeFileSync(tmp, bytes, { mode, flag: 'wx' });
    fs.chmodSync(tmp, mode); // writeFileSync's mode is filtered by the umask
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}
