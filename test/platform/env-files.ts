/**
 * Environment handling exactly like the lifecycle's `env` package (buildpack.md §Detection and §Build, buildpack.md §Environment, buildpack.md §Environment Variable Modification Rules):
 * the build-env include list, platform `env/<NAME>` files, operator `build-config/env` files,
 * layer root dirs (bin, lib, ...), and env files with suffix actions. Plus the validator for
 * buildpack-written env directories (the spec's "Env files ...").
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { readDirSorted } from './fsutil.js';
import type { EnvMap, EnvOverrides } from './types.js';

/** Variables the lifecycle passes through from its own environment to detect/build (lifecycle env/build.go). */
export const BUILD_ENV_INCLUDELIST = [
  'PATH',
  'LD_LIBRARY_PATH',
  'LIBRARY_PATH',
  'CPATH',
  'PKG_CONFIG_PATH',
  'HOME',
  'HOSTNAME',
  'HTTPS_PROXY',
  'https_proxy',
  'HTTP_PROXY',
  'http_proxy',
  'NO_PROXY',
  'no_proxy',
  'CNB_STACK_ID',
];

/** Layer sub-directories added to path-like variables at build time (for later buildpacks). */
export const POSIX_BUILD_ROOT_DIRS: Record<string, string[]> = {
  bin: ['PATH'],
  lib: ['LD_LIBRARY_PATH', 'LIBRARY_PATH'],
  include: ['CPATH'],
  pkgconfig: ['PKG_CONFIG_PATH'],
};

/** Layer sub-directories added at launch (lifecycle env/launch.go). */
export const POSIX_LAUNCH_ROOT_DIRS: Record<string, string[]> = {
  bin: ['PATH'],
  lib: ['LD_LIBRARY_PATH'],
};

/** Removed by the launcher from the container env before anything else (lifecycle LaunchEnvExcludelist). */
export const LAUNCH_ENV_EXCLUDELIST = ['CNB_LAYERS_DIR', 'CNB_APP_DIR', 'CNB_PROCESS_TYPE', 'CNB_PLATFORM_API', 'CNB_DEPRECATION_MODE'];

const ROOT_ENV_VARS = new Set(Object.values(POSIX_BUILD_ROOT_DIRS).flat());

/** A mutable variable set with the lifecycle's Get/Set semantics (Get of an unset variable is ""). */
export class EnvVars {
  private readonly vals = new Map<string, string>();

  constructor(init: EnvOverrides = {}) {
    for (const [k, v] of Object.entries(init)) if (v !== undefined) this.vals.set(k, v);
  }

  get(key: string): string {
    return this.vals.get(key) ?? '';
  }

  set(key: string, value: string): void {
    this.vals.set(key, value);
  }

  delete(key: string): void {
    this.vals.delete(key);
  }

  clone(): EnvVars {
    return new EnvVars(this.toObject());
  }

  toObject(): EnvMap {
    return Object.fromEntries(this.vals);
  }
}

/** `s` prefixed by `sep` unless empty (lifecycle `prefix`). */
const prefix = (s: string, sep: string): string => (s === '' ? '' : sep + s);
/** `s` suffixed by `sep` unless empty (lifecycle `suffix`). */
const suffix = (s: string, sep: string): string => (s === '' ? '' : s + sep);

/** Merges overrides into a base (undefined deletes) and keeps only the include-listed variables. */
export function filterBuildBaseEnv(base: EnvOverrides): EnvVars {
  const vars = new EnvVars();
  for (const [k, v] of Object.entries(base)) if (v !== undefined && BUILD_ENV_INCLUDELIST.includes(k)) vars.set(k, v);
  return vars;
}

export type FileReader = (p: string) => Promise<Buffer>;
const defaultReader: FileReader = (p) => fsp.readFile(p);

/** lifecycle `eachEnvFile`: files (and symlinks to files) in name order; sub-directories skipped. */
async function eachEnvFile(dir: string, fn: (name: string, value: string) => void, read: FileReader): Promise<void> {
  for (const entry of await readDirSorted(dir)) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) continue;
    if (entry.isSymbolicLink() && (await fsp.stat(p)).isDirectory()) continue;
    fn(entry.name, (await read(p)).toString('utf8'));
  }
}

async function readDelim(dir: string, name: string, read: FileReader, def = ''): Promise<string> {
  try {
    return (await read(path.join(dir, `${name}.delim`))).toString('utf8');
  } catch {
    return def;
  }
}

/**
 * lifecycle `AddEnvDir`: applies every file of `dir`. The variable name is the part before the first
 * `.`, the rest is the action: override/none (set), default (set if empty), prepend/append (with the
 * `.delim` file's contents as delimiter, empty without one), delim (ignored), "" (prepend with ':').
 * Any other suffix is ignored. Contents are used verbatim.
 */
