// Cold python-layer install beside the bare `curl -s URL | tar xz` of the same archive from the same loopback
// server, and the rebuild with the layer reused. Run: npx tsx bench/python-layer.ts [N] [python-spec]
// (N alternating runs, default 5, at least 5; python-spec a pyenv Python the test helper packs, default 3.11).
// Needs `npm run build` (it runs the compiled bin/build) and bun from node_modules (for the unpack helper).
//
// Per run, in alternating order so that machine load hits every column alike:
//  - curl|tar:     `sh -c 'curl -s URL | tar xz -C <fresh dir>'`.
//  - unpack:       bench/python-layer-unpack.ts under bun: the buildpack's own download + sha256 + streaming
//                  extraction + move into place, timed inside the process (no start-up): what curl|tar does.
//  - bin/build:    the compiled bin/build, spawned the way the lifecycle does (CNB_* env, platform env files,
//                  Buildpack Plan, as the build user), on a minimal app (.python-version + app.py) with an empty
//                  layers dir; wall time of the process, and the step line `Installed Python X (finished in Ys)`
//                  (0.1 s resolution), which also covers relocation and any bytecode compilation.
//  - rebuild:      bin/build again over the same layers dir (the layer and its metadata as the restorer leaves
//                  them): the log must say "Using cached Python" and the server must see no archive request.
//  - platform:     the same app through test/platform's LocalPlatform (detect, restore, build, export), cold
//                  and rebuilt, whole-build wall times.
// CPU seconds (user+sys, children included, from /usr/bin/time) are shown too: on a busy machine they move
// less than wall times.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { E2E, REPO } from '../test/e2e/support.js';
import { binBuild, buildContainer, type BuildContainer } from './build-container.js';
import { chownTree, median, stepMs, timed, type Run } from './measure.js';

const N = Number(process.argv[2] ?? 5);
const SPEC = process.argv[3] ?? '3.11';
if (!Number.isInteger(N) || N < 5) throw new Error(`N must be an integer >= 5, got ${process.argv[2]}`);
const BUN = path.join(REPO, 'node_modules', '.bin', 'bun');


