// The cost of Logger.redact (src/logger.ts) on pip's output: a locked install whose index took credentials from
// the build env redacts up to four spellings of each secret in every later log line. N rounds, alternating, of
// writing pip-like output (LINES lines, a URL in every tenth) through Logger.toolOutput to a sink that drops it:
// a logger with nothing to redact (the baseline, every other build) against one redacting a password and a path
// token. Run: npx tsx bench/log-redact.ts [N] [LINES]   (or node_modules/.bin/bun bench/log-redact.ts: the
// buildpack runs under bun)
import { Logger } from '../src/logger.js';

const N = Number(process.argv[2] ?? 15);
const LINES = Number(process.argv[3] ?? 20_000);
for (const [name, v] of [['N', N], ['LINES', LINES]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
}

const output = Array.from({ length: LINES }, (_, i) =>
  i % 10 === 0
    ? `  Downloading https://pypi.internal/tok-path-0001/files/pkg${i}-1.0-py3-none-any.whl (1.${i % 9} MB)\n`
    : `  Requirement already satisfied: package-${i} in ./layers/pip-deps/lib/python3.12/site-packages (from app==1.0)\n`,
).join('');

function run(redact: boolean): number {
  let bytes = 0;
  const sink = {
    write(t: string): void {
      bytes += t.length;
    },
  };
  const log = new Logger(sink, undefined, false, false);
  if (redact) log.redact(['pw-0001-S3cret!', 'tok-path-0001']);
  const start = performance.now();
  const out = log.toolOutput();
  for (let i = 0; i < output.length; i += 65_536) out.write(output.slice(i, i + 65_536)); // pipe-sized chunks
  out.flush();
  const ms = performance.now() - start;
  if (bytes === 0) throw new Error('nothing was written');
  return ms;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
run(false);
run(true); // warm-up
const base: number[] = [];
const redacted: number[] = [];
const ratios: number[] = [];
for (let i = 0; i < N; i++) {
  let b: number;
  let r: number;
  if (i % 2 === 0) {
    b = run(false);
    r = run(true);
  } else {
    r = run(true);
    b = run(false);
  }
  base.push(b);
  redacted.push(r);
  ratios.push(r / b);
}
console.log(`${LINES} lines of pip output, ${N} alternating rounds`);
console.log(`no redaction (baseline): ${median(base).toFixed(1)} ms median`);
console.log(`two secrets redacted (each in its raw and percent-encoded spellings): ${median(redacted).toFixed(1)} ms median`);
console.log(`ratio, pair by pair: ${median(ratios).toFixed(2)}x median`);
