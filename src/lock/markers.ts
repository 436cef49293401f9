/**
 * PEP 508 environment markers (`python_version >= "3.10" and sys_platform == "linux"`), parsed and evaluated
 * as the `packaging` library does (packaging.markers, the reference pip and the lock tools share):
 * - a comparison whose operator is a version operator and whose right side is a valid PEP 440 specifier
 *   compares versions, pre-releases included; otherwise `==`, `!=` and the ordering operators compare strings;
 * - `in` / `not in` test substrings, except for `extras` and `dependency_groups` (PEP 751), which are sets;
 * - `extra == "name"` compares PEP 503 normalized names, and is true when `name` is one of the requested extras.
 * Legacy dotted names (`os.name`, `sys.platform`, `platform.machine`…) are accepted as packaging accepts them.
 */
import { satisfies, validRange } from '@renovatebot/pep440';

/** The values PEP 508 defines, for the Python and target the image runs on. */
export interface MarkerEnvironment {
  python_version: string;
  python_full_version: string;
  implementation_name: string;
  implementation_version: string;
  platform_python_implementation: string;
  sys_platform: string;
  platform_system: string;
  platform_machine: string;
  platform_release: string;
  platform_version: string;
  os_name: string;
}

/** The requested optional parts: `extra` (PEP 508) and `extras` / `dependency_groups` (PEP 751) read these. */
export interface MarkerContext {
  extras: ReadonlySet<string>;
  dependencyGroups: ReadonlySet<string>;
}

const NO_OPTIONAL_PARTS: MarkerContext = { extras: new Set(), dependencyGroups: new Set() };

/** `uname -m` for a CNB target architecture (CNB_TARGET_ARCH uses Go's GOARCH names). */
const MACHINE_BY_ARCH: Record<string, string> = { amd64: 'x86_64', arm64: 'aarch64', arm: 'armv7l', '386': 'i686', ppc64le: 'ppc64le', s390x: 's390x' };

/**
 * The environment of CPython `fullVersion` on Linux for CNB_TARGET_ARCH `arch`. platform_release and
 * platform_version describe the kernel the image will run on, which the build cannot know: they are empty,
 * so markers that test them are false (lock tools leave them out for the same reason).
 */
export function markerEnvironment(fullVersion: string, arch: string): MarkerEnvironment {
  const [major = '3', minor = '0'] = fullVersion.split('.');
  return {
    python_version: `${major}.${minor}`,
    python_full_version: fullVersion,
    implementation_name: 'cpython',
    implementation_version: fullVersion,
    platform_python_implementation: 'CPython',
    sys_platform: 'linux',
    platform_system: 'Linux',
    platform_machine: MACHINE_BY_ARCH[arch] ?? arch,
    platform_release: '',
    platform_version: '',
    os_name: 'posix',
  };
}

/** A parsed marker. */
export type Marker =
  | { kind: 'and' | 'or'; left: Marker; right: Marker }
  | { kind: 'compare'; left: Operand; op: Operator; right: Operand };

export type Operand = { kind: 'variable'; name: Variable } | { kind: 'string'; value: string };
export type Operator = '<' | '<=' | '==' | '!=' | '>=' | '>' | '~=' | '===' | 'in' | 'not in';
export type Variable = keyof MarkerEnvironment | 'extra' | 'extras' | 'dependency_groups';

/** Thrown for text that is not a PEP 508 marker; `offset` is where parsing stopped. */
export class MarkerSyntaxError extends Error {
  constructor(
    readonly marker: string,
    readonly offset: number,
    readonly expected: string,
  ) {
    super(`expected ${expected} at position ${offset + 1} of ${JSON.stringify(marker)}`);
  }
}

const VARIABLES: Record<string, Variable> = {
  python_version: 'python_version',
  python_full_version: 'python_full_version',
  implementation_name: 'implementation_name',
  implementation_version: 'implementation_version',
  platform_python_implementation: 'platform_python_implementation',
  'platform.python_implementation': 'platform_python_implementation',
  python_implementation: 'platform_python_implementation',
  sys_platform: 'sys_platform',
  'sys.platform': 'sys_platform',
  platform_system: 'platform_system',
  'platform.system': 'platform_system',
  platform_machine: 'platform_machine',
  'platform.machine': 'platform_machine',
  platform_release: 'platform_release',
  'platform.release': 'platform_release',
  platform_version: 'platform_version',
  'platform.version': 'platform_version',
  os_name: 'os_name',
  'os.name': 'os_name',
  extra: 'extra',
  extras: 'extras',
  dependency_groups: 'dependency_groups',
};

const VERSION_OPERATORS = new Set<Operator>(['<', '<=', '==', '!=', '>=', '>', '~=', '===']);

/** A recursive-descent parser of PEP 508's `marker` rule. */
class Parser {
  private pos = 0;
  constructor(private readonly text: string) {}

  parse(): Marker {
    const marker = this.or();
    this.space();
    if (this.pos !== this.text.length) this.fail('"and", "or" or the end of the marker');
    return marker;
  }

  private or(): Marker {
    let left = this.and();
    while (this.keyword('or')) left = { kind: 'or', left, right: this.and() };
    return left;
  }

  private and(): Marker {
    let left = this.atom();
    while (this.keyword('and')) left = { kind: 'and', left, right: this.atom() };
    return left;
  }

