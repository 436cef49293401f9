/**
 * Credentials in URLs are replaced before anything is printed or stored: logs, layer metadata (and the
 * pip-deps key hashed from PIP_* values), env files and SBOMs all go through these helpers. Two places in a URL
 * carry credentials:
 *
 * - the user-info of the authority, `scheme://user:token@host` (RFC 3986 §3.2.1), which pip and most package
 *   indexes accept (https://pip.pypa.io/en/stable/topics/authentication/);
 * - query and fragment parameters, `?token=…`, `&X-Amz-Signature=…`, `#access_token=…` (RFC 3986 §3.4, §3.5):
 *   signed URLs (S3, GCS, Azure SAS) and index services that take an API key in the query.
 *
 * The masker is hand-written, two forward passes, linear in the length of the text: tool output can hold lines of
 * megabytes (a long base64 line, a 1 MB requirement), and the earlier regex backtracked quadratically on
 * long runs of letters and digits (a 200 KB line took a minute).
 */

/** What replaces a credential. */
export const MASK = '****';

/**
 * Parameter names whose value is a credential, matched case-insensitively as a part of the name, so that
 * `access_token`, `X-Amz-Security-Token`, `X-Amz-Credential`, `X-Amz-Signature`, `X-Goog-Signature`, `api_key`,
 * `apikey`, `client_secret`, `password`, `passwd`, `pwd`, `sig` (Azure SAS), `auth`, `jsessionid` all match.
 * Masking a harmless parameter costs nothing; pip's own fragments (`#sha256=`, `#md5=`, `#egg=`,
 * `#subdirectory=`, https://pip.pypa.io/en/stable/topics/vcs-support/ and secure-installs) match none of these.
 */
const CREDENTIAL_NAME_PARTS = ['token', 'key', 'secret', 'pass', 'pwd', 'sig', 'auth', 'credential', 'session', 'jwt'];

/** Characters RFC 3986 §2 never allows unencoded in a URI: no URL part runs across them. */
function outsideUri(c: number): boolean {
  return c <= 0x20 || c === 0x7f // controls and space
    || c === 0x22 || c === 0x3c || c === 0x3e || c === 0x5c // " < > \
    || c === 0x5e || c === 0x60 || c === 0x7b || c === 0x7c || c === 0x7d; // ^ ` { | }
}

/** Characters of a scheme (RFC 3986 §3.1); only the one before `://` is checked: a scheme ends with any of them. */
function inScheme(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e;
}

/** The authority ends at the first `/`, `?` or `#` (RFC 3986 §3.2). */
function endsAuthority(c: number): boolean {
  return c === 0x2f || c === 0x3f || c === 0x23 || outsideUri(c);
}

/** A parameter value ends at the next `&` (or `#`, where the fragment starts). */
function endsValue(c: number): boolean {
  return c === 0x26 || c === 0x23 || outsideUri(c);
}

/** Characters of a parameter name: unreserved (RFC 3986 §2.3), `%` of percent-encoding, and `[]` (`auth[token]`). */
function inName(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)
    || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e || c === 0x25 || c === 0x5b || c === 0x5d;
}

/** `?`, `&`, `;` and `#` start a parameter (`;` for matrix parameters and the HTML 4 separator). */
function startsParameter(c: number): boolean {
  return c === 0x3f || c === 0x26 || c === 0x3b || c === 0x23;
}

function isCredentialName(name: string): boolean {
  const lower = name.toLowerCase();
  return CREDENTIAL_NAME_PARTS.some((p) => lower.includes(p));
}

/**
 * Replaces every URL credential in the text with `****`: the whole user-info of `scheme://user:pass@host`
 * (`scheme://****@host`), and the value of every credential parameter (`?token=****`, `#access_token=****`).
 *
 * The user-info runs to the last `@` of the authority, as Python's urllib splits it (pip's parser), so a
 * password holding an unencoded `@` is masked whole. Characters RFC 3986 reserves as delimiters (`/ ? #` in the
 * user-info, `& #` in a value) must be percent-encoded in a credential, as pip's docs ask; a value otherwise
 * runs to whitespace or a character never allowed in a URI.
 *
 * Two passes, user-info first: a URL with user-info inside a parameter value (`?next=https://u:p&q@h/`) is
 * masked by the first whatever the second makes of the `&`. Each pass is linear (see each).
 */
export function maskSecrets(text: string): string {
  return maskParameters(maskUserinfo(text));
}

/**
 * `scheme://userinfo@host` → `scheme://****@host`. Linear: the index only moves forward; an authority scan
 * resumes the loop where it stopped, so each character is read at most twice. An authority holds no `/`, so
 * the only `://` that can begin inside it begins at its last character (`a://b:https://u:p@h`): the loop goes
 * back that one character.
 */
function maskUserinfo(text: string): string {
  const n = text.length;
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < n) {
    // `://` after a scheme (RFC 3986 §3.1: a letter, then letters, digits, `+`, `-`, `.`): without one it is no URL
    if (text.charCodeAt(i) === 0x3a && text.charCodeAt(i + 1) === 0x2f && text.charCodeAt(i + 2) === 0x2f && i > 0 && inScheme(text.charCodeAt(i - 1))) {
      const start = i + 3;
      let end = start;
      let at = -1;
      for (; end < n; end++) {
        const d = text.charCodeAt(end);
        if (endsAuthority(d)) break;
        if (d === 0x40) at = end;
      }
      if (at > start) {
        out += text.slice(copied, start) + MASK;
        copied = at;
      }
      i = end > start && text.charCodeAt(end - 1) === 0x3a ? end - 1 : end;
    } else {
      i++;
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * `?token=abc` → `?token=****` (and after `&`, `;`, `#`). Linear: a name scan stops at the first character
 * that is not a name character (every delimiter is one) and the loop resumes there; a value scan is skipped
 * over only once masked. Each character is read at most twice, plus once lower-cased when it is in a name.
 */
function maskParameters(text: string): string {
  const n = text.length;
  let out = '';
  let copied = 0;
  let i = 0;
  while (i < n) {
    if (!startsParameter(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const nameStart = i + 1;
    let nameEnd = nameStart;
    while (nameEnd < n && inName(text.charCodeAt(nameEnd))) nameEnd++;
    i = nameEnd;
    if (nameEnd > nameStart && text.charCodeAt(nameEnd) === 0x3d && isCredentialName(text.slice(nameStart, nameEnd))) {
      const valueStart = nameEnd + 1;
      let valueEnd = valueStart;
      while (valueEnd < n && !endsValue(text.charCodeAt(valueEnd))) valueEnd++;
      if (valueEnd > valueStart) {
        out += text.slice(copied, valueStart) + MASK;
        copied = valueEnd;
      }
      i = valueEnd;
    }
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/** True when the text holds a URL credential that maskSecrets() would replace. */
export function hasSecrets(text: string): boolean {
  return maskSecrets(text) !== text;
}
