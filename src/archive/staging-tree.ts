/**
 * The file side of extraction: the entries an archive creates, written with synchronous calls into a staging
 * directory (never followed through a symlink: O_NOFOLLOW), with what was made remembered so the extractor's
 * policy can ask about it (is this path under a symlink we made? is this hard-link target a file we wrote?).
 * Folder modes are applied at the end, deepest first, so a read-only folder never blocks its children.
 */
import fs from 'node:fs';
import path from 'node:path';

export class StagingTree {
  private readonly dirs = new Set<string>();
  private readonly dirModes: Array<[string, number]> = [];
  private readonly files = new Set<string>();
  private readonly symlinks = new Set<string>();

  constructor(readonly root: string) {
    fs.rmSync(root, { recursive: true, force: true });
    fs.mkdirSync(root, { recursive: true });
  }

  abs(rel: string): string {
    return path.join(this.root, rel);
  }

  isSymlink(rel: string): boolean {
    return this.symlinks.has(rel);
  }

  isFile(rel: string): boolean {
    return this.files.has(rel);
  }

  directory(rel: string, mode: number): void {
    this.ensureDir(rel);
    this.dirModes.push([rel, mode | 0o700]);
  }

  symlink(rel: string, target: string): void {
    this.ensureDir(path.posix.dirname(rel));
    fs.symlinkSync(target, this.abs(rel));
    this.symlinks.add(rel);
  }

  hardLink(rel: string, target: string): void {
    this.ensureDir(path.posix.dirname(rel));
    fs.linkSync(this.abs(target), this.abs(rel));
  }

  /** Creates a regular file and returns it open for writing its body. */
  openFile(rel: string, mode: number): number {
    this.ensureDir(path.posix.dirname(rel));
    const fd = fs.openSync(this.abs(rel), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | fs.constants.O_NOFOLLOW, 0o600);
    fs.fchmodSync(fd, mode | 0o600);
    this.files.add(rel);
    return fd;
  }

  applyDirModes(): void {
    for (const [rel, mode] of this.dirModes.sort((a, b) => b[0].length - a[0].length)) fs.chmodSync(this.abs(rel), mode);
  }

  /** Moves the folder `rel` to `dest` and removes the staging directory. */
  moveOut(rel: string, dest: string): void {
    try {
      fs.renameSync(this.abs(rel), dest);
    } finally {
      this.remove();
    }
  }

  remove(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }

  private ensureDir(rel: string): void {
    if (rel === '.' || rel === '' || this.dirs.has(rel)) return;
    fs.mkdirSync(this.abs(rel), { recursive: true, mode: 0o755 });
    for (let d = rel; d !== '.' && d !== '' && !this.dirs.has(d); d = path.posix.dirname(d)) this.dirs.add(d);
  }
}
