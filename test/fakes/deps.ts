/** The Deps (src/deps.ts) of a build step, all fake: a recording executor, a fixed clock and a captured log. */
import type { Deps } from '../../src/deps.js';
import { FakeClock } from './clock.js';
import { RecordingExecutor, type ScriptStep } from './executor.js';
import { CapturedLog } from './logger.js';

export interface FakeDeps {
  deps: Deps;
  exec: RecordingExecutor;
  clock: FakeClock;
  log: CapturedLog;
}

export function fakeDeps(script: ScriptStep[] = []): FakeDeps {
  const clock = new FakeClock();
  const exec = new RecordingExecutor(script);
  const log = new CapturedLog({ clock });
  return { deps: { log: log.logger, exec, clock }, exec, clock, log };
}
