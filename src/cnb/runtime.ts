/**
 * The runtime: one executable answers to bin/detect and bin/build, chosen by the name it was called by
 * (argv0), checks the Buildpack API first, and turns every error into one printed message and an exit code.
 */
import path from 'node:path';
import { BuildpackError, internalError, runtimeErrors } from '../errors.js';
import { Logger } from '../logger.js';
import { buildContext, detectContext, type BuildContext, type DetectContext } from './context.js';

/** The Buildpack API this code implements; buildpack.toml must declare exactly this. */
export const BUILDPACK_API = '0.10';

export const ExitCode = {
  success: 0,
  error: 1,
  detectFail: 100,
  apiMismatch: 254,
  unknownExecutable: 255,
} as const;

export type DetectResult = { pass: true } | { pass: false };

export interface Buildpack {
  detect(ctx: DetectContext, log: Logger): Promise<DetectResult>;
  build(ctx: BuildContext, log: Logger): Promise<void>;
  /** Extra build-time entry points called by the buildpack's own scripts (`ausnimbus-python <name>`). */
  subcommands?: Record<string, (ctx: BuildContext, log: Logger) => Promise<void>>;
}

type Phase = 'detect' | 'build' | { subcommand: string };

export function phaseOf(argv0: string, args: string[], subcommands: string[] = []): { phase: Phase | undefined; args: string[] } {
  const name = path.basename(argv0);
  if (name === 'detect' || name === 'build') return { phase: name, args };
  // `ausnimbus-python detect ...` for manual runs, and subcommands for the buildpack's own scripts
  const [first, ...rest] = args;
  if (first === 'detect' || first === 'build') return { phase: first, args: rest };
  if (first !== undefined && subcommands.includes(first)) return { phase: { subcommand: first }, args: rest };
  return { phase: undefined, args };
}

export async function run(bp: Buildpack, argv0: string, argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const debug = (env.BP_LOG_LEVEL ?? '').toUpperCase() === 'DEBUG';
  const log = new Logger(undefined, undefined, !env.NO_COLOR, debug);
  const { phase, args } = phaseOf(argv0, argv, Object.keys(bp.subcommands ?? {}));
  try {
    if (phase === undefined) throw runtimeErrors.unknownExecutable(path.basename(argv0));
    if (phase === 'detect') {
      const ctx = detectContext(env, argv0, args);
      checkApi(ctx.buildpack.api);
      const result = await bp.detect(ctx, log);
      return result.pass ? ExitCode.success : ExitCode.detectFail;
    }
    const ctx = buildContext(env, argv0, args);
    checkApi(ctx.buildpack.api);
    if (phase === 'build') await bp.build(ctx, log);
    else await bp.subcommands?.[phase.subcommand]?.(ctx, log);
    return ExitCode.success;
  } catch (err) {
    const e = err instanceof BuildpackError ? err : internalError('An unexpected error occurred', err);
    log.error(e.title, e.body);
    if (debug) log.detail(String((err as Error)?.stack ?? err));
    return e.exitCode ?? ExitCode.error;
  }
}

function checkApi(found: string): void {
  if (found !== BUILDPACK_API) throw runtimeErrors.apiMismatch(found, BUILDPACK_API);
}
