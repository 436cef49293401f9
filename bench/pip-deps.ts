// The pip-deps layer for a 20-package app (Python 3.11, packages from the local wheelhouse on a loopback PEP 503
// index), cold and rebuilt, beside what a bare pip does with the same Python and the same index.
// Run: npx tsx bench/pip-deps.ts [N]   (N alternating runs, default 3, at least 3). Needs `npm run build`.
//
// Per run, in alternating order so that machine load hits both sides of each pair alike:
//  - cold:  bin/build (the compiled binary, spawned the way the lifecycle does: CNB_* env, platform env files,
//           Buildpack Plan, as the build user) on a layers dir that holds only the python layer (and the build-tools
//           layer that comes with it), as the restorer
//           leaves it for an app whose requirements changed and whose cache is empty: no pip-deps, no pip-cache.
//           Columns: the step line `Installed dependencies (finished in Xs)` (the pip run, 0.1 s resolution) and
//           the whole bin/build process (Bun start-up, Python layer check, cache key, SBOM, start config too).
//    beside `python -m venv v && v/bin/pip install -r requirements.txt` with an empty pip cache (and the pip
//           install alone, venv made beforehand, for reference).
//  - warm:  bin/build again over the same layers (pip-deps reused: pip must not run, the index sees no request),
//           whole process,
//    beside `v/bin/pip install -r requirements.txt` into a fresh venv (made beforehand, not timed) from the warm
//           pip cache of that run's bare cold install: what buildpacks that reinstall on every build do.
// The index is the test PackageIndexServer behind a small proxy that adds PyPI's `Cache-Control: max-age=365000000,
// immutable, public` to wheel downloads: the server itself sends no cache headers, and without them pip's HTTP
// cache never stores a wheel, so the bare warm baseline would download everything again. Both sides also set
// PIP_TRUSTED_HOST=127.0.0.1: pip caches HTTP responses only from https origins and trusted hosts.
// Both sides run as the build user with PIP_CONFIG_FILE=/dev/null (this machine's pip configuration off) and
// --disable-pip-version-check. CPU seconds (user+sys, children included, from /usr/bin/time) are shown too: other
// engineers run tests on this machine, and CPU time moves less with their load than wall time does.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { E2E, WHEELHOUSE_PYTHON } from '../test/e2e/support.js';
import { binBuild, buildContainer, restoredPython, type BuildContainer } from './build-container.js';
import { chownTree, median, stepMs, timed, type Run } from './measure.js';
import { REQUIREMENTS, bareRun, buildUserEnv, immutableFilesProxy, type BareDir } from './pip-inputs.js';

const N = Number(process.argv[2] ?? 3);
if (!Number.isInteger(N) || N < 3) throw new Error(`N must be an integer >= 3, got ${process.argv[2]}`);

const NOT_RUN = 'Using cached dependencies: requirements, Python and pip settings are unchanged (pip was not run)';


