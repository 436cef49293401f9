/**
 * The real lock tools, run by tests to write the locks they build (never written by hand): `pip lock` (pip 26,
 * PEP 751 pylock.toml) in a venv of its own, installed from the machine's wheelhouse index, locking against
 * the index URL the test gives (the loopback index server), so the lock names the files the build will fetch.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pyenvPython } from './pyenv.js';

/** The environment of a tool run: pip's configuration on this machine switched off (PIP_FIND_LINKS and the global file). */
function toolEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: os.tmpdir(), PIP_CONFIG_FILE: '/dev/null', PIP_DISABLE_PIP_VERSION_CHECK: '1', LC_ALL: 'C.UTF-8' };
}

/** Asynchronous: the loopback index the tool talks to runs in this process, and must keep answering. */
function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: toolEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${command} ${args.join(' ')} failed (${code}):\n${out}`));
    });
  });
}

let pip26: Promise<string> | undefined;

/** A venv with pip 26 (`pip lock`), on the pyenv Python `spec`; one per test process. */
export function pipLockTool(spec: string, wheelhouseIndex = 'file:///opt/pypi/simple'): Promise<string> {
  pip26 ??= (async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pip-lock-'));
    await run(pyenvPython(spec).python, ['-m', 'venv', dir], dir);
    await run(path.join(dir, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', '--index-url', wheelhouseIndex, 'pip==26.*'], dir);
    return path.join(dir, 'bin', 'pip');
  })();
  return pip26;
}

/** `pip lock -r <requirements> --index-url <index> -o pylock.toml` in `dir`, for the Python `spec`; returns the lock's text. */
export async function pipLock(dir: string, spec: string, indexUrl: string, requirements: string[]): Promise<string> {
  fs.writeFileSync(path.join(dir, 'requirements.in'), `${requirements.join('\n')}\n`);
  await run(await pipLockTool(spec), ['lock', '--quiet', '--index-url', indexUrl, '-r', 'requirements.in', '-o', 'pylock.toml'], dir);
  return fs.readFileSync(path.join(dir, 'pylock.toml'), 'utf8');
}
