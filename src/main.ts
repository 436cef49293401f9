/**
 * The composition root: wires the real pieces into the runtime. Compiled into bin/detect and bin/build.
 * The build's modules are imported lazily: detect runs on every build of every app on a builder, and should
 * not pay for loading pip, download and SBOM code it never uses.
 */
import { run } from './cnb/runtime.js';
import { detect } from './detect.js';

const build = (): Promise<typeof import('./build.js')> => import('./build.js');

// No top-level await: bun's --bytecode compile needs a script-shaped entry.
void run(
  {
    detect,
    build: async (ctx, log) => (await build()).build(ctx, log),
    subcommands: { 's2i-assemble': async (ctx, log) => (await build()).defaultAssemble(ctx, log) },
  },
  process.argv0,
  process.argv.slice(2),
  process.env,
).then((code) => {
  process.exitCode = code;
});
