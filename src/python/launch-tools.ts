/**
 * Build tools the app needs at launch. pip, setuptools and wheel are in the build-only build-tools layer
 * (src/python/build-only.ts), and pip sees them as installed: a package that requires setuptools at run time
 * (Gunicorn 20 declares `setuptools>=3.0` and imports pkg_resources) is "already satisfied" by the build's
 * copy and nothing lands in pip-deps, which is all the image has. So after pip, each build tool that a
 * requirement file names, or that an installed distribution requires (its `Requires-Dist`, PEP 566, or an
 * egg-info `requires.txt`, a project installed in place included), is copied from build-tools into
 * pip-deps, unless pip-deps has it already. Environment markers other than `extra` are not evaluated: a tool
 * required only on other Pythons is copied too (bytes, never a missing module).
 */
import fs from 'node:fs';
import path from 'node:path';
import { BUILD_TOOL_DISTRIBUTIONS, normalizeName, toolDistributions } from './build-only.js';
import { installedDistributions, sitePackagesDirs } from './installed.js';
import { decodeRequirementBytes } from './requirement-encoding.js';
import { collectRequirementInputs, logicalLines } from './requirements.js';
import type { Logger } from '../logger.js';

const TOOLS = new Set<string>(BUILD_TOOL_DISTRIBUTIONS);

const read = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** The tool a requirement string names (`setuptools>=3.0 ; python_version < "3.12"`), if it names one. */
function toolOf(requirement: string): string | undefined {
  const name = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)/.exec(requirement)?.[1];
  const tool = name === undefined ? undefined : normalizeName(name);
  return tool !== undefined && TOOLS.has(tool) ? tool : undefined;
}

/** Tools named by `Requires-Dist` headers of a METADATA file (before the blank line that starts the body), except those of an extra. */
export function toolsInMetadata(text: string): string[] {
  const out: string[] = [];
  const headers = text.split(/\r?\n\r?\n/)[0] ?? '';
  for (const m of headers.matchAll(/^Requires-Dist:[ \t]*(.+)$/gm)) {
    const [req = '', marker = ''] = (m[1] as string).split(';');
    const tool = toolOf(req);
    if (tool && !/\bextra\s*==/.test(marker)) out.push(tool);
  }
  return out;
}

/** Tools named by an egg-info `requires.txt` outside extras: the lines before any section, and `[:marker]` sections. */
export function toolsInRequiresTxt(text: string): string[] {
  const out: string[] = [];
  let inExtra = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const section = /^\[(.*)\]$/.exec(line);
    if (section) inExtra = !(section[1] as string).startsWith(':');
    else if (!inExtra) {
      const tool = toolOf(line);
      if (tool) out.push(tool);
    }
  }
  return out;
}

/** Tools named by a requirement file's requirement lines (options, paths and URLs name none). */
export function toolsInRequirementFile(data: Buffer): string[] {
  const decoded = decodeRequirementBytes(data);
  if (!decoded.ok) return [];
  return logicalLines(decoded.text).flatMap((l) => (l.startsWith('-') ? [] : [toolOf(l.split(/\s+--?\w/)[0] as string)])).filter((t): t is string => t !== undefined);
}

/** Tools that the distributions installed under `userBase` require (project folders installed in place included). */
export function toolsRequiredBy(userBase: string): string[] {
  const out: string[] = [];
  for (const site of sitePackagesDirs(userBase)) {
    for (const entry of fs.readdirSync(site).sort()) {
      const p = path.join(site, entry);
      if (entry.endsWith('.dist-info')) out.push(...toolsInMetadata(read(path.join(p, 'METADATA')) ?? ''));
      else if (entry.endsWith('.egg-info')) out.push(...toolsInRequiresTxt(read(path.join(p, 'requires.txt')) ?? ''));
      else if (entry.endsWith('.egg-link')) {
        // `setup.py develop`: the first line is the project folder, which holds its .egg-info.
        const project = (read(p) ?? '').split(/\r?\n/)[0]?.trim();
        if (!project) continue;
        const dir = path.resolve(site, project);
        for (const e of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
          if (e.endsWith('.egg-info')) out.push(...toolsInRequiresTxt(read(path.join(dir, e, 'requires.txt')) ?? ''));
        }
      }
    }
  }
  return [...new Set(out)].sort();
}

/**
 * Copies the tools `names` from build-tools' site-packages into the user base's (`userSite`), each with its
 * `.dist-info` and the files its RECORD names there (not its scripts). Returns what was copied.
 */
export function copyTools(toolsSite: string, userSite: string, names: string[]): Array<{ name: string; version: string }> {
  const copied: Array<{ name: string; version: string }> = [];
  for (const tool of toolDistributions(toolsSite)) {
    if (!names.includes(tool.name)) continue;
    fs.mkdirSync(userSite, { recursive: true });
    for (const e of tool.entries) fs.cpSync(path.join(toolsSite, e), path.join(userSite, e), { recursive: true, verbatimSymlinks: true });
    copied.push({ name: tool.name, version: tool.version });
  }
  return copied;
}

/**
 * The tools to copy into the pip-deps layer at `userBase`: named by `requirementFiles` (absolute paths) or
 * required by what is installed there, and not installed there.
 */
export function launchToolsMissing(userBase: string, requirementFiles: string[]): string[] {
  const fromFiles = requirementFiles.flatMap((f) => {
    try {
      return toolsInRequirementFile(fs.readFileSync(f));
    } catch {
      return [];
    }
  });
  const installed = new Set(installedDistributions(userBase).map((d) => normalizeName(d.name)));
  return [...new Set([...fromFiles, ...toolsRequiredBy(userBase)])].filter((t) => !installed.has(t)).sort();
}

/**
 * After pip filled the pip-deps layer at `userBase`: copies into it the build tools the app needs at launch
 * (above) from build-tools' site-packages `toolsSite`, with a log line naming them. `requirementFiles`: as
 * pip's command line names them, relative to the app (the files they include are read too); `names`: what a
 * lockfile installs (with --no-deps, pip finds a locked setuptools of the same version already satisfied).
 */
export function keepLaunchTools(o: {
  appDir: string; userBase: string; toolsSite: string; minor: string; requirementFiles: string[]; pipVariables: Record<string, string>; log: Logger;
  /** Distributions a lockfile installs, by name: a tool among them is named as a requirement file's line would. */
  names?: string[];
}): void {
  let files: string[] = [];
  try {
    files = collectRequirementInputs(o.appDir, o.requirementFiles, o.pipVariables).files.map((f) => path.resolve(o.appDir, f));
  } catch {
    // pip has read them already; a file it could read and this cannot is only not looked at
  }
  const named = (o.names ?? []).map(normalizeName).filter((n) => TOOLS.has(n));
  const installed = new Set(installedDistributions(o.userBase).map((d) => normalizeName(d.name)));
  const missing = [...new Set([...launchToolsMissing(o.userBase, files), ...named.filter((n) => !installed.has(n))])].sort();
  if (missing.length === 0) return;
  const userSite = sitePackagesDirs(o.userBase)[0] ?? path.join(o.userBase, 'lib', `python${o.minor}`, 'site-packages');
  const copied = copyTools(o.toolsSite, userSite, missing);
  if (copied.length > 0) {
    const list = copied.map((d) => `${d.name} ${d.version}`).join(', ');
    o.log.info(`Copied ${list} from the build-tools layer into pip-deps: the app's requirements need ${copied.length === 1 ? 'it' : 'them'} when it runs`);
  }
}
