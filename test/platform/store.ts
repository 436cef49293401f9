/**
 * The app image and the build cache kept between builds, and the three lifecycle steps that use
 * them: restore (analyzer + restorer, buildpack.md §Layers table), export (exporter + cacher) and
 * materialise (what the container file system looks like when the image runs).
 *
 * Images and caches live in directories on disk; layer contents are compared through `treeDigest`,
 * which stands in for the lifecycle's layer SHA.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import {
  chownTree,
  copyTree,
  IS_ROOT,
  exists,
  isDirectory,
  isTable,
  linkTree,
  makeDir,
  moveTree,
  normalizeMtimes,
  readDirSorted,
  readTomlFile,
  removeTree,
  stringifyToml,
  treeDigest,
  writeFileExact,
} from './fsutil.js';
import type { BuildpackDescriptor } from './descriptor.js';
import type { BuildOutputs } from './validate.js';
import type { LabelSpec, ProcessSpec, StoredLayerMeta, TomlTable, UserSpec } from './types.js';

export interface ImageLayer extends StoredLayerMeta {
  name: string;
  /**
   * How the exporter got the layer: `new` (contents differ from the previous image), `unchanged`
   * (same digest as the previous image: the lifecycle logs "Reusing layer"), or `reused-from-image`
   * (`<layer>.toml` with launch=true and no directory: the previous image's layer is kept).
   */
  source: 'new' | 'unchanged' | 'reused-from-image';
}

/** An exported app image (launch layers + app dir + process metadata). */
export interface Image {
  generation: number;
  /** Store directory: `layers/<name>/`, `app/`, `sbom/launch/<escaped-id>/...`. */
  dir: string;
  layers: Record<string, ImageLayer>;
  processes: ProcessSpec[];
  /** The image's default process (ENTRYPOINT /cnb/process/<type>); undefined: bare launcher. */
  defaultProcess?: string;
  labels: LabelSpec[];
  slices: string[][];
  /** store.toml contents (restored on the next build). */
  store?: TomlTable;
  appDigest: string;
  /** SBOM files in the image, relative to `<layers>/sbom/launch/`. */
  sbom: string[];
}

/** The build cache (cache=true layers). */
export interface Cache {
  dir: string;
  layers: Record<string, StoredLayerMeta>;
}

/** What the restorer left for one layer (recorded just before bin/build runs). */
export interface RestoredLayer {
  /** Text of the restored `<layer>.toml` ([metadata] only), or null. */
  toml: string | null;
  /** Whether `<layer>/` contents were restored from the cache. */
  contents: boolean;
  /** `layers-dir`: from an interrupted build's layers dir (BuildOptions.restoreFrom, the harsh model). */
  from: 'image' | 'cache' | 'layers-dir';
}

export interface RestoreOptions {
  bpLayersDir: string;
  descriptor: BuildpackDescriptor;
  image: Image | undefined;
  cache: Cache | undefined;
  /** pack --clear-cache: restore no layer metadata or contents (store.toml still). */
  skipLayers: boolean;
  /** Platform API >= 0.14 restores launch+cache layers from the cache when the image lacks them. */
  platformApi14: boolean;
  buildUser: UserSpec;
}

function layerTomlText(meta: StoredLayerMeta): string {
  // lifecycle EncodeLayerMetadataFile: only [metadata], never [types]
  return meta.metadata === undefined ? '' : stringifyToml({ metadata: meta.metadata });
}

