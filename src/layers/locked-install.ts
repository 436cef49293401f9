/**
 * A locked install in the pip-deps layer (src/lock/ reads the lock): the selected set for this Python and target,
 * the index pip uses and its credentials (src/lock/index-credentials.ts), the three pip runs, pip's hash
 * failures named by package, and the SBOM's components. The layer itself, its key and reuse are pip-deps.ts's.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BuildContext } from '../cnb/context.js';
import type { Env } from '../cnb/env.js';
import type { Cause } from '../causes.js';
import { pypiPurl, type SbomComponent } from '../cyclonedx.js';
import type { Executor } from '../deps.js';
import { BuildpackError } from '../failure.js';
import { indexAccess, LOCK_TOOL_NAME, unsetCredentialVariables, writtenCredentials } from '../lock/index-credentials.js';
import { markerEnvironment } from '../lock/markers.js';
import type { LockedPackage, Lockfile } from '../lock/model.js';
import { linksPage, localArgument, pipInputs, type PipInputs } from '../lock/pip-inputs.js';
import { artifactFits, type WheelTarget } from '../lock/wheel-tags.js';
import type { Logger } from '../logger.js';
import { applyMirror } from '../python/archives.js';
import { maskSecrets } from '../secrets.js';
import type { Settings } from '../settings.js';
import { runPip } from './pip-run.js';
import type { InstalledPython } from './python.js';

/** What a locked install needs: the lock, its selected set for this target and what pip gets from it. */
export interface LockedPlan {
  lock: Lockfile;
  packages: LockedPackage[];
  target: WheelTarget;
  inputs: PipInputs;
  /** `--index-url` / `--extra-index-url` arguments from the lock (none when PIP_INDEX_URL names the index). */
  indexArgs: string[];
  /** The variables that gave the lock's indexes their credentials (src/lock/index-credentials.ts), and their secret values. */
  indexCredentials: { variables: string[]; secrets: string[] };
  /** The lock's index URLs as it writes them (no value from the environment), for the layer key; none under PIP_INDEX_URL. */
  lockIndexes: string[];
  /** The variables that would give the lock's named indexes credentials, when none was set: for pip's failure message. */
  unsetCredentials: string[];
  /** The lock's index URLs (masked) that carry a password or token written into them: each is warned about. */
  writtenCredentials: string[];
  /** The app's own package, left out by DISABLE_SETUP_PY_PROCESSING / DISABLE_PYPROJECT_TOML_PROCESSING: the settings named. */
  appSkippedBy: string[];
}

/**
 * OpenShift s2i's DISABLE_SETUP_PY_PROCESSING and DISABLE_PYPROJECT_TOML_PROCESSING leave the app itself out of
 * a locked install too: when every project file of the app's folder (setup.py or setup.cfg, pyproject.toml)
 * has its setting set, as src/python/install-plan.ts decides for an app without a lock. The settings named.
 */
function appSkippedBy(appDir: string, appPath: string, settings: Settings): string[] {
  const has = (f: string): boolean => fs.existsSync(path.join(appDir, appPath, f));
  const steps = [
    ...(has('setup.py') || has('setup.cfg') ? [{ on: settings.disableSetupPyProcessing, name: 'DISABLE_SETUP_PY_PROCESSING' }] : []),
    ...(has('pyproject.toml') ? [{ on: settings.disablePyprojectTomlProcessing, name: 'DISABLE_PYPROJECT_TOML_PROCESSING' }] : []),
  ];
  return steps.length > 0 && steps.every((st) => st.on) ? steps.map((st) => st.name) : [];
}

/**
 * Selects the lock's packages for this Python and target and checks them (src/lock/pip-inputs.ts). The index
 * is the lock's (its first as --index-url, the others as --extra-index-url) unless PIP_INDEX_URL names one:
 * pip's command-line options would override PIP_INDEX_URL (https://pip.pypa.io/en/stable/topics/configuration/),
 * so none is passed then. BP_DEPENDENCY_MIRROR rewrites the lock's index and file URLs as it rewrites every
 * download (scheme and host replaced, path kept: src/python/archives.ts applyMirror).
 */
