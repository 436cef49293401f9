/**
 * Running tools. Every command gets an explicit environment (never the buildpack's own), and its output is
 * streamed into the log under the current step, masked. Behind the Executor interface so unit tests use fakes.
 */
import { execa } from 'execa';
import type { Env } from './cnb/env.js';
import type { Logger } from './logger.js';

export interface Execution {
  command: string;
  args: string[];
  cwd: string;
  env: Env;
}

export type CommandOutcome =
  | { kind: 'ok'; output: string }
  | { kind: 'exit'; status: number; output: string }
  | { kind: 'io'; message: string };

export interface Executor {
  /** Streams merged stdout and stderr to the log while keeping them for error messages. */
  stream(execution: Execution, log: Logger): Promise<CommandOutcome>;
  /** Captures merged output without logging it. */
  capture(execution: Execution): Promise<CommandOutcome>;
}

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