/** Restorer: writes `<layer>.toml`, cached contents, layer SBOMs and store.toml per the buildpack.md §Layers table. */
export async function restoreLayers(o: RestoreOptions): Promise<Record<string, RestoredLayer>> {
  const report: Record<string, RestoredLayer> = {};
  const dir = o.bpLayersDir;
  if (o.image?.store) await writeFileExact(path.join(dir, 'store.toml'), stringifyToml(o.image.store), 0o644, o.buildUser);
  if (o.skipLayers) return report;

  const appLayers = o.image?.layers ?? {};
  const cached = o.cache?.layers ?? {};
  const sha = new Map<string, string>();
  const write = async (name: string, meta: StoredLayerMeta, from: 'image' | 'cache'): Promise<void> => {
    const text = layerTomlText(meta);
    await writeFileExact(path.join(dir, `${name}.toml`), text, 0o644, o.buildUser);
    sha.set(name, meta.digest);
    report[name] = { toml: text, contents: false, from };
  };
  for (const [name, layer] of Object.entries(appLayers)) {
    if (!layer.types.launch) continue;
    if (layer.types.build && !layer.types.cache) continue; // always rebuilt: no metadata
    if (layer.types.cache && !cached[name]?.types.cache) continue; // not in cache: rebuild
    await write(name, layer, 'image');
  }
  for (const [name, layer] of Object.entries(cached)) {
    if (!layer.types.cache) continue;
    if (layer.types.launch && (appLayers[name] || !o.platformApi14)) continue;
    await write(name, layer, 'cache');
  }
  // contents of cache=true layers: only when the restored metadata's digest matches the cache's
  for (const [name, layer] of Object.entries(cached)) {
    if (!layer.types.cache || !sha.has(name)) continue;
    if (sha.get(name) !== layer.digest || !o.cache) {
      await fsp.rm(path.join(dir, `${name}.toml`), { force: true });
      delete report[name];
      continue;
    }
    await copyTree(path.join(o.cache.dir, 'layers', name), path.join(dir, name));
    const r = report[name];
    if (r) r.contents = true;
  }
  // layer SBOMs (lifecycle: only when the buildpack's layers dir exists; cache first, then image)
  if (await exists(dir)) {
    const sources = [o.cache && path.join(o.cache.dir, 'sbom', 'cache'), o.image && path.join(o.image.dir, 'sbom', 'launch')];
    for (const root of sources) {
      if (!root) continue;
      const bpDir = path.join(root, o.descriptor.escapedId);
      for (const layerDir of await readDirSorted(bpDir)) {
        if (!layerDir.isDirectory()) continue; // <bp>/sbom.<ext> (launch.sbom.*) is never restored
        for (const f of await readDirSorted(path.join(bpDir, layerDir.name))) {
          await copyTree(path.join(bpDir, layerDir.name, f.name), path.join(dir, `${layerDir.name}.${f.name}`));
        }
      }
    }
    await chownTree(dir, o.buildUser);
  }
  return report;
}

const NON_LAYER_TOMLS = new Set(['launch.toml', 'build.toml', 'store.toml']);

/**
 * The harsh crash model (BuildOptions.restoreFrom): restores into `bpLayersDir` from `from`, the layers dir
 * a killed build left behind, as if the lifecycle had exported and cached that dir as is. The buildpack.md §Layers rules,
 * applied to it:
 * - a layer is kept only with a `<layer>.toml` that parses; a directory without one is dropped (the
 *   lifecycle ignores it), and so is a `<layer>.toml` that does not parse (export would have failed);
 * - only `[metadata]` is restored, never `[types]`;
 * - contents are restored for `cache = true` layers (metadata only when there is no directory), and also
 *   for a `<layer>.toml` without `[types]`: metadata the restorer wrote that the killed build had not
 *   re-declared yet, trusted here as if it had been (harsher than the lifecycle, which ignores such layers);
 * - a launch-only layer gets its metadata back (as from the image) but no directory; a layer that is
 *   neither cache nor launch is not restored;
 * - layer SBOMs (`<layer>.sbom.*`) go with their layer.
 */
export async function restoreFromLayersDir(o: {
  from: string;
  bpLayersDir: string;
  buildUser: UserSpec;
}): Promise<{ restored: Record<string, RestoredLayer>; notRestored: Record<string, string> }> {
  const restored: Record<string, RestoredLayer> = {};
  const notRestored: Record<string, string> = {};
  const entries = await readDirSorted(o.from);
  const files = entries.filter((e) => e.isFile()).map((e) => e.name);
  const dirs = new Set(entries.filter((e) => e.isDirectory()).map((e) => e.name));
  const tomlNames = new Set<string>();
  await makeDir(o.bpLayersDir, 0o755, o.buildUser);
  for (const file of files) {
    if (!file.endsWith('.toml') || NON_LAYER_TOMLS.has(file)) continue;
    const name = file.slice(0, -'.toml'.length);
    tomlNames.add(name);
    const read = await readTomlFile(path.join(o.from, file));
    if (!read?.ok) {
      notRestored[name] = `${file} does not parse, so the export would have failed: ${read?.ok === false ? read.error : 'unreadable'}`;
      continue;
    }
    const t = read.value;
    const types = isTable(t.types) ? t.types : undefined;
    const cache = types === undefined || types.cache === true;
    if (!cache && types?.launch !== true) {
      notRestored[name] = `${file} declares neither cache nor launch: never restored`;
      continue;
    }
    const text = isTable(t.metadata) ? stringifyToml({ metadata: t.metadata }) : '';
    await writeFileExact(path.join(o.bpLayersDir, file), text, 0o644, o.buildUser);
    const contents = cache && dirs.has(name);
    if (contents) await copyTree(path.join(o.from, name), path.join(o.bpLayersDir, name));
    for (const f of files) if (f.startsWith(`${name}.sbom.`)) await copyTree(path.join(o.from, f), path.join(o.bpLayersDir, f));
    restored[name] = { toml: text, contents, from: 'layers-dir' };
  }
  for (const d of dirs) if (!tomlNames.has(d)) notRestored[d] = `directory without ${d}.toml: ignored by the lifecycle`;
  await chownTree(o.bpLayersDir, o.buildUser);
  return { restored, notRestored };
}

