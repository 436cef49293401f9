/**
 * PEP 508 markers (src/lock/markers.ts): the parser's errors, each evaluation rule of the module's header, and a
 * differential test against the `packaging` library (>= 22, from the local wheelhouse) over generated markers in
 * the environments of the Pythons and architectures the buildpack builds for.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { evaluateMarker, MarkerError, MarkerEvaluationError, type MarkerContext, markerEnvironment, MarkerSyntaxError, parseMarker } from '../../src/lock/markers.js';
import { packagingEvaluate, type ReferenceEnvironment, type ReferenceOutcome } from '../helpers/packaging-reference.js';

const PY311 = markerEnvironment('3.11.9', 'amd64');
const none: MarkerContext = { extras: new Set(), dependencyGroups: new Set() };
const ctx = (extras: string[], groups: string[] = []): MarkerContext => ({ extras: new Set(extras), dependencyGroups: new Set(groups) });
const holds = (marker: string, context: MarkerContext = none, env = PY311): boolean => evaluateMarker(marker, env, context);

function syntaxError(text: string): MarkerSyntaxError {
  try {
    parseMarker(text);
  } catch (err) {
    expect(err).to.be.instanceOf(MarkerSyntaxError);
    return err as MarkerSyntaxError;
  }
  return expect.fail(`expected ${JSON.stringify(text)} to be refused`);
}

describe('markers: parse errors', () => {
  const cases: Array<[string, number, RegExp]> = [
    ['', 0, /marker variable or a quoted string/],
    ['python_version', 14, /comparison operator/],
    ['python_version >=', 17, /marker variable or a quoted string/],
    ['python_version >= "3.8', 18, /closing "/],
    ["os_name == 'posix", 11, /closing '/],
    ['python_versions >= "3.8"', 0, /marker variable/],
    ['pyhton_version >= "3.8"', 0, /marker variable/],
    ['python_version >= 3.8', 18, /marker variable or a quoted string/],
    ['python_version not "3.8"', 19, /"in" after "not"/],
    ['python_version => "3.8"', 15, /comparison operator/],
    ['(python_version >= "3.8"', 24, /"\)"/],
    ['python_version >= "3.8")', 23, /"and", "or" or the end/],
    ['python_version >= "3.8" and', 27, /marker variable or a quoted string/],
    ['python_version >= "3.8" xor os_name == "posix"', 24, /"and", "or" or the end/],
    ['()', 1, /marker variable or a quoted string/],
    ['python_version >= "3.8" andos_name == "posix"', 24, /"and", "or" or the end/],
    // packaging reads spaces and tabs only (its WS token): a line break is no separator.
    ['python_version\n>= "3.8"', 14, /comparison operator/],
    // packaging 22+ knows platform_release and platform_system only with an underscore.
    ['platform.release == "5"', 0, /marker variable/],
    ['platform.system == "Linux"', 0, /marker variable/],
    // packaging reads a quoted string as a Python literal (ast.literal_eval).
    ['os_name == "pos\nix"', 11, /valid quoted string/],
    ['os_name == "pos\rix"', 11, /valid quoted string/],
    ['os_name == "posix\\"', 11, /valid quoted string/],
    ['os_name == "\\x7"', 11, /valid quoted string/],
    ['os_name == "\\N{HYPHEN-MINUS}"', 11, /valid quoted string/],
  ];
  for (const [text, offset, expected] of cases) {
    it(`refuses ${JSON.stringify(text)} at position ${offset + 1}`, () => {
      const err = syntaxError(text);
      expect(err.offset, err.message).to.equal(offset);
      expect(err.message).to.match(expected);
      expect(err.marker).to.equal(text);
    });
  }

  it('Python escapes in quoted strings count, as packaging evaluates them as literals', () => {
    expect(holds('os_name == "posi\\x78"')).to.equal(true);
    expect(holds("os_name == 'p\\157six'")).to.equal(true, 'octal');
    expect(holds('os_name == "\\u0070osix"')).to.equal(true);
    expect(holds('os_name == "pos\\\nix"')).to.equal(true, 'a backslash before a line break continues the line');
    expect(holds('"\\\\" in os_name')).to.equal(false, 'an escaped backslash');
    expect(parseMarker('os_name == "a\\qb"')).to.deep.include({ right: { kind: 'string', value: 'a\\qb' } }, 'an unknown escape stays as written');
  });

  it('evaluateMarker throws the syntax error for text that is not a marker', () => {
    expect(() => holds('python_version >= ')).to.throw(MarkerSyntaxError);
  });
});

describe('markers: evaluation rules', () => {
  it('an absent or blank marker holds', () => {
    expect(evaluateMarker(undefined, PY311)).to.equal(true);
    expect(evaluateMarker('', PY311)).to.equal(true);
    expect(evaluateMarker('  ', PY311)).to.equal(true);
  });

  it('and binds tighter than or; parentheses group', () => {
    expect(holds('os_name == "nt" and os_name == "nt" or os_name == "posix"')).to.equal(true);
    expect(holds('os_name == "nt" and (os_name == "nt" or os_name == "posix")')).to.equal(false);
    expect(holds('((os_name == "posix"))and(python_version>="3")')).to.equal(true);
    expect(holds('os_name == "posix"\tand\tpython_version >= "3"')).to.equal(true);
  });

  it('version variables with a PEP 440 specifier compare as versions, pre-releases included', () => {
    expect(holds('python_version >= "3.8"')).to.equal(true);
    expect(holds('python_version < "3.10"')).to.equal(false, '3.11 < 3.10 as versions (as strings it would hold)');
    expect(holds('python_version == "3.11.0"')).to.equal(true, 'zero padding');
    expect(holds('python_full_version == "3.11.*"')).to.equal(true);
    expect(holds('python_full_version != "3.11.*"')).to.equal(false);
    expect(holds('python_full_version ~= "3.11.2"')).to.equal(true);
    expect(holds('python_full_version >= "3.11.9rc1"')).to.equal(true);
    expect(holds('python_full_version < "3.12.0a1"')).to.equal(true);
    expect(holds('python_full_version >= "3.12.0a1"', none, markerEnvironment('3.12.0b2', 'amd64'))).to.equal(true, 'a pre-release Python matches');
    expect(holds('implementation_version >= "3.11"')).to.equal(true);
    expect(holds('python_version >= " 3.8 "')).to.equal(true, 'spaces around the version are part of a valid specifier');
  });

  it('a string on the left of a version variable compares the same way round', () => {
    expect(holds('"3.8" < python_version')).to.equal(true);
    expect(holds('"3.12" < python_version')).to.equal(false);
  });

  it('version variables without a valid specifier compare as strings: == and != by value, <= and >= as ==, < and > never hold', () => {
    expect(holds('python_version > "3.8,<4"')).to.equal(false, 'two specifiers are not one');
    expect(holds('python_version >= "3.11.*"')).to.equal(false, 'wildcards only with == and !=');
    expect(holds('python_version <= "3.11.*"')).to.equal(false);
    expect(holds('python_version < "abc"')).to.equal(false);
    expect(holds('python_version == "abc"')).to.equal(false);
    expect(holds('python_version != "abc"')).to.equal(true);
    expect(holds('python_version in "3.10 3.11"')).to.equal(true);
    expect(holds('python_version not in "3.10 3.11"')).to.equal(false);
  });

  it('other variables compare as strings whatever the right side looks like', () => {
    expect(holds('os_name == "posix"')).to.equal(true);
    expect(holds('platform_machine == "x86_64"')).to.equal(true);
    expect(holds('platform_machine == "X86_64"')).to.equal(false, 'case matters');
    expect(holds('os_name > "a"')).to.equal(false, 'no ordering of strings');
    expect(holds('os_name < "z"')).to.equal(false);
    expect(holds('os_name >= "posix"')).to.equal(true, '>= is ==');
    expect(holds('os_name <= "nt"')).to.equal(false, '<= is ==');
    expect(holds('sys_platform >= "3"')).to.equal(false, 'no version comparison for sys_platform');
    expect(holds('"linux" in sys_platform')).to.equal(true);
    expect(holds('sys_platform in "linux darwin"')).to.equal(true, 'in tests substrings');
    expect(holds('"win" not in sys_platform')).to.equal(true);
  });

  it('~= and === on a value that is no version stop evaluation (packaging raises UndefinedComparison)', () => {
    expect(() => holds('os_name ~= "posix"')).to.throw(MarkerEvaluationError, /~=/);
    expect(() => holds('os_name === "posix"')).to.throw(MarkerEvaluationError);
    expect(() => holds('python_version ~= "3"')).to.throw(MarkerEvaluationError, /~=/);
  });

  it('=== compares version strings without case', () => {
    expect(holds('python_version === "3.11"')).to.equal(true);
    expect(holds('python_version === "3.11.0"')).to.equal(false);
    expect(() => holds('implementation_name === "CPython"')).to.throw(MarkerEvaluationError, /===/);
  });

  it('a version variable that is no version never satisfies a specifier (platform_release is unknown at build)', () => {
    expect(holds('platform_release >= "5"')).to.equal(false);
    expect(holds('platform_release <= "5"')).to.equal(false);
    expect(holds('platform_release != "5"')).to.equal(false, 'packaging: an unparsable version matches no standard operator');
    expect(holds('platform_release == ""')).to.equal(true, 'an empty right side is no specifier: strings compare');
  });

  it('every comparison is evaluated: a refused one stops evaluation even after a true or', () => {
    expect(() => holds('os_name == "posix" or os_name ~= "posix"')).to.throw(MarkerEvaluationError);
    expect(() => holds('os_name == "nt" and os_name ~= "posix"')).to.throw(MarkerEvaluationError);
  });

  it('comparing two variables or two strings is refused', () => {
    expect(() => holds('python_version == python_full_version')).to.throw(MarkerEvaluationError);
    expect(() => holds('"a" == "a"')).to.throw(MarkerEvaluationError);
  });

  it('extra: PEP 503 normalized on both sides, true for a requested extra', () => {
    expect(holds('extra == "socks"', ctx(['socks']))).to.equal(true);
    expect(holds('extra == "Foo.Bar"', ctx(['foo-bar']))).to.equal(true);
    expect(holds('extra == "foo__bar"', ctx(['FOO.BAR']))).to.equal(true);
    expect(holds('"socks" == extra', ctx(['socks']))).to.equal(true);
    expect(holds('extra == "socks"')).to.equal(false);
    expect(holds('extra != "socks"')).to.equal(true);
    expect(holds('extra != "socks"', ctx(['socks']))).to.equal(false);
  });

  it('extra with several requested extras: == holds for any, != only when none is it (set semantics, as uv)', () => {
    expect(holds('extra == "b"', ctx(['a', 'b']))).to.equal(true);
    expect(holds('extra != "b"', ctx(['a', 'b']))).to.equal(false);
    expect(holds('extra == "a" and extra == "b"', ctx(['a', 'b']))).to.equal(true);
  });

  it('extras and dependency_groups are sets (PEP 751): in and not in test membership of normalized names', () => {
    expect(holds('"dev" in dependency_groups', ctx([], ['dev']))).to.equal(true);
    expect(holds('"Dev_Tools" in dependency_groups', ctx([], ['dev.tools']))).to.equal(true);
    expect(holds('"de" in dependency_groups', ctx([], ['dev']))).to.equal(false, 'membership, not substring');
    expect(holds('"dev" not in dependency_groups')).to.equal(true);
    expect(holds('"cli" in extras', ctx(['cli']))).to.equal(true);
    expect(holds('"cli" in extras', ctx([], ['cli']))).to.equal(false, 'groups are not extras');
    expect(holds('"cli" == extras', ctx(['cli']))).to.equal(false, 'a name is never equal to a set');
    expect(holds('"cli" != extras', ctx(['cli']))).to.equal(true);
  });

  it('extras and dependency_groups on the left of a comparison are refused', () => {
    expect(() => holds('extras == "cli"', ctx(['cli']))).to.throw(MarkerEvaluationError, /extras/);
    expect(() => holds('dependency_groups in "dev"')).to.throw(MarkerEvaluationError, /dependency_groups/);
  });

  it('legacy dotted names read the same values', () => {
    expect(holds('os.name == "posix" and sys.platform == "linux" and platform.machine == "x86_64"')).to.equal(true);
    expect(holds('platform.python_implementation == "CPython" and python_implementation == "CPython"')).to.equal(true);
    expect(holds('platform.version == ""')).to.equal(true);
  });

  it('markerEnvironment describes CPython on Linux for the CNB target', () => {
    expect(markerEnvironment('3.8.20', 'arm64')).to.deep.equal({
      python_version: '3.8',
      python_full_version: '3.8.20',
      implementation_name: 'cpython',
      implementation_version: '3.8.20',
      platform_python_implementation: 'CPython',
      sys_platform: 'linux',
      platform_system: 'Linux',
      platform_machine: 'aarch64',
      platform_release: '',
      platform_version: '',
      os_name: 'posix',
    });
    expect(markerEnvironment('3.13.1', 'amd64').platform_machine).to.equal('x86_64');
  });
});

// ---- differential test against packaging ----

const VARIABLES = [
  'python_version', 'python_full_version', 'implementation_name', 'implementation_version', 'platform_python_implementation',
  'sys_platform', 'platform_system', 'platform_machine', 'platform_release', 'platform_version', 'os_name',
  'os.name', 'sys.platform', 'platform.machine', 'platform.version', 'platform.python_implementation', 'python_implementation',
  'extra', 'extras', 'dependency_groups',
];
const OPERATORS = ['<', '<=', '==', '!=', '>=', '>', '~=', '===', 'in', 'not in'];
const WORDS = ['posix', 'nt', 'linux', 'win32', 'darwin', 'Linux', 'Windows', 'x86_64', 'aarch64', 'AMD64', 'cpython', 'CPython', 'PyPy', 'dev', 'Dev_Tools', 'test', 'socks', 'Foo.Bar', 'foo-bar', 'a', 'lin', '', ' ', 'abc', '3.8,<4',
  // packaging reads a quoted string as a Python literal: escapes count, some are errors.
  'posi\\x78', 'a\\nb', 'x\\\\', 'li\\u006eux', '\\q', '\\x4', 'x\\', '\\101', 'tab\\tb'];

/** PEP 440 versions and near-versions: releases, wildcards, pre/post/dev/local parts, a `v`, spaces. */
const versionText = fc
  .tuple(
    fc.constantFrom('', 'v', ' '),
    fc.constantFrom('2', '3', '4', '1!3'),
    fc.array(fc.constantFrom('0', '7', '8', '9', '10', '11', '12', '13', '14', '20', '1', '01'), { maxLength: 3 }),
    fc.constantFrom('', '', '', '.*', 'a1', 'rc1', 'b2', '.post1', '-1', '.dev0', '+local', 'x', ' '),
  )
  .map(([prefix, major, rest, suffix]) => `${prefix}${[major, ...rest].join('.')}${suffix}`);

