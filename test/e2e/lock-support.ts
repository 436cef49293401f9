/**
 * Shared by the lockfile end-to-end tests (issue 14): the fixture files, the error line of a cause, and the
 * log line of a reused locked layer.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Cause } from '../../src/causes.js';
import { renderCause } from '../../src/messages.js';
import { fixture } from './support.js';
import type { AppFiles } from '../platform/index.js';

export const errorLine = (c: Cause): string => `[Error: ${renderCause(c).title}]`;
export const NOT_RUN = 'Using cached dependencies: the locked packages, Python and pip settings are unchanged (pip was not run)';

/** The files at the top of a fixture folder (not its subfolders), plus `extra`. */
export function appFiles(name: string, extra: AppFiles = {}): AppFiles {
  const dir = fixture(name);
  const files: AppFiles = {};
  for (const f of fs.readdirSync(dir)) if (fs.statSync(path.join(dir, f)).isFile()) files[f] = fs.readFileSync(path.join(dir, f), 'utf8');
  return { ...files, ...extra };
}
