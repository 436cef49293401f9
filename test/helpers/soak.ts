/**
 * A bounded soak of a launched web app on loopback, shared by bench/soak.ts (60 s) and test/e2e/soak.test.ts
 * (~15 s): closed-loop HTTP clients hit the app for the duration; part-way, one Gunicorn worker (a child of the
 * app's master, which runs as PID 1 of its own PID namespace) is SIGKILLed; at the end the app gets SIGTERM.
 *
 * Why not wrk or autocannon: the verdict needs each request's own start and end times, to tell the failures a
 * client may retry (those that end within `retryWindowMs` of the kill: the request the dying worker was
 * serving) from any other. Each client here is a loop of HTTP/1.1 GETs over its own keep-alive agent (Gunicorn's
 * sync workers close every connection, so each request is a new TCP connection, as from most load balancers).
 *
 * The rules:
 *  - a request fails on a socket error, a timeout (`requestTimeoutMs`) or a status other than 2xx;
 *  - a failure of a request in flight at the kill, or of one that ends within [kill, kill + retryWindowMs], is
 *    retried once, at once, as a client would; the retry must succeed;
 *  - every other failure counts as an error: there must be none;
 *  - the measured period starts once the master runs all `workers`; the killed worker must be replaced by a new
 *    pid, with all `workers` running again, within `replaceWithinMs`;
 *  - memory: the resident set (VmRSS) of the master and its workers, summed, at the start (after warm-up) and at
 *    the end; `rssGrowth` is end / start;
 *  - SIGTERM at the end must stop the app with exit code 0 within 10 s.
 */
import http from 'node:http';
import type { LaunchedProcess } from '../platform/index.js';
import { childrenOf, rssKb } from './procfs.js';

export interface SoakOptions {
  url: string;
  /**
   * The workers the master is configured to run (WEB_CONCURRENCY). Gunicorn forks them one after another, and the
   * first may answer before the last is forked on a loaded machine: the soak waits for all of them first.
   */
  workers: number;
  durationMs: number;
  /** When the worker is killed, after the start of the measured period. */
  killAtMs: number;
  connections: number;
  warmupMs: number;
  retryWindowMs: number;
  requestTimeoutMs: number;
  replaceWithinMs: number;
  /** Progress lines (RSS samples, the kill); default none. */
  log?: (line: string) => void;
}

export const SOAK_DEFAULTS: Omit<SoakOptions, 'url' | 'workers' | 'durationMs' | 'killAtMs'> = {
  connections: 8,
  warmupMs: 2000,
  retryWindowMs: 1000,
  requestTimeoutMs: 10_000,
  replaceWithinMs: 10_000,
};

interface Sample {
  /** ms since the start of the measured period */
  start: number;
  end: number;
  ok: boolean;
  status?: number;
  error?: string;
  retry?: boolean;
}

