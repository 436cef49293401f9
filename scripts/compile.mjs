#!/usr/bin/env node
// Compiles src/main.ts into one self-contained executable (bun build --compile): bin/ausnimbus-python,
// with bin/detect and bin/build as symlinks to it. The runtime picks the phase from argv0.
// Usage: node scripts/compile.mjs [--arch amd64|arm64] [--outdir bin]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BUN_COMPILE_FLAGS } from './bun-compile-flags.mjs';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : dflt;
};
const arch = opt('arch', process.arch === 'arm64' ? 'arm64' : 'amd64');
const outdir = path.resolve(opt('outdir', 'bin'));
const bunTarget = arch === 'arm64' ? 'bun-linux-arm64' : 'bun-linux-x64';
const bun = path.resolve('node_modules/.bin/bun');
// Optional plug-ins of @cyclonedx/cyclonedx-library (XML output, schema validation) that we never load.
const OPTIONAL = ['ajv', 'ajv-formats', 'ajv-formats-draft2019', 'libxmljs2', 'xmlbuilder2'];

fs.mkdirSync(outdir, { recursive: true });
const exe = path.join(outdir, 'ausnimbus-python');
// Chunk names (bun-compile-flags.mjs: --splitting) hash the modules' paths relative to the checkout, so a checkout
// gives the same bytes wherever it is, as long as node_modules is inside it (npm ci).
execFileSync(bun, ['build', 'src/main.ts', ...BUN_COMPILE_FLAGS, `--target=${bunTarget}`, '--outfile', exe, ...OPTIONAL.flatMap((m) => ['--external', m])], {
  stdio: ['ignore', 'inherit', 'inherit'],
});
for (const name of ['detect', 'build']) {
  const link = path.join(outdir, name);
  fs.rmSync(link, { force: true });
  fs.symlinkSync('ausnimbus-python', link);
}
console.log(`compiled ${path.relative(process.cwd(), exe)} (${arch}, ${(fs.statSync(exe).size / 1e6).toFixed(1)} MB) with detect and build links`);
