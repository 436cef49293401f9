/**
 * The reuse key of a locked install (issue 14, item 7): the selected set itself (names, versions, hashes,
 * sources), not the lockfile's bytes, so a lock edit that selects the same packages (a dev-only bump, a
 * new lock-tool version reformatting the file) reinstalls nothing. Index and URL credentials are masked
 * before anything is hashed or stored: the layer metadata is in the image's labels (src/secrets.ts), and a
 * rotated token installs the same files.
 */
import crypto from 'node:crypto';
import { maskSecrets } from '../secrets.js';
import type { LockedPackage, LockSource } from './model.js';

const sha = (text: string): string => crypto.createHash('sha256').update(text).digest('hex');

function sourceText(s: LockSource): string {
  switch (s.kind) {
    case 'index': return `index ${maskSecrets(s.url ?? '')}`;
    case 'url': return `url ${maskSecrets(s.url)}#${s.subdirectory ?? ''}`;
    case 'git': return `git ${maskSecrets(s.url)}@${s.commit}#${s.subdirectory ?? ''}`;
    case 'path': return `path ${s.path} ${s.editable}`;
    case 'app': return `app ${s.path} ${s.editable}`;
  }
}

/** What the log calls a package's locked state: its version, or for git its commit, for a path its path. */
function shownVersion(p: LockedPackage): string {
  if (p.version !== undefined) return p.version;
  const s = p.source;
  return s.kind === 'git' ? `commit ${s.commit.slice(0, 12)}` : s.kind === 'path' || s.kind === 'app' ? s.path : '';
}

/**
 * One entry per package, `<version> <digest>`: the version for the log's "from → to", and a short digest of
 * the source and every hash, so that a re-uploaded file or a moved index reinstalls too. Nothing secret.
 */
export function selectedSetEntries(packages: LockedPackage[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of [...packages].sort((a, b) => a.name.localeCompare(b.name))) {
    const hashes = p.artifacts.flatMap((a) => Object.entries(a.hashes).map(([alg, h]) => `${alg}:${h.toLowerCase()}`)).sort();
    out[p.name] = `${shownVersion(p)} ${sha(JSON.stringify([sourceText(p.source), hashes])).slice(0, 16)}`;
  }
  return out;
}

/** The key of the whole set. */
export function selectedSetKey(entries: Record<string, string>): string {
  return sha(JSON.stringify(Object.entries(entries).sort(([a], [b]) => a.localeCompare(b))));
}

const versionOf = (entry: string): string => entry.slice(0, entry.lastIndexOf(' '));

/** Log lines: packages added, removed and changed (from → to), by name. */
export function selectedSetChanges(before: Record<string, string>, after: Record<string, string>): string[] {
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const added: string[] = [];
  const removed: string[] = [];
  const changed: string[] = [];
  for (const n of names) {
    const [b, a] = [before[n], after[n]];
    if (b === a) continue;
    if (b === undefined) added.push(`${n} ${versionOf(a as string)}`);
    else if (a === undefined) removed.push(`${n} ${versionOf(b)}`);
    else if (versionOf(a) !== versionOf(b)) changed.push(`${n} ${versionOf(b)} → ${versionOf(a)}`);
    else changed.push(`${n} ${versionOf(a)} (its files or source)`);
  }
  return [
    ...(added.length > 0 ? [`added: ${added.join(', ')}`] : []),
    ...(removed.length > 0 ? [`removed: ${removed.join(', ')}`] : []),
    ...(changed.length > 0 ? [`changed: ${changed.join(', ')}`] : []),
  ];
}
