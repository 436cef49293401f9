/**
 * Runs one lifecycle phase binary (detector or builder) as the build user, the way a platform runs the
 * phase containers: `setpriv --reuid --regid --clear-groups` when we are root (the phases refuse to run as
 * root, platform.md §Operations), only the environment given (the platform's, not the test process's), stdin
 * /dev/null, stdout and stderr merged into one log. The phase runs in a process group of its own, killed as
 * a whole on timeout, so no buildpack tool outlives it.
 */
import { spawn } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { IS_ROOT, OutputCapture } from '../platform/fsutil.js';
import type { EnvMap, UserSpec } from '../platform/types.js';

export interface PhaseRun {
  /** The phase's exit code; null when it was killed or could not start. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why the phase did not run to its own exit (spawn error, timeout). */
  error?: string;
  /** Merged stdout and stderr. */
  output: string;
  durationMs: number;
}

export interface PhaseSpawn {
  binary: string;
  args: string[];
  env: EnvMap;
  user: UserSpec;
  cwd: string;
  /** The output is captured in a new file under this folder. */
  logDir: string;
  timeoutMs: number;
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Groups of phases still running: killed if the test process exits first. */
const live = new Set<number>();
process.once('exit', () => {
  for (const g of live) killGroup(g);
});

export async function runPhase(p: PhaseSpawn): Promise<PhaseRun> {
  const name = path.basename(p.binary);
  const capture = new OutputCapture(path.join(await fsp.mkdtemp(path.join(p.logDir, `${name}-`)), 'output.log'), name);
  const t0 = Date.now();
  try {
    const [command, args] = IS_ROOT
      ? ['/usr/bin/setpriv', [`--reuid=${p.user.uid}`, `--regid=${p.user.gid}`, '--clear-groups', '--', p.binary, ...p.args]]
      : [p.binary, p.args];
    const run = await new Promise<Omit<PhaseRun, 'output'>>((resolve) => {
      const child = spawn(command, args, { cwd: p.cwd, env: p.env, stdio: ['ignore', capture.fd, capture.fd], detached: true });
      const pgid = child.pid;
      if (pgid !== undefined) live.add(pgid);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        if (pgid !== undefined) killGroup(pgid);
      }, p.timeoutMs);
      const done = (r: Omit<PhaseRun, 'output'>): void => {
        clearTimeout(timer);
        if (pgid !== undefined) {
          killGroup(pgid); // anything the buildpack left running dies with the phase's container
          live.delete(pgid);
        }
        resolve(r);
      };
      child.once('error', (err) => done({ code: null, signal: null, error: err.message, durationMs: Date.now() - t0 }));
      child.once('exit', (code, signal) => {
        const r: Omit<PhaseRun, 'output'> = { code, signal, durationMs: Date.now() - t0 };
        if (timedOut) r.error = `killed after the timeout of ${p.timeoutMs} ms`;
        done(r);
      });
    });
    return { ...run, output: capture.text() };
  } finally {
    capture.finish();
  }
}
