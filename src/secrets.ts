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
