/**
 * Reads and validates everything a buildpack leaves in `$CNB_LAYERS_DIR` after bin/build
 * (buildpack.md §Build Plan (TOML), buildpack.md §Layers, buildpack.md §Environment Variable Modification Rules, buildpack.md §launch.toml (TOML), buildpack.md §Software-Bill-of-Materials and the the Buildpack API spec checklist). Returns the decoded outputs plus
 * `violations` (rules the lifecycle's builder enforces: it exits 52), `conformance` (spec-only rules the
 * builder does not check: the lifecycle accepts the build, this platform refuses it all the same), and
 * `warnings` (allowed but suspicious). Which rule is which was checked against the lifecycle's own
 * builder (test/platform/platform.validation.test.ts compares every case). Messages quote the
 * lifecycle's own wording where it has one.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { validateEnvDir } from './env-files.js';
import { isTable, readDirSorted, readTomlFile } from './fsutil.js';
import type { BuildpackDescriptor } from './descriptor.js';
import type { LabelSpec, LayerTypes, PlanEntry, ProcessSpec, TomlTable } from './types.js';

export interface LayerToml {
  name: string;
  types: LayerTypes;
  metadata?: TomlTable;
  /** `<layer>/` exists (and is a directory). */
  hasDir: boolean;
}

export interface SbomFile {
  /** File name in the buildpack layers dir, e.g. `python.sbom.cdx.json`. */
  file: string;
  /** Layer name, or `launch` / `build` for the buildpack-level SBOMs. */
  owner: string;
  /** Destination name in the image/cache, e.g. `sbom.cdx.json`. */
  ext: string;
}

export interface BuildOutputs {
  layers: Map<string, LayerToml>;
  processes: ProcessSpec[];
  labels: LabelSpec[];
  slices: string[][];
  unmet: string[];
  store?: TomlTable;
  sboms: SbomFile[];
  /** Rules the lifecycle's builder enforces (it fails with exit 52). */
  violations: string[];
  /** spec-only rules the builder does not enforce (it exits 0); refused here all the same (strict mode). */
  conformance: string[];
  warnings: string[];
}

const RESERVED_LAYER_NAMES = new Set(['build', 'launch', 'store']);
const SBOM_MEDIA_TYPES: Record<string, string> = {
  'sbom.cdx.json': 'application/vnd.cyclonedx+json',
  'sbom.spdx.json': 'application/spdx+json',
  'sbom.syft.json': 'application/vnd.syft+json',
};
const SHELLS = new Set(['sh', 'bash', 'dash', 'ash', 'zsh', 'ksh']);

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

