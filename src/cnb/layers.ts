/**
 * Layers, shaped like libcnb.rs's struct layer API (buildpack.md §Layers).
 *
 * cachedLayer() reads the restored `<layer>.toml`, asks the definition whether the restored contents
 * may be kept, and returns a LayerRef whose state says what happened and why. Crash safety: a layer
 * that is (re)built has its `<layer>.toml` removed first and written last (writeMetadata), after the
 * contents are complete; a directory without `<layer>.toml` is ignored by the lifecycle, so an
 * interrupted build can never leave contents that a later build would trust.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { layerName, type LayerName } from './names.js';
import { LayerEnv } from './env.js';
import { isTable, readTomlFile, writeTomlFile, type TomlTable } from './toml.js';
import { sbomFileName, type SbomFormat } from './sbom.js';

export interface LayerTypes {
  build: boolean;
  launch: boolean;
  cache: boolean;
}

export type RestoredAction<C> = { action: 'keep'; cause: C } | { action: 'delete'; cause: C };

export interface CachedLayerDefinition<M, C> {
  build: boolean;
  launch: boolean;
  /** Typed view of restored metadata; undefined when it cannot be understood (then the layer is deleted). */
  parseMetadata(raw: TomlTable): M | undefined;
  /** Whether the restored contents match what this build needs. */
  onRestored(cached: M, layerPath: string): Promise<RestoredAction<C>> | RestoredAction<C>;
}

export type EmptyCause<C> = { kind: 'new' } | { kind: 'invalid-metadata' } | { kind: 'rejected'; cause: C };
export type LayerState<C> = { kind: 'restored'; cause: C } | { kind: 'empty'; cause: EmptyCause<C> };

export class LayerRef<C = unknown> {
  constructor(
    readonly name: LayerName,
    readonly path: string,
    readonly types: LayerTypes,
    readonly state: LayerState<C>,
    private readonly layersDir: string,
  ) {}

  get tomlPath(): string {
    return path.join(this.layersDir, `${this.name}.toml`);
  }

  /** Writes `<layer>.toml` with [types] and [metadata]: call it last, once the contents are complete. */
  async writeMetadata(metadata: object): Promise<void> {
    const doc: TomlTable = { types: { ...this.types } };
    if (Object.keys(metadata).length > 0) doc.metadata = metadata as TomlTable;
    await writeTomlFile(this.tomlPath, doc);
  }

  async writeEnv(env: LayerEnv): Promise<void> {
    await env.writeTo(this.path);
  }

  /** The env this layer gives to the rest of this build, including bin/ and lib/ (buildpack.md §Environment). */
  async buildEnv(extra: LayerEnv = new LayerEnv()): Promise<LayerEnv> {
    const implicit = await LayerEnv.implicitBuildEntries(this.path);
    return LayerEnv.concat(implicit, extra);
  }

  /** Places programs in `<layer>/exec.d/` (buildpack.md §Exec.d); copies them with mode 0755. */
  async writeExecD(programs: Record<string, string>): Promise<void> {
    const dir = path.join(this.path, 'exec.d');
    await fs.mkdir(dir, { recursive: true });
    for (const [name, source] of Object.entries(programs)) {
      const target = path.join(dir, name);
      await fs.copyFile(source, target);
      await fs.chmod(target, 0o755);
    }
  }

  async writeSbom(format: SbomFormat, content: string): Promise<void> {
    await fs.writeFile(path.join(this.layersDir, sbomFileName(this.name, format)), content);
  }
}

/** The buildpack's layers directory ($CNB_LAYERS_DIR). */
export class Layers {
  constructor(readonly dir: string) {}

  async cachedLayer<M, C>(name: string, def: CachedLayerDefinition<M, C>): Promise<LayerRef<C>> {
    const ln = layerName(name);
    const layerPath = path.join(this.dir, ln);
    const types = { build: def.build, launch: def.launch, cache: true };
    const raw = await this.readRestoredMetadata(ln);
    const contentsRestored = await exists(layerPath);
    let state: LayerState<C>;
    if (raw === undefined || !contentsRestored) {
      state = { kind: 'empty', cause: { kind: 'new' } };
    } else {
      const parsed = def.parseMetadata(raw);
      if (parsed === undefined) {
        state = { kind: 'empty', cause: { kind: 'invalid-metadata' } };
      } else {
        const decision = await def.onRestored(parsed, layerPath);
        state = decision.action === 'keep'
          ? { kind: 'restored', cause: decision.cause }
          : { kind: 'empty', cause: { kind: 'rejected', cause: decision.cause } };
      }
    }
    const ref = new LayerRef<C>(ln, layerPath, types, state, this.dir);
    if (state.kind === 'restored') {
      // The lifecycle strips [types] on restore: opt in again, with the metadata as it was.
      await writeTomlFile(ref.tomlPath, { types: { ...types }, metadata: raw ?? {} });
    } else {
      await this.reset(ln);
      await fs.mkdir(layerPath, { recursive: true });
    }
    return ref;
  }

  /** A layer rebuilt on every build (its contents are never restored). */
  async uncachedLayer(name: string, opts: { build: boolean; launch: boolean }): Promise<LayerRef<never>> {
    const ln = layerName(name);
    await this.reset(ln);
    const layerPath = path.join(this.dir, ln);
    await fs.mkdir(layerPath, { recursive: true });
    return new LayerRef<never>(ln, layerPath, { ...opts, cache: false }, { kind: 'empty', cause: { kind: 'new' } }, this.dir);
  }

  /**
   * A layer this same build already opened and filled in part (a nested step adding to it): its contents are
   * kept as they are, never restored-and-checked nor reset. The caller writes `<layer>.toml` when done.
   */
  async continuedLayer(name: string, types: LayerTypes): Promise<LayerRef<never>> {
    const ln = layerName(name);
    const layerPath = path.join(this.dir, ln);
    await fs.mkdir(layerPath, { recursive: true });
    return new LayerRef<never>(ln, layerPath, { ...types }, { kind: 'empty', cause: { kind: 'new' } }, this.dir);
  }

  /** Removes a layer: `<layer>.toml` first, so a crash mid-removal leaves nothing trusted. */
  async reset(name: LayerName): Promise<void> {
    await fs.rm(path.join(this.dir, `${name}.toml`), { force: true });
    await fs.rm(path.join(this.dir, name), { recursive: true, force: true });
    for (const f of await fs.readdir(this.dir).catch(() => [] as string[])) {
      if (f.startsWith(`${name}.sbom.`)) await fs.rm(path.join(this.dir, f), { force: true });
    }
  }

  /**
   * What the lifecycle restored of a layer, before any cachedLayer() call decides on it: its [metadata] (undefined
   * when there is no `<layer>.toml` or it cannot be read) and whether its contents are there. For a decision that
   * depends on two layers (one kept only with the other).
   */
  async restored(name: string): Promise<{ metadata: TomlTable | undefined; contents: boolean }> {
    const ln = layerName(name);
    return { metadata: await this.readRestoredMetadata(ln), contents: await exists(path.join(this.dir, ln)) };
  }

  /** The [metadata] table restored by the lifecycle, or undefined when there is none or it cannot be read. */
  private async readRestoredMetadata(name: LayerName): Promise<TomlTable | undefined> {
    try {
      const doc = await readTomlFile(path.join(this.dir, `${name}.toml`));
      if (doc === undefined) return undefined;
      return isTable(doc.metadata) ? doc.metadata : {};
    } catch {
      return undefined;
    }
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}
