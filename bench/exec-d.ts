// Startup cost of the exec.d program layers/exec.d/web-concurrency, which runs at every container
// start: N runs of the script (through its shebang, fd 3 a pipe as the launcher gives it) against
// N runs of /bin/true, which is the cost of a process spawn alone. Run: npx tsx bench/exec-d.ts [N]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'layers', 'exec.d', 'web-concurrency');
const N = Number(process.argv[2] ?? 200);
const WARMUP = 10;

interface Stats {
  median: number;
  p90: number;
  min: number;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** Times `runs` spawns of `cmd` and returns milliseconds; checks every run exits 0. */
function time(cmd: string, runs: number): Stats {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const samples: number[] = [];
  for (let i = 0; i < WARMUP + runs; i++) {
    const start = process.hrtime.bigint();
    const result = spawnSync(cmd, [], { env, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (result.error) throw result.error;
    if (result.status !== 0) throw new Error(`${cmd} exited ${String(result.status)}: ${String(result.stderr)}`);
    if (i >= WARMUP) samples.push(ms);
  }
  samples.sort((a, b) => a - b);
  return { median: quantile(samples, 0.5), p90: quantile(samples, 0.9), min: samples[0] ?? Number.NaN };
}

if (!Number.isInteger(N) || N < 1) throw new Error(`N must be a positive integer, got ${process.argv[2]}`);

const output = spawnSync(SCRIPT, [], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] }).output[3]?.toString().trim();
const baseline = time('/bin/true', N);
const script = time(SCRIPT, N);

const row = (name: string, s: Stats): string =>
  `${name.padEnd(24)} ${s.median.toFixed(3).padStart(10)} ${s.p90.toFixed(3).padStart(10)} ${s.min.toFixed(3).padStart(10)}`;
console.log(`exec.d web-concurrency, ${N} runs each (after ${WARMUP} warm-up runs); output here: ${output ?? '(none)'}`);
console.log(`${'command'.padEnd(24)} ${'median ms'.padStart(10)} ${'p90 ms'.padStart(10)} ${'min ms'.padStart(10)}`);
console.log(row('/bin/true', baseline));
console.log(row('exec.d/web-concurrency', script));
console.log(
  `ratio (median): ${(script.median / baseline.median).toFixed(2)}x; ` +
    `script's own cost ≈ ${(script.median - baseline.median).toFixed(3)} ms per container start`,
);
