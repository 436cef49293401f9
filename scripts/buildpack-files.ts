/**
 * What a buildpack directory holds, and nothing else: buildpack.toml, bin/ (the compiled executable and its
 * detect and build links) and layers/ (files copied into layers). Used by the tests and by packaging, so both
 * see exactly what users get.
 */
import fs from 'node:fs';
import path from 'node:path';

export const BUILDPACK_ENTRIES = ['buildpack.toml', 'bin', 'layers'] as const;

/** Copies the buildpack's files from `repo` into `dest` (emptied first); symlinks are kept as links. */
export function stageBuildpack(repo: string, dest: string): string {
  const exe = path.join(repo, 'bin', 'ausnimbus-python');
  if (!fs.existsSync(exe)) throw new Error(`${exe} is missing: run 'npm run build' first`);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.mkdirSync(dest, { recursive: true });
  for (const entry of BUILDPACK_ENTRIES) {
    fs.cpSync(path.join(repo, entry), path.join(dest, entry), { recursive: true, verbatimSymlinks: true });
  }
  return dest;
}