export async function readBuildOutputs(
  bpLayersDir: string,
  descriptor: BuildpackDescriptor,
  plan: PlanEntry[],
): Promise<BuildOutputs> {
  const out: BuildOutputs = { layers: new Map(), processes: [], labels: [], slices: [], unmet: [], sboms: [], violations: [], conformance: [], warnings: [] };
  const v = (msg: string): void => void out.violations.push(msg);
  const c = (msg: string): void => void out.conformance.push(msg);
  const id = descriptor.id;
  const entries = await readDirSorted(bpLayersDir);
  const dirNames = new Set<string>();
  const fileNames = new Set<string>();
  for (const e of entries) (e.isDirectory() ? dirNames : fileNames).add(e.name);

  // ---- <layer>.toml files -------------------------------------------------------------------
  for (const file of fileNames) {
    if (!file.endsWith('.toml') || ['launch.toml', 'build.toml', 'store.toml'].includes(file)) continue;
    const name = file.slice(0, -'.toml'.length);
    const ident = `${id}:${name}`;
    const read = await readTomlFile(path.join(bpLayersDir, file));
    if (!read?.ok) {
      v(`${file}: failed to parse metadata for layer '${ident}': ${read?.ok === false ? read.error : 'unreadable'}`);
      continue;
    }
    const t = read.value;
    if ('launch' in t || 'build' in t || 'cache' in t) {
      v(`${file}: the launch, cache and build flags should be in the types table of ${file} (top-level keys fail the build)`);
    }
    if (name.includes('.')) c(`${file}: layer name '${name}' contains a dot (the lifecycle cuts SBOM names at the first '.')`);
    if (name === '') c(`${file}: empty layer name`);
    const types: LayerTypes = { launch: false, build: false, cache: false };
    if (t.types === undefined) {
      c(`${file}: no [types] table (restored metadata must be re-declared with [types], or the file deleted)`);
    } else if (!isTable(t.types)) {
      v(`${file}: [types] must be a table`);
    } else {
      for (const k of ['launch', 'build', 'cache'] as const) {
        const val = t.types[k];
        if (val === undefined) continue;
        if (typeof val !== 'boolean') v(`${file}: types.${k} must be a boolean`);
        else types[k] = val;
      }
    }
    if (t.metadata !== undefined && !isTable(t.metadata)) c(`${file}: [metadata] must be a table`);
    let hasDir = false;
    if (fileNames.has(name)) c(`${name}: layer path exists but is not a directory`);
    else hasDir = dirNames.has(name);
    // launch + cache without a directory fails the export (store.ts exportProblems)
    if (types.cache && !types.launch && !hasDir) {
      c(`layer '${ident}' is cache=true but has no directory (the lifecycle warns "Failed to cache layer" and caches nothing)`);
    }
    const layer: LayerToml = { name, types, hasDir };
    if (isTable(t.metadata)) layer.metadata = t.metadata;
    out.layers.set(name, layer);
  }

  // ---- layer directories ----------------------------------------------------------------------
  for (const dir of dirNames) {
    if (RESERVED_LAYER_NAMES.has(dir)) c(`${dir}/: layer names build, launch and store are reserved`);
    const layer = out.layers.get(dir);
    if (!layer) {
      out.warnings.push(`${dir}/: directory without ${dir}.toml is ignored (not exported, not cached)`);
      continue;
    }
    if (!layer.types.launch && !layer.types.build && !layer.types.cache) continue; // renamed <layer>.ignore
    await validateLayerDir(path.join(bpLayersDir, dir), dir, layer, out);
  }

  // ---- launch.toml / build.toml / store.toml ---------------------------------------------------
  await readLaunchToml(path.join(bpLayersDir, 'launch.toml'), out);
  const build = await readTomlFile(path.join(bpLayersDir, 'build.toml'));
  if (build && !build.ok) v(`build.toml: invalid TOML: ${build.error}`);
  if (build?.ok) {
    const unmet = build.value.unmet;
    if (unmet !== undefined && !Array.isArray(unmet)) v('build.toml: unmet must be an array of tables ([[unmet]])');
    for (const u of Array.isArray(unmet) ? unmet : []) {
      const name = isTable(u) && typeof u.name === 'string' ? u.name : '';
      if (!name) v('build.toml: unmet.name is required');
      else if (!plan.some((e) => e.name === name)) v(`build.toml: unmet.name '${name}' must match a requested dependency`);
      else out.unmet.push(name);
    }
    if (build.value.bom !== undefined) out.warnings.push('build.toml: [[bom]] is deprecated since Buildpack API 0.7');
  }
  const store = await readTomlFile(path.join(bpLayersDir, 'store.toml'));
  if (store && !store.ok) v(`store.toml: invalid TOML: ${store.error}`);
  if (store?.ok) {
    if (store.value.metadata !== undefined && !isTable(store.value.metadata)) c('store.toml: [metadata] must be a table');
    else out.store = store.value;
  }

  // ---- SBOM files -------------------------------------------------------------------------------
  const declared = descriptor.sbomFormats.map((f) => f.split(';')[0]?.trim() ?? '');
  for (const file of fileNames) {
    if (!file.includes('.sbom.')) continue;
    const owner = file.slice(0, file.indexOf('.'));
    if (!file.endsWith('.json')) {
      c(`${file}: not an SBOM file name the lifecycle recognises (*.sbom.<cdx|spdx|syft>.json); it would be silently ignored`);
      continue;
    }
    if (owner !== 'launch' && owner !== 'build' && !out.layers.has(owner)) {
      out.warnings.push(`${file}: SBOM for layer '${owner}' which has no ${owner}.toml is ignored`);
      continue;
    }
    const ext = Object.keys(SBOM_MEDIA_TYPES).find((e) => file.endsWith(`.${e}`));
    if (!ext) {
      v(`${file}: unsupported SBOM file format (allowed: .sbom.cdx.json, .sbom.spdx.json, .sbom.syft.json)`);
      continue;
    }
    const media = SBOM_MEDIA_TYPES[ext] ?? '';
    if (!declared.includes(media)) v(`${file}: undeclared SBOM media type: '${media}' (add it to [buildpack] sbom-formats)`);
    out.sboms.push({ file, owner, ext });
  }
  return out;
}

