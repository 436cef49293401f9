/**
 * TOML writing alone. Detect writes its build plan with it: @iarna/toml's stringify is one file that needs
 * nothing, while its parser evaluates node:util at load, which detect should not pay for.
 */
import stringify from '@iarna/toml/stringify.js';

export type TomlTable = { [key: string]: unknown };

export function stringifyToml(value: TomlTable): string {
  return stringify(value);
}

export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
