/** test/helpers/procfs.ts against real processes: what the e2e tests' clean-stop wait relies on. */
import { spawn, type ChildProcess } from 'node:child_process';
import { expect } from 'chai';
import { catchesSigchld, childrenOf, procStrings } from './procfs.js';

describe('helpers: reading processes from /proc', () => {
  const started: ChildProcess[] = [];
  const start = (command: string, args: string[], env: Record<string, string> = {}): ChildProcess => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
    started.push(child);
    return child;
  };
  const firstLine = (child: ChildProcess): Promise<string> =>
    new Promise((resolve) => child.stdout?.once('data', (d: Buffer) => resolve(d.toString().trim())));
  afterEach(() => {
    for (const c of started.splice(0)) c.kill('SIGKILL');
  });

  it('catchesSigchld tells a process with a SIGCHLD handler (a Gunicorn master) from one with the default (a worker)', async () => {
    const code = 'import signal, sys, time\nif sys.argv[1] == "catch": signal.signal(signal.SIGCHLD, lambda *a: None)\nprint("ready", flush=True)\ntime.sleep(60)';
    const catching = start('python3', ['-c', code, 'catch']);
    const plain = start('python3', ['-c', code, 'default']);
    await Promise.all([firstLine(catching), firstLine(plain)]);
    expect(catchesSigchld(catching.pid as number)).to.equal(true);
    expect(catchesSigchld(plain.pid as number)).to.equal(false);
    expect(catchesSigchld(2 ** 22 + 1), 'no such process').to.equal(false);
  });

  it('childrenOf lists the children of a process; procStrings reads its command line and environment', async () => {
    const shell = start('/bin/sh', ['-c', 'sleep 60 & sleep 60 & echo ready; wait'], { MARK: 'a=b' });
    await firstLine(shell);
    const pid = shell.pid as number;
    // a forked child shows the shell's command line until it has exec'd sleep: wait for both (5 s at most)
    const sleeping = (): string[][] => childrenOf(pid).map((k) => procStrings(k, 'cmdline'));
    for (const deadline = Date.now() + 5000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
      if (sleeping().filter((c) => c.join(' ') === 'sleep 60').length === 2) break;
    }
    expect(sleeping()).to.deep.equal([['sleep', '60'], ['sleep', '60']]);
    expect(procStrings(pid, 'environ')).to.include('MARK=a=b');
    expect(procStrings(2 ** 22 + 1, 'cmdline'), 'no such process').to.deep.equal([]);
  });
});