const e2e = await E2E.start();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-python-layer-'));
fs.chmodSync(scratch, 0o755);
try {
  const archive = await e2e.python(SPEC);
  const manifestUrl = await e2e.manifest([SPEC], 'bench-distributions.json');
  const archiveUrl = e2e.dists.url(`/python/${archive.filename}`);
  const appFiles = { '.python-version': `${archive.version}\n`, 'app.py': 'print("hello")\n' };
  /** A build container with an empty layers dir. */
  function container(name: string): BuildContainer {
    const c = buildContainer({ scratch, name, buildpackDir: e2e.platform.buildpackDir, appFiles, userEnv: { BP_PYTHON_DISTRIBUTIONS: manifestUrl } });
    chownTree(c.root);
    return c;
  }
  async function curlTar(i: number): Promise<Run> {
    const dir = fs.mkdtempSync(path.join(scratch, `curl-${i}-`));
    const run = await timed(['sh', '-c', `curl -sSf ${archiveUrl} | tar xz -C ${dir}`]);
    if (run.code !== 0) throw new Error(`curl|tar failed: ${run.output}`);
    fs.rmSync(dir, { recursive: true, force: true });
    return run;
  }
  async function unpack(i: number): Promise<Run & { inner: number }> {
    const dest = path.join(scratch, `unpack-${i}`, 'python');
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const run = await timed([BUN, path.join(REPO, 'bench', 'python-layer-unpack.ts'), archiveUrl, archive.sha256, dest]);
    if (run.code !== 0) throw new Error(`unpack failed: ${run.output}`);
    fs.rmSync(path.dirname(dest), { recursive: true, force: true });
    return { ...run, inner: Number(run.output.trim().split('\n').pop()) };
  }

  // Warm-up (page cache, server, binaries), not counted.
  await curlTar(-1);
  await unpack(-1);
  await binBuild(container('warm-build'), timed);

  const cols: Record<string, { ms: number[]; cpu: number[] }> = {};
  const add = (name: string, ms: number, cpu?: number): void => {
    let c = cols[name];
    if (!c) {
      c = { ms: [], cpu: [] };
      cols[name] = c;
    }
    c.ms.push(ms);
    if (cpu !== undefined) c.cpu.push(cpu);
  };
  for (let i = 0; i < N; i++) {
    const pair = [
      async () => {
        const r = await curlTar(i);
        add('curl -s | tar xz', r.ms, r.cpu);
      },
      async () => {
        const r = await unpack(i);
        add('unpack (download+sha256+extract)', r.inner);
        add('  same, whole bun process', r.ms, r.cpu);
      },
    ];
    for (const f of i % 2 === 0 ? pair : pair.reverse()) await f();

    const c = container(`build-${i}`);
    const b = await binBuild(c, timed);
    add('bin/build cold, whole process', b.ms, b.cpu);
    add('  its "Installed Python" step', stepMs(b.output, 'Installed Python \\S+'));
    const before = e2e.dists.requests.length;
    const r = await binBuild(c, timed);
    if (!r.output.includes('Using cached Python')) throw new Error(`rebuild did not reuse the layer:\n${r.output}`);
    if (e2e.dists.requests.slice(before).some((q) => q.path.startsWith('/python/'))) throw new Error('rebuild downloaded the archive');
    add('bin/build rebuild (layer reused)', r.ms, r.cpu);
    fs.rmSync(c.root, { recursive: true, force: true });

    const app = await e2e.platform.app(appFiles);
    const pc = await e2e.platform.buildOk(app, { platformEnv: { BP_PYTHON_DISTRIBUTIONS: manifestUrl } });
    add('platform: "Installed Python" step', stepMs(pc.output, 'Installed Python \\S+'));
    add('platform: whole cold build', pc.durationMs);
    const pr = await e2e.platform.buildOk(app, { platformEnv: { BP_PYTHON_DISTRIBUTIONS: manifestUrl } });
    if (!pr.output.includes('Using cached Python')) throw new Error(`platform rebuild did not reuse the layer:\n${pr.output}`);
    add('platform: whole rebuild', pr.durationMs);
  }

  console.log(
    `python layer: Python ${archive.version}, ${(archive.size / 1e6).toFixed(1)} MB archive from ${e2e.dists.origin}, ${N} alternating runs, ` +
      `${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (other work shares this machine)`,
  );
  console.log(`${'measure'.padEnd(36)} ${'median ms'.padStart(10)} ${'min-max ms'.padStart(12)} ${'cpu s'.padStart(7)}`);
  for (const [name, c] of Object.entries(cols)) {
    const range = `${Math.min(...c.ms).toFixed(0)}-${Math.max(...c.ms).toFixed(0)}`;
    console.log(`${name.padEnd(36)} ${median(c.ms).toFixed(0).padStart(10)} ${range.padStart(12)} ${(c.cpu.length ? median(c.cpu).toFixed(2) : '').padStart(7)}`);
  }
  const col = (name: string): { ms: number[]; cpu: number[] } => {
    const c = cols[name];
    if (!c) throw new Error(`no measurements for '${name}'`);
    return c;
  };
  const ct = median(col('curl -s | tar xz').ms);
  const ratio = (name: string): string => (median(col(name).ms) / ct).toFixed(2);
  console.log(`ratios to curl|tar (medians, goal <= 1.10x): unpack ${ratio('unpack (download+sha256+extract)')}x, ` +
    `bin/build cold ${ratio('bin/build cold, whole process')}x, its step ${ratio('  its "Installed Python" step')}x`);
  console.log(`rebuild: ${median(col('bin/build rebuild (layer reused)').ms).toFixed(0)} ms for the whole bin/build, no archive request`);
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
  await e2e.stop();
}