  private atom(): Marker {
    this.space();
    if (this.text[this.pos] === '(') {
      this.pos++;
      const inner = this.or();
      this.space();
      if (this.text[this.pos] !== ')') this.fail('")"');
      this.pos++;
      return inner;
    }
    const left = this.operand();
    const op = this.operator();
    const right = this.operand();
    return { kind: 'compare', left, op, right };
  }

  private operand(): Operand {
    this.space();
    const quote = this.text[this.pos];
    if (quote === '"' || quote === "'") {
      const end = this.text.indexOf(quote, this.pos + 1);
      if (end === -1) this.fail(`a closing ${quote}`);
      const value = this.text.slice(this.pos + 1, end);
      this.pos = end + 1;
      return { kind: 'string', value };
    }
    const match = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(this.text.slice(this.pos));
    const name = match === null ? undefined : VARIABLES[match[0]];
    if (match === null || name === undefined) this.fail('a marker variable or a quoted string');
    this.pos += match[0].length;
    return { kind: 'variable', name };
  }

  private operator(): Operator {
    this.space();
    const rest = this.text.slice(this.pos);
    const symbol = /^(===|==|!=|<=|>=|~=|<|>)/.exec(rest);
    if (symbol !== null) {
      this.pos += symbol[0].length;
      return symbol[0] as Operator;
    }
    if (this.keyword('in')) return 'in';
    if (this.keyword('not')) {
      if (!this.keyword('in')) this.fail('"in" after "not"');
      return 'not in';
    }
    return this.fail('a comparison operator');
  }

  /** Consumes `word` when it comes next as a whole word. */
  private keyword(word: string): boolean {
    this.space();
    if (!this.text.startsWith(word, this.pos)) return false;
    const after = this.text[this.pos + word.length];
    if (after !== undefined && /[A-Za-z0-9_.]/.test(after)) return false;
    this.pos += word.length;
    return true;
  }

  private space(): void {
    while (this.pos < this.text.length && /\s/.test(this.text.charAt(this.pos))) this.pos++;
  }

  private fail(expected: string): never {
    throw new MarkerSyntaxError(this.text, this.pos, expected);
  }
}

export function parseMarker(text: string): Marker {
  return new Parser(text).parse();
}

/** PEP 503 normalization, which packaging applies to both sides of an `extra` comparison. */
function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

function compareStrings(left: string, op: Operator, right: string): boolean {
  switch (op) {
    case '==':
    case '===':
      return left === right;
    case '!=':
      return left !== right;
    case '<':
      return left < right;
    case '<=':
      return left <= right;
    case '>':
      return left > right;
    case '>=':
      return left >= right;
    case 'in':
      return right.includes(left);
    case 'not in':
      return !right.includes(left);
    case '~=':
      return false;
  }
}

function evaluateCompare(marker: Extract<Marker, { kind: 'compare' }>, env: MarkerEnvironment, context: MarkerContext): boolean {
  const { left, op, right } = marker;
  // `extra == "x"`: true when x is requested (pip evaluates a dependency's marker once per requested extra).
  if (left.kind === 'variable' && left.name === 'extra' && right.kind === 'string' && (op === '==' || op === '!=')) {
    const requested = [...context.extras].some((e) => normalizeName(e) === normalizeName(right.value));
    return op === '==' ? requested : !requested;
  }
  // PEP 751: `"dev" in dependency_groups`, `"cli" not in extras`.
  if (right.kind === 'variable' && (right.name === 'extras' || right.name === 'dependency_groups') && left.kind === 'string' && (op === 'in' || op === 'not in')) {
    const set = right.name === 'extras' ? context.extras : context.dependencyGroups;
    const found = [...set].some((e) => normalizeName(e) === normalizeName(left.value));
    return op === 'in' ? found : !found;
  }
  const value = (operand: Operand): string => {
    if (operand.kind === 'string') return operand.value;
    if (operand.name === 'extra' || operand.name === 'extras' || operand.name === 'dependency_groups') return '';
    return env[operand.name];
  };
  const lhs = value(left);
  const rhs = value(right);
  if (VERSION_OPERATORS.has(op) && op !== '===') {
    const specifier = `${op}${rhs}`;
    if (validRange(specifier)) {
      try {
        return satisfies(lhs, specifier, { prereleases: true });
      } catch {
        // An lhs that is no version: packaging falls back to comparing strings.
      }
    }
  }
  return compareStrings(lhs, op, rhs);
}

/**
 * Whether `marker` holds in `env` with the requested extras and groups. An absent or empty marker holds.
 * Throws MarkerSyntaxError for text that is not a marker.
 */
export function evaluateMarker(marker: string | Marker | undefined, env: MarkerEnvironment, context: MarkerContext = NO_OPTIONAL_PARTS): boolean {
  if (marker === undefined) return true;
  if (typeof marker === 'string') {
    if (marker.trim() === '') return true;
    return evaluateMarker(parseMarker(marker), env, context);
  }
  switch (marker.kind) {
    case 'and':
      return evaluateMarker(marker.left, env, context) && evaluateMarker(marker.right, env, context);
    case 'or':
      return evaluateMarker(marker.left, env, context) || evaluateMarker(marker.right, env, context);
    case 'compare':
      return evaluateCompare(marker, env, context);
  }
}
