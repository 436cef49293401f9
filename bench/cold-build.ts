// The whole cold build of the 20-package app (python, pip-deps, start) beside the bare route a user would take
// by hand on the same machine, and the warm rebuild. Run: npx tsx bench/cold-build.ts [N]   (N alternating runs,
// default 5, at least 3). Needs `npm run build`. BASELINE=<checkout> (bench/baseline.ts) adds that buildpack's
// cold build as a column: before / after.
//
// Both sides install Python 3.11 from the same archive on the same loopback server and the 20 packages from the
// same index (behind the immutable-wheels proxy of bench/pip-inputs.ts), with a warm pip cache, as the build user:
//  - bin/build: the compiled binary spawned as the lifecycle does (bench/measure.ts buildPhaseEnv) on an app with
//    requirements.txt and wsgi.py (so the start step checks gunicorn's module), on a layers dir holding only the
//    pip-cache layer of an earlier build, as the restorer leaves it (an app whose image is gone, cache kept).
//    Columns: the whole process; its python step, from the `[Installing Python]` header to the `Installed Python`
//    line, timed by when each line of its output arrived (ms, not the log's 0.1 s); its pip step likewise.
//  - bare route: `curl -sSf URL | tar xz`, `python3 -m venv v` (which runs ensurepip), `v/bin/pip install -r
//    requirements.txt`, one `sh -c`, with a copy of a pip cache warmed by an earlier run of the same route; and
//    `curl | tar xz` alone, for the python step's ratio.
//  - warm rebuild: bin/build again over the same layers (everything reused, pip not run), beside a bare
//    `pip install -r` into a fresh venv (made beforehand) from a warm cache, as bench/pip-deps.ts.
// Ratios are the medians of per-run ratios (each run's pair shares the machine's load of its moment). Other
// engineers share this machine: wall times are noisy, CPU seconds (from /usr/bin/time) less so.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { E2E, WHEELHOUSE_PYTHON } from '../test/e2e/support.js';
import { baselinePlatform } from './baseline.js';
import { binBuild as runBinBuild, buildContainer, restoreLayer, type BuildContainer } from './build-container.js';
import { chownTree, Columns, lineMs, median, timedLines, type LinedRun, type Run } from './measure.js';
import { REQUIREMENTS, bareRun, buildUserEnv, immutableFilesProxy, type BareDir } from './pip-inputs.js';

const N = Number(process.argv[2] ?? 5);
if (!Number.isInteger(N) || N < 3) throw new Error(`N must be an integer >= 3, got ${process.argv[2]}`);
const NOT_RUN = 'Using cached dependencies: requirements, Python and pip settings are unchanged (pip was not run)';
const WSGI = 'from flask import Flask\napplication = Flask(__name__)\n\n@application.route("/")\ndef hello():\n    return "hello"\n';

