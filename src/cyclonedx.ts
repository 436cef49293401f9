/**
 * CycloneDX SBOMs for layers (written as `<layer>.sbom.cdx.json`, buildpack.md §Software-Bill-of-Materials). Deterministic: bom-refs are
 * the purls, there is no serial number or timestamp, and lists are sorted, so unchanged inputs give the
 * same bytes.
 */
import * as CDX from '@cyclonedx/cyclonedx-library';
import { normalizeName } from './python/package-name.js';

export interface SbomComponent {
  name: string;
  version: string;
  purl: string;
  type: 'application' | 'library';
  sha256?: string;
  licenses?: string[];
  cpe?: string;
}

export function cycloneDxJson(components: SbomComponent[]): string {
  const bom = new CDX.Models.Bom();
  for (const c of components) {
    const comp = new CDX.Models.Component(
      c.type === 'application' ? CDX.Enums.ComponentType.Application : CDX.Enums.ComponentType.Library,
      c.name,
      { version: c.version, bomRef: c.purl },
    );
    comp.purl = c.purl;
    if (c.cpe) comp.cpe = c.cpe;
    if (c.sha256) comp.hashes.set(CDX.Enums.HashAlgorithm['SHA-256'], c.sha256);
    for (const l of c.licenses ?? []) comp.licenses.add(new CDX.Models.SpdxLicense(l));
    bom.components.add(comp);
  }
  const serializer = new CDX.Serialize.JsonSerializer(new CDX.Serialize.JSON.Normalize.Factory(CDX.Spec.Spec1dot5));
  return serializer.serialize(bom, { sortLists: true, space: 2 });
}

/** pkg:pypi purl: the name normalised as PEP 503 and the purl spec ask (lowercase, runs of -_. become -). */
export function pypiPurl(name: string, version: string): string {
  return `pkg:pypi/${normalizeName(name)}@${encodeURIComponent(version)}`;
}
