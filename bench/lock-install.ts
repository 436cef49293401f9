// A locked install (issue 14) of a 20-package app: pylock.toml written by `pip lock` (pip 26) against the loopback
// index, installed by bin/build cold and rebuilt warm, beside a bare pip given the same pins and hashes.
// Run: npx tsx bench/lock-install.ts [N]   (N alternating runs, default 3, at least 3). Needs `npm run build`.
//
// Per run, alternating the order so that machine load hits both sides of each pair alike:
//  - cold: bin/build (spawned the way the lifecycle does) on a layers dir holding only the python layer (no
//          pip-deps, no pip-cache): the lock is read, selected, checked, and pip installs the hash-carrying
//          requirements file --no-deps --require-hashes. Columns: the step `Installed N locked packages,
//          hash-checked (finished in Xs)` and the whole process;
//    beside `python -m venv v && v/bin/pip install --no-deps --require-hashes -r pins.txt`, pins.txt holding the
//          same `name==version --hash=sha256:…` lines, empty pip cache.
//  - warm: bin/build again over the same layers (the selected set unchanged: pip must not run, the index sees no
//          request), whole process;
//    beside the same bare pip install into a fresh venv (made beforehand, not timed) from that run's warm cache.
// The index sits behind the same immutable-wheels proxy as bench/pip-deps.ts (pip's HTTP cache keeps a wheel only
// when the response says it may), and PIP_INDEX_URL points both sides at it: the lock's pins are installed from
// the user's index, as on a platform with a mirror.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseToml } from '../src/cnb/toml.js';
import { E2E, WHEELHOUSE_PYTHON } from '../test/e2e/support.js';
import { pipLock } from '../test/helpers/lock-tools.js';
import { binBuild, buildContainer, restoredPython, type BuildContainer } from './build-container.js';
import { chownTree, median, stepMs, timed, type Run } from './measure.js';
import { REQUIREMENTS, bareRun, buildUserEnv, immutableFilesProxy, type BareDir } from './pip-inputs.js';

const N = Number(process.argv[2] ?? 3);
if (!Number.isInteger(N) || N < 3) throw new Error(`N must be an integer >= 3, got ${process.argv[2]}`);

const NOT_RUN = 'Using cached dependencies: the locked packages, Python and pip settings are unchanged (pip was not run)';

/** The pins of a pylock.toml, `name==version --hash=sha256:…` per package (every file's hash), as the bare side's input. */
function pinsOf(pylock: string): string {
  const doc = parseToml(pylock) as { packages: Array<{ name: string; version: string; wheels?: Array<{ hashes: { sha256: string } }>; sdist?: { hashes: { sha256: string } } }> };
  return `${doc.packages.map((p) => `${p.name}==${p.version} ${[...(p.wheels ?? []), ...(p.sdist ? [p.sdist] : [])].map((f) => `--hash=sha256:${f.hashes.sha256}`).join(' ')}`).join('\n')}\n`;
}