const ENV_VALUES = [...new Set(['3.8', '3.11', '3.13', '3.8.20', '3.11.9', '3.13.1', 'x86_64', 'aarch64'])];
const quoted = fc.oneof({ weight: 3, arbitrary: versionText }, { weight: 3, arbitrary: fc.constantFrom(...WORDS) }, { weight: 1, arbitrary: fc.constantFrom(...ENV_VALUES) }).chain((v) =>
  v.includes('"') ? fc.constant(`'${v}'`) : fc.constantFrom(`"${v}"`, `'${v}'`),
);
const space = fc.constantFrom('', ' ', ' ', '  ', '\t');
const wordSpace = fc.constantFrom(' ', ' ', '  ', '\t');

/** `var op "value"`, most often; `"value" op var`; and now and then `"a" op "b"` (packaging looks "b" up as a variable). */
const item: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(...VARIABLES), fc.constantFrom(...OPERATORS), quoted, fc.integer({ min: 0, max: 9 }), space, space)
  .map(([variable, op, value, shape, s1, s2]) => {
    const sep = (a: string, b: string): string => (op === 'in' || op === 'not in' ? ` ${op} ` : `${a}${op}${b}`);
    if (shape < 6) return `${variable}${sep(s1, s2)}${value}`;
    if (shape < 9) return `${value}${sep(s1, s2)}${variable}`;
    return `${value}${sep(s1, s2)}"abc"`;
  });

