/**
 * What a pip install depends on, for the pip-deps cache key: the requirement files, the files they include
 * (-r, -c), and local projects they name (`-e .`, `./lib`). Editable projects count by their metadata files
 * (their code is used in place); other local projects count by their whole tree (pip copies them).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { BuildpackError } from '../failure.js';

export type LocalProject = { dir: string; editable: boolean };

export interface RequirementInputs {
  /** Requirement and constraint files, app-relative, in the order found. */
  files: string[];
  projects: LocalProject[];
}

const PROJECT_METADATA = ['setup.py', 'setup.cfg', 'pyproject.toml'];
const SKIP_DIRS = new Set(['.git', '__pycache__', 'node_modules', '.venv', 'venv', '.tox', '.mypy_cache', '.pytest_cache']);

/** Logical lines: comments removed, backslash continuations joined. */
export function logicalLines(text: string): string[] {
  const joined = text.replace(/\\\r?\n/g, '');
  return joined
    .split(/\r?\n/)
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter((l) => l !== '');
}

type Ref = { kind: 'include'; file: string } | { kind: 'project'; target: string; editable: boolean };

/** The includes and local projects one line refers to. */
export function parseLine(line: string): Ref | undefined {
  const opt = /^(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+)(\S+)/.exec(line) ?? /^(-r|-c)(\S+)/.exec(line);
  if (opt?.[2]) return { kind: 'include', file: opt[2] };
  const editable = /^(-e|--editable)(?:\s*=\s*|\s+)(\S+)/.exec(line);
  const target = editable?.[2] ?? line.split(/\s+/)[0] ?? '';
  const local = target.startsWith('file:') ? target.replace(/^file:(\/\/)?/, '') : target;
  if (local === '.' || local.startsWith('./') || local.startsWith('../') || local.startsWith('/')) {
    return { kind: 'project', target: local.replace(/[#[].*$/, ''), editable: editable !== null };
  }
  return undefined;
}

export function collectRequirementInputs(appDir: string, roots: string[]): RequirementInputs {
  const files: string[] = [];
  const projects: LocalProject[] = [];
  const visit = (rel: string, from: string | undefined): void => {
    const abs = path.resolve(appDir, rel);
    const relToApp = path.relative(appDir, abs);
    if (files.includes(relToApp)) return;
    let text: string;
    try {
      text = fs.readFileSync(abs, 'utf8');
    } catch {
      throw new BuildpackError({ type: 'missing-requirement-file', file: relToApp, from });
    }
    files.push(relToApp);
    for (const line of logicalLines(text)) {
      const ref = parseLine(line);
      if (ref?.kind === 'include') visit(path.join(path.dirname(relToApp), ref.file), relToApp);
      else if (ref?.kind === 'project') {
        const dir = path.relative(appDir, path.resolve(path.dirname(abs), ref.target)) || '.';
        projects.push({ dir, editable: ref.editable });
      }
    }
  };
  for (const r of roots) visit(r, undefined);
  return { files, projects };
}

/** sha256 over the contents of the inputs, named by their app-relative paths. */
export function hashInputs(appDir: string, inputs: RequirementInputs): string {
  const h = crypto.createHash('sha256');
  const add = (rel: string): void => {
    const abs = path.join(appDir, rel);
    let content: Buffer;
    try {
      content = fs.readFileSync(abs);
    } catch {
      return;
    }
    h.update(`${rel}\0${content.length}\0`).update(content);
  };
  for (const f of inputs.files) add(f);
  for (const p of inputs.projects) {
    h.update(`project:${p.dir}:${p.editable}\0`);
    // Trees are walked only inside the app: a path outside it counts by its metadata files.
    const inside = p.dir === '.' || !(p.dir.startsWith('..') || path.isAbsolute(p.dir));
    if (p.editable || !inside) for (const m of PROJECT_METADATA) add(path.join(p.dir, m));
    else for (const f of walk(appDir, p.dir)) add(f);
  }
  return h.digest('hex');
}

function walk(appDir: string, rel: string): string[] {
  const out: string[] = [];
  const stack = [rel];
  while (stack.length > 0 && out.length < 50_000) {
    const dir = stack.pop() as string;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(appDir, dir), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const child = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!SKIP_DIRS.has(e.name)) stack.push(child);
      } else if (e.isFile() && !e.name.endsWith('.pyc')) out.push(child);
    }
  }
  return out.sort();
}
