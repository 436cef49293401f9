/**
 * What a buildpack directory holds, and nothing else: buildpack.toml, bin/ (the compiled executable and its
 * detect and build links) and layers/ (files copied into layers). Used by the tests and by packaging, so both
 * see exactly what users get.
 */
import fs from 'node:fs';
import path from 'node:path';

export const BUILDPACK_ENTRIES = ['buildpack.toml', 'bin', 'layers'] as const;

export interface StageOptions {
  /** Where the compiled bin/ comes from (packaging compiles one per architecture); default `<repo>/bin`. */
  binDir?: string;
}

/** Copies the buildpack's files from `repo` into `dest` (emptied first); symlinks are kept as links. */
export function stageBuildpack(repo: string, dest: string, opts: StageOptions = {}): string {
  const binDir = opts.binDir ?? path.join(repo, 'bin');
  const exe = path.join(binDir, 'ausnimbus-python');
  if (!fs.existsSync(exe)) throw new Error(`${exe} is missing: run 'npm run build' first`);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  for (const entry of BUILDPACK_ENTRIES) {
    const from = entry === 'bin' ? binDir : path.join(repo, entry);
    fs.cpSync(from, path.join(dest, entry), { recursive: true, verbatimSymlinks: true });
  }
  return dest;
}