const marker: fc.Arbitrary<string> = fc.letrec<{ m: string }>((tie) => ({
  m: fc.oneof(
    { maxDepth: 4, depthSize: 'small', withCrossShrink: true },
    item,
    fc.tuple(tie('m'), fc.constantFrom('and', 'or'), tie('m'), wordSpace).map(([l, op, r, s]) => `${l}${s}${op}${s}${r}`),
    fc.tuple(tie('m'), space).map(([m, s]) => `(${s}${m}${s})`),
  ),
})).m;

/** One comparison of a version variable with a version-like string, either way round: PEP 440 matching itself. */
const versionItem = fc
  .tuple(fc.constantFrom('python_version', 'python_full_version', 'implementation_version', 'platform_release'), fc.constantFrom(...OPERATORS.filter((o) => o !== 'in' && o !== 'not in')), versionText, fc.boolean())
  .map(([variable, op, version, flipped]) => (flipped ? `"${version}" ${op} ${variable}` : `${variable} ${op} "${version}"`));

/** A generated marker with one character deleted, doubled or replaced: mostly syntax errors, some still markers. */
const mutated = fc.tuple(marker, fc.nat(), fc.constantFrom('delete', 'double', '(', ')', '"', 'x', '\n', '.', '\\', '\r', '\t')).map(([m, at, how]) => {
  const i = at % Math.max(1, m.length);
  if (how === 'delete') return m.slice(0, i) + m.slice(i + 1);
  if (how === 'double') return m.slice(0, i + 1) + m.slice(i);
  return m.slice(0, i) + how + m.slice(i + 1);
});

