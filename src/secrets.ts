/**
 * Credentials in URLs (`https://user:token@host/...`) are replaced before anything is printed or stored:
 * logs, layer metadata, env files and SBOMs all go through these helpers.
 */
const URL_USERINFO = /([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^\s/@]+)@/g;

/** Replaces the user-info part of every URL in the text with `****`. */
export function maskSecrets(text: string): string {
  return text.replace(URL_USERINFO, '$1****@');
}

/** True when the text holds a URL with credentials. */
export function hasSecrets(text: string): boolean {
  return new RegExp(URL_USERINFO.source).test(text);
}

/**
 * User-supplied text as it may be shown on a terminal: C0 and C1 control characters and DEL become `\xNN`
 * escapes (a tab stays), so a file or variable cannot move the cursor, set the title or hide text.
 */
export function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