async function validateLayerDir(dir: string, name: string, layer: LayerToml, out: BuildOutputs): Promise<void> {
  for (const [sub, typeDirs] of [['env', false], ['env.build', false], ['env.launch', true]] as const) {
    const p = path.join(dir, sub);
    if (!(await fsp.stat(p).catch(() => undefined))?.isDirectory()) continue;
    const res = await validateEnvDir(p, `${name}/${sub}`, typeDirs);
    out.conformance.push(...res.violations); // the builder never checks env files; the launcher uses them as they are
    out.warnings.push(...res.warnings);
    if (sub === 'env.launch' && !layer.types.launch) out.warnings.push(`${name}/env.launch: layer is not launch=true; ignored`);
    if (sub === 'env.build' && !layer.types.build) out.warnings.push(`${name}/env.build: layer is not build=true; ignored`);
  }
  const execd = path.join(dir, 'exec.d');
  if ((await fsp.stat(execd).catch(() => undefined))?.isDirectory()) {
    if (!layer.types.launch) out.warnings.push(`${name}/exec.d: layer is not launch=true; exec.d never runs`);
    const checkFiles = async (d: string, label: string, depth: number): Promise<void> => {
      for (const e of await readDirSorted(d)) {
        const p = path.join(d, e.name);
        const st = await fsp.stat(p).catch(() => undefined);
        if (!st) out.conformance.push(`${label}/${e.name}: dangling symlink`);
        else if (st.isDirectory()) {
          if (depth === 0) await checkFiles(p, `${label}/${e.name}`, 1);
          else out.warnings.push(`${label}/${e.name}/: nested directory is ignored`);
        } else if ((st.mode & 0o111) === 0) out.conformance.push(`${label}/${e.name}: exec.d file is not executable (the launcher fails with exit 82)`);
      }
    };
    await checkFiles(execd, `${name}/exec.d`, 0);
  }
  if (await fsp.stat(path.join(dir, 'profile.d')).catch(() => undefined)) {
    out.warnings.push(`${name}/profile.d: not sourced for API >= 0.9 processes`);
  }
}

async function readLaunchToml(file: string, out: BuildOutputs): Promise<void> {
  const v = (msg: string): void => void out.violations.push(`launch.toml: ${msg}`);
  const c = (msg: string): void => void out.conformance.push(`launch.toml: ${msg}`);
  const read = await readTomlFile(file);
  if (!read) return;
  if (!read.ok) return v(`invalid TOML: ${read.error}`);
  const t = read.value;
  const procs = t.processes;
  if (procs !== undefined && !Array.isArray(procs)) return v('processes must be an array of tables ([[processes]])');
  const seen = new Set<string>();
  for (const [i, p] of (Array.isArray(procs) ? procs : []).entries()) {
    if (!isTable(p)) {
      v(`processes[${i}] must be a table`);
      continue;
    }
    const type = typeof p.type === 'string' ? p.type : '';
    const where = `process '${type || `#${i}`}'`;
    if (!/^[A-Za-z0-9._-]+$/.test(type)) c(`${where}: type must match [A-Za-z0-9._-]+`);
    if (seen.has(type)) c(`${where}: duplicate process type`);
    seen.add(type);
    if ('direct' in p) v(`${where}: process.direct is not supported on this buildpack version`);
    let command: string[] = [];
    if (typeof p.command === 'string') v(`${where}: command must be an array of strings (a string command fails to parse for Buildpack API >= 0.9)`);
    else if (!isStringArray(p.command)) v(`${where}: command must be an array of strings`);
    else if (p.command.length === 0) c(`${where}: command is empty (launcher: no command provided for process type)`);
    else command = p.command;
    if (p.args !== undefined && !isStringArray(p.args)) v(`${where}: args must be an array of strings`);
    if (p.default !== undefined && typeof p.default !== 'boolean') v(`${where}: default must be a boolean`);
    if (p['working-dir'] !== undefined && typeof p['working-dir'] !== 'string') v(`${where}: working-dir must be a string`);
    if (p['exec-env'] !== undefined && !isStringArray(p['exec-env'])) v(`${where}: exec-env must be an array of strings`);
    const args = isStringArray(p.args) ? p.args : [];
    const argv = [...command, ...args];
    if (command[0] && !SHELLS.has(path.basename(command[0])) && argv.some((a) => /\$\{?[A-Za-z_]/.test(a))) {
      c(`${where}: argv contains a $VARIABLE but processes are exec'd without a shell (no expansion)`);
    }
    const spec: ProcessSpec = { type, command, args, default: p.default === true };
    if (typeof p['working-dir'] === 'string') spec.workingDir = p['working-dir'];
    if (isStringArray(p['exec-env'])) spec.execEnv = p['exec-env'];
    out.processes.push(spec);
  }
  if (out.processes.filter((p) => p.default).length > 1) v("multiple default process types aren't allowed");
  for (const l of Array.isArray(t.labels) ? t.labels : []) {
    if (isTable(l) && typeof l.key === 'string' && typeof l.value === 'string') out.labels.push({ key: l.key, value: l.value });
    else v('labels entries need string key and value');
  }
  for (const s of Array.isArray(t.slices) ? t.slices : []) {
    if (isTable(s) && isStringArray(s.paths)) out.slices.push(s.paths);
    else v('slices entries need paths = [strings]');
  }
  if (t.bom !== undefined) out.warnings.push('launch.toml: [[bom]] is deprecated since Buildpack API 0.7');
}
