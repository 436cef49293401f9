/**
 * Deterministic tar archives, normalised the way `pack` normalises a buildpack (pkg/buildpack/buildpack.go
 * toDistTar, pkg/archive/archive.go): owner root (uid/gid 0, no user or group names), mtime
 * 1980-01-01T00:00:01Z, directories and executables 0755, other files 0644, symlinks kept. Entries are
 * written in the order Go's filepath.Walk visits them (each directory's names sorted), as USTAR headers
 * (node-tar's Header), and the archive ends with two zero blocks, as Go's tar.Writer ends it. The same tree
 * therefore always gives the same bytes.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { Header } from 'tar';

/** pack's archive.NormalizedDateTime. */
export const NORMALIZED_MTIME = new Date('1980-01-01T00:00:01Z');
/** gzip.DefaultCompression, which go-containerregistry (and so pack) compresses layers with. */
export const GZIP_LEVEL = 6;

const BLOCK = 512;
const CHUNK = 1024 * 1024;

/** pack's calcFileMode: directories, bin/build, bin/detect and anything with an exec bit get 0755, the rest 0644. */
export function normalizedMode(kind: 'dir' | 'file' | 'symlink', relPath: string, statMode: number): number {
  if (kind === 'dir') return 0o755;
  if (relPath === 'bin/build' || relPath === 'bin/detect') return 0o755;
  if (kind === 'symlink') return 0o755; // a link's own mode is 0777, which has exec bits
  return statMode & 0o111 ? 0o755 : 0o644;
}

/** Writes a tar file synchronously, hashing every byte (the uncompressed sha256 is a layer's diffID). */
export class TarWriter {
  private readonly fd: number;
  private readonly hash = crypto.createHash('sha256');
  private closed = false;

  constructor(readonly archive: string) {
    this.fd = fs.openSync(archive, 'w');
  }

  directory(name: string, mode = 0o755): void {
    this.header({ path: name, type: 'Directory', mode, size: 0 });
  }

  symlink(name: string, target: string, mode = 0o755): void {
    this.header({ path: name, type: 'SymbolicLink', mode, size: 0, linkpath: target });
  }

  /** A regular file from disk, or from a buffer. */
  file(name: string, source: string | Buffer, mode: number): void {
    const size = typeof source === 'string' ? fs.statSync(source).size : source.length;
    this.header({ path: name, type: 'File', mode, size });
    if (typeof source === 'string') {
      const fd = fs.openSync(source, 'r');
      try {
        const buf = Buffer.alloc(CHUNK);
        let left = size;
        while (left > 0) {
          const n = fs.readSync(fd, buf, 0, Math.min(CHUNK, left), null);
          if (n === 0) throw new Error(`${source} shrank while it was archived`);
          this.write(buf.subarray(0, n));
          left -= n;
        }
      } finally {
        fs.closeSync(fd);
      }
    } else {
      this.write(source);
    }
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad) this.write(Buffer.alloc(pad));
  }

  /**
   * Adds `srcDir`'s contents (not the directory itself) under `prefix` ('' for the archive root), walking as
   * filepath.Walk does. Only directories, regular files and symlinks are allowed.
   */
  tree(srcDir: string, prefix: string): void {
    const walk = (rel: string): void => {
      const names = fs.readdirSync(path.join(srcDir, rel)).sort();
      for (const name of names) {
        const relPath = rel ? `${rel}/${name}` : name;
        const abs = path.join(srcDir, relPath);
        const st = fs.lstatSync(abs);
        const entryName = prefix ? `${prefix}/${relPath}` : relPath;
        if (st.isDirectory()) {
          this.directory(entryName, normalizedMode('dir', relPath, st.mode));
          walk(relPath);
        } else if (st.isSymbolicLink()) {
          this.symlink(entryName, fs.readlinkSync(abs), normalizedMode('symlink', relPath, st.mode));
        } else if (st.isFile()) {
          this.file(entryName, abs, normalizedMode('file', relPath, st.mode));
        } else {
          throw new Error(`${abs} is neither a file, a directory nor a symlink; it cannot go into a buildpack`);
        }
      }
    };
    walk('');
  }

  /** Ends the archive; returns the sha256 (hex) of everything written. */
  close(): string {
    if (this.closed) throw new Error('tar already closed');
    this.write(Buffer.alloc(2 * BLOCK));
    fs.closeSync(this.fd);
    this.closed = true;
    return this.hash.digest('hex');
  }

  private header(data: { path: string; type: 'Directory' | 'File' | 'SymbolicLink'; mode: number; size: number; linkpath?: string }): void {
    const h = new Header({ ...data, uid: 0, gid: 0, uname: '', gname: '', mtime: NORMALIZED_MTIME });
    if (h.encode()) throw new Error(`'${data.path}' does not fit a USTAR header (name over 255 bytes or link over 100); shorten it`);
    this.write(h.block as Buffer);
  }

  private write(buf: Buffer): void {
    let off = 0;
    while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off);
    this.hash.update(buf);
  }
}

/** gzips `src` into `dest` (level 6, no name, mtime 0, as node's zlib writes the header). */
export async function gzipFile(src: string, dest: string): Promise<void> {
  await pipeline(fs.createReadStream(src, { highWaterMark: CHUNK }), zlib.createGzip({ level: GZIP_LEVEL }), fs.createWriteStream(dest));
}
