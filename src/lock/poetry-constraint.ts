/**
 * Poetry's version constraints (poetry-core `parse_constraint`): PEP 440 clauses plus Poetry's own forms,
 * turned into PEP 440 clauses so @renovatebot/pep440 can check them:
 * - `^1.2.3` → `>=1.2.3,<2.0.0`; `^0.2.3` → `<0.3.0`; `^0.0.3` → `<0.0.4`; `^0` → `<1`; `^0.0` → `<0.1`
 *   (Version.next_breaking);
 * - `~1.2.3` → `>=1.2.3,<1.3.0`, `~1` → `>=1,<2`; `~=` stays PEP 440's compatible release;
 * - `1.2`, `1.2.*` → `==1.2`, `==1.2.*`; `*` or nothing → any;
 * - clauses joined by `,` or spaces must all hold; `||` (or `|`) separates alternatives.
 */
import { satisfies } from '@renovatebot/pep440';

/** One PEP 440 clause: `>=` and `3.10`. */
export interface Clause {
  op: '==' | '!=' | '<' | '<=' | '>' | '>=' | '~=' | '===';
  version: string;
}

/** Alternatives (any may hold), each a list of clauses that must all hold; `[[]]` is any version. */
export type Constraint = Clause[][];

export class ConstraintSyntaxError extends Error {}

const RELEASE = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/;

function release(version: string): number[] {
  const m = RELEASE.exec(version);
  if (m === null) throw new ConstraintSyntaxError(`"${version}" is not a version`);
  return [m[1], m[2], m[3]].filter((p): p is string => p !== undefined).map(Number);
}

/** poetry-core Version.next_breaking: the first version a caret constraint excludes. */
function nextBreaking(version: string): string {
  const [major = 0, minor, patch] = release(version);
  if (major > 0 || minor === undefined) return `${major + 1}.0.0`;
  if (minor > 0 || patch === undefined) return `0.${minor + 1}.0`;
  return `0.0.${patch + 1}`;
}

function clause(part: string): Clause[] {
  if (part === '*' || part === '') return [];
  if (part.startsWith('^')) {
    const v = part.slice(1);
    return [
      { op: '>=', version: v },
      { op: '<', version: nextBreaking(v) },
    ];
  }
  if (part.startsWith('~') && !part.startsWith('~=')) {
    const v = part.slice(1);
    const [major = 0, minor = 0] = release(v);
    const high = release(v).length === 1 ? `${major + 1}.0.0` : `${major}.${minor + 1}.0`;
    return [
      { op: '>=', version: v },
      { op: '<', version: high },
    ];
  }
  const m = /^(===|==|!=|<=|>=|~=|<|>)?(.+)$/.exec(part);
  if (m === null || m[2] === undefined) throw new ConstraintSyntaxError(`"${part}" is not a version constraint`);
  const op = (m[1] ?? '==') as Clause['op'];
  let version = m[2];
  // `~=1` has no PEP 440 meaning; poetry-core reads it as `>=1,<2`.
  if (op === '~=' && release(version).length === 1) return clause(`~${version}`);
  // Poetry accepts `>=3.6.*`; the wildcard means nothing to an ordering operator.
  if (op !== '==' && op !== '!=' && version.endsWith('.*')) version = version.slice(0, -2);
  release(version);
  return [{ op, version }];
}

/** Parses a Poetry constraint; throws ConstraintSyntaxError for text that is none. */
export function parsePoetryConstraint(text: string): Constraint {
  return text.split(/\s*\|\|?\s*/).map((alternative) => {
    const joined = alternative.trim().replace(/(===|==|!=|<=|>=|~=|<|>|\^|~)\s+/g, '$1');
    return joined
      .split(/[\s,]+/)
      .filter((p) => p !== '')
      .flatMap(clause);
  });
}

/** The constraint as one PEP 440 specifier, when it has one alternative (`>=3.8,<4.0.0`); '' is any. */
export function toPep440(constraint: Constraint): string | undefined {
  if (constraint.length !== 1) return undefined;
  return (constraint[0] ?? []).map((c) => `${c.op}${c.version}`).join(',');
}

function holds(version: string, c: Clause): boolean {
  try {
    return satisfies(version, `${c.op}${c.version}`, { prereleases: true });
  } catch {
    return false;
  }
}

/** Whether `version` satisfies the constraint. */
export function allows(constraint: Constraint, version: string): boolean {
  return constraint.some((all) => all.every((c) => holds(version, c)));
}

/**
 * Whether a Python satisfies a Poetry python constraint the way Poetry's markers test it
 * (poetry-core create_nested_marker): a bound of one or two parts compares `python_version` (`3.10`), a
 * longer one `python_full_version` (`3.10.13`), so `>3.10` excludes 3.10.13 as Poetry's export does.
 */
export function allowsPython(constraint: Constraint, pythonVersion: string, pythonFullVersion: string): boolean {
  return constraint.some((all) =>
    all.every((c) => {
      const parts = c.version.replace(/\.\*$/, '').split('.').length;
      return holds(parts <= 2 ? pythonVersion : pythonFullVersion, c);
    }),
  );
}
