/**
 * The `build-tools` layer (build, cache; never in the image): the parts of the Python install that serve
 * builds only, moved out of the python layer when it is installed (src/python/build-only.ts): pip, setuptools
 * and wheel, the C headers, and the stdlib's ensurepip, idlelib, tkinter, turtle, lib2to3, help topics and
 * test packages. Its contents come from the Python archive, so it is kept exactly while the python layer is,
 * and the python layer only while it is (src/layers/python.ts decides both). PIP_UPGRADE upgrades pip,
 * setuptools and wheel in it, once: a later build keeps the upgraded tools while Python is unchanged.
 */
import type { BuildContext } from '../cnb/context.js';
import type { LayerRef } from '../cnb/layers.js';
import type { TomlTable } from '../cnb/toml.js';
import { cycloneDxJson, pypiPurl } from '../cyclonedx.js';
import { toolDistributions } from '../python/build-only.js';

export const BUILD_TOOLS_LAYER = 'build-tools';

export interface BuildToolsMetadata {
  /** The python layer's key: the archive the tools came from. */
  version: string;
  sha256: string;
  arch: string;
  buildpackVersion: string;
  /** PIP_UPGRADE upgraded pip, setuptools and wheel in it. */
  upgraded: boolean;
}

/** The build-tools layer of this build, as later steps use it. */
export interface BuildTools {
  layerPath: string;
  /** Its site-packages (a user base's layout: PYTHONUSERBASE=layerPath installs there). */
  sitePackages: string;
  /** pip, setuptools and wheel were upgraded by PIP_UPGRADE (now or in the build that made the layer). */
  upgraded: boolean;
  /** The layer as this build opened it: the upgrade rewrites its metadata. */
  ref: LayerRef<unknown>;
  metadata: BuildToolsMetadata;
  /** Filled by this build, its `<layer>.toml` not written yet: the python layer's finish() writes it. */
  pending: boolean;
}

export function parseBuildToolsMetadata(raw: TomlTable | undefined): BuildToolsMetadata | undefined {
  if (raw === undefined) return undefined;
  const { version, sha256, arch, buildpackVersion, upgraded } = raw;
  if (typeof version !== 'string' || typeof sha256 !== 'string' || typeof arch !== 'string' || typeof buildpackVersion !== 'string' || typeof upgraded !== 'boolean') return undefined;
  return { version, sha256, arch, buildpackVersion, upgraded };
}

/**
 * Why a restored build-tools layer cannot serve the python layer it was restored with (whose own key is
 * unchanged): empty when it can. An upgraded layer serves a build that no longer asks for the upgrade only by
 * being made again, from the archive, and so does the python layer.
 */
export function buildToolsReasons(restored: { metadata: TomlTable | undefined; contents: boolean }, next: BuildToolsMetadata): string[] {
  const cached = parseBuildToolsMetadata(restored.metadata);
  if (cached === undefined || !restored.contents) return ['The build-tools layer (pip, setuptools, wheel and the C headers, used at build only) was not restored with it'];
  const key = ['version', 'sha256', 'arch', 'buildpackVersion'] as const;
  if (key.some((k) => cached[k] !== next[k])) return ['The build-tools layer restored with it was made from another Python archive'];
  if (cached.upgraded && !next.upgraded) return ['PIP_UPGRADE is no longer set: pip, setuptools and wheel go back to the versions that come with Python'];
  return [];
}

/** Opens the layer: kept as restored when the python layer is kept, else empty (and filled by the install). */
export async function openBuildTools(ctx: BuildContext, keep: boolean): Promise<LayerRef<undefined>> {
  return ctx.layers.cachedLayer<BuildToolsMetadata, undefined>(BUILD_TOOLS_LAYER, {
    build: true,
    launch: false,
    parseMetadata: (raw) => parseBuildToolsMetadata(raw),
    onRestored: () => ({ action: keep ? 'keep' : 'delete', cause: undefined }),
  });
}

/** Writes the layer's SBOM (the tools' distributions) and then its metadata: call it once its contents are complete. */
export async function finishBuildTools(ref: LayerRef<unknown>, sitePackages: string, metadata: BuildToolsMetadata): Promise<void> {
  const dists = toolDistributions(sitePackages);
  await ref.writeSbom('cdx.json', cycloneDxJson(dists.map((d) => ({ name: d.name, version: d.version, type: 'library', purl: pypiPurl(d.name, d.version) }))));
  await ref.writeMetadata(metadata);
}
