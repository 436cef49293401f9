/** TOML reading and writing for every CNB file; the only place that touches @iarna/toml. */
import TOML from '@iarna/toml';
import fs from 'node:fs/promises';

export type TomlTable = { [key: string]: unknown };

export function parseToml(text: string): TomlTable {
  return TOML.parse(text) as TomlTable;
}

export function stringifyToml(value: TomlTable): string {
  return TOML.stringify(value as TOML.JsonMap);
}

/** Reads a TOML file; undefined when it does not exist. Parse errors propagate. */
export async function readTomlFile(path: string): Promise<TomlTable | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  return parseToml(text);
}

export async function writeTomlFile(path: string, value: TomlTable): Promise<void> {
  await fs.writeFile(path, stringifyToml(value));
}

export function isNotFound(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export function isTable(value: unknown): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
