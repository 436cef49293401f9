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
  /** Files the component may come from (a lock's artifacts): URL and hashes by algorithm (`sha256` → hex). */
  distributions?: Array<{ url: string; hashes: Record<string, string> }>;
  /** Properties by name (`ausnimbus:lockfile`). */
  properties?: Record<string, string>;
}

const HASH_ALGORITHMS: Record<string, CDX.Enums.HashAlgorithm> = {
  sha256: CDX.Enums.HashAlgorithm['SHA-256'],
  sha384: CDX.Enums.HashAlgorithm['SHA-384'],
  sha512: CDX.Enums.HashAlgorithm['SHA-512'],
};

function hashDictionary(hashes: Record<string, string>): CDX.Models.HashDictionary {
  const dict = new CDX.Models.HashDictionary();
  for (const [alg, hex] of Object.entries(hashes)) {
    const known = HASH_ALGORITHMS[alg];
    if (known !== undefined) dict.set(known, hex);
  }
  return dict;
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
    // CycloneDX 1.5 externalReferences carry hashes: each locked file with the hashes the lock pins it by.
    for (const d of c.distributions ?? []) comp.externalReferences.add(new CDX.Models.ExternalReference(d.url, CDX.Enums.ExternalReferenceType.Distribution, { hashes: hashDictionary(d.hashes) }));
    for (const [name, value] of Object.entries(c.properties ?? {})) comp.properties.add(new CDX.Models.Property(name, value));
    bom.components.add(comp);
  }
  const serializer = new CDX.Serialize.JsonSerializer(new CDX.Serialize.JSON.Normalize.Factory(CDX.Spec.Spec1dot5));
  return serializer.serialize(bom, { sortLists: true, space: 2 });
}

/** pkg:pypi purl: the name normalised as PEP 503 and the purl spec ask (lowercase, runs of -_. become -). */
export function pypiPurl(name: string, version: string): string {
  return `pkg:pypi/${normalizeName(name)}@${encodeURIComponent(version)}`;
}