export interface ExportOptions {
  bpLayersDir: string;
  appDir: string;
  descriptor: BuildpackDescriptor;
  outputs: BuildOutputs;
  previous: Image | undefined;
  /** New image/cache store directories (must not exist yet). */
  imageDir: string;
  cacheDir: string;
  generation: number;
  /** CNB_PROCESS_TYPE / -process-type / pack --default-process; null: the buildpack's default. */
  defaultProcess: string | null;
  buildUser: UserSpec;
}

/** An app as the exporter sees it: where its images and caches go, and the last image exported. */
export interface ExportingApp {
  root: string;
  appDir: string;
  image: Image | undefined;
  generation: number;
}

/** The export of `app`'s next generation: a new image and cache dir under the app's root. */
export function nextExport(
  app: ExportingApp,
  o: { bpLayersDir: string; descriptor: BuildpackDescriptor; outputs: BuildOutputs; defaultProcess: string | null | undefined; buildUser: UserSpec },
): ExportOptions {
  const generation = app.generation + 1;
  return {
    bpLayersDir: o.bpLayersDir,
    appDir: app.appDir,
    descriptor: o.descriptor,
    outputs: o.outputs,
    previous: app.image,
    imageDir: path.join(app.root, 'images', String(generation)),
    cacheDir: path.join(app.root, 'caches', String(generation)),
    generation,
    defaultProcess: o.defaultProcess === undefined ? 'web' : o.defaultProcess,
    buildUser: o.buildUser,
  };
}

/** Errors the exporter raises for these outputs (checked before anything is written). */
export function exportProblems(o: ExportOptions): string[] {
  const problems: string[] = [];
  const id = o.descriptor.id;
  for (const layer of o.outputs.layers.values()) {
    if (!layer.types.launch || layer.hasDir) continue;
    // lifecycle phase/exporter.go: the builder accepts these; the exporter refuses them
    if (layer.types.cache) problems.push(`layer '${id}:${layer.name}' is cache=true but has no contents`);
    else if (!o.previous?.layers[layer.name]) {
      problems.push(`cannot reuse '${id}:${layer.name}', previous image has no metadata for layer '${id}:${layer.name}'`);
    }
  }
  if (o.defaultProcess && !o.outputs.processes.some((p) => p.type === o.defaultProcess)) {
    problems.push(
      `tried to set ${o.defaultProcess} to default but it doesn't exist` +
        (o.defaultProcess === 'web' ? " (Tekton passes CNB_PROCESS_TYPE=web: launch.toml needs a 'web' process)" : ''),
    );
  }
  return problems;
}

/**
 * Exporter + cacher: builds the new image and cache stores from the build's layers dir and app dir.
 * Launch layers and the app dir are moved (the build container is discarded), cache layers hard-linked.
 * Everything stored is owned by the build user with mtimes normalised to 1980.
 */
