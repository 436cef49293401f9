// Soak of the built Flask app (issue 8, item 5). Run: npx tsx bench/soak.ts [SECONDS] [CONNECTIONS] [WORKERS]
//   SECONDS      measured period (default 60), after a 2 s warm-up
//   CONNECTIONS  closed-loop clients (default 8)
//   WORKERS      WEB_CONCURRENCY (default 2: the Small size)
// Needs `npm run build` (the platform runs the compiled bin/build) and the local wheelhouse.
//
// test/fixtures/flask-wsgi is built through the local platform (Python 3.11 from the loopback manifest) and its
// web process launched as the image would run it: the fallback gunicorn.conf.py, access log on stdout, the app
// as PID 1 of its own PID namespace, as the launch user. A third of the way in, one worker is SIGKILLed. The
// rules (retry window, errors, worker replacement, RSS, SIGTERM) are in test/helpers/soak.ts; the verdict
// line says whether they held. The one-minute load average is printed: other work on the machine shows in
// the latencies. test/e2e/soak.test.ts runs the same for 15 s.
import os from 'node:os';
import { freePort } from '../test/platform/index.js';
import { E2E } from '../test/e2e/support.js';
import { SOAK_DEFAULTS, formatSoak, soak } from '../test/helpers/soak.js';

const SECONDS = Number(process.argv[2] ?? 60);
const CONNECTIONS = Number(process.argv[3] ?? 8);
const WORKERS = Number(process.argv[4] ?? 2);
for (const [name, v] of [['SECONDS', SECONDS], ['CONNECTIONS', CONNECTIONS], ['WORKERS', WORKERS]] as const) {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name} must be a positive integer, got ${v}`);
}

const e2e = await E2E.start();
try {
  const res = await e2e.platform.buildOk(await e2e.app('flask-wsgi'), { platformEnv: await e2e.env('3.11') });
  const port = await freePort();
  const proc = await e2e.platform.launch(res, { env: { PORT: String(port), WEB_CONCURRENCY: String(WORKERS) } });
  const url = `http://127.0.0.1:${port}/`;
  await proc.waitForHttp(url, { timeoutMs: 30_000 });
  const load = (): string => os.loadavg().map((l) => l.toFixed(1)).join(' ');
  console.log(`load average before: ${load()}`);
  const r = await soak(proc, {
    ...SOAK_DEFAULTS,
    url,
    workers: WORKERS,
    connections: CONNECTIONS,
    durationMs: SECONDS * 1000,
    killAtMs: Math.round((SECONDS * 1000) / 3),
    log: (l) => console.log(l),
  });
  console.log(`load average after: ${load()}`);
  console.log(formatSoak(r));
  const held =
    r.errors === 0 && r.retried === r.retriedOk && r.replacedAfterMs >= 0 && r.workersAfter.length === WORKERS &&
    r.rssGrowth < 1.3 && r.stop.code === 0 && !r.stop.forced && r.stop.stopMs < 10_000;
  console.log(`verdict: ${held ? 'PASS' : 'FAIL'}`);
  console.log(JSON.stringify({ seconds: SECONDS, connections: CONNECTIONS, workers: WORKERS, ...r }));
  process.exitCode = held ? 0 : 1;
} finally {
  await e2e.stop();
}
