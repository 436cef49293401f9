/**
 * A lock's package indexes as pip is to reach them, with the credentials each lock's own tool takes from the
 * environment at install, so an app whose private index works with its tool builds here with the same variables:
 *
 * - Pipenv expands `$NAME` and `${NAME}` in a source URL; the lock keeps the URL as the Pipfile has it, so no
 *   credential is committed (https://pipenv.pypa.io/en/latest/credentials.html). As Pipenv 2026.4+ does
 *   (pipenv/utils/shell.py expand_url_credentials), the user name and password are percent-encoded once
 *   expanded, and the rest of the URL is expanded as os.path.expandvars does. A variable that is not set is left
 *   in place by Pipenv, and pip then fails on a host or a login nobody can read; here it stops the build naming it.
 * - Poetry reads `POETRY_HTTP_BASIC_<SOURCE>_USERNAME` and `_PASSWORD` for a `[[tool.poetry.source]]`
 *   (poetry/config/config.py Config.get: the name upper-cased, `-` as `_`; Poetry up to 2.3 also splits the
 *   name at dots, 2.4 keeps them, so both spellings are read). Either alone is sent, the other empty, as Poetry 2.
 * - uv reads `UV_INDEX_<NAME>_USERNAME` and `_PASSWORD` for a `[[tool.uv.index]]` (uv-distribution-types
 *   IndexName::to_env_var: ASCII letters and digits upper-cased, anything else `_`); they win over credentials in
 *   the URL. uv.lock records only the URL, so the index is found by its URL in pyproject.toml.
 *
 * The URLs with credentials go only into pip's arguments. Layer metadata keeps them masked (src/secrets.ts), and
 * passwords and the values expanded into a path or query go to the log's redaction list (Logger.redact), for
 * the parts of a URL (a path token) that no URL rule masks.
 */
import { BuildpackError } from '../failure.js';
import { pythonQuote } from '../python-quote.js';
import { hasSecrets } from '../secrets.js';
import { indexKey, type Lockfile, type LockTool } from './model.js';

/** The tool that reads each lock, as the log names it. */
export const LOCK_TOOL_NAME: Record<LockTool, string> = { pipenv: 'Pipenv', poetry: 'Poetry', uv: 'uv', pylock: 'pip' };

/** An index URL ready for pip, and what the environment gave it. */
export interface IndexAccess {
  url: string;
  /** The variables read, in the order used, for the log. */
  variables: string[];
  /**
   * Values the log must not show wherever they appear: passwords, and whatever went into a URL's path or query,
   * where no URL rule masks it. Not the host, nor a user name (a URL's user-info is masked whole).
   */
  secrets: string[];
}

type Lookup = (name: string) => string | undefined;

/** `url` (one of the lock's index URLs) with the credentials the lock's tool would use. */
export function indexAccess(lock: Pick<Lockfile, 'tool' | 'file' | 'indexNames'>, url: string, variable: Lookup): IndexAccess {
  switch (lock.tool) {
    case 'pipenv':
      return expandPipenvUrl(url, variable, lock.file, lock.indexNames.get(indexKey(url)));
    case 'poetry': {
      const name = lock.indexNames.get(indexKey(url));
      return name === undefined ? plain(url) : withBasicAuth(url, poetryVariables(name), variable, false);
    }
    case 'uv': {
      const name = lock.indexNames.get(indexKey(url));
      return name === undefined ? plain(url) : withBasicAuth(url, [uvVariables(name)], variable, true);
    }
    case 'pylock':
      return plain(url);
  }
}

const plain = (url: string): IndexAccess => ({ url, variables: [], secrets: [] });

/**
 * The variables that would give `url` credentials, when none of them is set and the URL carries none of its own:
 * for an index Poetry or uv has a name for (the spelling older Poetry reads, with a dotted name). Empty otherwise:
 * Pipfile.lock's variables are required, pylock.toml names no index.
 */
