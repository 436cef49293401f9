/** SBOM file names and media types (buildpack.md §Software-Bill-of-Materials). Only formats listed in buildpack.toml sbom-formats may be written. */
export type SbomFormat = 'cdx.json';

/** `<layer>.sbom.<ext>`, or `launch`/`build` for SBOMs not tied to a layer. */
export function sbomFileName(layer: string, format: SbomFormat): string {
  return `${layer}.sbom.${format}`;
}