export async function applyEnvDir(vars: EnvVars, dir: string, defaultAction = 'override', read = defaultReader): Promise<void> {
  const files: Array<[string, string]> = [];
  await eachEnvFile(dir, (k, v) => files.push([k, v]), read);
  for (const [file, value] of files) {
    const dot = file.indexOf('.');
    const name = dot < 0 ? file : file.slice(0, dot);
    const action = dot < 0 ? defaultAction : file.slice(dot + 1);
    switch (action) {
      case 'prepend':
        vars.set(name, value + prefix(vars.get(name), await readDelim(dir, name, read)));
        break;
      case 'append':
        vars.set(name, suffix(vars.get(name), await readDelim(dir, name, read)) + value);
        break;
      case 'override':
        vars.set(name, value);
        break;
      case 'default':
        if (vars.get(name) === '') vars.set(name, value);
        break;
      case '':
        vars.set(name, value + prefix(vars.get(name), await readDelim(dir, name, read, ':')));
        break;
      default:
        break; // .delim and unknown suffixes are ignored
    }
  }
}

/** lifecycle `AddRootDir`: `<layer>/bin` etc. are prepended (with ':') when they exist. */
export async function addRootDir(vars: EnvVars, layerDir: string, map: Record<string, string[]>): Promise<void> {
  for (const [sub, keys] of Object.entries(map)) {
    const child = path.join(path.resolve(layerDir), sub);
    try {
      await fsp.stat(child);
    } catch {
      continue;
    }
    for (const key of keys) vars.set(key, child + prefix(vars.get(key), ':'));
  }
}

/**
 * lifecycle `WithOverrides`: user variables from `<platform>/env/` (a path-like variable is
 * prepended with ':', anything else overridden), then operator variables from
 * `<build-config>/env/` (suffix rules, unsuffixed = default). Pass platformDir undefined for clear-env.
 */
export async function withOverrides(base: EnvVars, platformDir?: string, buildConfigDir?: string): Promise<EnvVars> {
  const vars = base.clone();
  if (platformDir) {
    await eachEnvFile(
      path.join(platformDir, 'env'),
      (k, v) => vars.set(k, ROOT_ENV_VARS.has(k) ? v + prefix(vars.get(k), ':') : v),
      defaultReader,
    );
  }
  if (buildConfigDir) await applyEnvDir(vars, path.join(buildConfigDir, 'env'), 'default');
  return vars;
}

const VALID_SUFFIXES = new Set(['override', 'default', 'prepend', 'append', 'delim']);

/**
 * Checks a buildpack-written env directory (`env/`, `env.build/`, `env.launch/`, `env.launch/<type>/`).
 * `label` is used in messages (e.g. "python/env.launch"). Returns violations and warnings.
 */
export async function validateEnvDir(
  dir: string,
  label: string,
  allowTypeDirs: boolean,
): Promise<{ violations: string[]; warnings: string[] }> {
  const violations: string[] = [];
  const warnings: string[] = [];
  const entries = await readDirSorted(dir);
  const names = new Set(entries.map((e) => e.name));
  for (const entry of entries) {
    const p = path.join(dir, entry.name);
    const where = `${label}/${entry.name}`;
    const st = await fsp.stat(p).catch(() => undefined);
    if (!st) {
      violations.push(`${where}: dangling symlink`);
      continue;
    }
    if (st.isDirectory()) {
      if (allowTypeDirs) {
        const sub = await validateEnvDir(p, where, false);
        violations.push(...sub.violations);
        warnings.push(...sub.warnings);
      } else {
        warnings.push(`${where}: sub-directory is ignored by the lifecycle`);
      }
      continue;
    }
    const dot = entry.name.indexOf('.');
    const name = dot < 0 ? entry.name : entry.name.slice(0, dot);
    const action = dot < 0 ? undefined : entry.name.slice(dot + 1);
    if (name === '') violations.push(`${where}: empty variable name`);
    else if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) warnings.push(`${where}: unusual variable name "${name}"`);
    if (name.startsWith('CNB_')) violations.push(`${where}: the CNB_ prefix is reserved; buildpacks must not define ${name}`);
    if (action === '') violations.push(`${where}: empty suffix (trailing ".") is a legacy prepend-path action; use .prepend with a .delim`);
    else if (action !== undefined && !VALID_SUFFIXES.has(action)) {
      violations.push(`${where}: unknown suffix ".${action}" (valid: none, .override, .default, .prepend, .append, .delim); the lifecycle ignores the file`);
    }
    if ((action === 'prepend' || action === 'append') && !names.has(`${name}.delim`)) {
      violations.push(`${where}: .${action} without ${name}.delim in the same directory (the delimiter would be empty)`);
    }
    const content = await fsp.readFile(p, 'utf8');
    if (content.endsWith('\n')) violations.push(`${where}: value ends with a newline (env files are used verbatim; write them without a trailing newline)`);
  }
  return { violations, warnings };
}