export function planLockedInstall(ctx: BuildContext, lock: Lockfile, python: InstalledPython, settings: Settings): LockedPlan {
  const target: WheelTarget = { python: python.version, arch: ctx.target.arch };
  const selected = lock.select({ env: markerEnvironment(python.version, ctx.target.arch), groups: settings.dependencyGroups, extras: settings.extras });
  const skippedBy = new Set<string>();
  const packages = selected.filter((p) => {
    if (p.source.kind !== 'app') return true;
    const by = appSkippedBy(ctx.appDir, p.source.path, settings);
    for (const b of by) skippedBy.add(b);
    return by.length === 0;
  });
  const mirror = (url: string): string => (/^https?:/i.test(url) ? applyMirror(url, settings.dependencyMirror) : url);
  const ownIndex = settings.pipVariables.PIP_INDEX_URL === undefined;
  const inputs = pipInputs(lock, packages, target, mirror, ownIndex);
  const named = [...new Set([...lock.indexes, ...packages.flatMap((p) => (p.source.kind === 'index' && p.source.url !== undefined ? [p.source.url] : []))])];
  // Credentials as the lock's tool takes them from the environment; BP_DEPENDENCY_MIRROR then keeps the path and
  // query (a token there too), never the user name and password.
  const access = ownIndex ? named.map((u) => indexAccess(lock, u, settings.lockIndexVariable)) : [];
  const indexes = access.map((a) => mirror(a.url));
  const indexCredentials = { variables: [...new Set(access.flatMap((a) => a.variables))], secrets: [...new Set(access.flatMap((a) => a.secrets))] };
  // An http:// index the lock names (Pipenv's `verify_ssl = false` sources, a Poetry source on the LAN) is one
  // pip ignores without --trusted-host (pip's secure origins: https, localhost); the lock's hashes still decide
  // which files are accepted, so plain HTTP cannot swap a file.
  const trusted = [...new Set(indexes.flatMap((u) => (/^http:/i.test(u) ? [hostOf(u)] : [])))].flatMap((h) => (h === undefined ? [] : ['--trusted-host', h]));
  const indexArgs = ownIndex ? [...indexes.flatMap((u, i) => [i === 0 ? '--index-url' : '--extra-index-url', u]), ...trusted] : [];
  const unsetCredentials = ownIndex ? [...new Set(named.flatMap((u) => unsetCredentialVariables(lock, u, settings.lockIndexVariable)))] : [];
  const written = ownIndex ? named.filter((u) => writtenCredentials(lock, u)).map(maskSecrets) : [];
  return { lock, packages, target, inputs, indexArgs, indexCredentials, lockIndexes: ownIndex ? named : [], unsetCredentials, writtenCredentials: written, appSkippedBy: [...skippedBy] };
}

/** `host` or `host:port` of a URL, as --trusted-host takes it; undefined for a URL that does not parse. */
function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host || undefined;
  } catch {
    return undefined;
  }
}

/**
 * The three pip runs of a locked install (src/lock/pip-inputs.ts): the hash-checked requirements file, the
 * git packages at their commits, then the local paths and the app. Every run is --no-deps: the lock is the
 * whole set, and pip resolving again could only add what the lock left out. The requirements file (and the
 * find-links page) go to a temporary folder outside the layer, removed afterwards.
 */
