/**
 * A Gunicorn config that names its app: `wsgi_app = "module:callable"`, a setting Gunicorn reads from 20.1 on
 * (https://docs.gunicorn.org/en/stable/settings.html#wsgi-app). Gunicorn started with such a config and no
 * module argument serves what it names; OpenShift's s2i run script starts `gunicorn` that way when
 * ./gunicorn.conf.py mentions wsgi_app and Gunicorn is 20.1 or later. The config is read as text, never run
 * (it is the app's code, and may need settings the build does not have).
 */

/** The first version of Gunicorn that reads `wsgi_app` from a config file. */
export const WSGI_APP_SINCE: readonly [number, number] = [20, 1];

/**
 * What the config's top-level `wsgi_app = ...` sets (the last such line, as Python runs them in order):
 * `module` is the string it assigns, undefined when the value is code (read from the environment, say) the
 * build cannot tell. Undefined when no top-level line sets it: an assignment inside a block (`if ...:`) may
 * not run, so it does not count.
 */
export function configWsgiApp(text: string): { module: string | undefined } | undefined {
  let last: string | undefined;
  for (const m of text.matchAll(/^wsgi_app[ \t]*=(?!=)[ \t]*(.*)$/gm)) last = m[1] ?? '';
  if (last === undefined) return undefined;
  const literal = /^(['"])([^'"\\\r\n]+)\1[ \t]*(?:#.*)?\r?$/.exec(last);
  return { module: literal?.[2]?.trim() || undefined };
}

/** Whether an installed Gunicorn reads wsgi_app; an unknown version (no metadata found) is given the benefit of the doubt. */
export function gunicornReadsWsgiApp(version: string | undefined): boolean {
  if (version === undefined) return true;
  const m = /^(\d+)\.(\d+)/.exec(version);
  if (!m) return true;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > WSGI_APP_SINCE[0] || (major === WSGI_APP_SINCE[0] && minor >= WSGI_APP_SINCE[1]);
}
