/**
 * Running pip as a step of the build, and reading its failures: the command line shown (masked), pip's output
 * streamed into the log, and a non-zero exit turned into a cause (src/causes.ts) that quotes pip's own ERROR
 * lines and names an index pip could not reach.
 */
import type { BuildContext } from '../cnb/context.js';
import type { Env } from '../cnb/env.js';
import type { Cause, UnreachableIndex } from '../causes.js';
import type { Executor } from '../deps.js';
import { escapeControl } from '../escape-control.js';
import { BuildpackError } from '../failure.js';
import type { Logger } from '../logger.js';
import { maskSecrets } from '../secrets.js';
import type { InstalledPython } from './python.js';

/** Runs pip as a build step: the command shown (masked), its output streamed under it, a failure as a cause. */
export async function runPip(
  ctx: BuildContext, exec: Executor, log: Logger, python: InstalledPython, env: Env, args: string[], done: string, upgrade: boolean,
  /** A more precise cause than pip-install-failed, read from pip's output. */
  explain: (output: string) => Cause | undefined = () => undefined,
): Promise<void> {
  const shown = `python ${args.filter((a) => !a.startsWith('--no-') && a !== '--disable-pip-version-check').join(' ')}`;
  log.info(`Running '${escapeControl(maskSecrets(shown))}'`); // file names from BP_PIP_REQUIREMENT
  await log.timed(done, async () => {
    const o = await exec.stream({ command: python.python, args, cwd: ctx.appDir, env }, log);
    if (o.kind === 'io') throw new BuildpackError({ type: 'pip-command-io', program: python.python, message: o.message });
    if (o.kind === 'exit') {
      const precise = explain(o.output);
      if (precise !== undefined) throw new BuildpackError(precise);
      const errorLines = pipErrorLines(o.output);
      const unreachable = unreachableIndex(o.output);
      throw new BuildpackError(upgrade
        ? { type: 'pip-upgrade-failed', errorLines, status: o.status, unreachable }
        : { type: 'pip-install-failed', command: maskSecrets(shown), errorLines, status: o.status, unreachable });
    }
  });
}

/** pip's own ERROR lines (and its hints), masked, the first 10 distinct ones: they name the failing requirement. */
export function pipErrorLines(output: string): string[] {
  const found = new Set<string>();
  for (const l of output.split(/\r?\n/)) {
    if (found.size === 10) break;
    if (/^\s*(ERROR|error|Hint):/.test(l) || /No matching distribution|Could not find a version|Invalid requirement/.test(l)) found.add(maskSecrets(l.trim()));
  }
  return [...found];
}

/**
 * The index pip could not connect to, from its retry warnings (its final error only says "No matching
 * distribution found"): the index as pip printed it ("Looking in indexes", masked), else PyPI, and the reason.
 * The line patterns indent with [ \t]*, not \s*: with the m flag, \s* runs across line breaks from every line
 * start, quadratic on an output of blank lines (64 KB of them took 15 s).
 */
export function unreachableIndex(output: string): UnreachableIndex | undefined {
  const broken = /^[ \t]*WARNING: Retrying \(.*?\) after connection broken by (.+)$/m.exec(output)?.[1];
  const fetch = /^[ \t]*WARNING: Could not fetch URL \S+: (.+?)(?: - skipping)?$/m.exec(output)?.[1];
  const text = broken ?? fetch;
  if (text === undefined || !/No matching distribution found|Could not find a version that satisfies/.test(output)) return undefined;
  const reason =
    /Failed to establish a new connection: (\[Errno -?\d+\] [^'")]+)/.exec(text)?.[1] ??
    /Failed to resolve '([^']+)'/.exec(text)?.[1]?.replace(/^/, 'could not resolve ') ??
    /(Connection to \S+ timed out|Read timed out)/.exec(text)?.[1] ??
    (broken ? /^'?(\w+)\(/.exec(text)?.[1] : text) ??
    'connection error';
  const index = /^[ \t]*Looking in indexes: (.+)$/m.exec(output)?.[1]?.trim() ?? "https://pypi.org/simple (pip's default)";
  return { index: maskSecrets(index), reason: maskSecrets(reason.trim()) };
}
