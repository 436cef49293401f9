/**
 * bench/detect: the start-up of bin/detect (on a Flask app) and of bin/build (to its first exit: a missing
 * CNB_LAYERS_DIR, so start, runtime and error report, no build work), in turn with /bin/true (the floor of
 * starting any process) and a bun hello world compiled the way scripts/compile.mjs compiles ours (the floor of
 * starting bun), in the same process. Prints medians, paired ratios and peak RSS (GNU time's %M).
 * Goal (issue 16): bin/detect median 5 ms or less on the machine where a bun hello world starts in ~4 ms.
 * Usage: npx tsx bench/detect.ts [runs=50]   (needs `npm run build` first, and /usr/bin/time)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUN_COMPILE_FLAGS } from '../scripts/bun-compile-flags.mjs';

function isWritable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

const repo = fileURLToPath(new URL('../', import.meta.url));
const runs = Number(process.argv[2] ?? 50);
const detect = path.join(repo, 'bin', 'detect');
const build = path.join(repo, 'bin', 'build');
if (!fs.existsSync(detect)) throw new Error('bin/detect is missing: run npm run build first');

// The app sits one folder below /, as /workspace does in a CNB build: bun lists every folder from / down to its
// working directory as it starts, and a crowded os.tmpdir() (thousands of entries on a shared machine) adds
// milliseconds to every command measured here, ours and the baselines alike, that no build pays.
const work = fs.mkdtempSync(isWritable('/') ? '/bench-detect-' : path.join(os.tmpdir(), 'bench-detect-'));
const app = path.join(work, 'app');
const platform = path.join(work, 'platform');
fs.mkdirSync(app);
fs.mkdirSync(platform);
fs.writeFileSync(path.join(app, 'requirements.txt'), 'flask\n');
const plan = path.join(platform, 'plan.toml');
const env = { PATH: '/usr/bin:/bin', CNB_BUILDPACK_DIR: repo, CNB_PLATFORM_DIR: platform, CNB_BUILD_PLAN_PATH: plan };

const hello = path.join(work, 'hello');
fs.writeFileSync(`${hello}.ts`, "console.log('hello');\n");
execFileSync(path.join(repo, 'node_modules/.bin/bun'), ['build', `${hello}.ts`, ...BUN_COMPILE_FLAGS, '--outfile', hello], { stdio: 'ignore' });

interface Command {
  name: string;
  argv: string[];
  /** Exit statuses that mean the command did what is measured. */
  ok: number[];
}
const commands: Command[] = [
  { name: 'bin/detect', argv: [detect, platform, plan], ok: [0] },
  { name: 'bin/build (start to a missing CNB_LAYERS_DIR)', argv: [build], ok: [1] },
  { name: 'bun hello world', argv: [hello], ok: [0] },
  { name: '/bin/true', argv: ['/bin/true'], ok: [0] },
];

function time(c: Command): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(c.argv[0] ?? '', c.argv.slice(1), { cwd: app, env, stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (!c.ok.includes(r.status ?? -1)) throw new Error(`${c.name} exited ${r.status}`);
  return ms;
}

/** Peak resident set of one run, in KiB, from GNU time (the largest RSS the kernel saw for the process). */
function peakKiB(c: Command): number {
  const out = path.join(work, 'time.out');
  spawnSync('/usr/bin/time', ['-o', out, '-f', '%M', ...c.argv], { cwd: app, env, stdio: 'ignore' });
  return Number(fs.readFileSync(out, 'utf8').trim().split('\n').pop());
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

for (const c of commands) time(c); // warm the page cache
const wall = commands.map(() => [] as number[]);
for (let i = 0; i < runs; i++) {
  commands.forEach((c, k) => {
    wall[k]?.push(time(c));
  });
}
const peaks = commands.map((c) => median(Array.from({ length: 5 }, () => peakKiB(c))));

const ratio = (k: number, base: number): string => median((wall[k] ?? []).map((x, i) => x / (wall[base]?.[i] ?? 1))).toFixed(2);
const HELLO = 2;
const TRUE = 3;
console.log(`app in ${app}; over ${runs} runs of each, in turn (detect, build, hello, true, detect, ...); ratios are medians of per-round ratios`);
console.log('| command | min ms | median ms | max ms | / bun hello | / true | peak RSS MiB |');
console.log('|---|---|---|---|---|---|---|');
commands.forEach((c, k) => {
  const w = wall[k] ?? [];
  console.log(
    `| ${c.name} | ${Math.min(...w).toFixed(1)} | ${median(w).toFixed(1)} | ${Math.max(...w).toFixed(1)} | ${ratio(k, HELLO)}x | ${ratio(k, TRUE)}x | ${((peaks[k] ?? NaN) / 1024).toFixed(1)} |`,
  );
});
console.log(`goal: bin/detect median <= 5 ms (now ${median(wall[0] ?? []).toFixed(1)} ms; bun's own start here: ${median(wall[HELLO] ?? []).toFixed(1)} ms)`);
fs.rmSync(work, { recursive: true, force: true });
