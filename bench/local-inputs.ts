/**
 * What keying a find-links folder by its bytes costs at every build: localInputsKey over a wheelhouse of
 * about 200 MB (wheels copied from the machine's wheelhouse), beside `sha256sum` over the same files (the floor
 * for reading and hashing them) and a stat of each file (what a size-and-mtime key would cost). Alternating
 * runs, medians; the page cache is warm after the first run, as it is for a folder the build just copied in.
 *
 *   npx tsx bench/local-inputs.ts [runs] [megabytes]                 (Node)
 *   node_modules/@oven/bun-linux-x64/bin/bun bench/local-inputs.ts   (Bun, the runtime bin/build is compiled with)
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { localInputsKey } from '../src/python/local-inputs.js';
import { median } from './measure.js';

const RUNS = Number(process.argv[2] ?? 7);
const MEGABYTES = Number(process.argv[3] ?? 200);
const SOURCE = '/opt/pypi/files';

const app = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-local-inputs-'));
const wheels = path.join(app, 'wheels');
fs.mkdirSync(wheels);
let bytes = 0;
for (const name of fs.readdirSync(SOURCE).filter((n) => n.endsWith('.whl')).sort()) {
  if (bytes >= MEGABYTES * 1e6) break;
  fs.copyFileSync(path.join(SOURCE, name), path.join(wheels, name));
  bytes += fs.statSync(path.join(wheels, name)).size;
}
const files = fs.readdirSync(wheels).map((n) => path.join(wheels, n));
const runtime = typeof (globalThis as { Bun?: unknown }).Bun === 'undefined' ? `node ${process.version}` : `bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`;
console.log(`${files.length} wheels, ${(bytes / 1e6).toFixed(0)} MB; ${runtime}; ${RUNS} runs`);

const time = (fn: () => unknown): number => {
  const t = performance.now();
  fn();
  return performance.now() - t;
};
const results: Record<string, number[]> = { 'localInputsKey (sha256 of every file)': [], 'sha256sum (coreutils)': [], 'stat only (size and mtime)': [] };
try {
  for (let i = 0; i < RUNS; i++) {
    results['localInputsKey (sha256 of every file)']?.push(time(() => localInputsKey(app, [{ kind: 'find-links', path: 'wheels' }])));
    results['sha256sum (coreutils)']?.push(time(() => execFileSync('sha256sum', files, { maxBuffer: 1 << 26 })));
    results['stat only (size and mtime)']?.push(time(() => files.map((f) => fs.statSync(f)).map((s) => `${s.size}:${s.mtimeMs}`)));
  }
  for (const [name, xs] of Object.entries(results)) {
    const m = median(xs);
    console.log(`${name.padEnd(40)} median ${m.toFixed(0).padStart(5)} ms  (${((bytes / 1e6) / (m / 1000)).toFixed(0)} MB/s)  runs: ${xs.map((x) => x.toFixed(0)).join(' ')}`);
  }
} finally {
  fs.rmSync(app, { recursive: true, force: true });
}
