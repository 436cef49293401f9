/**
 * Safe, streaming extraction of a .tar.gz into a directory that does not exist yet. Bytes are pushed in as
 * they arrive (from a download or a file), gunzipped and unpacked with synchronous file calls into a staging
 * directory beside the destination; `commit()` renames the archive's single top folder into place, and the
 * caller calls it only after the archive's sha256 has been verified. Refused, and nothing kept: entries that
 * would land outside the top folder (absolute paths, `..`), entries inside a folder the archive made a
 * symlink (a chain of links could otherwise write anywhere), symlinks that point outside the top folder or
 * climb out of it and back, hard links to anything but a file unpacked before them, devices and FIFOs, and
 * archives past the size limits. Decompression bombs: file sizes are checked against the limit from each
 * header, before any byte is written; the whole decompressed stream (headers and metadata included) has a
 * budget; and nothing after the archive's end-of-archive blocks is decompressed at all (it is still hashed
 * by the download), so no input, however it compresses, costs more than the limits allow.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import type { DownloadSink } from './download.js';
import type { ArchiveCause } from './causes.js';
import { BuildpackError } from './failure.js';

export interface ExtractLimits {
  /** Total size of the unpacked files. */
  maxUnpackedBytes: number;
  maxEntries: number;
}

const archiveError = (cause: ArchiveCause): BuildpackError => new BuildpackError(cause);
const unsafe = (entry: string, why: string): BuildpackError => archiveError({ type: 'archive-unsafe-entry', entry, why });

const BLOCK = 512;
const MAX_META_BYTES = 1024 * 1024;

/**
 * How many decompressed bytes an archive within `limits` may need: its files, plus four blocks per entry
 * (header, padding, a pax or long-name header and its data) and room for two large metadata entries.
 */
