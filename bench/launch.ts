// Launch benchmark for issue 5 ("Starting the app"), on the Flask fixture (test/fixtures/flask-wsgi), and for
// issue 15 on the FastAPI fixture served by uvicorn (test/fixtures/start-asgi-uvicorn), built through the local
// platform. Run: npx tsx bench/launch.ts [N] [ROUNDS] [WORKERS] [APP]
//   N        start-up runs per column (default 7, at least 5)
//   ROUNDS   load runs per side (default 6)
//   WORKERS  workers for the load runs, on both sides (default 2: the Small tier)
//   APP      flask (default): gunicorn with the fallback config, beside the same gunicorn by hand;
//            asgi: uvicorn with WEB_CONCURRENCY workers, beside a hand-run `uvicorn main:app --host 0.0.0.0
//            --port P --workers N` (what a user would type), same interpreter, packages and env
// Needs `npm run build` (the platform runs the compiled bin/build) and the local wheelhouse; wrk if installed
// (`apt-get install -y wrk`), else autocannon from node_modules. BASELINE=<checkout> (bench/baseline.ts) also
// builds the app with that buildpack and adds its start-up as a column, paired with this one's, run by run.
//
// 1. Start-up: wall time from the launch call (launcher env, exec.d, exec) to the first HTTP 200 on `/`,
//    polled every 10 ms. Columns, run in alternating order so machine load hits each alike:
//    - built, Small: the image's web process, exec.d seeing a fake 512 MiB cgroup (2 workers);
//    - hand-run, 2 workers: the same gunicorn by hand (below), WEB_CONCURRENCY=2 (asgi: uvicorn by hand);
//    - built, this machine: exec.d seeing this machine's real limit or memory (its worker count is shown);
//    - hand-run, same workers as the previous column.
//    - baseline built, Small (with BASELINE): the same app built by the baseline buildpack, same fake cgroup.
//    Goal: built median 1.0 s or less; with BASELINE, no slower than the baseline (median of the per-run ratios).
// 2. Load: wrk (or autocannon) for ~10 s against the image's web process and against a hand-run gunicorn
//    (asgi: uvicorn): the same interpreter (the python layer), the same packages (PYTHONUSERBASE = the pip-deps
//    layer), the same config file (flask: the layer's fallback gunicorn.conf.py), the same workers, the same env as
//    the launcher gave the app, the same user, output to a file like the platform's capture. Both run
//    side by side for the whole phase (after a 2 s warm-up each) and the runs alternate (built, hand, hand,
//    built, ...), so each pair shares the machine's load of the moment. Goal: throughput ratio (built / hand,
//    the median of the per-round ratios) 0.95 or better, zero errors. Other work on the machine makes every
//    number noisy: the 1-minute load average is printed beside each run.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, type BuildResult, type LaunchedProcess } from '../test/platform/index.js';
import { E2E, REPO, smallMachine } from '../test/e2e/support.js';
import { baselinePlatform } from './baseline.js';

const N = Number(process.argv[2] ?? 7);
const ROUNDS = Number(process.argv[3] ?? 6);
const LOAD_WORKERS = Number(process.argv[4] ?? 2);
const LOAD_SECONDS = 10;
const CONNECTIONS = 16;
if (!Number.isInteger(N) || N < 5) throw new Error(`N must be an integer >= 5, got ${process.argv[2]}`);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`ROUNDS must be a positive integer, got ${process.argv[3]}`);
if (!Number.isInteger(LOAD_WORKERS) || LOAD_WORKERS < 1) throw new Error(`WORKERS must be a positive integer, got ${process.argv[4]}`);

/** The app under test and its hand-run baseline (argv for a port and a worker count, given the web process's argv). */
interface BenchApp {
  fixture: string;
  server: string;
  handArgv: (web: { argv: string[]; pipDepsBin: string }, port: number, workers: number) => string[];
}
const APPS: Record<string, BenchApp> = {
  // The web process's own argv: PORT and WEB_CONCURRENCY reach it through the env.
  flask: { fixture: 'flask-wsgi', server: 'gunicorn', handArgv: (web) => web.argv },
  asgi: {
    fixture: 'start-asgi-uvicorn',
    server: 'uvicorn',
    handArgv: (web, port, workers) => [path.join(web.pipDepsBin, 'uvicorn'), 'main:app', '--host', '0.0.0.0', '--port', String(port), '--workers', String(workers)],
  },
};
const APP_NAME = process.argv[5] ?? 'flask';
const APP: BenchApp = APPS[APP_NAME] ?? (() => {
  throw new Error(`APP must be one of ${Object.keys(APPS).join(', ')}, got ${APP_NAME}`);
})();

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const load1 = (): string => os.loadavg()[0]?.toFixed(1) ?? '?';
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
};