const e2e = await E2E.start();
const proxy = await immutableFilesProxy(e2e.index.origin);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-pip-deps-'));
fs.chmodSync(scratch, 0o755);
try {
  const archive = await e2e.python(WHEELHOUSE_PYTHON);
  const manifestUrl = await e2e.manifest([WHEELHOUSE_PYTHON], 'bench-distributions.json');
  const indexUrl = `${proxy.origin}/simple/`;
  const userEnv = buildUserEnv(manifestUrl, archive.version, indexUrl);
  const appFiles = { 'requirements.txt': `${REQUIREMENTS.join('\n')}\n`, 'app.py': 'print("hello")\n' };
  const container = (name: string): BuildContainer => buildContainer({ scratch, name, buildpackDir: e2e.platform.buildpackDir, appFiles, userEnv });
  const { python, coldContainer } = await restoredPython(container);

  function bareDir(name: string): { dir: string; cache: string } {
    const dir = path.join(scratch, name);
    fs.mkdirSync(path.join(dir, 'cache'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'requirements.txt'), appFiles['requirements.txt']);
    chownTree(dir);
    return { dir, cache: path.join(dir, 'cache') };
  }
  const bare = (argv: string[], b: BareDir, what: string): Promise<Run> => bareRun(indexUrl, argv, b, what);
  const venv = (d: string, name: string): Promise<Run> => bare([python, '-m', 'venv', name], { dir: d, cache: path.join(d, 'cache') }, 'venv');

  // Warm-up (page cache, server, binaries), not counted.
  {
    const c = coldContainer('warm-up');
    await binBuild(c, timed);
    const b = bareDir('warm-up-bare');
    await bare(['sh', '-c', `${python} -m venv v && v/bin/pip install -r requirements.txt`], b, 'bare cold install');
    fs.rmSync(c.root, { recursive: true, force: true });
    fs.rmSync(b.dir, { recursive: true, force: true });
  }

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
  const COLD_BP = 'cold: bin/build "Installed dependencies" step';
  const COLD_BP_WHOLE = 'cold: bin/build, whole process';
  const COLD_BARE = 'cold: bare venv + pip install -r';
  const COLD_BARE_PIP = '  same, pip install -r alone';
  const WARM_BP = 'warm: bin/build rebuild, whole process';
  const WARM_BARE = 'warm: bare pip install -r, fresh venv, warm cache';
  let distributions = '';
  for (let i = 0; i < N; i++) {
    const c = coldContainer(`build-${i}`);
    const b = bareDir(`bare-${i}`);
    const bare2 = bareDir(`bare-pip-${i}`);
    const cold = [
      async () => {
        const r = await binBuild(c, timed);
        if (!r.output.includes("Running 'python -m pip install --user -r requirements.txt'")) throw new Error(`cold build did not run pip:\n${r.output}`);
        distributions = /(\d+) distributions in the pip-deps layer/.exec(r.output)?.[1] ?? '?';
        add(COLD_BP, stepMs(r.output, 'Installed dependencies'));
        add(COLD_BP_WHOLE, r.ms, r.cpu);
      },
      async () => {
        const r = await bare(['sh', '-c', `${python} -m venv v && v/bin/pip install -r requirements.txt`], b, 'bare cold install');
        add(COLD_BARE, r.ms, r.cpu);
        await venv(bare2.dir, 'v');
        const p = await bare([path.join(bare2.dir, 'v', 'bin', 'pip'), 'install', '-r', 'requirements.txt'], bare2, 'bare cold pip install');
        add(COLD_BARE_PIP, p.ms, p.cpu);
      },
    ];
    for (const f of i % 2 === 0 ? cold : cold.reverse()) await f();

    await venv(b.dir, 'v2'); // the fresh venv of the warm baseline, not timed
    const warm = [
      async () => {
        const before = e2e.index.requests.length;
        const r = await binBuild(c, timed);
        if (!r.output.includes(NOT_RUN)) throw new Error(`rebuild did not reuse pip-deps:\n${r.output}`);
        if (e2e.index.requests.length !== before) throw new Error('rebuild sent requests to the index');
        add(WARM_BP, r.ms, r.cpu);
      },
      async () => {
        const before = e2e.index.requests.length;
        const r = await bare([path.join(b.dir, 'v2', 'bin', 'pip'), 'install', '-r', 'requirements.txt'], b, 'bare warm install');
        if (e2e.index.requests.slice(before).some((q) => q.path.startsWith('/files/'))) throw new Error('the warm bare install downloaded wheels: its cache is not warm');
        add(WARM_BARE, r.ms, r.cpu);
      },
    ];
    for (const f of i % 2 === 0 ? warm : warm.reverse()) await f();
    for (const d of [c.root, b.dir, bare2.dir]) fs.rmSync(d, { recursive: true, force: true });
  }

  console.log(
    `pip-deps: ${distributions} distributions (${REQUIREMENTS.length} pinned in requirements.txt), Python ${archive.version}, index ${e2e.index.origin} ` +
      `(behind an immutable-wheels proxy), ${N} alternating runs, ${os.cpus().length} CPUs, ` +
      `load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (other work shares this machine: treat wall times as noisy)`,
  );
  console.log(`${'measure'.padEnd(52)} ${'median ms'.padStart(10)} ${'min-max ms'.padStart(13)} ${'cpu s'.padStart(7)}`);
  for (const [name, col] of Object.entries(cols)) {
    const range = `${Math.min(...col.ms).toFixed(0)}-${Math.max(...col.ms).toFixed(0)}`;
    console.log(`${name.padEnd(52)} ${median(col.ms).toFixed(0).padStart(10)} ${range.padStart(13)} ${(col.cpu.length ? median(col.cpu).toFixed(2) : '').padStart(7)}`);
  }
  const col = (name: string): { ms: number[]; cpu: number[] } => {
    const c = cols[name];
    if (!c) throw new Error(`no measurements for '${name}'`);
    return c;
  };
  const m = (name: string): number => median(col(name).ms);
  const r = (a: string, b: string): string => (m(a) / m(b)).toFixed(2);
  console.log(`cold (goal <= 1.10x): step ${r(COLD_BP, COLD_BARE)}x, whole bin/build ${r(COLD_BP_WHOLE, COLD_BARE)}x of bare venv + pip; ` +
    `step ${r(COLD_BP, COLD_BARE_PIP)}x of pip install alone`);
  console.log(`warm (goal <= 0.10x): whole bin/build rebuild ${r(WARM_BP, WARM_BARE)}x of a bare pip install from a warm cache`);
  const cpu = (name: string): number => median(col(name).cpu);
  const rc = (a: string, b: string): string => (cpu(a) / cpu(b)).toFixed(2);
  if (cols[COLD_BARE]?.cpu.length) {
    console.log(`cpu seconds (less sensitive to load): cold whole bin/build ${rc(COLD_BP_WHOLE, COLD_BARE)}x of bare venv + pip, ` +
      `${rc(COLD_BP_WHOLE, COLD_BARE_PIP)}x of pip install alone; warm ${rc(WARM_BP, WARM_BARE)}x`);
  }
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
  await proxy.close();
  await e2e.stop();
}
