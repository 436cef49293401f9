/**
 * `.s2i/environment`: KEY=VALUE lines, as s2i reads them. Blank lines and # comments are allowed; anything
 * else stops the build with its line number. The values apply to the rest of the build and are baked into
 * the launch environment as defaults, but for build-only variables and URL credentials (launch-defaults.ts).
 *
 * The file is read as bytes: a value must be one a program can be started with (no NUL byte, at most 128 KiB
 * as NAME=value, UTF-8; see src/cnb/env-value.ts for why), or the build stops naming the variable and its
 * line, before anything is installed. Comment lines are not values and may hold any bytes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { emptyEnv } from '../cnb/env.js';
import { decodeEnvValue, PORTABLE_ENV_NAME } from '../cnb/env-value.js';
import { BuildpackError } from '../failure.js';

const NEWLINE = 0x0a;
const CR = 0x0d;
const EQUALS = 0x3d;

export function parseS2iEnvironment(content: string | Uint8Array): Record<string, string> {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content.buffer, content.byteOffset, content.length);
  const out = emptyEnv();
  let start = 0;
  for (let lineNo = 1; start <= bytes.length; lineNo++) {
    const nl = bytes.indexOf(NEWLINE, start);
    const end = nl < 0 ? bytes.length : nl;
    const raw = bytes.subarray(start, end > start && bytes[end - 1] === CR ? end - 1 : end);
    start = end + 1;
    // '=' is ASCII, so it is never part of a multi-byte UTF-8 sequence: its first byte splits key and value.
    const eq = raw.indexOf(EQUALS);
    const line = raw.toString('utf8');
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const key = eq > 0 ? raw.subarray(0, eq).toString('utf8').trim() : '';
    if (!PORTABLE_ENV_NAME.test(key)) throw new BuildpackError({ type: 's2i-environment-malformed', line: lineNo, text: line });
    if (key.startsWith('CNB_')) throw new BuildpackError({ type: 's2i-environment-reserved', line: lineNo, key });
    const value = decodeEnvValue(key, raw.subarray(eq + 1));
    if (!value.ok) throw new BuildpackError({ type: 'bad-env-value', name: key, origin: { kind: 's2i-environment', line: lineNo }, problem: value.problem });
    out[key] = value.value;
  }
  return out;
}

export function readS2iEnvironment(appDir: string): Record<string, string> {
  let content: Buffer;
  try {
    content = fs.readFileSync(path.join(appDir, '.s2i', 'environment'));
  } catch {
    return emptyEnv();
  }
  return parseS2iEnvironment(content);
}
