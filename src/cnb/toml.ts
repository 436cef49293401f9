/** TOML reading and writing for every CNB file; with toml-write.ts, the only place that touches @iarna/toml. */
import parseString from '@iarna/toml/parse-string.js';
import fs from 'node:fs/promises';
import { isNotFound, stringifyToml, type TomlTable } from './toml-write.js';

export { isNotFound, stringifyToml, type TomlTable };

export function parseToml(text: string): TomlTable {
  return parseString(text);
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

export function isTable(value: unknown): value is TomlTable {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