/** Polls `url` every 10 ms until it answers 200; returns the time since `t0` (performance.now()). */
async function firstOk(url: string, t0: number, isAlive: () => boolean, timeoutMs = 60_000): Promise<number> {
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.text();
      if (res.status === 200) return performance.now() - t0;
    } catch {
      // not listening yet
    }
    if (!isAlive()) throw new Error(`the app exited before answering ${url}`);
    if (performance.now() - t0 > timeoutMs) throw new Error(`no 200 from ${url} after ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** The web process by hand: argv and env as the launcher gave them, as the launch user, no launcher. */
class HandRun {
  private readonly child: ChildProcess;
  private exitCode: number | null | undefined;
  readonly exited: Promise<void>;
  constructor(argv: string[], env: Record<string, string>, cwd: string, logFile: string, uid: number, gid: number) {
    const fd = fs.openSync(logFile, 'a');
    const asUser = process.getuid?.() === 0 ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--'] : [];
    const [cmd, ...args] = [...asUser, ...argv];
    this.child = spawn(cmd as string, args, { cwd, env, stdio: ['ignore', fd, fd], detached: true });
    fs.closeSync(fd);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        this.exitCode = code;
        resolve();
      }),
    );
  }
  get alive(): boolean {
    return this.exitCode === undefined;
  }
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    await this.exited;
    clearTimeout(t);
  }
}

interface LoadResult {
  rps: number;
  requests: number;
  errors: number;
  non2xx: number;
  p99ms: number | undefined;
}

const WRK = spawnSync('sh', ['-c', 'command -v wrk'], { encoding: 'utf8' }).stdout.trim();
const AUTOCANNON = path.join(REPO, 'node_modules', '.bin', 'autocannon');
const LOAD_TOOL = WRK ? 'wrk' : 'autocannon';

function runLoad(url: string, seconds: number): LoadResult {
  if (WRK) {
    const r = spawnSync(WRK, ['-t2', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url], { encoding: 'utf8' });
    const out = r.stdout;
    const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? 0);
    const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
    const errors = socket ? socket.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
    const p99 = /99%\s+([\d.]+)(us|ms|s)/.exec(out);
    const p99ms = p99 ? Number(p99[1]) * (p99[2] === 'us' ? 0.001 : p99[2] === 's' ? 1000 : 1) : undefined;
    if (r.status !== 0 || !/Requests\/sec/.test(out)) throw new Error(`wrk failed (${r.status}): ${out}${r.stderr}`);
    return { rps: num(/Requests\/sec:\s+([\d.]+)/), requests: num(/(\d+) requests in/), errors, non2xx: num(/Non-2xx or 3xx responses: (\d+)/), p99ms };
  }
  const r = spawnSync(AUTOCANNON, ['-j', '-c', String(CONNECTIONS), '-d', String(seconds), url], { encoding: 'utf8' });
  const j = JSON.parse(r.stdout) as { requests: { average: number; total: number }; errors: number; timeouts: number; non2xx: number; latency: { p99: number } };
  return { rps: j.requests.average, requests: j.requests.total, errors: j.errors + j.timeouts, non2xx: j.non2xx, p99ms: j.latency.p99 };
}

async function main(): Promise<void> {
  const e2e = await E2E.start();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-launch-'));
  const small = smallMachine(path.join(tmp, 'small'));
  const baseline = await baselinePlatform();
  try {
    console.log(`Building test/fixtures/${APP.fixture} through the local platform (Python 3.11, local wheelhouse)...`);
    const res: BuildResult = await e2e.platform.buildOk(await e2e.app(APP.fixture), { platformEnv: await e2e.env() });
    await res.app.materialize();
    const baseRes = baseline ? await baseline.platform.buildOk(await baseline.platform.app((await e2e.app(APP.fixture)).sourceDir), { platformEnv: await e2e.env() }) : undefined;
    if (baseRes) {
      await baseRes.app.materialize();
      console.log(`baseline: ${baseline?.describe}`);
    }
    const { launchUser } = e2e.platform;

    // The env and argv the launcher gives the web process (and this machine's worker count from exec.d).
    const probePort = await freePort();
    const probe = await e2e.platform.launch(res, { env: { PORT: String(probePort) } });
    await firstOk(`http://127.0.0.1:${probePort}/`, performance.now(), () => probe.running);
    const machineWorkers = Number(await (await fetch(`http://127.0.0.1:${probePort}/env/WEB_CONCURRENCY`)).text());
    const launchEnv = { ...probe.details.env } as Record<string, string>;
    const web = res.processes.find((p) => p.type === 'web');
    if (!web) throw new Error('no web process');
    const argv = [...web.command, ...web.args];
    const pipDepsBin = path.join(res.app.layersDir, 'ausnimbus_python', 'pip-deps', 'bin');
    const cwd = probe.details.cwd;
    await probe.stop('SIGTERM', 30_000);
    delete launchEnv.WEB_CONCURRENCY;
    console.log(`web: ${argv.join(' ')}\nexec.d on this machine: WEB_CONCURRENCY=${machineWorkers}; ${os.cpus().length} CPUs; load tool: ${LOAD_TOOL}\n`);

    const handEnv = (port: number, workers: number): Record<string, string> => ({ ...launchEnv, PORT: String(port), WEB_CONCURRENCY: String(workers) });

    async function startBuilt(env: Record<string, string>, which: 'ours' | 'baseline' = 'ours'): Promise<{ ms: number; stop: () => Promise<void>; port: number; proc: LaunchedProcess }> {
      const port = await freePort();
      const t0 = performance.now();
      const proc = which === 'baseline' && baseline && baseRes
        ? await baseline.platform.launch(baseRes, { env: { PORT: String(port), ...env } })
        : await e2e.platform.launch(res, { env: { PORT: String(port), ...env } });
      const ms = await firstOk(`http://127.0.0.1:${port}/`, t0, () => proc.running);
      return { ms, port, proc, stop: async () => void (await proc.stop('SIGTERM', 30_000)) };
    }
    async function startHand(workers: number): Promise<{ ms: number; stop: () => Promise<void>; port: number }> {
      const port = await freePort();
      const t0 = performance.now();
      const h = new HandRun(APP.handArgv({ argv, pipDepsBin }, port, workers), handEnv(port, workers), cwd, path.join(tmp, 'hand.log'), launchUser.uid, launchUser.gid);
      const ms = await firstOk(`http://127.0.0.1:${port}/`, t0, () => h.alive);
      return { ms, port, stop: () => h.stop() };
    }

    // ---- 1. start-up -------------------------------------------------------------------------------------
    const columns: Array<{ name: string; workers: number; start: () => Promise<{ ms: number; stop: () => Promise<void> }> }> = [
      { name: 'built, Small (512 MiB)', workers: 2, start: () => startBuilt(small) },
      // Beside it, so that each run's pair shares the machine's load of the moment.
      ...(baseRes ? [{ name: 'baseline built, Small', workers: 2, start: () => startBuilt(small, 'baseline') }] : []),
      { name: `hand-run ${APP.server}`, workers: 2, start: () => startHand(2) },
      { name: 'built, this machine', workers: machineWorkers, start: () => startBuilt({}) },
      { name: `hand-run ${APP.server}`, workers: machineWorkers, start: () => startHand(machineWorkers) },
    ];
    const samples = columns.map(() => [] as number[]);
    const loads = columns.map(() => [] as number[]);
    for (let i = 0; i < N; i++) {
      const order = i % 2 === 0 ? columns.map((_, k) => k) : columns.map((_, k) => columns.length - 1 - k);
      for (const k of order) {
        const col = columns[k];
        if (!col) continue;
        loads[k]?.push(os.loadavg()[0] ?? 0);
        const run = await col.start();
        samples[k]?.push(run.ms);
        await run.stop();
        await sleep(300);
      }
    }
    console.log(`Start-up: launch to first HTTP 200 on /, ${N} runs per column, alternating`);
    console.log(`${'column'.padEnd(26)}${'workers'.padStart(8)}${'median ms'.padStart(11)}${'min ms'.padStart(9)}${'p90 ms'.padStart(9)}${'load1'.padStart(8)}`);
    columns.forEach((c, k) => {
      const s = samples[k] ?? [];
      console.log(`${c.name.padEnd(26)}${String(c.workers).padStart(8)}${median(s).toFixed(0).padStart(11)}${Math.min(...s).toFixed(0).padStart(9)}${quantile(s, 0.9).toFixed(0).padStart(9)}${median(loads[k] ?? []).toFixed(1).padStart(8)}`);
    });
    for (const k of [0, columns.findIndex((c) => c.name === 'built, this machine')]) {
      const m = median(samples[k] ?? []);
      console.log(`goal (${columns[k]?.name}): median ${m.toFixed(0)} ms ${m <= 1000 ? '<=' : '>'} 1000 ms: ${m <= 1000 ? 'met' : 'NOT met'}`);
    }
    if (baseRes) {
      const ours = samples[0] ?? [];
      const theirs = samples[1] ?? [];
      const paired = median(ours.map((v, i) => v / (theirs[i] as number)));
      console.log(`built, Small / baseline built, Small: median of per-run ratios ${paired.toFixed(2)}x (goal <= 1.00x: no slower than the baseline)`);
    }

    // ---- 2. load -----------------------------------------------------------------------------------------
    // Both servers stay up for the whole phase; runs alternate between them (built, hand, hand, built, ...), so
    // each pair of runs is close in time and shares the machine's load of the moment.
    console.log(`\nLoad: ${LOAD_TOOL}, ${CONNECTIONS} connections, ${LOAD_SECONDS} s per run, ${LOAD_WORKERS} workers on both sides, on GET /; both servers up, runs alternating`);
    const servers = { built: await startBuilt({ WEB_CONCURRENCY: String(LOAD_WORKERS) }), hand: await startHand(LOAD_WORKERS) };
    try {
      for (const side of ['built', 'hand'] as const) runLoad(`http://127.0.0.1:${servers[side].port}/`, 2); // warm-up
      console.log(`${'run'.padStart(4)}  ${'side'.padEnd(10)}${'req/s'.padStart(10)}${'requests'.padStart(10)}${'errors'.padStart(8)}${'non-2xx'.padStart(9)}${'p99 ms'.padStart(9)}${'load1'.padStart(8)}`);
      const rps = { built: [] as number[], hand: [] as number[] };
      const pairRatios: number[] = [];
      let errors = 0;
      let run = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const sides: Array<'built' | 'hand'> = r % 2 === 0 ? ['built', 'hand'] : ['hand', 'built'];
        for (const side of sides) {
          const before = load1();
          const result = runLoad(`http://127.0.0.1:${servers[side].port}/`, LOAD_SECONDS);
          rps[side].push(result.rps);
          errors += result.errors + result.non2xx;
          console.log(
            `${String(++run).padStart(4)}  ${side.padEnd(10)}${result.rps.toFixed(0).padStart(10)}${String(result.requests).padStart(10)}${String(result.errors).padStart(8)}` +
              `${String(result.non2xx).padStart(9)}${(result.p99ms?.toFixed(1) ?? '-').padStart(9)}${before.padStart(8)}`,
          );
        }
        pairRatios.push((rps.built[r] as number) / (rps.hand[r] as number));
      }
      // The verdict uses the paired ratios (each round's built / hand, run back to back): the machine's load
      // drifts over the phase, which moves both medians but cancels within a pair.
      const ratio = median(pairRatios);
      console.log(
        `median req/s: built ${median(rps.built).toFixed(0)}, hand-run ${median(rps.hand).toFixed(0)} (ratio of medians ${(median(rps.built) / median(rps.hand)).toFixed(3)}); ` +
          `paired ratios ${pairRatios.map((r) => r.toFixed(2)).join(' ')}, median ${ratio.toFixed(3)} (goal >= 0.95: ${ratio >= 0.95 ? 'met' : 'NOT met'}); ` +
          `errors ${errors} (goal 0: ${errors === 0 ? 'met' : 'NOT met'})`,
      );
    } finally {
      await servers.built.stop();
      await servers.hand.stop();
    }
  } finally {
    await baseline?.cleanup();
    await e2e.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