export interface SoakResult {
  requests: number;
  ok: number;
  /** Failures outside the retry window, and retries that failed: must be 0. */
  errors: number;
  errorDetails: string[];
  /** Failures inside the retry window, each retried once. */
  retried: number;
  retriedOk: number;
  rps: number;
  latencyMs: { p50: number; p99: number; max: number };
  killedPid: number;
  killAtMs: number;
  workersBefore: number[];
  workersAfter: number[];
  /** ms from the kill until the master had a new worker and the old count again (-1: not within replaceWithinMs). */
  replacedAfterMs: number;
  rssKb: { start: number; end: number; samples: Array<{ atMs: number; kb: number }> };
  rssGrowth: number;
  stop: { code: number | null; signal: string | null; stopMs: number; forced: boolean };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const treeRss = (master: number): number => [master, ...childrenOf(master)].reduce((sum, p) => sum + rssKb(p), 0);

/** The master's workers once it runs `count` of them; throws when it does not within `withinMs`. */
async function allWorkers(master: number, count: number, withinMs: number): Promise<number[]> {
  const deadline = performance.now() + withinMs;
  for (;;) {
    const workers = childrenOf(master);
    if (workers.length === count) return workers;
    if (performance.now() > deadline) {
      throw new Error(`the app (pid ${master}) runs ${workers.length} worker processes after ${withinMs} ms, not the ${count} configured`);
    }
    await sleep(50);
  }
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

function get(url: string, agent: http.Agent, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** Runs the soak against `proc` (already answering on `o.url`), then stops it with SIGTERM. */
export async function soak(proc: LaunchedProcess, o: SoakOptions): Promise<SoakResult> {
  const master = proc.pid;
  const log = o.log ?? (() => undefined);
  const workersBefore = await allWorkers(master, o.workers, o.replaceWithinMs);

  let t0 = performance.now();
  let measuring = false;
  let killAt = Number.POSITIVE_INFINITY;
  let stopAt = Number.POSITIVE_INFINITY;
  const samples: Sample[] = [];
  const now = (): number => performance.now() - t0;
  // A request in flight at the kill may be the dying worker's, however late its failure is seen (a loaded
  // machine can delay this process's event loop past the window); any other must end within the window.
  const inWindow = (s: Sample): boolean => s.end >= killAt && (s.start <= killAt || s.end <= killAt + o.retryWindowMs);

  const client = async (): Promise<void> => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      while (now() < stopAt) {
        const s: Sample = { start: now(), end: 0, ok: false };
        try {
          s.status = await get(o.url, agent, o.requestTimeoutMs);
          s.ok = s.status >= 200 && s.status < 300;
        } catch (err) {
          s.error = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        }
        s.end = now();
        if (!measuring) continue;
        samples.push(s);
        if (!s.ok && inWindow(s)) {
          const r: Sample = { start: now(), end: 0, ok: false, retry: true };
          try {
            r.status = await get(o.url, agent, o.requestTimeoutMs);
            r.ok = r.status >= 200 && r.status < 300;
          } catch (err) {
            r.error = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
          }
          r.end = now();
          samples.push(r);
        }
      }
    } finally {
      agent.destroy();
    }
  };

  const clients = Array.from({ length: o.connections }, () => client());
  await sleep(o.warmupMs);
  // the measured period starts now
  t0 = performance.now();
  measuring = true;
  stopAt = o.durationMs;
  const rssStart = treeRss(master);
  const rssSamples = [{ atMs: 0, kb: rssStart }];
  log(`soak: ${o.connections} connections for ${o.durationMs / 1000} s; workers ${workersBefore.join(', ')}; RSS ${rssStart} kB`);

  let killedPid = 0;
  let replacedAfterMs = -1;
  let workersAfter: number[] = [];
  const sampler = (async () => {
    let next = 5000;
    while (now() < o.durationMs) {
      await sleep(250);
      if (now() >= next) {
        const kb = treeRss(master);
        rssSamples.push({ atMs: Math.round(now()), kb });
        log(`soak: ${Math.round(now() / 1000)} s, ${samples.length} requests, RSS ${kb} kB`);
        next += 5000;
      }
    }
  })();
  const killer = (async () => {
    await sleep(o.killAtMs);
    const victims = childrenOf(master);
    killedPid = victims[0] ?? 0;
    killAt = now();
    process.kill(killedPid, 'SIGKILL');
    log(`soak: SIGKILL worker ${killedPid} at ${Math.round(killAt)} ms`);
    const deadline = performance.now() + o.replaceWithinMs;
    while (performance.now() < deadline) {
      const current = childrenOf(master);
      if (current.length >= o.workers && !current.includes(killedPid) && current.some((p) => !victims.includes(p))) {
        replacedAfterMs = Math.round(now() - killAt);
        workersAfter = current;
        log(`soak: worker replaced after ${replacedAfterMs} ms: ${current.join(', ')}`);
        break;
      }
      await sleep(20);
    }
  })();
  await Promise.all([...clients, sampler, killer]);
  const elapsed = now();
  const rssEnd = treeRss(master);
  rssSamples.push({ atMs: Math.round(elapsed), kb: rssEnd });
  if (workersAfter.length === 0) workersAfter = childrenOf(master);
  const stop = await proc.stop('SIGTERM', 10_000);

  const firsts = samples.filter((s) => !s.retry);
  const retries = samples.filter((s) => s.retry);
  const errorSamples = [...firsts.filter((s) => !s.ok && !inWindow(s)), ...retries.filter((s) => !s.ok)];
  const latencies = samples.filter((s) => s.ok).map((s) => s.end - s.start).sort((a, b) => a - b);
  return {
    requests: samples.length,
    ok: samples.filter((s) => s.ok).length,
    errors: errorSamples.length,
    errorDetails: errorSamples.slice(0, 10).map((s) => `${Math.round(s.end)} ms: ${s.error ?? `HTTP ${s.status}`}${s.retry ? ' (retry)' : ''}`),
    retried: retries.length,
    retriedOk: retries.filter((s) => s.ok).length,
    rps: Math.round(samples.length / (elapsed / 1000)),
    latencyMs: { p50: round1(quantile(latencies, 0.5)), p99: round1(quantile(latencies, 0.99)), max: round1(latencies[latencies.length - 1] ?? Number.NaN) },
    killedPid,
    killAtMs: Math.round(killAt),
    workersBefore,
    workersAfter,
    replacedAfterMs,
    rssKb: { start: rssStart, end: rssEnd, samples: rssSamples },
    rssGrowth: Math.round((rssEnd / rssStart) * 100) / 100,
    stop: { code: stop.code, signal: stop.signal, stopMs: stop.stopMs, forced: stop.forced },
  };
}

const round1 = (x: number): number => Math.round(x * 10) / 10;

/** The figures as a few lines of text. */
export function formatSoak(r: SoakResult): string {
  return [
    `requests ${r.requests} (${r.rps}/s), errors ${r.errors}, retried in the window ${r.retried} (${r.retriedOk} succeeded)`,
    `latency p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, max ${r.latencyMs.max} ms`,
    `worker ${r.killedPid} SIGKILLed at ${r.killAtMs} ms, replaced after ${r.replacedAfterMs} ms; workers ${r.workersBefore.join(',')} -> ${r.workersAfter.join(',')}`,
    `RSS (master + workers) ${r.rssKb.start} kB -> ${r.rssKb.end} kB (x${r.rssGrowth}); samples ${r.rssKb.samples.map((s) => `${Math.round(s.atMs / 1000)}s:${s.kb}`).join(' ')}`,
    `SIGTERM: exit code ${r.stop.code}${r.stop.signal ? ` signal ${r.stop.signal}` : ''} after ${r.stop.stopMs} ms${r.stop.forced ? ' (forced)' : ''}`,
    ...(r.errorDetails.length > 0 ? [`errors: ${r.errorDetails.join('; ')}`] : []),
  ].join('\n');
}
