/** The composition root: wires the real pieces into the runtime. Compiled into bin/detect and bin/build. */
import { run } from './cnb/runtime.js';
import { detect } from './detect.js';
import { build, defaultAssemble } from './build.js';

// No top-level await: bun's --bytecode compile needs a script-shaped entry.
void run({ detect, build, subcommands: { 's2i-assemble': (ctx, log) => defaultAssemble(ctx, log) } }, process.argv0, process.argv.slice(2), process.env).then((code) => {
  process.exitCode = code;
});
