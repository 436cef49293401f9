/**
 * Handle on a launched app process: merged output, HTTP readiness polling, graceful stop with
 * timing, and forced cleanup. Used by launcher.ts; tests get it from `LocalPlatform.launch()`.
 */
import type { ChildProcess } from 'node:child_process';
import type { OutputCapture } from './fsutil.js';
import type { EnvMap } from './types.js';

export interface ExitInfo {
  /** Exit code, or null when the process died of a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds from start to exit. */
  elapsedMs: number;
}

export interface StopResult extends ExitInfo {
  /** Milliseconds from sending the signal to exit. */
  stopMs: number;
  /** True when the process ignored the signal for `timeoutMs` and had to be SIGKILLed. */
  forced: boolean;
}

export interface HttpResult {
  status: number;
  body: string;
  headers: Record<string, string>;
  /** Milliseconds from process start until this response arrived. */
  elapsedMs: number;
  attempts: number;
}

export interface ProcessDetails {
  /** Process type started ('' for a user-provided command). */
  processType: string;
  /** Final argv (argv[0] as the launcher passes it). */
  argv: string[];
  cwd: string;
  env: EnvMap;
  /** True when the app runs as PID 1 of its own PID namespace (like in a container). */
  pid1: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every process still running; SIGKILLed when the test process exits (even without cleanup()). */
const live = new Set<LaunchedProcess>();
process.once('exit', () => {
  for (const p of live) p.kill();
});

export class LaunchedProcess {
  /** Host pid of the app process (in pid1 mode: the namespace's PID 1 as seen from the host). */
  readonly pid: number;
  readonly details: ProcessDetails;
  /** Resolves when the process has exited. */
  readonly exited: Promise<ExitInfo>;
  private exit: ExitInfo | undefined;
  private readonly startedAt: number;
  private forcedKill = false;

  constructor(
    private readonly child: ChildProcess,
    appPid: number,
    details: ProcessDetails,
    private readonly capture: OutputCapture,
    startedAt: number,
  ) {
    this.pid = appPid;
    this.details = details;
    this.startedAt = startedAt;
    // do not keep mocha alive for a forgotten process; it is killed on exit instead
    child.unref();
    live.add(this);
    this.exited = new Promise<ExitInfo>((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null): void => {
        // unshare reports a SIGKILLed child as exit 1 ("sigprocmask unblock failed")
        if (details.pid1 && this.forcedKill && code === 1) [code, signal] = [null, 'SIGKILL'];
        this.exit = { code, signal, elapsedMs: Date.now() - this.startedAt };
        live.delete(this);
        capture.finish();
        resolve(this.exit);
      };
      if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode, child.signalCode);
      else child.once('exit', done);
    });
  }

  /** Merged stdout+stderr so far (exec.d output included, like container logs). */
  output(): string {
    return this.capture.text();
  }

  /** Exit information, or undefined while running. */
  get exitInfo(): ExitInfo | undefined {
    return this.exit;
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  /** Waits until the output matches; throws (with the output) on timeout or exit. */
  async waitForOutput(pattern: RegExp | string, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    const test = (s: string): boolean => (typeof pattern === 'string' ? s.includes(pattern) : pattern.test(s));
    for (;;) {
      const out = this.output();
      if (test(out)) return out;
      if (this.exit) throw new Error(`process exited (${this.describeExit()}) before output matched ${String(pattern)}\n${out}`);
      if (Date.now() > deadline) throw new Error(`timeout after ${timeoutMs}ms waiting for output ${String(pattern)}\n${out}`);
      await sleep(50);
    }
  }

  /**
   * Polls `url` until any HTTP response arrives. Throws with the output when the process exits
   * first or after `timeoutMs`.
   */
  async waitForHttp(url: string, opts: { timeoutMs?: number; intervalMs?: number; init?: RequestInit } = {}): Promise<HttpResult> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const deadline = Date.now() + timeoutMs;
    let attempts = 0;
    let lastError = '';
    for (;;) {
      if (this.exit) throw new Error(`process exited (${this.describeExit()}) before ${url} answered\n${this.output()}`);
      attempts++;
      try {
        const res = await fetch(url, { ...opts.init, signal: AbortSignal.timeout(Math.min(5000, Math.max(100, deadline - Date.now()))) });
        const body = await res.text();
        const headers: Record<string, string> = {};
        res.headers.forEach((v, k) => {
          headers[k] = v;
        });
        return { status: res.status, body, headers, elapsedMs: Date.now() - this.startedAt, attempts };
      } catch (err) {
        lastError = (err as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`timeout after ${timeoutMs}ms waiting for ${url} (${lastError})\n${this.output()}`);
      await sleep(opts.intervalMs ?? 100);
    }
  }

  /** Waits for the process to exit by itself; throws on timeout. */
  async waitForExit(timeoutMs = 30_000): Promise<ExitInfo> {
    const timer = sleep(timeoutMs).then(() => undefined);
    const res = await Promise.race([this.exited, timer]);
    if (!res) throw new Error(`process still running after ${timeoutMs}ms\n${this.output()}`);
    return res;
  }

  /**
   * Like `docker stop`: sends `signal` to the app (PID 1), waits up to `timeoutMs`, then SIGKILLs
   * everything. Reports how the process ended and how long it took.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<StopResult> {
    if (this.exit) return { ...this.exit, stopMs: 0, forced: false };
    const t0 = Date.now();
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
    const res = await Promise.race([this.exited, sleep(timeoutMs).then(() => undefined)]);
    if (res) return { ...res, stopMs: Date.now() - t0, forced: false };
    this.kill();
    const forced = await this.exited;
    return { ...forced, stopMs: Date.now() - t0, forced: true };
  }

  /** SIGKILLs the process group (and with it, in pid1 mode, the whole PID namespace). */
  kill(): void {
    if (this.exit) return;
    this.forcedKill = true;
    for (const target of [-(this.child.pid ?? 0), this.pid, this.child.pid ?? 0]) {
      if (!target) continue;
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // not there
      }
    }
  }

  private describeExit(): string {
    return this.exit ? (this.exit.signal ? `signal ${this.exit.signal}` : `code ${this.exit.code}`) : 'running';
  }
}

/** Keeps a launched process in its app's set of running processes until it exits. */
export function trackRunning(running: Set<LaunchedProcess>, proc: LaunchedProcess): LaunchedProcess {
  running.add(proc);
  void proc.exited.then(() => running.delete(proc));
  return proc;
}

/** Kills the processes and waits for each to exit, at most 5 s (a cleanup must not hang on one). */
export async function killAll(procs: LaunchedProcess[]): Promise<void> {
  for (const p of procs) p.kill();
  await Promise.all(procs.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 5000))])));
}
