/**
 * Python's urllib.parse.quote(s, safe): every byte of UTF-8 but ASCII letters, digits and `_.-~` (and the `safe`
 * characters) as %XX. Pipenv encodes a user name and a password this way (safe=''), pip a file URL's path
 * (safe='/'); encodeURIComponent leaves `!'()*` as they are, which quote does not.
 */
export function pythonQuote(s: string, safe: '' | '/' = ''): string {
  const quoted = encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return safe === '/' ? quoted.replace(/%2F/g, '/') : quoted;
}