export async function exportImage(o: ExportOptions): Promise<{ image: Image; cache: Cache; warnings: string[] }> {
  const warnings: string[] = [];
  const { bpLayersDir: dir, outputs, descriptor } = o;
  const esc = descriptor.escapedId;
  await makeDir(path.join(o.imageDir, 'layers'), 0o755);
  await makeDir(path.join(o.cacheDir, 'layers'), 0o755);

  const digests = new Map<string, string>();
  for (const layer of outputs.layers.values()) {
    if (layer.hasDir && (layer.types.launch || layer.types.cache)) digests.set(layer.name, await treeDigest(path.join(dir, layer.name)));
  }
  const cache: Cache = { dir: o.cacheDir, layers: {} };
  for (const layer of outputs.layers.values()) {
    if (!layer.types.cache) continue;
    if (!layer.hasDir) {
      warnings.push(`Failed to cache layer '${descriptor.id}:${layer.name}' because it has no contents`);
      continue;
    }
    // hard links: the layer dir is moved into the image or discarded, and stores are never written to again
    await linkTree(path.join(dir, layer.name), path.join(o.cacheDir, 'layers', layer.name));
    cache.layers[layer.name] = meta(digests.get(layer.name) ?? '', layer.types, layer.metadata);
  }
  const image: Image = {
    generation: o.generation,
    dir: o.imageDir,
    layers: {},
    processes: outputs.processes,
    labels: outputs.labels,
    slices: outputs.slices,
    appDigest: '',
    sbom: [],
  };
  const defaultProcess = o.defaultProcess ?? outputs.processes.find((p) => p.default)?.type;
  if (defaultProcess) image.defaultProcess = defaultProcess;
  const store = outputs.store?.metadata;
  if (store !== undefined) image.store = { metadata: JSON.parse(JSON.stringify(store)) as unknown };
  for (const layer of outputs.layers.values()) {
    if (!layer.types.launch) continue;
    const dst = path.join(o.imageDir, 'layers', layer.name);
    const prev = o.previous?.layers[layer.name];
    let digest: string;
    let source: ImageLayer['source'];
    if (layer.hasDir) {
      digest = digests.get(layer.name) ?? '';
      source = prev?.digest === digest ? 'unchanged' : 'new';
      await moveTree(path.join(dir, layer.name), dst);
    } else if (prev && o.previous) {
      digest = prev.digest;
      source = 'reused-from-image';
      await copyTree(path.join(o.previous.dir, 'layers', layer.name), dst);
    } else {
      throw new Error(`cannot reuse '${descriptor.id}:${layer.name}'`); // exportProblems() prevents this
    }
    image.layers[layer.name] = { ...meta(digest, layer.types, layer.metadata), name: layer.name, source };
  }
  // SBOMs: launch layers + launch.sbom.* into the image, cache layers' into the cache
  for (const s of outputs.sboms) {
    const layer = outputs.layers.get(s.owner);
    const src = path.join(dir, s.file);
    if (s.owner === 'launch' || layer?.types.launch) {
      const rel = s.owner === 'launch' ? path.join(esc, s.ext) : path.join(esc, s.owner, s.ext);
      await copyTree(src, path.join(o.imageDir, 'sbom', 'launch', rel));
      image.sbom.push(rel);
    }
    if (layer?.types.cache && layer.hasDir) await copyTree(src, path.join(o.cacheDir, 'sbom', 'cache', esc, s.owner, s.ext));
  }
  image.appDigest = await treeDigest(o.appDir);
  await moveTree(o.appDir, path.join(o.imageDir, 'app'));
  for (const d of [o.imageDir, o.cacheDir]) {
    await chownTree(d, o.buildUser);
    await normalizeMtimes(d);
  }
  return { image, cache, warnings };
}

/** Stored layer metadata. The lifecycle keeps it as JSON (image label, cache metadata), so TOML dates come back as strings. */
function meta(digest: string, types: StoredLayerMeta['types'], metadata: TomlTable | undefined): StoredLayerMeta {
  const m: StoredLayerMeta = { digest, types: { ...types } };
  if (metadata !== undefined) m.metadata = JSON.parse(JSON.stringify(metadata)) as TomlTable;
  return m;
}

/**
 * Lays the image out at the paths the build used (the app dir and `<layers>`), as a container of
 * the image would see them: `<layers>/<id>/<launch layer>/`, `<layers>/config/metadata.toml`,
 * `<layers>/sbom/launch/...` and the app dir. Nothing else from the build is visible. Run as root, the layers are
 * hard links to the image's files (a layer is tens of MB, copied at every launch otherwise): they belong to the
 * build user and are read-only to the launch user, as in a real image, and nothing may write to them in place;
 * the app dir, which tests make writable (a volume mounted there), is a copy.
 */
export async function materializeImage(
  image: Image,
  paths: { appDir: string; layersDir: string },
  descriptor: BuildpackDescriptor,
  buildUser: UserSpec,
): Promise<void> {
  await removeTree(paths.appDir);
  await removeTree(paths.layersDir);
  await copyTree(path.join(image.dir, 'app'), paths.appDir);
  const bpDir = path.join(paths.layersDir, descriptor.escapedId);
  await makeDir(bpDir, 0o755);
  await fsp.chmod(paths.layersDir, 0o755);
  // Links only as root: the launch user (another uid) cannot write the build user's files. Run as one user,
  // removeTree's chmod fallback would reach the stored files through the links.
  const place = IS_ROOT ? linkTree : copyTree;
  for (const name of Object.keys(image.layers)) await place(path.join(image.dir, 'layers', name), path.join(bpDir, name));
  if (await isDirectory(path.join(image.dir, 'sbom'))) await copyTree(path.join(image.dir, 'sbom'), path.join(paths.layersDir, 'sbom'));
  const processes = image.processes.map((p) => ({
    type: p.type,
    command: p.command,
    args: p.args,
    direct: true,
    'buildpack-id': descriptor.id,
    ...(p.workingDir !== undefined ? { 'working-dir': p.workingDir } : {}),
  }));
  const md = stringifyToml({ buildpacks: [{ id: descriptor.id, version: descriptor.version, api: descriptor.api }], processes });
  await writeFileExact(path.join(paths.layersDir, 'config', 'metadata.toml'), md, 0o644, buildUser);
}