const e2e = await E2E.start();
const proxy = await immutableFilesProxy(e2e.index.origin);
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-lock-install-'));
fs.chmodSync(scratch, 0o755);
try {
  const archive = await e2e.python(WHEELHOUSE_PYTHON);
  const manifestUrl = await e2e.manifest([WHEELHOUSE_PYTHON], 'bench-distributions.json');
  const indexUrl = `${proxy.origin}/simple/`;
  const lockDir = path.join(scratch, 'lock');
  fs.mkdirSync(lockDir);
  const pylock = await pipLock(lockDir, WHEELHOUSE_PYTHON, indexUrl, REQUIREMENTS);
  const pins = pinsOf(pylock);
  const userEnv = buildUserEnv(manifestUrl, archive.version, indexUrl);
  const appFiles = { 'pylock.toml': pylock, 'app.py': 'print("hello")\n' };
  const container = (name: string): BuildContainer => buildContainer({ scratch, name, buildpackDir: e2e.platform.buildpackDir, appFiles, userEnv });
  const { python, coldContainer } = await restoredPython(container);

  function bareDir(name: string): { dir: string; cache: string } {
    const dir = path.join(scratch, name);
    fs.mkdirSync(path.join(dir, 'cache'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'pins.txt'), pins);
    chownTree(dir);
    return { dir, cache: path.join(dir, 'cache') };
  }
  const bare = (argv: string[], b: BareDir, what: string): Promise<Run> => bareRun(indexUrl, argv, b, what);
  const BARE_INSTALL = 'pip install --no-deps --require-hashes -r pins.txt';

  {
    const c = coldContainer('warm-up');
    await binBuild(c, timed);
    const b = bareDir('warm-up-bare');
    await bare(['sh', '-c', `${python} -m venv v && v/bin/${BARE_INSTALL}`], b, 'bare cold install');
    fs.rmSync(c.root, { recursive: true, force: true });
    fs.rmSync(b.dir, { recursive: true, force: true });
  }

  const cols: Record<string, { ms: number[]; cpu: number[] }> = {};
  const add = (name: string, ms: number, cpu?: number): void => {
    cols[name] ??= { ms: [], cpu: [] };
    cols[name].ms.push(ms);
    if (cpu !== undefined) cols[name].cpu.push(cpu);
  };
  const COLD_STEP = 'cold: bin/build "Installed N locked packages" step';
  const COLD_WHOLE = 'cold: bin/build, whole process';
  const COLD_BARE = 'cold: bare venv + pip --require-hashes';
  const WARM_WHOLE = 'warm: bin/build rebuild, whole process';
  const WARM_BARE = 'warm: bare pip --require-hashes, warm cache';
  let packages = '';
  for (let i = 0; i < N; i++) {
    const c = coldContainer(`build-${i}`);
    const b = bareDir(`bare-${i}`);
    const cold = [
      async () => {
        const r = await binBuild(c, timed);
        const m = /Installed (\d+) locked packages, hash-checked/.exec(r.output);
        if (!m) throw new Error(`cold build did not install the lock:\n${r.output}`);
        packages = m[1] as string;
        add(COLD_STEP, stepMs(r.output, 'Installed \\d+ locked packages, hash-checked'));
        add(COLD_WHOLE, r.ms, r.cpu);
      },
      async () => {
        const r = await bare(['sh', '-c', `${python} -m venv v && v/bin/${BARE_INSTALL}`], b, 'bare cold install');
        add(COLD_BARE, r.ms, r.cpu);
      },
    ];
    for (const f of i % 2 === 0 ? cold : cold.reverse()) await f();

    await bare([python, '-m', 'venv', 'v2'], b, 'venv');
    const warm = [
      async () => {
        const before = e2e.index.requests.length;
        const r = await binBuild(c, timed);
        if (!r.output.includes(NOT_RUN)) throw new Error(`rebuild did not reuse pip-deps:\n${r.output}`);
        if (e2e.index.requests.length !== before) throw new Error('rebuild sent requests to the index');
        add(WARM_WHOLE, r.ms, r.cpu);
      },
      async () => {
        const before = e2e.index.requests.length;
        const r = await bare(['sh', '-c', `v2/bin/${BARE_INSTALL}`], b, 'bare warm install');
        if (e2e.index.requests.slice(before).some((q) => q.path.startsWith('/files/'))) throw new Error('the warm bare install downloaded wheels: its cache is not warm');
        add(WARM_BARE, r.ms, r.cpu);
      },
    ];
    for (const f of i % 2 === 0 ? warm : warm.reverse()) await f();
    for (const d of [c.root, b.dir]) fs.rmSync(d, { recursive: true, force: true });
  }

  console.log(
    `lock-install: pylock.toml of ${packages} packages (pip lock of ${REQUIREMENTS.length} pins), Python ${archive.version}, ${N} alternating runs, ` +
      `${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} (a shared machine: treat wall times as noisy)`,
  );
  console.log(`${'measure'.padEnd(52)} ${'median ms'.padStart(10)} ${'min-max ms'.padStart(13)} ${'cpu s'.padStart(7)}`);
  for (const [name, col] of Object.entries(cols)) {
    const range = `${Math.min(...col.ms).toFixed(0)}-${Math.max(...col.ms).toFixed(0)}`;
    console.log(`${name.padEnd(52)} ${median(col.ms).toFixed(0).padStart(10)} ${range.padStart(13)} ${(col.cpu.length ? median(col.cpu).toFixed(2) : '').padStart(7)}`);
  }
  const m = (name: string): number => median(cols[name]?.ms ?? [NaN]);
  const cpu = (name: string): number => median(cols[name]?.cpu ?? [NaN]);
  const r = (a: string, b: string): string => (m(a) / m(b)).toFixed(2);
  console.log(`cold (goal <= 1.10x): step ${r(COLD_STEP, COLD_BARE)}x, whole bin/build ${r(COLD_WHOLE, COLD_BARE)}x of bare venv + pip --require-hashes`);
  console.log(`warm (goal <= 0.10x): whole bin/build rebuild ${r(WARM_WHOLE, WARM_BARE)}x of a bare pip --require-hashes from a warm cache`);
  console.log(`cpu seconds: cold whole ${(cpu(COLD_WHOLE) / cpu(COLD_BARE)).toFixed(2)}x, warm ${(cpu(WARM_WHOLE) / cpu(WARM_BARE)).toFixed(2)}x`);
} finally {
  fs.rmSync(scratch, { recursive: true, force: true });
  await proxy.close();
  await e2e.stop();
}
