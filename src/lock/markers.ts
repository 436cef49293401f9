/**
 * PEP 508 environment markers (`python_version >= "3.10" and sys_platform == "linux"`), parsed and evaluated
 * as the `packaging` library (22 and later) does (packaging.markers, the reference pip and the lock tools share;
 * test/unit/markers.test.ts compares the two on generated markers):
 * - the grammar is PEP 508's: spaces and tabs separate tokens, `and` binds tighter than `or`, strings are quoted
 *   with ' or " and have no escapes; the legacy dotted names packaging still reads (`os.name`, `sys.platform`,
 *   `platform.machine`, `platform.version`, `platform.python_implementation`, `python_implementation`) are
 *   accepted, other dotted names are not;
 * - one side is a variable and the other a string (two variables or two strings are refused);
 * - for python_version, python_full_version, implementation_version and platform_release, when the operator
 *   and the string make a valid PEP 440 specifier (src/lock/version-specifier.ts), the variable's value must
 *   satisfy it, pre-releases included (a value that is no version, such as an empty platform_release, satisfies
 *   nothing);
 * - otherwise values compare as strings: `==` and `!=` by value, `<=` and `>=` as `==`, `<` and `>` never hold,
 *   `in` / `not in` test substrings; `~=` and `===` are refused (packaging raises UndefinedComparison);
 * - `extra` compares PEP 503 normalized names on both sides; with several requested extras, `==` (and `in`,
 *   `<=`, `>=`) holds when it holds for one of them and `!=` (and `not in`) when it holds for all, the set
 *   semantics uv gives its `extra` markers; with none, `extra` is `""`;
 * - `extras` and `dependency_groups` (PEP 751) are sets: `"name" in extras` tests membership of a normalized
 *   name, `==` with a set never holds and `!=` always does; as the left side of a comparison they are refused;
 * - every comparison is evaluated, as packaging does, so a refused one stops evaluation even where `or` would
 *   not need it.
 */
import { parseSpecifier, specifierContains } from './version-specifier.js';
// packaging normalizes both sides of an `extra`, `extras` or `dependency_groups` comparison this way.
import { normalizeName } from '../python/package-name.js';

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

/** Either error a marker can end in: readers catch this one and report the lock malformed. */
export class MarkerError extends Error {}

/** Thrown for text that is not a PEP 508 marker; `offset` is where parsing stopped. */
export class MarkerSyntaxError extends MarkerError {
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
  platform_machine: 'platform_machine',
  'platform.machine': 'platform_machine',
  platform_release: 'platform_release',
  platform_version: 'platform_version',
  'platform.version': 'platform_version',
  os_name: 'os_name',
  'os.name': 'os_name',
  extra: 'extra',
  extras: 'extras',
  dependency_groups: 'dependency_groups',
};

/** The variables packaging compares as versions when the other side makes a specifier (MARKERS_REQUIRING_VERSION). */
const VERSION_VARIABLES = new Set<Variable>(['python_version', 'python_full_version', 'implementation_version', 'platform_release']);

const SIMPLE_ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '' };

/**
 * The value of a quoted string's text as packaging reads it: it evaluates the quoted text as a Python string
 * literal (ast.literal_eval), so backslash escapes count and a line break, a carriage return or a NUL is an
 * error. Named escapes (`\N{...}`) would need Unicode's name table: they are refused. Undefined: not a literal.
 */
function decodePythonString(text: string): string | undefined {
  if (/[\r\n\0]/.test(text.replace(/\\\\|\\\n/g, ''))) return undefined;
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = text.charAt(i + 1);
    if (next === '') return undefined; // the backslash escapes the closing quote: the literal never ends
    const simple = SIMPLE_ESCAPES[next];
    if (simple !== undefined) {
      out += simple;
      i++;
      continue;
    }
    const octal = /^[0-7]{1,3}/.exec(text.slice(i + 1))?.[0];
    if (octal !== undefined) {
      out += String.fromCodePoint(Number.parseInt(octal, 8));
      i += octal.length;
      continue;
    }
    const width = { x: 2, u: 4, U: 8 }[next];
    if (width !== undefined) {
      const hex = text.slice(i + 2, i + 2 + width);
      if (!new RegExp(`^[0-9A-Fa-f]{${width}}$`).test(hex)) return undefined;
      const code = Number.parseInt(hex, 16);
      if (code > 0x10ffff) return undefined;
      out += String.fromCodePoint(code);
      i += 1 + width;
      continue;
    }
    if (next === 'N') return undefined;
    // Any other backslash stays as written (Python warns, and keeps it).
    out += c;
  }
  return out;
}

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
      const value = decodePythonString(this.text.slice(this.pos + 1, end));
      if (value === undefined) this.fail(`a valid quoted string (no line break, no NUL, Python escapes only)`);
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

  /** PEP 508's whitespace: spaces and tabs (packaging's WS token), not line breaks. */
  private space(): void {
    while (this.text[this.pos] === ' ' || this.text[this.pos] === '\t') this.pos++;
  }

  private fail(expected: string): never {
    throw new MarkerSyntaxError(this.text, this.pos, expected);
  }
}