export async function installLocked(ctx: BuildContext, exec: Executor, log: Logger, python: InstalledPython, env: Env, common: string[], plan: LockedPlan): Promise<void> {
  const { inputs, indexArgs, lock } = plan;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ausnimbus-lock-'));
  try {
    if (inputs.hashed.length > 0) {
      const reqFile = path.join(tmp, 'locked-requirements.txt');
      fs.writeFileSync(reqFile, `${inputs.hashed.join('\n')}\n`, { mode: 0o600 });
      const links: string[] = [];
      if (inputs.links.length > 0) {
        const page = path.join(tmp, 'locked-files.html');
        fs.writeFileSync(page, linksPage(inputs.links), { mode: 0o600 });
        // The lock names no index (pip lock writes file URLs only): the page is the whole source, and pip must
        // not go looking on PyPI, which an offline build cannot reach.
        links.push('--no-index', '--find-links', page);
      }
      const args = [...common, '--no-deps', '--require-hashes', ...indexArgs, ...links, '-r', reqFile];
      await runPip(ctx, exec, log, python, env, args, `Installed ${inputs.hashed.length} locked package${inputs.hashed.length === 1 ? '' : 's'}, hash-checked`, false, (output) => hashMismatch(output, lock));
    }
    if (inputs.git.length > 0) {
      log.info(`Git packages are pinned by commit, not by hash: ${inputs.git.map((g) => g.name).join(', ')}`);
      await runPip(ctx, exec, log, python, env, [...common, '--no-deps', ...indexArgs, ...inputs.git.map((g) => g.requirement)], 'Installed the git packages', false);
    }
    if (inputs.local.length > 0) {
      const args = inputs.local.flatMap((l) => (l.editable ? ['-e', localArgument(l.path)] : [localArgument(l.path)]));
      await runPip(ctx, exec, log, python, env, [...common, '--no-deps', ...indexArgs, ...args], 'Installed the app and its local packages', false);
    }
  } catch (err) {
    // pip reports an index's 401 as a package it cannot find: only then may missing credentials be the cause
    const notFound = (lines: string[]): boolean => lines.some((l) => /No matching distribution|Could not find a version/.test(l));
    if (err instanceof BuildpackError && err.cause.type === 'pip-install-failed' && plan.unsetCredentials.length > 0 && notFound(err.cause.errorLines)) {
      throw new BuildpackError({ ...err.cause, lockCredentials: { tool: LOCK_TOOL_NAME[lock.tool], variables: plan.unsetCredentials } }, err.source);
    }
    throw err;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * pip's hash-checking failure (pip._internal.exceptions.HashMismatch), which names the requirement and the
 * hashes: `    flask==3.1.3 from <url> (from -r <file> (line 1)):` (`flask@ <url> from …` for a direct URL), then
 * `Expected sha256 <hex>`, `Expected     or <hex>` for each further hash, and `Got <hex>`. The first one found.
 */
export function hashMismatch(output: string, lock: Lockfile): Cause | undefined {
  const at = output.indexOf('DO NOT MATCH THE HASHES');
  if (at === -1) return undefined;
  const lines = output.slice(at).split(/\r?\n/).slice(1);
  const start = lines.findIndex((l, i) => /:[ \t]*$/.test(l) && /^[ \t]+Expected /.test(lines[i + 1] ?? ''));
  if (start === -1) return undefined;
  const head = (lines[start] as string).trim();
  const pkg = head.split(' from ')[0]?.split(/\s*@\s/)[0]?.replace(/:$/, '') ?? head;
  const expected: string[] = [];
  let got: string | undefined;
  for (const l of lines.slice(start + 1)) {
    const e = /^[ \t]+Expected[ \t]+(?:\w+|or)[ \t]+([0-9a-f]+)[ \t]*$/.exec(l);
    const g = /^[ \t]+Got[ \t]+([0-9a-f]+)[ \t]*$/.exec(l);
    if (e) expected.push(e[1] as string);
    else if (g) {
      got = g[1];
      break;
    } else break;
  }
  if (got === undefined || expected.length === 0) return undefined;
  return { type: 'lock-hash-mismatch', file: lock.file, package: pkg, expected, got };
}

/**
 * SBOM components of a locked install (issue 14, item 10): each selected package with the lock's files
 * (URL and hashes, credentials masked) and the lockfile named; the component's own hash when exactly one
 * locked file fits the target, so it is the one installed. Distributions pip installed beyond the set
 * (PIP_UPGRADE's pip) are listed as for requirement files.
 */
export function lockedSbomComponents(plan: LockedPlan, dists: Array<{ name: string; version: string }>): SbomComponent[] {
  const norm = (n: string): string => n.toLowerCase().replace(/[-_.]+/g, '-');
  const names = new Set(plan.packages.map((p) => p.name));
  const fromLock = plan.packages.map((p): SbomComponent => {
    const s = p.source;
    const version = p.version ?? (s.kind === 'git' ? s.commit : '0');
    const fitting = p.artifacts.filter((a) => artifactFits(a.filename, plan.target));
    const only = fitting.length === 1 ? fitting[0]?.hashes.sha256 : undefined;
    const distributions = p.artifacts.flatMap((a) => {
      const url = a.url ?? (s.kind === 'url' ? s.url : undefined);
      return url === undefined ? [] : [{ url: maskSecrets(url), hashes: a.hashes }];
    });
    if (s.kind === 'git') distributions.push({ url: maskSecrets(`${s.url}@${s.commit}`), hashes: {} });
    return {
      name: p.name,
      version,
      type: s.kind === 'app' ? 'application' : 'library',
      purl: pypiPurl(p.name, version),
      ...(only === undefined ? {} : { sha256: only }),
      distributions,
      properties: { 'ausnimbus:lockfile': plan.lock.file, 'ausnimbus:source': s.kind },
    };
  });
  const others = dists.filter((d) => !names.has(norm(d.name))).map((d): SbomComponent => ({ name: d.name, version: d.version, type: 'library', purl: pypiPurl(d.name, d.version) }));
  return [...fromLock, ...others];
}
