/**
 * The extraction state machine: safe, streaming extraction of a .tar.gz into a directory that does not exist
 * yet. Bytes are pushed in as they arrive (from a download or a file), gunzipped, parsed block by block and
 * unpacked into a staging directory beside the destination (staging-tree.ts); `commit()` renames the archive's single top folder into place, and the
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
import zlib from 'node:zlib';
import { BuildpackError } from '../failure.js';
import { archiveError, DEFAULT_EXTRACT_LIMITS, MAX_META_BYTES, parts, streamBudget, unsafe, unsafeEntry, type ExtractLimits } from './limits.js';
import { StagingTree } from './staging-tree.js';
import { BLOCK, checksumValid, cstring, entryType, numeric, parsePax, type EntryType } from './tar-header.js';

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
  private readonly tree: StagingTree;
  private entries = 0;
  private unpacked = 0;
  /** Decompressed bytes parsed, up to the end of the archive. */
  private streamed = 0;

  constructor(staging: string, private readonly limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS) {
    this.tree = new StagingTree(staging);
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
      this.tree.applyDirModes();
    } catch (err) {
      this.fail(err);
      throw this.failure;
    }
  }

  /** Moves the unpacked top folder to `dest` (which must not exist) and removes the staging directory. */
  commit(dest: string): void {
    if (this.failure || this.top === undefined) {
      this.tree.remove();
      throw this.failure ?? archiveError({ type: 'archive-bad-layout', top: [] });
    }
    this.tree.moveOut(this.top, dest);
  }

  /** Drops everything unpacked so far. */
  discard(): void {
    if (this.state.kind === 'data' && this.state.fd !== undefined) {
      fs.closeSync(this.state.fd);
      this.state.fd = undefined;
    }
    if (!this.failure) this.failure = archiveError({ type: 'archive-corrupt', detail: 'the extraction was abandoned' });
    this.gunzip.destroy();
    this.tree.remove();
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
      fd = this.onEntry(name, type, linkname, size, mode);
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
  private onEntry(rawPath: string, type: EntryType | undefined, linkpath: string, size: number, mode: number): number | undefined {
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
      if (this.tree.isSymlink(prefix)) throw unsafe(rawPath, `a path inside the symlink ${prefix}`);
    }
    if (this.tree.isSymlink(rel)) throw unsafe(rawPath, 'a second entry for a symlink');

    switch (type) {
      case 'Directory':
        this.tree.directory(rel, mode);
        return undefined;
      case 'SymbolicLink':
        this.tree.symlink(rel, linkpath);
        return undefined;
      case 'Link': {
        const target = parts(linkpath).join('/');
        if (!this.tree.isFile(target)) throw unsafe(rawPath, `a hard link to '${linkpath}', which is not a file unpacked before it`);
        this.tree.hardLink(rel, target);
        return undefined;
      }
      case 'File':
        return this.tree.openFile(rel, mode);
      default:
        throw unsafe(rawPath, 'a device file or FIFO');
    }
  }
}
