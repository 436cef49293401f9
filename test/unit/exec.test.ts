// The real executor's cancellation (Execution.signal): the command and every process it started stop, as the
// python layer's bytecode compile must when a build fails (compileall -j forks workers that outlive their parent).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { realExecutor } from '../../src/exec.js';

/** Gone: no /proc entry, or a zombie waiting for its new parent to reap it. */
function gone(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').startsWith('Z');
  } catch {
    return true;
  }
}

async function waitFor(what: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (what()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return what();
}

describe('the real executor', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exec-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const mode of ['capture', 'stream'] as const) {
    it(`${mode}: an aborted signal stops the command and the processes it started (a SIGTERM of the command alone leaves them running)`, async () => {
      const pids = path.join(dir, 'pids');
      const cancel = new AbortController();
      const script = `sleep 30 & echo $! > ${pids}.tmp; sleep 30 & echo $! >> ${pids}.tmp; mv ${pids}.tmp ${pids}; wait`;
      const execution = { command: '/bin/sh', args: ['-c', script], cwd: dir, env: { PATH: '/usr/bin:/bin' }, signal: cancel.signal };
      const lines: string[] = [];
      const log = { toolOutput: () => ({ write: (t: string) => void lines.push(t), flush: () => undefined }) } as never;
      const running = mode === 'capture' ? realExecutor.capture(execution) : realExecutor.stream(execution, log);
      expect(await waitFor(() => fs.existsSync(pids), 5000), 'the script started its two children').to.equal(true);
      const children = fs.readFileSync(pids, 'utf8').trim().split('\n').map(Number);
      expect(children.every((p) => !gone(p))).to.equal(true);
      const started = Date.now();
      cancel.abort();
      const outcome = await running;
      expect(outcome.kind).to.equal('io');
      expect(Date.now() - started).to.be.below(5000);
      expect(await waitFor(() => children.every(gone), 5000), `children ${children.join(', ')} still running`).to.equal(true);
    });
  }
});
