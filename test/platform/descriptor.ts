/**
 * buildpack.toml reading and checking (buildpack.md §buildpack.toml (TOML)), target matching (buildpack.md §Environment, buildpack.md §Build Plan (TOML)) and the
 * `CNB_TARGET_*` variables.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { isTable, readTomlFile } from './fsutil.js';
import type { EnvMap, TargetSpec, TomlTable } from './types.js';

/** Buildpack APIs the emulated lifecycle (v0.21.x) accepts; matching is exact (buildpack.md: a lifecycle supports a list of Buildpack API versions). */
export const LIFECYCLE_BUILDPACK_APIS = ['0.7', '0.8', '0.9', '0.10', '0.11', '0.12'];
/** This platform only implements the post-0.9 semantics (array commands, no `direct`). */
const MIN_SUPPORTED_API = [0, 9];

export interface BuildpackDescriptor {
  api: string;
  id: string;
  version: string;
  /** `id` with `/` replaced by `_` (lifecycle `launch.EscapeID`). */
  escapedId: string;
  clearEnv: boolean;
  /** `[buildpack] sbom-formats` (media types). */
  sbomFormats: string[];
  targets: TomlTable[];
  raw: TomlTable;
}

export function escapeId(id: string): string {
  return id.replaceAll('/', '_');
}

/** Compares "major.minor" API strings numerically. */
export function apiAtLeast(api: string, min: string): boolean {
  const [a1 = 0, a2 = 0] = api.split('.').map(Number);
  const [b1 = 0, b2 = 0] = min.split('.').map(Number);
  return a1 !== b1 ? a1 > b1 : a2 >= b2;
}

function stringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/**
 * Reads `<dir>/buildpack.toml` and checks it against the lifecycle's schema. Returns the descriptor
 * (best effort) and the list of violations; the caller decides whether to throw.
 */
export async function readDescriptor(
  dir: string,
  supportedApis: string[],
): Promise<{ descriptor: BuildpackDescriptor; violations: string[] }> {
  const violations: string[] = [];
  const read = await readTomlFile(path.join(dir, 'buildpack.toml'));
  if (!read) throw new Error(`no buildpack.toml in ${dir}`);
  if (!read.ok) throw new Error(`buildpack.toml does not parse: ${read.error}`);
  const raw = read.value;
  const bp = isTable(raw.buildpack) ? raw.buildpack : {};
  const api = typeof raw.api === 'string' ? raw.api : '';
  const id = typeof bp.id === 'string' ? bp.id : '';
  const version = typeof bp.version === 'string' ? bp.version : '';

  if (!api) violations.push('buildpack.toml: `api` must be a string like "0.10"');
  else if (!supportedApis.includes(api)) {
    violations.push(`buildpack.toml: api "${api}" is not supported by the lifecycle (exact match needed; supported: ${supportedApis.join(', ')})`);
  } else if (!apiAtLeast(api, MIN_SUPPORTED_API.join('.'))) {
    violations.push(`buildpack.toml: api "${api}" < 0.9 is not emulated by this test platform`);
  }
  if (!/^[A-Za-z0-9./-]+$/.test(id)) violations.push(`buildpack.toml: [buildpack] id "${id}" must match [A-Za-z0-9./-]+`);
  if (['app', 'config', 'generated', 'sbom'].includes(id)) violations.push(`buildpack.toml: id "${id}" is reserved`);
  if (!/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/.test(version)) {
    violations.push(`buildpack.toml: [buildpack] version "${version}" must be X.Y.Z (non-negative integers, no leading zeros)`);
  }
  if (bp['clear-env'] !== undefined && typeof bp['clear-env'] !== 'boolean') violations.push('buildpack.toml: clear-env must be a boolean');
  if (bp['sbom-formats'] !== undefined && !stringArray(bp['sbom-formats'])) violations.push('buildpack.toml: sbom-formats must be an array of strings');
  if (bp['exec-env'] !== undefined && !stringArray(bp['exec-env'])) {
    violations.push('buildpack.toml: [buildpack] exec-env must be an array of strings (the lifecycle cannot decode [[buildpack.exec-env]] tables)');
  }
  if (raw.stacks !== undefined && raw.order !== undefined) violations.push('buildpack.toml: `stacks` and `order` must not appear together');
  if (raw.order !== undefined) violations.push('buildpack.toml: composite buildpacks (`order`) are not supported by this test platform');
  const targets = Array.isArray(raw.targets) ? raw.targets.filter(isTable) : [];
  if (raw.targets !== undefined && (!Array.isArray(raw.targets) || targets.length !== raw.targets.length)) {
    violations.push('buildpack.toml: `targets` must be an array of tables ([[targets]])');
  }
  for (const t of targets) {
    if ('variant' in t) violations.push('buildpack.toml: [[targets]] `variant` is not decoded by the lifecycle (it reads `arch-variant`); leave it out');
  }
  for (const bin of ['detect', 'build']) {
    const p = path.join(dir, 'bin', bin);
    try {
      const st = await fsp.stat(p);
      if (!st.isFile() || (st.mode & 0o111) === 0) violations.push(`bin/${bin} must be an executable file`);
    } catch {
      violations.push(`bin/${bin} is missing`);
    }
  }

  const descriptor: BuildpackDescriptor = {
    api,
    id,
    version,
    escapedId: escapeId(id),
    clearEnv: bp['clear-env'] === true,
    sbomFormats: stringArray(bp['sbom-formats']) ? bp['sbom-formats'] : [],
    targets,
    raw,
  };
  return { descriptor, violations };
}

/** The build host's target: linux, amd64/arm64 from process.arch, distro from /etc/os-release ID/VERSION_ID. */
export function hostTarget(): TargetSpec {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const target: TargetSpec = { os: 'linux', arch };
  try {
    const text = fs.readFileSync('/etc/os-release', 'utf8');
    const get = (k: string): string | undefined => {
      const m = new RegExp(`^${k}=(.*)$`, 'm').exec(text);
      return m?.[1]?.trim().replace(/^["']|["']$/g, '');
    };
    const name = get('ID');
    const version = get('VERSION_ID');
    if (name) target.distroName = name;
    if (version) target.distroVersion = version;
  } catch {
    // no os-release: distro unknown, variables not set
  }
  return target;
}

/** The `CNB_TARGET_*` variables for a target (only the known ones are set). */
export function targetEnv(t: TargetSpec): EnvMap {
  const env: EnvMap = { CNB_TARGET_OS: t.os, CNB_TARGET_ARCH: t.arch };
  if (t.archVariant) env.CNB_TARGET_ARCH_VARIANT = t.archVariant;
  if (t.distroName) env.CNB_TARGET_DISTRO_NAME = t.distroName;
  if (t.distroVersion) env.CNB_TARGET_DISTRO_VERSION = t.distroVersion;
  return env;
}

/** lifecycle `TargetSatisfiedForBuild`: an empty value on either side matches. */
export function targetSatisfied(d: BuildpackDescriptor, t: TargetSpec): boolean {
  if (d.targets.length === 0) return true;
  const m = (a: string | undefined, b: unknown): boolean => !a || typeof b !== 'string' || !b || a === b;
  return d.targets.some((bt) => {
    if (!m(t.os, bt.os) || !m(t.arch, bt.arch) || !m(t.archVariant, bt['arch-variant'])) return false;
    const distros = Array.isArray(bt.distros) ? bt.distros.filter(isTable) : [];
    if (!t.distroName || distros.length === 0) return true;
    return distros.some((dd) => m(t.distroName, dd.name) && m(t.distroVersion, dd.version));
  });
}