export function streamBudget(limits: ExtractLimits): number {
  return limits.maxUnpackedBytes + limits.maxEntries * 4 * BLOCK + 2 * MAX_META_BYTES;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = {
  maxUnpackedBytes: 4 * 1024 * 1024 * 1024,
  maxEntries: 200_000,
};

export type EntryType = 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'Device' | 'FIFO';

/** Path components, without empty and `.` parts. */
function parts(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * Why an entry is refused, or undefined when it stays inside the archive's top folder (the first component
 * of its path). Lexical only: extraction also refuses entries under symlinks, so lexical paths are real ones.
 */
export function unsafeEntry(entryPath: string, type: string, linkpath: string | undefined): string | undefined {
  if (entryPath.startsWith('/')) return 'an absolute path';
  const own = parts(entryPath);
  if (own.includes('..')) return 'a path that leaves the archive';
  if (type === 'Device' || type === 'FIFO' || /Device$/.test(type)) return 'a device file or FIFO';
  if (type === 'SymbolicLink' && linkpath !== undefined) {
    if (linkpath.startsWith('/')) return `a symlink to an absolute path (${linkpath})`;
    const target = parts(linkpath);
    const up = target.findIndex((c) => c !== '..');
    const climbs = up === -1 ? target.length : up;
    // `a/../b` climbs out of a folder that may itself be a link: only leading `..` are resolved lexically.
    if (target.slice(climbs).includes('..')) return `a symlink with '..' inside its target (${linkpath})`;
    // The link's folder lies `own.length - 2` levels below the top folder; climbing higher leaves the layer.
    if (climbs > Math.max(0, own.length - 2)) return `a symlink that points outside (${linkpath})`;
  }
  if (type === 'Link' && linkpath !== undefined) {
    const target = parts(linkpath);
    if (linkpath.startsWith('/') || target.includes('..') || target[0] !== own[0]) return `a hard link that points outside (${linkpath})`;
  }
  return undefined;
}

type State =
  | { kind: 'header' }
  | { kind: 'data'; remaining: number; fd: number | undefined; pad: number; mtime: number }
  | { kind: 'meta'; remaining: number; pad: number; meta: 'pax' | 'global' | 'longname' | 'longlink'; chunks: Buffer[] }
  | { kind: 'pad'; remaining: number }
  | { kind: 'eof' };

/**
 * A push parser: `write()` the gzip bytes, then `finish()`; on success `commit(dest)` moves the top folder to
 * `dest`; `discard()` removes everything. The first error stops it: later writes are ignored and `finish()`
 * throws it (a BuildpackError with an archive cause).
 */
export class TarGzExtractor {
  private readonly gunzip = zlib.createGunzip({ chunkSize: 256 * 1024 });
  private readonly ended: Promise<void>;
  private failure: Error | undefined;
  private state: State = { kind: 'header' };
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private zeroBlocks = 0;
  private pax: Record<string, string> = {};
  private longname: string | undefined;
  private longlink: string | undefined;
  private top: string | undefined;
  private readonly dirs = new Set<string>();
  private readonly dirModes: Array<[string, number]> = [];
  private readonly files = new Set<string>();
  private readonly symlinks = new Set<string>();
  private entries = 0;
  private unpacked = 0;
  /** Decompressed bytes parsed, up to the end of the archive. */
  private streamed = 0;

  constructor(readonly staging: string, private readonly limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS) {
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(staging, { recursive: true });
    this.gunzip.on('data', (chunk: Buffer) => {
      if (this.failure || this.state.kind === 'eof') return;
      try {
        this.streamed += chunk.length;
        if (this.streamed > streamBudget(this.limits)) throw archiveError({ type: 'archive-too-large', limit: { kind: 'unpacked-size', bytes: this.limits.maxUnpackedBytes } });
        this.consume(chunk);
      } catch (err) {
        this.fail(err);
      }
    });
    this.ended = new Promise<void>((resolve) => {
      this.gunzip.once('end', resolve);
      this.gunzip.once('error', (err) => {
        this.fail(err);
        resolve();
      });
    });
  }

  /** Feeds compressed bytes; resolves when the gunzip stream can take more. Throws the first failure. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.state.kind === 'eof') return; // past the end of the archive: never decompressed
    if (!this.gunzip.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.gunzip.off('drain', done);
          this.gunzip.off('error', done);
          resolve();
        };
        this.gunzip.once('drain', done);
        this.gunzip.once('error', done);
      });
    }
    if (this.failure) throw this.failure;
  }

  /** The input is complete: checks that the archive was, and sets the folder modes. */
  async finish(): Promise<void> {
    if (!this.failure && this.state.kind === 'eof') {
      this.gunzip.destroy(); // input after the end of the archive was not fed in: the gzip stream is left unfinished
    } else if (!this.failure) {
      this.gunzip.end();
      await this.ended;
    }
    if (!this.failure && this.state.kind !== 'header' && this.state.kind !== 'eof') this.fail(new Error('the archive ends in the middle of an entry'));
    if (!this.failure && this.top === undefined) this.fail(archiveError({ type: 'archive-bad-layout', top: [] }));
    if (this.failure) throw this.failure;
    try {
      // Deepest first, so that a read-only folder never blocks setting the mode of one inside it.
      for (const [rel, mode] of this.dirModes.sort((a, b) => b[0].length - a[0].length)) fs.chmodSync(this.abs(rel), mode);
    } catch (err) {
      this.fail(err);
      throw this.failure;
    }
  }

  /** Moves the unpacked top folder to `dest` (which must not exist) and removes the staging directory. */
  commit(dest: string): void {
    try {
      if (this.failure || this.top === undefined) throw this.failure ?? archiveError({ type: 'archive-bad-layout', top: [] });
      fs.renameSync(this.abs(this.top), dest);
    } finally {
      fs.rmSync(this.staging, { recursive: true, force: true });
    }
  }

  /** Drops everything unpacked so far. */
  discard(): void {
    if (this.state.kind === 'data' && this.state.fd !== undefined) {
      fs.closeSync(this.state.fd);
      this.state.fd = undefined;
    }
    if (!this.failure) this.failure = archiveError({ type: 'archive-corrupt', detail: 'the extraction was abandoned' });
    this.gunzip.destroy();
    fs.rmSync(this.staging, { recursive: true, force: true });
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = err instanceof BuildpackError ? err : archiveError({ type: 'archive-corrupt', detail: err instanceof Error ? err.message : String(err) });
    if (this.state.kind === 'data' && this.state.fd !== undefined) {
      try {
        fs.closeSync(this.state.fd);
      } catch {
        // already closed
      }
      this.state.fd = undefined;
    }
  }

  private abs(rel: string): string {
    return path.join(this.staging, rel);
  }

  private consume(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      const s = this.state;
      const avail = chunk.length - pos;
      switch (s.kind) {
        case 'eof':
          return; // zero padding after the end-of-archive blocks
        case 'header': {
          const n = Math.min(BLOCK - this.headerFill, avail);
          chunk.copy(this.header, this.headerFill, pos, pos + n);
          this.headerFill += n;
          pos += n;
          if (this.headerFill === BLOCK) {
            this.headerFill = 0;
            this.onHeader(this.header);
          }
          break;
        }
        case 'data': {
          const n = Math.min(s.remaining, avail);
          if (s.fd !== undefined) {
            let off = pos;
            while (off < pos + n) off += fs.writeSync(s.fd, chunk, off, pos + n - off);
          }
          s.remaining -= n;
          pos += n;
          if (s.remaining === 0) {
            if (s.fd !== undefined) {
              fs.futimesSync(s.fd, s.mtime, s.mtime);
              fs.closeSync(s.fd);
            }
            this.state = s.pad > 0 ? { kind: 'pad', remaining: s.pad } : { kind: 'header' };
          }
          break;
        }
        case 'meta': {
          const n = Math.min(s.remaining, avail);
          s.chunks.push(chunk.subarray(pos, pos + n));
          s.remaining -= n;
          pos += n;
          if (s.remaining === 0) {
            this.onMeta(s.meta, Buffer.concat(s.chunks));
            this.state = s.pad > 0 ? { kind: 'pad', remaining: s.pad } : { kind: 'header' };
          }
          break;
        }
        case 'pad': {
          const n = Math.min(s.remaining, avail);
          s.remaining -= n;
          pos += n;
          if (s.remaining === 0) this.state = { kind: 'header' };
          break;
        }
      }
    }
  }

  private onHeader(h: Buffer): void {
    if (h.every((b) => b === 0)) {
      this.zeroBlocks += 1;
      if (this.zeroBlocks >= 2) this.state = { kind: 'eof' };
      return;
    }
    this.zeroBlocks = 0;
    if (!checksumValid(h)) throw new Error('a tar header has a bad checksum');
    const typeflag = String.fromCharCode(h[156] ?? 0);
    let size = numeric(h, 124, 12);
    if (this.pax.size !== undefined) size = Number(this.pax.size);
    if (!Number.isSafeInteger(size) || size < 0) throw new Error('a tar header has an invalid size');
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;

    const meta = ({ x: 'pax', g: 'global', L: 'longname', K: 'longlink' } as const)[typeflag as 'x' | 'g' | 'L' | 'K'];
    if (meta) {
      if (size > MAX_META_BYTES) throw new Error(`a tar metadata entry of ${size} bytes`);
      this.state = size > 0 ? { kind: 'meta', remaining: size, pad, meta, chunks: [] } : { kind: 'header' };
      return;
    }

    const ustar = h.toString('latin1', 257, 263) === 'ustar\0';
    const prefix = ustar ? cstring(h, 345, 155) : '';
    const name = this.longname ?? this.pax.path ?? (prefix ? `${prefix}/${cstring(h, 0, 100)}` : cstring(h, 0, 100));
    const linkname = this.longlink ?? this.pax.linkpath ?? cstring(h, 157, 100);
    const mtime = this.pax.mtime !== undefined ? Number(this.pax.mtime) : numeric(h, 136, 12);
    const mode = numeric(h, 100, 8) & 0o777;
    this.pax = {};
    this.longname = undefined;
    this.longlink = undefined;

    const type = entryType(typeflag);
    let fd: number | undefined;
    try {
      fd = this.onEntry(name, type, linkname, size, mode, mtime);
    } finally {
      // Even a refused entry's body is walked over, so the parser stays in step (only until the error is seen).
      this.state = size > 0 ? { kind: 'data', remaining: size, fd, pad, mtime: Number.isFinite(mtime) ? mtime : 0 } : { kind: 'header' };
    }
    if (size === 0 && fd !== undefined) {
      fs.futimesSync(fd, mtime, mtime);
      fs.closeSync(fd);
    }
  }

  private onMeta(meta: 'pax' | 'global' | 'longname' | 'longlink', body: Buffer): void {
    if (meta === 'longname') this.longname = body.toString('utf8').replace(/\0.*$/s, '');
    else if (meta === 'longlink') this.longlink = body.toString('utf8').replace(/\0.*$/s, '');
    else if (meta === 'pax') this.pax = { ...this.pax, ...parsePax(body) };
    // global pax headers (comments, defaults for every entry) are not needed for a Python archive
  }

  /** Checks and creates one entry; returns the open file for a regular file's body. */
  private onEntry(rawPath: string, type: EntryType | undefined, linkpath: string, size: number, mode: number, mtime: number): number | undefined {
    if (type === undefined) throw new Error(`'${rawPath}' has an entry type this extractor does not support`);
    if (rawPath.startsWith('/')) throw unsafe(rawPath, 'an absolute path');
    const rel = parts(rawPath).join('/');
    if (rel === '') return undefined; // the archive's own `./`
    this.entries += 1;
    if (type === 'File') this.unpacked += size;
    if (this.entries > this.limits.maxEntries) throw archiveError({ type: 'archive-too-large', limit: { kind: 'entries', count: this.limits.maxEntries } });
    if (this.unpacked > this.limits.maxUnpackedBytes) throw archiveError({ type: 'archive-too-large', limit: { kind: 'unpacked-size', bytes: this.limits.maxUnpackedBytes } });

    const why = unsafeEntry(rel, type, type === 'SymbolicLink' || type === 'Link' ? linkpath : undefined);
    if (why) throw unsafe(rawPath, why);
    const comps = rel.split('/');
    const top = comps[0] as string;
    if (this.top === undefined) this.top = top;
    if (top !== this.top) throw archiveError({ type: 'archive-bad-layout', top: [this.top, top] });
    if (comps.length === 1 && type !== 'Directory') throw archiveError({ type: 'archive-bad-layout', top: [`${top} (not a folder)`] });
    for (let i = 1; i < comps.length; i++) {
      const prefix = comps.slice(0, i).join('/');
      if (this.symlinks.has(prefix)) throw unsafe(rawPath, `a path inside the symlink ${prefix}`);
    }
    if (this.symlinks.has(rel)) throw unsafe(rawPath, 'a second entry for a symlink');

    const abs = this.abs(rel);
    switch (type) {
      case 'Directory':
        this.ensureDir(rel);
        this.dirModes.push([rel, mode | 0o700]);
        return undefined;
      case 'SymbolicLink':
        this.ensureDir(path.posix.dirname(rel));
        fs.symlinkSync(linkpath, abs);
        this.symlinks.add(rel);
        return undefined;
      case 'Link': {
        const target = parts(linkpath).join('/');
        if (!this.files.has(target)) throw unsafe(rawPath, `a hard link to '${linkpath}', which is not a file unpacked before it`);
        this.ensureDir(path.posix.dirname(rel));
        fs.linkSync(this.abs(target), abs);
        return undefined;
      }
      case 'File': {
        this.ensureDir(path.posix.dirname(rel));
        const fd = fs.openSync(abs, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o600);
        fs.fchmodSync(fd, mode | 0o600);
        this.files.add(rel);
        return fd;
      }
      default:
        throw unsafe(rawPath, 'a device file or FIFO');
    }
  }

  private ensureDir(rel: string): void {
    if (rel === '.' || rel === '' || this.dirs.has(rel)) return;
    fs.mkdirSync(this.abs(rel), { recursive: true, mode: 0o755 });
    for (let d = rel; d !== '.' && d !== '' && !this.dirs.has(d); d = path.posix.dirname(d)) this.dirs.add(d);
  }
}

