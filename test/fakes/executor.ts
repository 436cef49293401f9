/**
 * A recording Executor (src/deps.ts): every execution is kept (command, args, cwd, env, and whether it was
 * streamed or captured) and answered from a script of outcomes, in order. Shaped like packit's generated
 * fakes (`Execute.Receives` / `Stub`): a step may act on the file system before it answers, as the real tool
 * would (pip writing into PYTHONUSERBASE). Running past the end of the script throws, so a test that expects
 * no tool at all fails loudly when one runs.
 */
import type { CommandOutcome, Execution, Executor } from '../../src/deps.js';
import type { Logger } from '../../src/logger.js';

export interface RecordedExecution extends Execution {
  mode: 'stream' | 'capture';
}

export interface ScriptStep {
  outcome: CommandOutcome;
  /** Runs before the outcome is returned: what the tool would have done to the file system. */
  effect?: (execution: Execution) => void | Promise<void>;
}

export const ok = (output = '', effect?: ScriptStep['effect']): ScriptStep => ({ outcome: { kind: 'ok', output }, effect });
export const exit = (status: number, output = '', effect?: ScriptStep['effect']): ScriptStep => ({ outcome: { kind: 'exit', status, output }, effect });
export const io = (message: string): ScriptStep => ({ outcome: { kind: 'io', message } });

export class RecordingExecutor implements Executor {
  readonly executions: RecordedExecution[] = [];
  private readonly script: ScriptStep[];

  constructor(script: ScriptStep[] = []) {
    this.script = [...script];
  }

  /** Adds steps to answer later executions with. */
  answer(...steps: ScriptStep[]): this {
    this.script.push(...steps);
    return this;
  }

  /** `command arg arg …` of each execution, for short assertions. */
  get commandLines(): string[] {
    return this.executions.map((e) => [e.command, ...e.args].join(' '));
  }

  /** Like the real executor: the output goes to the log, indented under the step, before the outcome. */
  async stream(execution: Execution, log: Logger): Promise<CommandOutcome> {
    const outcome = await this.run(execution, 'stream');
    if (outcome.kind !== 'io' && outcome.output !== '') {
      const out = log.toolOutput();
      out.write(outcome.output);
      out.flush();
    }
    return outcome;
  }

  capture(execution: Execution): Promise<CommandOutcome> {
    return this.run(execution, 'capture');
  }

  private async run(execution: Execution, mode: RecordedExecution['mode']): Promise<CommandOutcome> {
    // A copy: the caller may reuse or change its objects after the call.
    this.executions.push({ mode, command: execution.command, args: [...execution.args], cwd: execution.cwd, env: { ...execution.env } });
    const step = this.script.shift();
    if (step === undefined) throw new Error(`unexpected execution (the script has no outcome left): ${execution.command} ${execution.args.join(' ')}`);
    await step.effect?.(execution);
    return step.outcome;
  }
}
