/**
 * Hand-built Lockfile objects (src/lock/model.ts) for unit tests of what is built around the model (input
 * discovery, install, reuse, SBOM): `select` returns the given packages, or what a function of the request
 * returns, and records the requests it was asked. The readers' own tests use real tool-written locks.
 */
import type { LockedArtifact, LockedPackage, Lockfile, LockTool, SelectionRequest } from '../../src/lock/model.js';

export interface FakeLock extends Lockfile {
  requests: SelectionRequest[];
}

export function fakeLock(opts: {
  tool?: LockTool;
  file?: string;
  requiresPython?: string;
  indexes?: string[];
  indexNames?: Map<string, string>;
  packages: LockedPackage[] | ((r: SelectionRequest) => LockedPackage[]);
}): FakeLock {
  const requests: SelectionRequest[] = [];
  return {
    tool: opts.tool ?? 'pylock',
    file: opts.file ?? 'pylock.toml',
    requiresPython: opts.requiresPython,
    indexes: opts.indexes ?? [],
    indexNames: opts.indexNames ?? new Map(),
    requests,
    select(r) {
      requests.push(r);
      return typeof opts.packages === 'function' ? opts.packages(r) : opts.packages;
    },
  };
}

const hex = (seed: string): string => Buffer.from(seed.repeat(64)).toString('hex').slice(0, 64);

/** A wheel artifact with a sha256 made from `seed`. */
export function wheel(filename: string, seed = filename, url?: string): LockedArtifact {
  return { filename, url, hashes: { sha256: hex(seed) } };
}

/** An index package with one pure-Python wheel. */
export function indexPackage(name: string, version: string, extra: Partial<LockedPackage> = {}): LockedPackage {
  return { name, version, source: { kind: 'index', url: undefined }, artifacts: [wheel(`${name.replace(/-/g, '_')}-${version}-py3-none-any.whl`, `${name}${version}`)], ...extra };
}
