/**
 * A buildpackage file (.cnb) as `pack buildpack package --format file` writes it (pkg/buildpack/builder.go
 * SaveAsFile): an uncompressed tar of an OCI image layout (oci-layout, index.json, blobs/sha256/…) holding
 * one image for one target. The image has a single gzip layer with /cnb/buildpacks/<escaped id>/<version>/,
 * and a config whose labels are the ones pack sets:
 *   io.buildpacks.buildpackage.metadata  {id, name, version, …, stacks: [{id: "*"}]}  (pack's Metadata)
 *   io.buildpacks.buildpack.layers       {<id>: {<version>: {api, targets, layerDiffID, homepage, name}}}
 * Two differences from pack, both for other tools: the manifest, config and layer use the OCI media types
 * (pack's go-containerregistry default is Docker's; pack reads either, umoci reads only OCI), and the
 * index entry names the image (`org.opencontainers.image.ref.name` = version) and its platform, so that
 * `umoci unpack --image dir:<version>` and `skopeo … oci:dir:<version>` find it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { sha256File } from '../../src/download.js';
import { escapedId, type BuildpackInfo, type Target } from './descriptor.js';
import { gzipFile, TarWriter } from './tar.js';

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

export const BUILDPACKAGE_METADATA_LABEL = 'io.buildpacks.buildpackage.metadata';
export const BUILDPACK_LAYERS_LABEL = 'io.buildpacks.buildpack.layers';
/** What go-containerregistry's empty image (pack's base) has for `created` and each history entry. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

interface Blob {
  digest: string;
  size: number;
  /** A file on disk, or the bytes themselves. */
  source: string | Buffer;
}

function jsonBlob(value: unknown): Blob {
  const bytes = Buffer.from(JSON.stringify(value));
  return { digest: `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length, source: bytes };
}

/** pack's buildpack.Metadata: dist.ModuleInfo's JSON (License has no JSON tags, hence Type/URI) and stacks. */
export function buildpackageMetadataLabel(bp: BuildpackInfo): string {
  return JSON.stringify({
    id: bp.id,
    ...(bp.name ? { name: bp.name } : {}),
    version: bp.version,
    ...(bp.description ? { description: bp.description } : {}),
    ...(bp.homepage ? { homepage: bp.homepage } : {}),
    ...(bp.keywords?.length ? { keywords: bp.keywords } : {}),
    ...(bp.licenses?.length ? { licenses: bp.licenses.map((l) => ({ Type: l.type ?? '', URI: l.uri ?? '' })) } : {}),
    // A buildpack with targets and no [[stacks]] gets the wildcard stack (resolvedStacks in builder.go).
    stacks: [{ id: '*' }],
  });
}

/** dist.ModuleLayers with one entry, as dist.AddToLayersMD fills it. */
export function buildpackLayersLabel(bp: BuildpackInfo, targets: Target[], diffId: string): string {
  return JSON.stringify({
    [bp.id]: {
      [bp.version]: {
        api: bp.api,
        ...(targets.length ? { targets: targets.map((t) => ({ os: t.os, arch: t.arch })) } : {}),
        layerDiffID: diffId,
        ...(bp.homepage ? { homepage: bp.homepage } : {}),
        ...(bp.name ? { name: bp.name } : {}),
      },
    },
  });
}

export interface BuildpackageResult {
  file: string;
  manifestDigest: string;
  layerDiffId: string;
  layerDigest: string;
  layerSize: number;
}

/**
 * Writes `out` (.cnb) from the buildpack directory `buildpackDir` (whose buildpack.toml is `bp`) for
 * `target`. `workDir` holds the intermediate layer files.
 */
export async function writeBuildpackage(opts: { buildpackDir: string; bp: BuildpackInfo; target: Target; out: string; workDir: string }): Promise<BuildpackageResult> {
  const { buildpackDir, bp, target, out, workDir } = opts;
  fs.mkdirSync(workDir, { recursive: true });

  // The layer: /cnb/buildpacks/<id>/ and /cnb/buildpacks/<id>/<version>/ (no /cnb entries, as pack), then the tree.
  const layerTar = path.join(workDir, 'layer.tar');
  const tw = new TarWriter(layerTar);
  const idDir = `/cnb/buildpacks/${escapedId(bp.id)}`;
  const versionDir = `${idDir}/${bp.version}`;
  tw.directory(idDir);
  tw.directory(versionDir);
  tw.tree(buildpackDir, versionDir);
  const diffId = `sha256:${tw.close()}`;
  const layerGz = path.join(workDir, 'layer.tar.gz');
  await gzipFile(layerTar, layerGz);
  fs.rmSync(layerTar);
  const layer: Blob = { digest: `sha256:${await sha256File(layerGz)}`, size: fs.statSync(layerGz).size, source: layerGz };

  // Field order of go-containerregistry's ConfigFile.
  const config = jsonBlob({
    architecture: target.arch,
    created: ZERO_TIME,
    history: [{ created: ZERO_TIME }],
    os: target.os,
    rootfs: { type: 'layers', diff_ids: [diffId] },
    config: {
      Labels: {
        [BUILDPACK_LAYERS_LABEL]: buildpackLayersLabel(bp, [target], diffId),
        [BUILDPACKAGE_METADATA_LABEL]: buildpackageMetadataLabel(bp),
      },
    },
  });
  const manifest = jsonBlob({
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.manifest,
    config: { mediaType: MEDIA_TYPES.config, size: config.size, digest: config.digest },
    layers: [{ mediaType: MEDIA_TYPES.layer, size: layer.size, digest: layer.digest }],
  });
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPES.index,
    manifests: [
      {
        mediaType: MEDIA_TYPES.manifest,
        size: manifest.size,
        digest: manifest.digest,
        annotations: { 'org.opencontainers.image.ref.name': bp.version },
        platform: { architecture: target.arch, os: target.os },
      },
    ],
  };

  // The outer tar, as pack's archive.WriteDirToTar(tw, layoutDir, "/", 0, 0, 0755, true, false, nil) writes it:
  // names rooted at "/", every entry mode 0755, owner root, normalised mtime, walk order.
  const blobs = [layer, config, manifest].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  const partial = `${out}.partial`;
  const cnb = new TarWriter(partial);
  cnb.directory('/blobs');
  cnb.directory('/blobs/sha256');
  for (const b of blobs) cnb.file(`/blobs/sha256/${b.digest.slice('sha256:'.length)}`, b.source, 0o755);
  cnb.file('/index.json', Buffer.from(JSON.stringify(index, null, 3)), 0o755);
  cnb.file('/oci-layout', Buffer.from(JSON.stringify({ imageLayoutVersion: '1.0.0' }, null, 4)), 0o755);
  cnb.close();
  fs.renameSync(partial, out);
  fs.rmSync(layerGz);
  return { file: out, manifestDigest: manifest.digest, layerDiffId: diffId, layerDigest: layer.digest, layerSize: layer.size };
}

/** A gzip tar of the buildpack directory with buildpack.toml at its root, for `pack build --buildpack <file>`. */
export async function writeBuildpackArchive(opts: { buildpackDir: string; out: string; workDir: string }): Promise<void> {
  fs.mkdirSync(opts.workDir, { recursive: true });
  const plain = path.join(opts.workDir, 'buildpack.tar');
  const tw = new TarWriter(plain);
  tw.tree(opts.buildpackDir, '');
  tw.close();
  const partial = `${opts.out}.partial`;
  await gzipFile(plain, partial);
  fs.rmSync(plain);
  fs.renameSync(partial, opts.out);
}
