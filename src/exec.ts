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
 * The processes below `pid` (its children, theirs, ...), deepest first, from every process's parent in
 * /proc/<pid>/stat (the `children` files need CONFIG_PROC_CHILDREN and are exact only for stopped processes). A
 * command's own workers (compileall -j forks them) outlive a SIGTERM of the command alone: blocked on a queue
 * whose other end they hold themselves, they never exit, and they keep its output open.
 */
export function descendants(pid: number): number[] {
  const childrenOf = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const siblings = childrenOf.get(ppid) ?? [];
    siblings.push(Number(entry));
    childrenOf.set(ppid, siblings);
  }
  const below = (p: number): number[] => (childrenOf.get(p) ?? []).flatMap((c) => [...below(c), c]);
  return below(pid);
}

const signalProcess = (pid: number, signal: NodeJS.Signals): void => {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
};

/**
 * Execution.signal: once it is aborted, the command and every process it started get SIGTERM. The command is
 * stopped (SIGSTOP) first, so that it forks no worker between the listing and the kill, and continued once its
 * SIGTERM is pending.
 */
function stopOnAbort(child: ResultPromise, signal: AbortSignal | undefined): void {
  if (!signal) return;
  const stop = (): void => {
    const pid = child.pid;
    if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return; // exited: its pid may be another's now
    signalProcess(pid, 'SIGSTOP');
    for (const p of descendants(pid)) signalProcess(p, 'SIGTERM');
    signalProcess(pid, 'SIGTERM');
    signalProcess(pid, 'SIGCONT');
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
