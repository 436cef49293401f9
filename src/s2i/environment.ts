/**
 * `.s2i/environment`: KEY=VALUE lines, as s2i reads them. Blank lines and # comments are allowed; anything
 * else stops the build with its line number. The values apply to the rest of the build and are baked into
 * the launch environment as defaults.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BuildpackError } from '../failure.js';

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function parseS2iEnvironment(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split('\n').forEach((rawLine, i) => {
    const line = rawLine.replace(/\r$/, '');
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const eq = line.indexOf('=');
    const key = eq > 0 ? line.slice(0, eq).trim() : '';
    if (!KEY.test(key)) throw new BuildpackError({ type: 's2i-environment-malformed', line: i + 1, text: line });
    if (key.startsWith('CNB_')) throw new BuildpackError({ type: 's2i-environment-reserved', line: i + 1, key });
    out[key] = line.slice(eq + 1);
  });
  return out;
}

export function readS2iEnvironment(appDir: string): Record<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(path.join(appDir, '.s2i', 'environment'), 'utf8');
  } catch {
    return {};
  }
  return parseS2iEnvironment(text);
}
