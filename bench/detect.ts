/**
 * bench/detect: the wall time of bin/detect on a Flask app, over N runs alternating with /bin/true (the floor
 * of starting any process) in the same process. Goal: a median of 30 ms or less.
 * Usage: npx tsx bench/detect.ts [runs=50]   (needs `npm run build` first)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../', import.meta.url));
const runs = Number(process.argv[2] ?? 50);
const detect = path.join(repo, 'bin', 'detect');
if (!fs.existsSync(detect)) throw new Error('bin/detect is missing: run npm run build first');

const app = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-detect-'));
fs.writeFileSync(path.join(app, 'requirements.txt'), 'flask\n');
const platform = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-platform-'));
const plan = path.join(platform, 'plan.toml');
const env = { PATH: '/usr/bin:/bin', CNB_BUILDPACK_DIR: repo, CNB_PLATFORM_DIR: platform, CNB_BUILD_PLAN_PATH: plan };

function time(cmd: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd: app, env, stdio: 'ignore' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (cmd === detect && r.status !== 0) throw new Error(`detect exited ${r.status}`);
  return ms;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

time(detect, [platform, plan]); // warm the page cache
const a: number[] = [];
const b: number[] = [];
for (let i = 0; i < runs; i++) {
  a.push(time(detect, [platform, plan]));
  b.push(time('/bin/true', []));
}
const ratios = a.map((x, i) => x / (b[i] ?? 1));
console.log(`bin/detect over ${runs} runs, alternating with /bin/true`);
console.log('| command | min ms | median ms | max ms |');
console.log('|---|---|---|---|');
console.log(`| bin/detect | ${Math.min(...a).toFixed(1)} | ${median(a).toFixed(1)} | ${Math.max(...a).toFixed(1)} |`);
console.log(`| /bin/true | ${Math.min(...b).toFixed(1)} | ${median(b).toFixed(1)} | ${Math.max(...b).toFixed(1)} |`);
console.log(`median ratio detect / true: ${median(ratios).toFixed(1)}x; detect above the process floor: ${(median(a) - median(b)).toFixed(1)} ms (goal: median <= 30 ms)`);
fs.rmSync(app, { recursive: true, force: true });
fs.rmSync(platform, { recursive: true, force: true });