function entryType(flag: string): EntryType | undefined {
  switch (flag) {
    case '0':
    case '\0':
    case '7':
      return 'File';
    case '1':
      return 'Link';
    case '2':
      return 'SymbolicLink';
    case '5':
      return 'Directory';
    case '3':
    case '4':
      return 'Device';
    case '6':
      return 'FIFO';
    default:
      return undefined;
  }
}

function cstring(h: Buffer, start: number, len: number): string {
  const end = h.indexOf(0, start);
  return h.toString('utf8', start, end === -1 || end > start + len ? start + len : end);
}

/** Octal, or GNU base-256 when the high bit of the first byte is set. */
function numeric(h: Buffer, start: number, len: number): number {
  if (((h[start] ?? 0) & 0x80) !== 0) {
    let v = (h[start] ?? 0) & 0x7f;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + (h[i] ?? 0);
    return v;
  }
  const text = h.toString('latin1', start, start + len).replace(/[\0 ]+$/, '').replace(/^[\0 ]+/, '');
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw new Error(`a tar header has a malformed number '${text}'`);
  return parseInt(text, 8);
}

function checksumValid(h: Buffer): boolean {
  const stored = numeric(h, 148, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : (h[i] ?? 0);
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** pax records: `<length> <key>=<value>\n`, the length in bytes and counting itself. */
function parsePax(body: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    if (space === -1) break;
    const len = Number(body.toString('latin1', pos, space));
    if (!Number.isInteger(len) || len <= 0 || pos + len > body.length) throw new Error('a pax header is malformed');
    const record = body.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += len;
  }
  return out;
}

/** Where the extraction for `dest` is staged: beside it, on the same filesystem, so the final move is a rename. */
export function stagingDirFor(dest: string): string {
  return path.join(path.dirname(dest), `.${path.basename(dest)}-staging`);
}

/**
 * A download sink that unpacks the archive while it arrives. Each attempt starts in a fresh staging directory;
 * `commit(dest)` is for the caller to call once downloadVerified() has checked the sha256, and not before.
 */
export class ExtractingSink implements DownloadSink {
  private extractor: TarGzExtractor | undefined;

  constructor(private readonly staging: string, private readonly limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS) {}

  begin(): void {
    this.extractor?.discard();
    this.extractor = new TarGzExtractor(this.staging, this.limits);
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.current().write(chunk);
  }

  end(): Promise<void> {
    return this.current().finish();
  }

  discard(): void {
    this.extractor?.discard();
    this.extractor = undefined;
  }

  commit(dest: string): void {
    const extractor = this.current();
    this.extractor = undefined;
    extractor.commit(dest);
  }

  private current(): TarGzExtractor {
    if (!this.extractor) throw archiveError({ type: 'archive-corrupt', detail: 'no extraction is under way' });
    return this.extractor;
  }
}

/**
 * Unpacks the .tar.gz file `archive` so that the contents of its single top folder (`python/` in
 * python-build-standalone archives) become `dest`. `dest` must not exist.
 */
export async function extractTarGz(archive: string, dest: string, limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS): Promise<void> {
  const extractor = new TarGzExtractor(stagingDirFor(dest), limits);
  try {
    for await (const chunk of fs.createReadStream(archive, { highWaterMark: 256 * 1024 })) await extractor.write(chunk as Buffer);
    await extractor.finish();
    extractor.commit(dest);
  } catch (err) {
    extractor.discard();
    if (err instanceof BuildpackError) throw err;
    throw archiveError({ type: 'archive-corrupt', detail: err instanceof Error ? err.message : String(err) });
  }
}
