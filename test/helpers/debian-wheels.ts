/**
 * Wheels built from Debian's python3-* packages, for projects the local wheelhouse lacks (WhiteNoise).
 * The package's pure-Python files under /usr/lib/python3/dist-packages become a py3 wheel with the
 * version and Requires-Python from its egg-info, served to pip through a PackageIndexServer overlay dir.
 */
import fs from 'node:fs';
import path from 'node:path';
import { buildWheel, type BuiltDistribution } from './wheels.js';

export const DIST_PACKAGES = '/usr/lib/python3/dist-packages';

/** Builds `<project>-<version>-py2.py3-none-any.whl` from the Debian package `debianPackage` (e.g. python3-whitenoise). */
export async function wheelFromDebianPackage(opts: {
  project: string;
  /** Top-level import package inside dist-packages. */
  importName: string;
  debianPackage: string;
  outDir: string;
  distPackages?: string;
}): Promise<BuiltDistribution> {
  const root = opts.distPackages ?? DIST_PACKAGES;
  const pkgDir = path.join(root, opts.importName);
  const info = fs.existsSync(root) ? fs.readdirSync(root).find((n) => new RegExp(`^${opts.importName}-[^-]+\\.(egg|dist)-info$`, 'i').test(n)) : undefined;
  if (!fs.existsSync(path.join(pkgDir, '__init__.py')) || info === undefined) {
    throw new Error(
      `${opts.debianPackage} is not installed: ${pkgDir}/__init__.py or its egg-info is missing. ` +
        `These tests build a ${opts.project} wheel from it (the local wheelhouse has none). ` +
        `Install it with 'apt-get install -y ${opts.debianPackage}' (.ci/run does this).`,
    );
  }
  const metaFile = ['PKG-INFO', 'METADATA'].map((f) => path.join(root, info, f)).find((f) => fs.existsSync(f));
  const meta = metaFile ? fs.readFileSync(metaFile, 'utf8') : '';
  const version = /^Version:\s*(\S+)/m.exec(meta)?.[1];
  if (!version) throw new Error(`${opts.debianPackage}: no Version in ${path.join(root, info)}`);
  const requiresPython = /^Requires-Python:\s*(.+)$/m.exec(meta)?.[1]?.trim();

  const modules: Record<string, string> = {};
  for (const rel of (fs.readdirSync(pkgDir, { recursive: true }) as string[]).sort()) {
    if (rel.split(path.sep).includes('__pycache__') || !rel.endsWith('.py')) continue;
    modules[path.posix.join(opts.importName, rel.split(path.sep).join('/'))] = fs.readFileSync(path.join(pkgDir, rel), 'utf8');
  }
  return buildWheel({ name: opts.project, version, modules, requiresPython, outDir: opts.outDir });
}

/** WhiteNoise, from Debian's python3-whitenoise. */
export function whitenoiseWheel(outDir: string): Promise<BuiltDistribution> {
  return wheelFromDebianPackage({ project: 'whitenoise', importName: 'whitenoise', debianPackage: 'python3-whitenoise', outDir });
}
