/**
 * The real lock tools, run by tests to write the locks they build (never written by hand): `pip lock` (pip 26,
 * PEP 751 pylock.toml) in a venv of its own, installed from the machine's wheelhouse index, locking against
 * the index URL the test gives (the loopback index server), so the lock names the files the build will fetch.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pyenvPython } from './pyenv.js';

/** The environment of a tool run: pip's configuration on this machine switched off (PIP_FIND_LINKS and the global file). */
function toolEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.tmpdir(), PIP_CONFIG_FILE: '/dev/null', PIP_DISABLE_PIP_VERSION_CHECK: '1', LC_ALL: 'C.UTF-8' };
}

function run(command: string, args: string[], cwd: string): string {
  const r = spawnSync(command, args, { cwd, env: toolEnv(), encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status ?? r.error?.message}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

let pip26: string | undefined;

/** A venv with pip 26 (`pip lock`), on the pyenv Python `spec`; one per test process. */
export function pipLockTool(spec: string, wheelhouseIndex = 'file:///opt/pypi/simple'): string {
  if (pip26 !== undefined) return pip26;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pip-lock-'));
  run(pyenvPython(spec).python, ['-m', 'venv', dir], dir);
  run(path.join(dir, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--index-url', wheelhouseIndex, 'pip==26.*'], dir);
  pip26 = path.join(dir, 'bin', 'pip');
  return pip26;
}

/** `pip lock -r <requirements> --index-url <index> -o pylock.toml` in `dir`, for the Python `spec`; returns the lock's text. */
export function pipLock(dir: string, spec: string, indexUrl: string, requirements: string[]): string {
  const req = path.join(dir, 'requirements.in');
  fs.writeFileSync(req, `${requirements.join('\n')}\n`);
  run(pipLockTool(spec), ['lock', '--quiet', '--index-url', indexUrl, '-r', 'requirements.in', '-o', 'pylock.toml'], dir);
  return fs.readFileSync(path.join(dir, 'pylock.toml'), 'utf8');
}
