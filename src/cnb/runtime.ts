/**
 * The runtime: one executable answers to bin/detect and bin/build, chosen by the name it was called by
 * (argv0), checks the Buildpack API first, and hands every failure to the buildpack's onError (as libcnb.rs
 * does), which prints it; the runtime only chooses the exit code.
 */
import { buildContext, detectContext, type BuildContext, type DetectContext } from './context.js';
import { CnbError, ExitCode } from './error.js';
import { baseName } from './files.js';

/** The Buildpack API this code implements; buildpack.toml must declare exactly this. */
export const BUILDPACK_API = '0.10';

export type DetectResult = { pass: true } | { pass: false };

export interface Buildpack {
  detect(ctx: DetectContext): Promise<DetectResult>;
  build(ctx: BuildContext): Promise<void>;
  /** Extra build-time entry points called by the buildpack's own scripts (`ausnimbus-python <name>`). */
  subcommands?: Record<string, (ctx: BuildContext) => Promise<void>>;
  /**
   * Reports a failure of detect, build or a subcommand (framework or buildpack error) to the user; awaited
   * before the exit code is returned, so a buildpack can load its message catalogue only when it fails.
   */
  onError(err: unknown): void | Promise<void>;
}

type Phase = 'detect' | 'build' | { subcommand: string };

export function phaseOf(argv0: string, args: string[], subcommands: string[] = []): { phase: Phase | undefined; args: string[] } {
  const name = baseName(argv0);
  if (name === 'detect' || name === 'build') return { phase: name, args };
  // `ausnimbus-python detect ...` for manual runs, and subcommands for the buildpack's own scripts
  const [first, ...rest] = args;
  if (first === 'detect' || first === 'build') return { phase: first, args: rest };
  if (first !== undefined && subcommands.includes(first)) return { phase: { subcommand: first }, args: rest };
  return { phase: undefined, args };
}

export async function run(bp: Buildpack, argv0: string, argv: string[], env: NodeJS.ProcessEnv): Promise<ExitCode> {
  const { phase, args } = phaseOf(argv0, argv, Object.keys(bp.subcommands ?? {}));
  try {
    if (phase === undefined) throw new CnbError({ type: 'unknown-executable', name: baseName(argv0) }, ExitCode.unknownExecutable);
    if (phase === 'detect') {
      const ctx = await detectContext(env, argv0, args);
      checkApi(ctx.buildpack.api);
      const result = await bp.detect(ctx);
      return result.pass ? ExitCode.success : ExitCode.detectFail;
    }
    const ctx = await buildContext(env, argv0, args);
    checkApi(ctx.buildpack.api);
    if (phase === 'build') await bp.build(ctx);
    else await bp.subcommands?.[phase.subcommand]?.(ctx);
    return ExitCode.success;
  } catch (err) {
    await bp.onError(err);
    return err instanceof CnbError ? err.exitCode : ExitCode.error;
  }
}

function checkApi(found: string): void {
  if (found !== BUILDPACK_API) throw new CnbError({ type: 'api-mismatch', found, expected: BUILDPACK_API }, ExitCode.apiMismatch);
}