export function parseMarker(text: string): Marker {
  return new Parser(text).parse();
}


/** A comparison packaging refuses to evaluate (its UndefinedComparison / UndefinedEnvironmentName). */
export class MarkerEvaluationError extends MarkerError {
  constructor(
    readonly comparison: string,
    readonly reason: string,
  ) {
    super(`${comparison}: ${reason}`);
  }
}


function showOperand(operand: Operand): string {
  return operand.kind === 'variable' ? operand.name : JSON.stringify(operand.value);
}

/** String comparison, packaging's fallback when no version comparison applies; undefined where packaging raises. */
function compareStrings(left: string, op: Operator, right: string): boolean | undefined {
  switch (op) {
    case '==':
    case '<=':
    case '>=':
      return left === right;
    case '!=':
      return left !== right;
    case '<':
    case '>':
      return false;
    case 'in':
      return right.includes(left);
    case 'not in':
      return !right.includes(left);
    case '~=':
    case '===':
      return undefined;
  }
}

function evaluateCompare(marker: Extract<Marker, { kind: 'compare' }>, env: MarkerEnvironment, context: MarkerContext): boolean {
  const { left, op, right } = marker;
  const comparison = `${showOperand(left)} ${op} ${showOperand(right)}`;
  const refuse = (reason: string): never => {
    throw new MarkerEvaluationError(comparison, reason);
  };
  if (left.kind === right.kind) return refuse(left.kind === 'variable' ? 'two variables compared' : 'two strings compared; one side must be a marker variable');
  const variable = (left.kind === 'variable' ? left.name : (right as { name: Variable }).name);
  const raw = left.kind === 'string' ? left.value : (right as { value: string }).value;
  const variableOnLeft = left.kind === 'variable';

  // `"name" in extras`: sets of normalized names (PEP 751); a set never equals a string.
  if (variable === 'extras' || variable === 'dependency_groups') {
    if (variableOnLeft) return refuse(`${variable} is a set of names: write "name" in ${variable}`);
    const set = variable === 'extras' ? context.extras : context.dependencyGroups;
    const member = [...set].some((e) => normalizeName(e) === normalizeName(raw));
    if (op === 'in') return member;
    if (op === 'not in') return !member;
    if (op === '!=') return true;
    if (op === '~=' || op === '===') return refuse(`${op} does not compare a name with a set`);
    return false;
  }

  const literal = variable === 'extra' ? normalizeName(raw) : raw;
  const compareOne = (value: string): boolean => {
    const [lhs, rhs] = variableOnLeft ? [value, literal] : [literal, value];
    if (VERSION_VARIABLES.has(variable)) {
      const specifier = parseSpecifier(`${op}${rhs}`);
      if (specifier !== undefined) return specifierContains(specifier, lhs);
    }
    const result = compareStrings(lhs, op, rhs);
    if (result !== undefined) return result;
    return refuse(VERSION_VARIABLES.has(variable) ? `${op}${rhs} is no PEP 440 version specifier` : `${op} compares versions, and ${variable} is no version`);
  };

  // `extra`: one comparison per requested extra (normalized; '' when none), any for a positive operator and
  // all for a negative one, so that `extra == "a"` means a is requested and `extra != "a"` that it is not.
  if (variable === 'extra') {
    const results = (context.extras.size === 0 ? [''] : [...context.extras].map(normalizeName)).map(compareOne);
    return op === '!=' || op === 'not in' ? results.every(Boolean) : results.some(Boolean);
  }
  return compareOne(env[variable]);
}

/**
 * Whether `marker` holds in `env` with the requested extras and groups. An absent or empty marker holds.
 * Throws MarkerSyntaxError for text that is not a marker and MarkerEvaluationError for a comparison packaging
 * refuses (both are MarkerError).
 */
export function evaluateMarker(marker: string | Marker | undefined, env: MarkerEnvironment, context: MarkerContext = NO_OPTIONAL_PARTS): boolean {
  if (marker === undefined) return true;
  if (typeof marker === 'string') {
    if (marker.trim() === '') return true;
    return evaluateMarker(parseMarker(marker), env, context);
  }
  switch (marker.kind) {
    case 'and': {
      // Both sides, as packaging evaluates every comparison before combining them.
      const [l, r] = [evaluateMarker(marker.left, env, context), evaluateMarker(marker.right, env, context)];
      return l && r;
    }
    case 'or': {
      const [l, r] = [evaluateMarker(marker.left, env, context), evaluateMarker(marker.right, env, context)];
      return l || r;
    }
    case 'compare':
      return evaluateCompare(marker, env, context);
  }
}
