/**
 * A selected set of locked packages (src/lock/model.ts) turned into what pip installs (issue 14, item 4):
 *
 * 1. index and URL packages: a pinned, hash-carrying requirements file for
 *    `pip install --no-deps --require-hashes -r` (https://pip.pypa.io/en/stable/topics/secure-installs/):
 *    `name==version --hash=sha256:…` for every file the lock lists (pip takes the best one for the target
 *    whose hash is listed), `name @ url --hash=…` for direct URLs (PEP 440 direct references);
 * 2. git packages at their locked commit, `name @ git+url@commit` (pip's VCS support, which hash-checking
 *    cannot cover: a commit id pins them);
 * 3. the app itself and local paths, `--no-deps`, editable where the lock says.
 *
 * Checked first, naming the package: every index and URL package has a hash pip accepts, and some file of
 * it installs on the target (src/lock/wheel-tags.ts).
 */
import { BuildpackError } from '../failure.js';
import type { LockedArtifact, LockedPackage, Lockfile } from './model.js';
import { artifactFits, describeTarget, type WheelTarget } from './wheel-tags.js';

/** The algorithms pip's --hash accepts (pip._internal.utils.hashes.STRONG_HASHES). */
export const PIP_HASHES = ['sha256', 'sha384', 'sha512'] as const;

export interface PipInputs {
  /** Lines of the hash-checked requirements file (index and URL packages). */
  hashed: string[];
  /** Find-links page entries for index packages whose lock names no index, only file URLs (see below). */
  links: Array<{ url: string; filename: string | undefined; sha256: string | undefined }>;
  /** `name @ git+url@commit` requirements. */
  git: Array<{ name: string; requirement: string }>;
  /** The app and local paths, in the lock's order: pip arguments (`-e path` or `path`). */
  local: Array<{ name: string; path: string; editable: boolean; app: boolean }>;
}

function pkgLabel(p: LockedPackage): string {
  return p.version === undefined ? p.name : `${p.name}==${p.version}`;
}

function pipHashes(artifacts: LockedArtifact[]): string[] {
  const out = new Set<string>();
  for (const a of artifacts) for (const alg of PIP_HASHES) if (a.hashes[alg] !== undefined) out.add(`--hash=${alg}:${a.hashes[alg]}`);
  return [...out].sort();
}

/** pip's VCS URL form: `git+` prefixed once (a lock may keep it), the commit after `@`, a subdirectory fragment. */
export function gitRequirement(name: string, url: string, commit: string, subdirectory?: string): string {
  const base = url.replace(/#.*$/, '').replace(/@[0-9a-f]{7,40}$/i, '');
  const vcs = base.startsWith('git+') ? base : `git+${base}`;
  return `${name} @ ${vcs}@${commit}${subdirectory ? `#subdirectory=${subdirectory}` : ''}`;
}

/**
 * Checks and lists. `applyMirror` rewrites download URLs (BP_DEPENDENCY_MIRROR). `useLinks`: index packages
 * with no index known are found through a find-links page of their files' URLs (pip lock writes file URLs
 * and no index); false when PIP_INDEX_URL names the index to use.
 */
export function pipInputs(lock: Lockfile, packages: LockedPackage[], target: WheelTarget, mirror: (url: string) => string, useLinks: boolean): PipInputs {
  const out: PipInputs = { hashed: [], links: [], git: [], local: [] };
  const noIndexKnown = lock.indexes.length === 0 && !packages.some((p) => p.source.kind === 'index' && p.source.url !== undefined);
  for (const p of packages) {
    const s = p.source;
    switch (s.kind) {
      case 'index':
      case 'url': {
        const hashes = pipHashes(p.artifacts);
        if (hashes.length === 0) throw new BuildpackError({ type: 'lock-missing-hash', file: lock.file, package: pkgLabel(p) });
        const fitting = p.artifacts.filter((a) => artifactFits(a.filename, target));
        // A URL package names one archive; its file name may not be a wheel's, which pip checks itself.
        if (s.kind === 'index' && !fitting.some((a) => pipHashes([a]).length > 0)) {
          throw new BuildpackError({ type: 'lock-no-artifact', file: lock.file, package: pkgLabel(p), target: describeTarget(target) });
        }
        if (s.kind === 'url') {
          if (p.artifacts.length > 0 && fitting.length === 0) throw new BuildpackError({ type: 'lock-no-artifact', file: lock.file, package: pkgLabel(p), target: describeTarget(target) });
          out.hashed.push(`${p.name} @ ${mirror(s.url)}${s.subdirectory ? `#subdirectory=${s.subdirectory}` : ''} ${hashes.join(' ')}`);
        } else {
          if (p.version === undefined) throw new BuildpackError({ type: 'lock-malformed', file: lock.file, tool: lock.tool, entry: p.name, detail: 'a registry package without a version' });
          out.hashed.push(`${p.name}==${p.version} ${hashes.join(' ')}`);
          if (useLinks && noIndexKnown) {
            for (const a of fitting) if (a.url !== undefined) out.links.push({ url: mirror(a.url), filename: a.filename, sha256: a.hashes.sha256 });
          }
        }
        break;
      }
      case 'git':
        out.git.push({ name: p.name, requirement: gitRequirement(p.name, s.url, s.commit, s.subdirectory) });
        break;
      case 'path':
        out.local.push({ name: p.name, path: s.path, editable: s.editable, app: false });
        break;
      case 'app':
        out.local.push({ name: p.name, path: s.path, editable: s.editable, app: true });
        break;
    }
  }
  // The app after the local paths it may build on.
  out.local.sort((a, b) => Number(a.app) - Number(b.app));
  return out;
}

/** The find-links page (PEP 503's HTML form, which pip's --find-links reads): one link per file, hash in the fragment. */
export function linksPage(links: PipInputs['links']): string {
  const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  // pip takes a file's name from the link's URL; the text is for people.
  const rows = links.map((l) => `<a href="${esc(l.url)}${l.sha256 ? `#sha256=${l.sha256}` : ''}">${esc(l.filename ?? l.url.replace(/^.*\//, ''))}</a><br/>`);
  return `<!DOCTYPE html>\n<html><body>\n${rows.join('\n')}\n</body></html>\n`;
}

/** `./path` for pip: a bare folder name would be read as a project name. */
export function localArgument(p: string): string {
  return p === '.' || p.startsWith('./') || p.startsWith('../') || p.startsWith('/') ? p : `./${p}`;
}
