/**
 * The real Executor (src/deps.ts): runs tools with execa. Every command gets an explicit environment (never
 * the buildpack's own), and its output is streamed into the log under the current step, masked. Only main.ts
 * picks it; steps get it through Deps, so unit tests use fakes.
 */
import { execa } from 'execa';
import type { Executor } from './deps.js';

/** Keep only the tail of long outputs: error messages quote the last lines. */
const KEEP_CHARS = 64 * 1024;

export const realExecutor: Executor = {
  async stream(e, log) {
    const out = log.toolOutput();
    let kept = '';
    try {
      const child = execa(e.command, e.args, { cwd: e.cwd, env: e.env, extendEnv: false, stdin: 'ignore', all: true, reject: false, buffer: false });
      child.all?.setEncoding('utf8');
      child.all?.on('data', (chunk: string) => {
        out.write(chunk);
        kept = (kept + chunk).slice(-KEEP_CHARS);
      });
      const result = await child;
      out.flush();
      if (result.failed && result.exitCode === undefined) return { kind: 'io', message: String(result.shortMessage ?? result.message ?? 'the command could not be started') };
      return result.exitCode === 0 ? { kind: 'ok', output: kept } : { kind: 'exit', status: result.exitCode ?? 1, output: kept };
    } catch (err) {
      return { kind: 'io', message: err instanceof Error ? err.message : String(err) };
    }
  },
  async capture(e) {
    try {
      const result = await execa(e.command, e.args, { cwd: e.cwd, env: e.env, extendEnv: false, stdin: 'ignore', all: true, reject: false });
      const output = String(result.all ?? '');
      if (result.failed && result.exitCode === undefined) return { kind: 'io', message: String(result.shortMessage ?? result.message ?? 'the command could not be started') };
      return result.exitCode === 0 ? { kind: 'ok', output } : { kind: 'exit', status: result.exitCode ?? 1, output };
    } catch (err) {
      return { kind: 'io', message: err instanceof Error ? err.message : String(err) };
    }
  },
};
