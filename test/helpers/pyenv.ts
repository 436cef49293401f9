/**
 * The pyenv interpreters tests run code under. A test that needs one fails, naming it and how to install
 * it, when it is missing: it never skips or quietly tests fewer versions.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface PyenvPython {
  /** The full version, e.g. '3.12.1'. */
  version: string;
  /** `<prefix>/bin/python`. */
  python: string;
}

/**
 * The installed pyenv Python for `spec` ('2.7' → the newest 2.7.x, or an exact '3.11.7'), from
 * `pyenv prefix <spec>`. Throws a message that says how to install it when it is missing.
 */
export function pyenvPython(spec: string): PyenvPython {
  const install = `install it with 'pyenv install ${spec}'`;
  const env = { ...process.env };
  delete env.PYENV_VERSION;
  // pyenv on PATH, else where its installer puts it ($PYENV_ROOT, default ~/.pyenv).
  const installed = path.join(process.env.PYENV_ROOT || path.join(os.homedir(), '.pyenv'), 'bin', 'pyenv');
  const pyenv = spawnSync('sh', ['-c', 'command -v pyenv'], { encoding: 'utf8' }).stdout.trim() || installed;
  const r = spawnSync(pyenv, ['prefix', spec], { encoding: 'utf8', env, timeout: 30_000 });
  if (r.error) {
    throw new Error(`Python ${spec} is required, but pyenv could not be run (${r.error.message}): install pyenv (https://github.com/pyenv/pyenv#installation), put it on PATH, then ${install}`);
  }
  const prefix = r.stdout.trim();
  if (r.status !== 0 || prefix === '' || prefix.includes('\n')) {
    throw new Error(`Python ${spec} is required, but pyenv has none (${r.stderr.trim() || `pyenv prefix exited ${r.status}`}): ${install}`);
  }
  const python = path.join(prefix, 'bin', 'python');
  if (!fs.existsSync(python)) throw new Error(`Python ${spec} is required, but ${python} does not exist: reinstall it with 'pyenv install --force ${spec}'`);
  return { version: path.basename(prefix), python };
}
