/**
 * The composition root: makes the real dependencies (log, command runner, clock) and wires them into the
 * runtime. Compiled into bin/detect and bin/build. The build's modules are imported lazily: detect runs on
 * every build of every app on a builder, and should not pay for loading pip, download and SBOM code it never uses;
 * nor for the message catalogue (it pulls in the settings and their checksum code), loaded only on a failure.
 */
import { run } from './cnb/runtime.js';
import type { BuildContext } from './cnb/context.js';
import type { Deps } from './deps.js';
import { detect } from './detect.js';
import { Logger, stderrSink, stdoutSink, systemClock } from './logger.js';

const debug = (process.env.BP_LOG_LEVEL ?? '').toUpperCase() === 'DEBUG';
const log = new Logger(stdoutSink, systemClock, !process.env.NO_COLOR, debug, stderrSink);

async function buildDeps(): Promise<Deps> {
  const { realExecutor } = await import('./exec.js');
  return { log, exec: realExecutor, clock: systemClock };
}

const buildSteps = (): Promise<typeof import('./build.js')> => import('./build.js');

// No top-level await: bun's --bytecode compile needs a script-shaped entry.
void run(
  {
    detect: (ctx) => detect(ctx, log),
    build: async (ctx: BuildContext) => (await buildSteps()).build(ctx, await buildDeps()),
    subcommands: { 's2i-assemble': async (ctx) => (await buildSteps()).defaultAssemble(ctx, await buildDeps()) },
    onError: async (err) => (await import('./report-error.js')).reportError(err, log),
  },
  process.argv0,
  process.argv.slice(2),
  process.env,
).then((code) => {
  process.exitCode = code;
});