const e2e = await E2E.start();
const proxy = await immutableFilesProxy(e2e.index.origin);
const baseline = await baselinePlatform();
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-cold-build-'));
fs.chmodSync(scratch, 0o755);
try {
  const archive = await e2e.python(WHEELHOUSE_PYTHON);
  const manifestUrl = await e2e.manifest([WHEELHOUSE_PYTHON], 'bench-distributions.json');
  const archiveUrl = e2e.dists.url(`/python/${archive.filename}`);
  const indexUrl = `${proxy.origin}/simple/`;
  const userEnv = buildUserEnv(manifestUrl, archive.version, indexUrl);
  const appFiles = { 'requirements.txt': `${REQUIREMENTS.join('\n')}\n`, 'wsgi.py': WSGI };

  const container = (name: string, buildpackDir: string): BuildContainer => buildContainer({ scratch, name, buildpackDir, appFiles, userEnv });
  const binBuild = (c: BuildContainer): Promise<LinedRun> => runBinBuild(c, timedLines);

  /** A warm pip-cache layer for `buildpackDir`'s builds: from one cold build, as the restorer leaves it. */
  async function warmPipCache(name: string, buildpackDir: string): Promise<(c: BuildContainer) => void> {
    const c = container(name, buildpackDir);
    chownTree(c.root);
    await binBuild(c);
    return (into) => restoreLayer(c.layers, into, 'pip-cache');
  }
  const ours = e2e.platform.buildpackDir;
  const ourCache = await warmPipCache('warm-ours', ours);
  const theirCache = baseline ? await warmPipCache('warm-baseline', baseline.buildpackDir) : undefined;
  function coldContainer(name: string, buildpackDir: string, cache: (c: BuildContainer) => void): BuildContainer {
    const c = container(name, buildpackDir);
    cache(c);
    chownTree(c.root);
    return c;
  }

  const ROUTE = `set -e; curl -sSf ${archiveUrl} | tar xz -C .; python/bin/python3 -m venv v; v/bin/pip install -r requirements.txt`;
  function bareDir(name: string, warmCache?: string): { dir: string; cache: string } {
    const dir = path.join(scratch, name);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'requirements.txt'), appFiles['requirements.txt']);
    const cache = path.join(dir, 'cache');
    if (warmCache) fs.cpSync(warmCache, cache, { recursive: true, preserveTimestamps: true });
    else fs.mkdirSync(cache);
    chownTree(dir);
    return { dir, cache };
  }
  const bare = (argv: string[], b: BareDir, what: string): Promise<Run> => bareRun(indexUrl, argv, b, what);
  // The bare route's warm cache: one run of the route itself.
  const primed = bareDir('bare-prime');
  await bare(['sh', '-c', ROUTE], primed, 'bare route install');
  const bareCache = primed.cache;

  const cols = new Columns();
  const COLD = 'cold: bin/build, whole process';
  const COLD_PY = '  its python step (header to "Installed Python")';
  const COLD_PIP = '  its pip step ("Running" to "Installed dependencies")';
  const BASE = 'cold: baseline bin/build, whole process';
  const BASE_PY = '  its python step';
  const BARE = 'cold: bare curl|tar + venv + pip install -r';
  const CURL = '  curl -sSf | tar xz alone';
  const WARM = 'warm: bin/build rebuild, whole process';
  const WARM_BARE = 'warm: bare pip install -r, fresh venv, warm cache';
  const cpuCol = (name: string, r: Run): void => cols.add(name, r.ms, r.cpu);
  for (let i = 0; i < N; i++) {
    const c = coldContainer(`ours-${i}`, ours, ourCache);
    const b = bareDir(`bare-${i}`, bareCache);
    const t = bareDir(`curl-${i}`);
    const steps: Array<() => Promise<void>> = [
      async () => {
        const r = await binBuild(c);
        if (!r.output.includes("Running 'python -m pip install --user -r requirements.txt'")) throw new Error(`the cold build did not run pip:\n${r.output}`);
        cols.add(COLD, r.ms, r.cpu);
        cols.add(COLD_PY, lineMs(r, /- Installed Python /) - lineMs(r, /\[Installing Python\]/));
        cols.add(COLD_PIP, lineMs(r, /- Installed dependencies /) - lineMs(r, /- Running 'python -m pip install/));
      },
      async () => {
        cpuCol(BARE, await bare(['sh', '-c', ROUTE], b, 'bare route install'));
        cpuCol(CURL, await bare(['sh', '-c', `curl -sSf ${archiveUrl} | tar xz -C .`], t, 'curl|tar'));
      },
    ];
    if (baseline && theirCache) {
      const bc = coldContainer(`baseline-${i}`, baseline.buildpackDir, theirCache);
      steps.push(async () => {
        const r = await binBuild(bc);
        cols.add(BASE, r.ms, r.cpu);
        cols.add(BASE_PY, lineMs(r, /- Installed Python /) - lineMs(r, /\[Installing Python\]/));
        fs.rmSync(bc.root, { recursive: true, force: true });
      });
    }
    // Rotate the order, so that no column always runs first (or right after the heaviest one).
    for (let k = 0; k < steps.length; k++) await (steps[(k + i) % steps.length] as () => Promise<void>)();

    await bare([path.join(scratch, `bare-${i}`, 'python', 'bin', 'python3'), '-m', 'venv', 'v2'], b, 'venv'); // not timed
    const warm: Array<() => Promise<void>> = [
      async () => {
        const before = e2e.index.requests.length;
        const r = await binBuild(c);
        if (!r.output.includes(NOT_RUN) || !r.output.includes('Using cached Python')) throw new Error(`the rebuild reused nothing:\n${r.output}`);
        if (e2e.index.requests.length !== before) throw new Error('the rebuild sent requests to the index');
        cols.add(WARM, r.ms, r.cpu);
      },
      async () => cpuCol(WARM_BARE, await bare([path.join(b.dir, 'v2', 'bin', 'pip'), 'install', '-r', 'requirements.txt'], b, 'bare warm install')),
    ];
    for (const f of i % 2 === 0 ? warm : warm.reverse()) await f();
    for (const d of [c.root, b.dir, t.dir]) fs.rmSync(d, { recursive: true, force: true });
  }

  console.log(
    `cold build: ${REQUIREMENTS.length} pinned packages, Python ${archive.version} (${(archive.size / 1e6).toFixed(1)} MB archive), warm pip caches, ${N} runs in rotating order, ` +
      `${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (other engineers share this machine: treat wall times as noisy)`,
  );
  if (baseline) console.log(`baseline: ${baseline.describe}`);
  cols.print();
  const r = (a: string, b: string): string => cols.pairedRatio(a, b).toFixed(2);
  console.log(`cold whole build: ${r(COLD, BARE)}x of the bare route (goal <= 0.70x)`);
  console.log(`python step: ${r(COLD_PY, CURL)}x of curl | tar xz (goal <= 1.10x)`);
  console.log(`warm rebuild: ${r(WARM, WARM_BARE)}x of a bare pip install -r from a warm cache (goal <= 0.10x), ${r(WARM, BARE)}x of the bare route`);
  const rc = (a: string, b: string): string => (cols.median(a) === 0 ? '?' : (median(cols.get(a).cpu) / median(cols.get(b).cpu)).toFixed(2));
  console.log(`cpu seconds (less sensitive to load): cold whole build ${rc(COLD, BARE)}x of the bare route${baseline ? `, ${rc(COLD, BASE)}x of the baseline's` : ''}`);
  if (baseline) {
    console.log(`before / after: cold whole build ${r(COLD, BASE)}x of the baseline's (baseline: ${r(BASE, BARE)}x of the bare route); python step ${r(COLD_PY, BASE_PY)}x of the baseline's (baseline: ${r(BASE_PY, CURL)}x of curl | tar)`);
  }
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
  await proxy.close();
  await baseline?.cleanup();
  await e2e.stop();
}
