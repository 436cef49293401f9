/**
 * Pipenv's hash of a Pipfile, the value it writes to Pipfile.lock `_meta.hash.sha256` and compares at
 * `pipenv install --deploy` / `pipenv verify` to tell a stale lock.
 *
 * Pipenv (2022.10 and later, through its vendored plette `Pipfile.get_hash()`) hashes the UTF-8 bytes of
 * `json.dumps(data, sort_keys=True, separators=(",", ":"))` where `data` is
 * `{"_meta": {"sources": [[source]], "requires": [requires]}, "default": [packages], "develop": [dev-packages],
 *   <custom category>: <its table>...}`: every top-level table of the Pipfile but `source`, `packages`,
 * `dev-packages`, `requires`, `scripts`, `pipfile` and `pipenv` is a custom package category. A Pipfile without
 * `[[source]]` hashes as if it had PyPI's (plette prepends `DEFAULT_SOURCE_TOML`). Pipenv 2026.4.0 and later
 * (pypa/pipenv#6609) first rewrite each package name in the categories to its PEP 503 form, so `Flask` and
 * `flask` hash the same. A lock does not record the Pipenv that wrote it, so both forms are computed and either
 * matching is up to date.
 *
 * `json.dumps` defaults matter: `ensure_ascii=True` escapes every character outside printable ASCII as
 * `\uXXXX` (lower-case hex, UTF-16 surrogate pairs), keys sort by code point, and integers print in full.
 * TOML floats cannot be reproduced exactly (the TOML parser gives `1.0` and `1` as the same number); Pipenv's
 * Pipfile schema has no float-valued key, so only a Pipfile with a float in an unknown key could be reported
 * stale wrongly.
 */
import { createHash } from 'node:crypto';
import { parseToml, type TomlTable } from '../cnb/toml.js';
import { normalizeName } from '../python/package-name.js';

/** plette's PIPFILE_SECTIONS plus the names get_hash skips: every other top-level table is a package category. */
const NOT_CATEGORIES = new Set(['source', 'packages', 'dev-packages', 'requires', 'scripts', 'pipfile', 'pipenv', 'default', 'develop']);

/** plette's DEFAULT_SOURCE_TOML, as parsed. */
const DEFAULT_SOURCES = [{ name: 'pypi', url: 'https://pypi.org/simple', verify_ssl: true }];

/** The hashes Pipenv versions write for this Pipfile text: plette's (2022.10 and later) and 2026.4's. Throws on bad TOML. */
export function pipfileHashes(pipfileText: string): { plette: string; normalizedNames: string } {
  const pipfile = parseToml(pipfileText);
  return { plette: sha256(hashInput(pipfile, (n) => n)), normalizedNames: sha256(hashInput(pipfile, normalizeName)) };
}


function hashInput(pipfile: TomlTable, name: (n: string) => string): Record<string, unknown> {
  const section = (key: string): unknown => {
    const value = pipfile[key] ?? {};
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [name(k), v]));
  };
  const data: Record<string, unknown> = {
    _meta: { sources: pipfile.source ?? DEFAULT_SOURCES, requires: pipfile.requires ?? {} },
    default: section('packages'),
    develop: section('dev-packages'),
  };
  for (const key of Object.keys(pipfile)) {
    if (!NOT_CATEGORIES.has(key)) data[key] = section(key);
  }
  return data;
}

function sha256(data: unknown): string {
  return createHash('sha256').update(pythonJson(data), 'utf8').digest('hex');
}

/** Python's `json.dumps(value, sort_keys=True, separators=(",", ":"))` for the values TOML can hold. */
export function pythonJson(value: unknown): string {
  if (typeof value === 'string') return pythonString(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return pythonNumber(value);
  if (value === null || value === undefined) return 'null';
  // TOML dates: Python's json cannot encode datetime, so Pipenv cannot hash such a Pipfile; any text differs.
  if (value instanceof Date) return pythonString(value.toISOString());
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => compareCodePoints(a, b));
  return `{${entries.map(([k, v]) => `${pythonString(k)}:${pythonJson(v)}`).join(',')}}`;
}

/** Python sorts str by code point; JavaScript's default sort compares UTF-16 units, which differs past U+FFFF. */
function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

const SHORT_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

/** json's ESCAPE_ASCII: `"`, `\` and everything outside U+0020..U+007E escaped, per UTF-16 unit. */
function pythonString(s: string): string {
  return `"${s.replace(/["\\]|[^\x20-\x7e]/g, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}

/** Python's float repr ('r' format: scientific below 1e-4 and from 1e16) and int digits. */
function pythonNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return String(n);
  const [mantissa = '0', exp = '0'] = n.toExponential().split('e');
  const e = Number(exp);
  if (e < -4 || e >= 16) return `${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  return String(n);
}