/** The targets: markerEnvironment of three Pythons on both architectures, each with no, one or other optional parts. */
const TARGETS = ['3.8.20', '3.11.9', '3.13.1'].flatMap((v) => ['amd64', 'arm64'].map((arch) => markerEnvironment(v, arch)));
const PARTS: Array<{ extras: string[]; groups: string[] }> = [
  { extras: [], groups: [] },
  { extras: ['Foo.Bar'], groups: ['dev'] },
  { extras: ['socks'], groups: ['Dev_Tools', 'test'] },
];

function ours(text: string, env: (typeof TARGETS)[number], parts: (typeof PARTS)[number]): ReferenceOutcome {
  try {
    parseMarker(text);
  } catch (err) {
    if (err instanceof MarkerSyntaxError) return 'syntax';
    throw err;
  }
  try {
    return evaluateMarker(text, env, ctx(parts.extras, parts.groups));
  } catch (err) {
    if (err instanceof MarkerEvaluationError) return 'error';
    throw err;
  }
}

describe('markers: differential test against packaging', function () {
  this.timeout(300_000);

  it('agrees with packaging on generated markers in 3.8.20, 3.11.9 and 3.13.1 on amd64 and arm64', () => {
    const seed = Number(process.env.MARKER_SEED ?? 20251205);
    const generated = [...fc.sample(marker, { numRuns: 400, seed }), ...fc.sample(versionItem, { numRuns: 300, seed: seed + 2 }), ...fc.sample(mutated, { numRuns: 200, seed: seed + 1 })];
    const markers = [...new Set(generated)];
    const envs = TARGETS.flatMap((env) => PARTS.map((parts) => ({ env, parts })));
    const reference: ReferenceEnvironment[] = envs.map(({ env, parts }) => ({
      values: { ...env },
      // One requested extra is `extra` (pip evaluates a dependency's marker once per requested extra), none is ''.
      extra: parts.extras[0] ?? '',
      extras: parts.extras,
      dependencyGroups: parts.groups,
    }));
    const { version, results } = packagingEvaluate(markers, reference);
    const disagreements = new Map<string, string[]>();
    let parsed = 0;
    let checked = 0;
    const outcomes = new Map<ReferenceOutcome, number>();
    markers.forEach((text, i) => {
      const theirs = results[i];
      envs.forEach(({ env, parts }, j) => {
        const expected = theirs === 'syntax' ? 'syntax' : theirs?.[j];
        const actual = ours(text, env, parts);
        checked++;
        outcomes.set(actual, (outcomes.get(actual) ?? 0) + 1);
        if (actual !== expected) {
          const where = `${env.python_full_version}/${env.platform_machine} extras=${JSON.stringify(parts.extras)} groups=${JSON.stringify(parts.groups)}: ours ${actual}, packaging ${version} ${expected}`;
          disagreements.set(text, [...(disagreements.get(text) ?? []), where]);
        }
      });
      if (theirs !== 'syntax') parsed++;
    });
    console.log(`      ${markers.length} markers (${parsed} valid for packaging ${version}) x ${envs.length} environments: ${checked} evaluations compared (${[...outcomes].map(([k, n]) => `${k}: ${n}`).join(', ')})`);
    const shown = [...disagreements].slice(0, 30).map(([text, where]) => `${JSON.stringify(text)} in ${where[0]}${where.length > 1 ? ` (and ${where.length - 1} other environments)` : ''}`);
    expect(disagreements.size, `markers on which we disagree (seed ${seed}):\n${shown.join('\n')}`).to.equal(0);
    expect(parsed, 'enough valid markers to mean something').to.be.greaterThan(500);
    expect(outcomes.get(true), 'markers that hold').to.be.greaterThan(1000);
    expect(outcomes.get(false), 'markers that do not').to.be.greaterThan(1000);
  });
});

describe('markers: properties', () => {
  it('any text ends in a boolean or a MarkerError, never another exception', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), marker, mutated), fc.constantFrom(...TARGETS), fc.constantFrom(...PARTS), (text, env, parts) => {
        try {
          expect(evaluateMarker(text, env, ctx(parts.extras, parts.groups))).to.be.a('boolean');
        } catch (err) {
          expect(err).to.be.instanceOf(MarkerError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('a marker and its parenthesized form, and `a and b` and `b and a`, agree', () => {
    fc.assert(
      fc.property(marker, marker, fc.constantFrom(...TARGETS), fc.constantFrom(...PARTS), (a, b, env, parts) => {
        const outcome = (text: string): boolean | string => {
          try {
            return evaluateMarker(text, env, ctx(parts.extras, parts.groups));
          } catch (err) {
            return (err as Error).constructor.name;
          }
        };
        expect(outcome(`(${a})`)).to.equal(outcome(a));
        expect(outcome(`(${a}) and (${b})`)).to.equal(outcome(`(${b}) and (${a})`));
        expect(outcome(`(${a}) or (${b})`)).to.equal(outcome(`(${b}) or (${a})`));
      }),
      { numRuns: 1000 },
    );
  });
});
