/**
 * The real Executor (src/deps.ts): runs tools with execa. Every command gets an explicit environment (never
 * the buildpack's own), and its output is streamed into the log under the current step, masked. Only main.ts
 * picks it; steps get it through Deps, so unit tests use fakes.
 */
import fs from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import type { Executor } from './deps.js';

/** Keep only the tail of long outputs: error messages quote the last lines. */
const KEEP_CHARS = 64 * 1024;

/**
 * The last KEEP_CHARS (at least) of a stream, kept as its chunks: appending is O(1) and whole chunks drop off
 * the front, so a long output costs time linear in its length however small its chunks (re-slicing one joined
 * string on every chunk copied up to 64 KB per chunk).
 */
export class OutputTail {
  private chunks: string[] = [];
  private head = 0;
  private length = 0;

  constructor(private readonly keep = KEEP_CHARS) {}

  push(chunk: string): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
    while (this.length - (this.chunks[this.head]?.length ?? 0) >= this.keep) this.length -= (this.chunks[this.head++] as string).length;
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** The kept output: its last `keep` characters. */
  text(): string {
    return this.chunks.slice(this.head).join('').slice(-this.keep);
  }
}

/**
 * The processes `pid` started, and theirs, deepest first (Linux: /proc/<pid>/task/<tid>/children). A command's
 * own workers (compileall -j forks them) outlive a SIGTERM of the command alone: blocked on a queue whose other
 * end they hold themselves, they never exit.
 */
function descendants(pid: number): number[] {
  const found: number[] = [];
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return found;
  }
  for (const tid of tasks) {
    let children = '';
    try {
      children = fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const child of children.split(' ').filter((c) => c.trim() !== '').map(Number)) found.push(...descendants(child), child);
  }
  return found;
}

/** Execution.signal: SIGTERM to the command and every process it started, once the signal is aborted. */
function stopOnAbort(child: ResultPromise, signal: AbortSignal | undefined): void {
  if (!signal) return;
  const stop = (): void => {
    if (child.pid === undefined) return;
    for (const pid of [...descendants(child.pid), child.pid]) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  };
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  void child.finally(() => signal.removeEventListener('abort', stop)).catch(() => undefined);
}

export const realExecutor: Executor = {
  async stream(e, log) {
    const out = log.toolOutput();
    const kept = new OutputTail();
    try {
      const child = execa(e.command, e.args, { cwd: e.cwd, env: e.env, extendEnv: false, stdin: 'ignore', all: true, reject: false, buffer: false });
      stopOnAbort(child, e.signal);
      child.all?.setEncoding('utf8');
      child.all?.on('data', (chunk: string) => {
        out.write(chunk);
        kept.push(chunk);
      });
      const result = await child;
      out.flush();
      if (result.failed && result.exitCode === undefined) return { kind: 'io', message: String(result.shortMessage ?? result.message ?? 'the command could not be started') };
      return result.exitCode === 0 ? { kind: 'ok', output: kept.text() } : { kind: 'exit', status: result.exitCode ?? 1, output: kept.text() };
    } catch (err) {
      return { kind: 'io', message: err instanceof Error ? err.message : String(err) };
    }
  },
  async capture(e) {
    try {
      const child = execa(e.command, e.args, { cwd: e.cwd, env: e.env, extendEnv: false, stdin: 'ignore', all: true, reject: false });
      stopOnAbort(child, e.signal);
      const result = await child;
      const output = String(result.all ?? '');
      if (result.failed && result.exitCode === undefined) return { kind: 'io', message: String(result.shortMessage ?? result.message ?? 'the command could not be started') };
      return result.exitCode === 0 ? { kind: 'ok', output } : { kind: 'exit', status: result.exitCode ?? 1, output };
    } catch (err) {
      return { kind: 'io', message: err instanceof Error ? err.message : String(err) };
    }
  },
};