export function unsetCredentialVariables(lock: Pick<Lockfile, 'tool' | 'indexNames'>, url: string, variable: Lookup): string[] {
  const name = lock.indexNames.get(indexKey(url));
  if (name === undefined || splitUrl(url)?.userinfo !== undefined) return [];
  const pairs = lock.tool === 'poetry' ? poetryVariables(name) : lock.tool === 'uv' ? [uvVariables(name)] : [];
  if (pairs.flat().some((v) => variable(v) !== undefined)) return [];
  return (pairs.at(-1) ?? []).slice();
}

/** The variable pairs Poetry reads for source `name`: 2.4's spelling (dots kept), then 1.x-2.3's (dots split). */
export function poetryVariables(name: string): Array<[string, string]> {
  const base = (n: string): string => `POETRY_HTTP_BASIC_${n.toUpperCase().replace(/-/g, '_')}`;
  const names = [...new Set([base(name), base(name.replace(/\./g, '_'))])];
  return names.map((n) => [`${n}_USERNAME`, `${n}_PASSWORD`]);
}

/** The variables uv reads for index `name`. */
export function uvVariables(name: string): [string, string] {
  const env = name.replace(/[^A-Za-z0-9]/g, '_').toUpperCase();
  return [`UV_INDEX_${env}_USERNAME`, `UV_INDEX_${env}_PASSWORD`];
}

/**
 * The first pair with either variable set puts `user:password` (percent-encoded) in the URL's user-info. A URL
 * that already has credentials keeps them unless `envWins` (uv) — Poetry's lock URLs come from pyproject.toml,
 * where a user-info would be the user's own choice.
 */
function withBasicAuth(url: string, pairs: Array<[string, string]>, variable: Lookup, envWins: boolean): IndexAccess {
  for (const [userVar, passVar] of pairs) {
    const username = variable(userVar);
    const password = variable(passVar);
    if (username === undefined && password === undefined) continue;
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return plain(url); // pip reports a URL it cannot use, naming it
    }
    if (!envWins && (parsed.username !== '' || parsed.password !== '')) return plain(url);
    parsed.username = encodeURIComponent(username ?? '');
    parsed.password = encodeURIComponent(password ?? '');
    const used = [...(username === undefined ? [] : [userVar]), ...(password === undefined ? [] : [passVar])];
    return { url: parsed.toString(), variables: used, secrets: credentialSecrets(username ?? '', password ?? '') };
  }
  return plain(url);
}

/**
 * What of a user name and password the log must never show: the password; the user name too when there is no
 * password, as an index token often is (`https://<token>@…`, `__token__` aside).
 */
function credentialSecrets(username: string, password: string): string[] {
  return [password !== '' ? password : username].filter((v) => v !== '');
}

/**
 * Whether `url`, as the lock writes it, carries a password or a token of its own: a user-info with a password,
 * or a credential query parameter (src/secrets.ts). Pipenv's `${NAME}` references are not: they are filled in
 * at build. A user name alone is not a secret (uv and keyring setups write `oauth2accesstoken@`).
 */
export function writtenCredentials(lock: Pick<Lockfile, 'tool'>, url: string): boolean {
  const literal = lock.tool === 'pipenv' ? url.replace(PIPENV_REFERENCE, '') : url;
  const parts = splitUrl(literal);
  if (parts?.userinfo === undefined) return hasSecrets(literal);
  const colon = parts.userinfo.indexOf(':');
  return (colon !== -1 && parts.userinfo.slice(colon + 1) !== '') || hasSecrets(`${parts.scheme}${parts.rest}`);
}

/**
 * The variables a lock's index URLs name for the build to fill in (Pipfile.lock's `$NAME`, `${NAME}`): only the
 * build reads them, and they often hold credentials, so .s2i/environment's values of them stay out of the image.
 * Poetry's and uv's variables need no list: their prefixes are build-only (src/settings.ts).
 */
