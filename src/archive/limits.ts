/**
 * The safety policy of extraction: size limits, and which entries are refused because they would land (or
 * point) outside the archive's single top folder. Lexical checks only; the extractor also refuses entries
 * under symlinks it made, so lexical paths are real ones.
 */
import type { ArchiveCause } from '../causes.js';
import { BuildpackError } from '../failure.js';
import { BLOCK } from './tar-header.js';

export interface ExtractLimits {
  /** Total size of the unpacked files. */
  maxUnpackedBytes: number;
  maxEntries: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = {
  maxUnpackedBytes: 4 * 1024 * 1024 * 1024,
  maxEntries: 200_000,
};

/** The largest pax or GNU long-name entry read (a path, not a file). */
export const MAX_META_BYTES = 1024 * 1024;

/**
 * How many decompressed bytes an archive within `limits` may need: its files, plus four blocks per entry
 * (header, padding, a pax or long-name header and its data) and room for two large metadata entries.
 */
export function streamBudget(limits: ExtractLimits): number {
  return limits.maxUnpackedBytes + limits.maxEntries * 4 * BLOCK + 2 * MAX_META_BYTES;
}

export const archiveError = (cause: ArchiveCause): BuildpackError => new BuildpackError(cause);
export const unsafe = (entry: string, why: string): BuildpackError => archiveError({ type: 'archive-unsafe-entry', entry, why });

/** Path components, without empty and `.` parts. */
export function parts(p: string): string[] {
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
