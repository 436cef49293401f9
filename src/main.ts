/**
 * The composition root: makes the real dependencies (log, command runner, clock) and wires them into the
 * runtime. Compiled into bin/detect and bin/build. The build's modules are imported lazily: detect runs on
 * every build of every app on a builder, and should not pay for loading pip, download and SBOM code it never uses;
 * nor for the message catalogue (it pulls in the settings and their checksum code), loaded only on a failure;
 * nor for node:fs (src/cnb/files.ts).
 */
import { run } from './cnb/runtime.js';
import type { BuildContext } from './cnb/context.js';
import type { Deps } from './deps.js';
import { detect } from './detect.js';
import { consoleErrorSink, consoleSink, Logger, type LogSink, systemClock } from './logger.js';

const debug = (process.env.BP_LOG_LEVEL ?? '').toUpperCase() === 'DEBUG';
const logTo = (out: LogSink, err: LogSink): Logger => new Logger(out, systemClock, !process.env.NO_COLOR, debug, err);

/**
 * The log of the phase that runs, made when it starts: detect's (and that of a failure before either phase has a
 * log) writes through console, which loads nothing; the build's through the descriptor sinks of fd-sink.ts.
 */
let log: Logger | undefined;
function consoleLog(): Logger {
  log ??= logTo(consoleSink, consoleErrorSink);
  return log;
}
async function buildLog(): Promise<Logger> {
  const { stdoutSink, stderrSink } = await import('./fd-sink.js');
  log ??= logTo(stdoutSink, stderrSink);
  return log;
}

async function buildDeps(): Promise<Deps> {
  const { realExecutor } = await import('./exec.js');
  return { log: await buildLog(), exec: realExecutor, clock: systemClock };
}

const buildSteps = (): Promise<typeof import('./build.js')> => import('./build.js');

// No top-level await: bun's --bytecode compile needs a script-shaped entry.
void run(
  {
    detect: (ctx) => detect(ctx, consoleLog()),
    build: async (ctx: BuildContext) => (await buildSteps()).build(ctx, await buildDeps()),
    subcommands: { 's2i-assemble': async (ctx) => (await buildSteps()).defaultAssemble(ctx, await buildDeps()) },
    onError: async (err) => (await import('./report-error.js')).reportError(err, log ?? consoleLog()),
  },
  process.argv0,
  process.argv.slice(2),
  process.env,
).then((code) => {
  process.exitCode = code;
});
