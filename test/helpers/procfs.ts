/**
 * What tests read of a running app's processes in /proc (proc(5)): its Gunicorn workers, their memory, and whether
 * a worker has installed its own signal handlers yet.
 */
import fs from 'node:fs';

/** Host pids of the children of `pid` (the Gunicorn workers of a master). */
export function childrenOf(pid: number): number[] {
  try {
    const text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return text ? text.split(/\s+/).map(Number) : [];
  } catch {
    // no /proc/<pid>/task/<pid>/children: scan for the parent
    const out: number[] = [];
    for (const e of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(e)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${e}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (ppid === pid) out.push(Number(e));
      } catch {
        // gone
      }
    }
    return out;
  }
}

/** VmRSS of a process in kB (0 when it is gone). */
export function rssKb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** SIGCHLD (17) in the SigCgt mask of /proc/<pid>/status: bit 16. */
const SIGCHLD_BIT = 1n << 16n;

/**
 * Whether `pid` catches SIGCHLD. Gunicorn's master does; a worker resets it to the default in its init_signals
 * (gunicorn/workers/base.py), so a child of the master that still catches it was forked and has not yet
 * installed its own handlers: a SIGTERM now would reach the master's handler, queued in a list the worker never
 * reads, and the worker would live on until the master's graceful_timeout.
 */
export function catchesSigchld(pid: number): boolean {
  try {
    const m = /^SigCgt:\s+([0-9a-f]+)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m !== null && (BigInt(`0x${m[1]}`) & SIGCHLD_BIT) !== 0n;
  } catch {
    return false; // gone
  }
}

/** The NUL-separated strings of /proc/<pid>/cmdline or /proc/<pid>/environ; [] when the process is gone. */
export function procStrings(pid: number, file: 'cmdline' | 'environ'): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8').split('\0').filter((s) => s !== '');
  } catch {
    return [];
  }
}
