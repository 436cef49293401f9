/**
 * The app's Procfile, in Heroku's format (https://devcenter.heroku.com/articles/procfile): one
 * `<process type>: <command>` per line, the type made of letters, digits, `_` and `-`; blank lines and lines
 * starting with `#` are skipped. Each type becomes a launch.toml process run through /bin/sh, as Heroku runs
 * Procfile commands through a shell.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BuildpackError } from '../failure.js';

export interface ProcfileEntry {
  type: string;
  command: string;
}

const LINE = /^([A-Za-z0-9_-]+)[ \t]*:[ \t]*(\S.*)$/;

/** The process types of a Procfile's text, in file order. A line that is not `type: command`, or a type given twice, stops the build. */
export function parseProcfile(text: string): ProcfileEntry[] {
  const entries: ProcfileEntry[] = [];
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  lines.forEach((raw, index) => {
    const line = raw.replace(/\r$/, '');
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const m = LINE.exec(trimmed);
    if (!m) throw new BuildpackError({ type: 'procfile-malformed', line: index + 1, text: line, problem: 'not-type-command' });
    const type = m[1] as string;
    if (entries.some((e) => e.type === type)) throw new BuildpackError({ type: 'procfile-malformed', line: index + 1, text: line, problem: 'duplicate-type' });
    entries.push({ type, command: (m[2] as string).trimEnd() });
  });
  return entries;
}

/** The app's ./Procfile, parsed, or undefined when it has none. */
export function readProcfile(appDir: string): ProcfileEntry[] | undefined {
  const file = path.join(appDir, 'Procfile');
  let text: string;
  try {
    if (!fs.statSync(file).isFile()) return undefined;
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return parseProcfile(text);
}
