/**
 * What a program can receive as an environment variable, checked on the raw bytes of a value before the
 * build uses it: the user's platform env files (buildpack.md §Environment) and the app's .s2i/environment both feed the
 * env that pip, Python and the app are started with, so a value no program can be started with is found
 * here, with its name, instead of as a failed exec deep in the build. Problems are data; the buildpack
 * decides how to report them.
 *
 * The limits:
 * - NUL: never valid. POSIX environ is an array of NUL-terminated "NAME=value" strings (XBD §8.1), so a value
 *   holding a NUL byte cannot be passed to any program (Node, Bun and Go all refuse such an env entry).
 * - Length: at most MAX_ENV_ENTRY_BYTES for "NAME=value". Linux refuses execve(2) with E2BIG when a single
 *   argument or env string, its NUL included, exceeds MAX_ARG_STRLEN, 32 pages: 128 KiB with 4 KiB pages
 *   (amd64, and most arm64 kernels). The same limit is applied everywhere so that a build does not depend on
 *   the host's page size.
 * - UTF-8: required. Node and Bun take env values as JS strings and encode them as UTF-8 when starting a
 *   program, so other bytes cannot be passed through unchanged: they would reach pip, Python and the app
 *   with U+FFFD in their place, a different value (a password, a key) than the one the user set. A value the
 *   buildpack cannot pass on as written stops the build instead of being changed silently.
 * - The total (see MAX_ENV_TOTAL_BYTES) is checked once the whole env is known.
 */

/** Linux MAX_ARG_STRLEN with 4 KiB pages (include/uapi/linux/binfmts.h): the longest "NAME=value" string plus its NUL. */
export const MAX_ARG_STRLEN = 32 * 4096;

/** The longest "NAME=value" string (without its terminating NUL) accepted as a variable. */
export const MAX_ENV_ENTRY_BYTES = MAX_ARG_STRLEN - 1;

/**
 * The largest env (the sum of its "NAME=value" strings with their NULs) the build starts tools with. Linux's
 * ARG_MAX for argv and env together is a quarter of the stack limit: 2 MiB with the usual 8 MiB stack. Half of
 * it is kept for the tools' arguments, the pointer arrays and the variables the buildpack adds.
 */
export const MAX_ENV_TOTAL_BYTES = 1024 * 1024;

/** Names the buildpack reads as variables: the POSIX portable form (XBD §8.1), as `env` and shells accept. */
export const PORTABLE_ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Why a value cannot be used; offsets count bytes of the value from 0. */
export type EnvValueProblem =
  | { kind: 'nul'; offset: number }
  | { kind: 'not-utf8'; offset: number }
  /** `bytes`: the length of "NAME=value"; `limit`: MAX_ENV_ENTRY_BYTES. */
  | { kind: 'too-long'; bytes: number; limit: number };

export type EnvValue = { ok: true; value: string } | { ok: false; problem: EnvValueProblem };

/** The value as text, or why no program could be given it. */
export function decodeEnvValue(name: string, raw: Uint8Array): EnvValue {
  const nul = raw.indexOf(0);
  if (nul >= 0) return { ok: false, problem: { kind: 'nul', offset: nul } };
  const bytes = Buffer.byteLength(name, 'utf8') + 1 + raw.length;
  if (bytes > MAX_ENV_ENTRY_BYTES) return { ok: false, problem: { kind: 'too-long', bytes, limit: MAX_ENV_ENTRY_BYTES } };
  const bad = firstInvalidUtf8(raw);
  if (bad >= 0) return { ok: false, problem: { kind: 'not-utf8', offset: bad } };
  return { ok: true, value: Buffer.from(raw.buffer, raw.byteOffset, raw.length).toString('utf8') };
}

/** The size a variable takes in the env block: "NAME=value" and its NUL. */
export function envEntryBytes(name: string, value: string): number {
  return Buffer.byteLength(name, 'utf8') + 1 + Buffer.byteLength(value, 'utf8') + 1;
}

/**
 * The offset of the first byte that is not part of a well-formed UTF-8 sequence (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or -1. The same bytes a fatal TextDecoder refuses.
 */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    if (c === undefined) break; // not reached while i < b.length; narrows c to a number
    if (c < 0x80) {
      i += 1;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) n = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      if (c === 0xe0) lo = 0xa0; // overlong
      if (c === 0xed) hi = 0x9f; // UTF-16 surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      if (c === 0xf0) lo = 0x90; // overlong
      if (c === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= n; k++) {
      const d = b[i + k];
      if (d === undefined) return i;
      if (k === 1 ? d < lo || d > hi : d < 0x80 || d > 0xbf) return i;
    }
    i += n + 1;
  }
  return -1;
}
