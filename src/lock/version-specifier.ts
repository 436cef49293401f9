/**
 * One PEP 440 version specifier (`>=3.8`, `==3.11.*`, `~=3.11.2`, `===foo`) as packaging.specifiers.Specifier
 * reads it, for PEP 508 markers (src/lock/markers.ts): `parseSpecifier` accepts exactly the text packaging's
 * regular expression accepts (so `>=3.8,<4`, `>=3.11.*` and `~=3` are no specifier and the marker compares
 * strings instead), and `specifierContains` answers `Specifier.contains(version, prereleases=True)` with the
 * comparison rules of PEP 440 ("Version specifiers"): local labels ignored except by `==V+local`, `<V` never
 * admitting a pre-release of V, `>V` never a post-release or local version of V, `==V.*` matching the release
 * prefix with zero padding.
 */
import { compare, explain } from '@renovatebot/pep440';

export type SpecifierOperator = '~=' | '==' | '!=' | '<=' | '>=' | '<' | '>' | '===';

export interface VersionSpecifier {
  op: SpecifierOperator;
  /** The version after the operator, without surrounding space; for `==`/`!=` it may end in `.*`. */
  version: string;
}

// packaging's Specifier._specifier_regex_str, piece by piece.
const RELEASE = String.raw`v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)*`;
const PRE = `(?:[-_.]?(?:alpha|beta|preview|pre|a|b|c|rc)[-_.]?[0-9]*)?`;
const POST = `(?:(?:-[0-9]+)|(?:[-_.]?(?:post|rev|r)[-_.]?[0-9]*))?`;
const DEV = `(?:[-_.]?dev[-_.]?[0-9]*)?`;
const LOCAL = String.raw`(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?`;
const SPECIFIER = new RegExp(
  String.raw`^\s*(?:` +
    String.raw`(?:===\s*[^\s;)]*)` +
    String.raw`|(?:(?:==|!=)\s*${RELEASE}(?:\.\*|${PRE}${POST}${DEV}${LOCAL}))` +
    String.raw`|(?:~=\s*v?(?:[0-9]+!)?[0-9]+(?:\.[0-9]+)+${PRE}${POST}${DEV})` +
    String.raw`|(?:(?:<=|>=|<|>)\s*${RELEASE}${PRE}${POST}${DEV})` +
    String.raw`)\s*$`,
  'i',
);

/** The specifier `text` denotes, or undefined when packaging would raise InvalidSpecifier. */
export function parseSpecifier(text: string): VersionSpecifier | undefined {
  if (!SPECIFIER.test(text)) return undefined;
  const trimmed = text.trim();
  const op = (['===', '~=', '==', '!=', '<=', '>='].find((o) => trimmed.startsWith(o)) ?? trimmed.charAt(0)) as SpecifierOperator;
  return { op, version: trimmed.slice(op.length).trim() };
}

type Explained = NonNullable<ReturnType<typeof explain>>;

/** PEP 440's parse of `text`, leading and trailing space allowed as packaging.version.Version allows it. */
function parseVersion(text: string): { text: string; parts: Explained } | undefined {
  const trimmed = text.trim();
  const parts = explain(trimmed);
  return parts === null ? undefined : { text: trimmed, parts };
}

/** PEP 440 ordering (epoch, release with trailing zeros ignored, pre, post, dev, local). */
const cmp = (a: string, b: string): number => compare(a, b);
const sameBase = (a: Explained, b: Explained): boolean => cmp(a.base_version, b.base_version) === 0;

/** `==V.*`: same epoch, and V's release is a prefix of the candidate's release padded with zeros. */
function prefixMatches(candidate: Explained, prefix: string): boolean {
  const spec = explain(prefix.trim());
  if (spec === null) return false;
  if (candidate.epoch !== spec.epoch) return false;
  return spec.release.every((n, i) => (candidate.release[i] ?? 0) === n);
}

function equals(candidate: { text: string; parts: Explained }, version: string): boolean {
  if (version.endsWith('.*')) return prefixMatches(candidate.parts, version.slice(0, -2));
  const spec = parseVersion(version);
  if (spec === undefined) return false;
  // A specifier without a local label ignores the candidate's (PEP 440 "Version matching").
  const left = spec.parts.local ? candidate.text : candidate.parts.public;
  return cmp(left, spec.text) === 0;
}

/** Whether `candidate` satisfies `spec`, pre-releases included; a candidate that is no version satisfies none but `===`. */
export function specifierContains(spec: VersionSpecifier, candidate: string): boolean {
  // Arbitrary equality compares the text as given, without case (PEP 440 "Arbitrary equality").
  if (spec.op === '===') return candidate.toLowerCase() === spec.version.toLowerCase();
  const version = parseVersion(candidate);
  if (version === undefined) return false;
  const { parts } = version;
  switch (spec.op) {
    case '==':
      return equals(version, spec.version);
    case '!=':
      return !equals(version, spec.version);
    case '~=': {
      // ~=V.N is >=V.N together with ==V.* (the release without its last part, suffixes dropped).
      const target = parseVersion(spec.version);
      if (target === undefined) return false;
      const release = target.parts.release.slice(0, -1).join('.');
      const prefix = target.parts.epoch ? `${target.parts.epoch}!${release}` : release;
      return cmp(parts.public, target.text) >= 0 && prefixMatches(parts, prefix);
    }
    case '<=':
      return cmp(parts.public, spec.version) <= 0;
    case '>=':
      return cmp(parts.public, spec.version) >= 0;
    case '<': {
      const target = parseVersion(spec.version);
      if (target === undefined || cmp(version.text, target.text) >= 0) return false;
      // "<V MUST NOT allow a pre-release of the specified version unless the specified version is itself a pre-release."
      return !(!target.parts.is_prerelease && parts.is_prerelease && sameBase(parts, target.parts));
    }
    case '>': {
      const target = parseVersion(spec.version);
      if (target === undefined || cmp(version.text, target.text) <= 0) return false;
      // ">V MUST NOT allow a post-release of the specified version unless the specified version is itself a post-release"
      if (!target.parts.is_postrelease && parts.is_postrelease && sameBase(parts, target.parts)) return false;
      // "... nor a local version of the specified version."
      return !(parts.local && sameBase(parts, target.parts));
    }
  }
}
