/**
 * Safe extraction of a .tar.gz into a directory that does not exist yet: entries are unpacked into a staging
 * directory beside it and renamed into place only when complete. An entry that would land outside (absolute
 * path, `..`, a link pointing out) or an archive past the size limits stops the extraction; node-tar on its
 * own would skip such entries with a warning, and a half-unpacked interpreter is worse than none.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';
import { archiveErrors } from './errors.js';

export interface ExtractLimits {
  /** Total size of the unpacked files. */
  maxUnpackedBytes: number;
  maxEntries: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = {
  maxUnpackedBytes: 4 * 1024 * 1024 * 1024,
  maxEntries: 200_000,
};

/** Why an entry is refused, or undefined when it stays inside the root. */
export function unsafeEntry(entryPath: string, type: string, linkpath: string | undefined): string | undefined {
  if (path.isAbsolute(entryPath)) return 'an absolute path';
  const normal = path.posix.normalize(entryPath);
  if (normal === '..' || normal.startsWith('../') || entryPath.split('/').includes('..')) return 'a path that leaves the archive';
  if (type === 'SymbolicLink' && linkpath !== undefined) {
    if (path.posix.isAbsolute(linkpath)) return `a symlink to an absolute path (${linkpath})`;
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(normal), linkpath));
    if (target === '..' || target.startsWith('../')) return `a symlink that points outside (${linkpath})`;
  }
  if (type === 'Link' && linkpath !== undefined) {
    const target = path.posix.normalize(linkpath);
    if (path.posix.isAbsolute(linkpath) || target === '..' || target.startsWith('../')) return `a hard link that points outside (${linkpath})`;
  }
  return undefined;
}

/**
 * Unpacks `archive` so that the contents of its single top folder (`python/` in python-build-standalone
 * archives) become `dest`. `dest` must not exist.
 */
export async function extractTarGz(archive: string, dest: string, limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS): Promise<void> {
  const staging = path.join(path.dirname(dest), `.${path.basename(dest)}-staging`);
  await fs.rm(staging, { recursive: true, force: true });
  await fs.mkdir(staging, { recursive: true });
  let refused: Error | undefined;
  let total = 0;
  let entries = 0;
  try {
    await tar.x({
      file: archive,
      cwd: staging,
      strict: true,
      preservePaths: true, // our own check below refuses what node-tar would silently rewrite
      filter: (p, entry) => {
        if (refused) return false;
        const e = entry as tar.ReadEntry;
        const why = unsafeEntry(p, e.type, e.linkpath);
        if (why) refused = archiveErrors.unsafeEntry(p, why);
        total += e.size ?? 0;
        entries += 1;
        if (!refused && total > limits.maxUnpackedBytes) refused = archiveErrors.tooLarge('unpacked size', limits.maxUnpackedBytes);
        if (!refused && entries > limits.maxEntries) refused = archiveErrors.tooLarge('number of entries', limits.maxEntries);
        return !refused;
      },
    });
    if (refused) throw refused;
    const top = await fs.readdir(staging);
    const root = top.length === 1 && top[0] !== undefined && (await fs.stat(path.join(staging, top[0]))).isDirectory()
      ? path.join(staging, top[0])
      : undefined;
    if (!root) throw archiveErrors.badLayout(top);
    await fs.rename(root, dest);
  } catch (err) {
    if (refused) throw refused;
    if (err instanceof Error && err.name === 'BuildpackError') throw err;
    throw archiveErrors.corrupt(err);
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}