export function variablesNamedBy(lock: Pick<Lockfile, 'tool' | 'indexes'>): string[] {
  if (lock.tool !== 'pipenv') return [];
  const names = new Set<string>();
  for (const url of lock.indexes) {
    for (const m of url.matchAll(PIPENV_REFERENCE)) {
      const name = (m[1] ?? m[2]) as string;
      if (SETTABLE.test(name)) names.add(name);
    }
  }
  return [...names];
}

/**
 * `scheme://`, the user-info (without its `@`; undefined when there is none) and the rest of a URL as written;
 * undefined without a scheme. The user-info ends at the last `@` before the path (RFC 3986 §3.2).
 */
function splitUrl(url: string): { scheme: string; userinfo: string | undefined; rest: string } | undefined {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)(?:([^/?#]*)@)?(.*)$/s.exec(url);
  return m === null ? undefined : { scheme: m[1] as string, userinfo: m[2], rest: m[3] as string };
}

/** `$NAME` or `${NAME}` as os.path.expandvars reads them (ASCII word characters; braces take anything but `}`). */
const EXPANDVARS = /\$(?:([A-Za-z0-9_]+)|\{([^}]*)\})/g;
/**
 * A variable as Pipenv reads it in a user-info (expand_url_credentials): `${NAME}`, optionally in single quotes,
 * or `$NAME`. Also what the build looks for to list a lock's variables, and strips to see what is written.
 */
const PIPENV_REFERENCE = /'?\$\{([^}]+)\}'?|\$([A-Za-z_][A-Za-z0-9_]*)/g;
/** A name a shell or a platform can set: one that is not set is an error; any other `$…` is left as text, as Pipenv does. */
const SETTABLE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function expandPipenvUrl(url: string, variable: Lookup, file: string, source: string | undefined): IndexAccess {
  if (!url.includes('$')) return plain(url);
  const variables: string[] = [];
  const unset: string[] = [];
  const secrets: string[] = [];
  const expand = (text: string, re: RegExp, into: string[] | undefined): string =>
    text.replace(re, (whole, bare: string | undefined, braced: string | undefined) => {
      const name = (bare ?? braced) as string;
      const value = variable(name);
      if (value === undefined) {
        if (SETTABLE.test(name) && !unset.includes(name)) unset.push(name);
        return whole;
      }
      if (!variables.includes(name)) variables.push(name);
      if (value !== '') into?.push(value);
      return value;
    });
  const parts = splitUrl(url);
  let expanded: string;
  if (parts === undefined) {
    expanded = expand(url, EXPANDVARS, secrets);
  } else {
    const { scheme, userinfo, rest } = parts;
    const slash = rest.search(/[/?#]/);
    const host = slash === -1 ? rest : rest.slice(0, slash);
    const tail = slash === -1 ? '' : rest.slice(slash);
    let info = '';
    if (userinfo !== undefined) {
      const out = expand(userinfo, PIPENV_REFERENCE, undefined);
      if (out === userinfo) {
        info = `${userinfo}@`;
      } else {
        const colon = out.indexOf(':');
        const [user, password] = colon === -1 ? [out, ''] : [out.slice(0, colon), out.slice(colon + 1)];
        secrets.push(...credentialSecrets(user, password));
        info = `${colon === -1 ? pythonQuote(out) : `${pythonQuote(user)}:${pythonQuote(password)}`}@`;
      }
    }
    expanded = `${scheme}${info}${expand(host, EXPANDVARS, undefined)}${expand(tail, EXPANDVARS, secrets)}`;
  }
  if (unset.length > 0) throw new BuildpackError({ type: 'lock-index-variable-unset', file, source, variables: unset });
  if (variables.length > 0 && !URL.canParse(expanded)) throw new BuildpackError({ type: 'lock-index-url-invalid', file, source, variables });
  return { url: expanded, variables, secrets };
}
