/**
 * PEP 503 name normalization (packaging.utils.canonicalize_name): lower case, and every run of `-`, `_` and `.`
 * becomes one `-`. Package names, extras (PEP 685) and dependency groups (PEP 735) all compare this way.
 */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}
