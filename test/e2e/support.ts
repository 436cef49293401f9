/**
 * Shared set-up for end-to-end tests: the staged buildpack in a LocalPlatform, Python archives packed from
 * pyenv and served with a manifest from a loopback server, and the machine's wheelhouse served as a PEP 503
 * index. Builds use only these (no internet): the code paths are the real ones (HTTP download, pip index).
 */
import fs from 'node:fs';
import { expect } from 'chai';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalPlatform, freePort, type AppFiles, type AppSession, type BuildResult, type LaunchedProcess } from '../platform/index.js';
import { packPythonArchive, type PythonArchive } from '../helpers/python-dist.js';
import { FileServer, PackageIndexServer, hostArch } from '../helpers/servers.js';
import { stageBuildpack } from '../../scripts/buildpack-files.js';
import { HOSTILE, HOSTILE_USER_ENV, hostileBuildEnv } from './hostile-env.js';
import { catchesSigchld, childrenOf, procStrings } from '../helpers/procfs.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = path.join(REPO, 'test', 'fixtures');
export const WHEELHOUSE = '/opt/pypi';
/** The wheelhouse's compiled wheels (markupsafe) are built for CPython 3.11: Flask and Django apps use it. */
export const WHEELHOUSE_PYTHON = '3.11';

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

export function requireWheelhouse(): void {
  if (!fs.existsSync(path.join(WHEELHOUSE, 'simple', 'flask', 'index.html'))) {
    throw new Error(`The local wheelhouse is missing: ${WHEELHOUSE}/simple/flask not found. These tests serve Flask, Django and gunicorn from it (see 'pip config list').`);
  }
}

/**
 * The loopback servers every e2e build takes its inputs from, whatever runs the build (the local platform,
 * or the real lifecycle in real-lifecycle.test.ts): Python archives packed from pyenv with a manifest, and
 * the machine's wheelhouse as a package index.
 */
export class BuildSources {
  private archives = new Map<string, PythonArchive>();

  private constructor(
    readonly dists: FileServer,
    readonly index: PackageIndexServer,
  ) {}

  static async start(opts: { indexAuth?: { username: string; password: string } } = {}): Promise<BuildSources> {
    requireWheelhouse();
    const dists = await FileServer.start({ files: {} });
    const index = await PackageIndexServer.start({ root: WHEELHOUSE, auth: opts.indexAuth });
    return new BuildSources(dists, index);
  }

  /** Packs (cached) and serves the pyenv Python matching `spec`, e.g. '3.11' or '2.7'. */
  async python(spec: string): Promise<PythonArchive> {
    const cached = this.archives.get(spec);
    if (cached) return cached;
    const archive = await packPythonArchive(spec);
    this.dists.addFile(`/python/${archive.filename}`, archive.path);
    this.archives.set(spec, archive);
    return archive;
  }

  /** Serves a manifest listing the given pyenv Pythons; returns its URL (for BP_PYTHON_DISTRIBUTIONS). */
  async manifest(specs: string[], name = 'distributions.json'): Promise<string> {
    const entries = [];
    for (const s of specs) {
      const a = await this.python(s);
      entries.push({ version: a.version, uri: this.dists.url(`/python/${a.filename}`), sha256: a.sha256, arch: hostArch() });
    }
    this.dists.addFile(`/${name}`, Buffer.from(JSON.stringify({ distributions: entries })));
    return this.dists.url(`/${name}`);
  }

  /**
   * The platform env of a typical test build: Python `spec` from our manifest, packages from our index
   * (pip's global configuration on this machine switched off).
   */
  async env(spec = WHEELHOUSE_PYTHON, extra: Record<string, string> = {}): Promise<Record<string, string>> {
    const a = await this.python(spec);
    return {
      ...(HOSTILE ? HOSTILE_USER_ENV : {}),
      BP_PYTHON_DISTRIBUTIONS: await this.manifest([spec]),
      BP_PYTHON_VERSION: a.version,
      PIP_INDEX_URL: this.index.indexUrl(),
      PIP_CONFIG_FILE: '/dev/null',
      ...extra,
    };
  }

  async close(): Promise<void> {
    await this.dists.close();
    await this.index.close();
  }
}

/** The buildpack as packaged (buildpack.toml, bin/, layers/), staged from this repository into a fresh temp dir. */
export function stagedBuildpack(): string {
  return stageBuildpack(REPO, fs.mkdtempSync(path.join(os.tmpdir(), 'bp-staged-')));
}

let processStaged: string | undefined;

/**
 * One staged buildpack for every E2E of this process (a mocha worker runs several test files), which installs
 * it into its own platform: staging copies the 108 MB executable. Removed when the process exits.
 */
function sharedStagedBuildpack(): string {
  if (processStaged === undefined) {
    const dir = stagedBuildpack();
    processStaged = dir;
    process.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return processStaged;
}

/**
 * A fake 512 MiB cgroup v2 container for the exec.d program (its test-only AUSNIMBUS_* paths), in `dir`:
 * exec.d gives it 2 workers, where this machine's own memory gives 10 on its 2 CPUs.
 */
export function smallMachine(dir: string): Record<string, string> {
  fs.mkdirSync(path.join(dir, 'cg', 'app'), { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'cg', 'app', 'memory.max'), `${512 * 1024 * 1024}\n`, { mode: 0o644 });
  fs.writeFileSync(path.join(dir, 'self-cgroup'), '0::/app\n', { mode: 0o644 });
  fs.writeFileSync(path.join(dir, 'meminfo'), 'MemTotal: 16777216 kB\n', { mode: 0o644 });
  fs.chmodSync(dir, 0o755);
  return { AUSNIMBUS_CGROUP_ROOT: path.join(dir, 'cg'), AUSNIMBUS_PROC_CGROUP: path.join(dir, 'self-cgroup'), AUSNIMBUS_MEMINFO: path.join(dir, 'meminfo') };
}

export class E2E {
  private constructor(
    readonly platform: LocalPlatform,
    readonly sources: BuildSources,
    private readonly smallDir: string,
  ) {}

  /**
   * Every app launches into a small (512 MiB) container unless a launch's env says otherwise (smallMachine: 2
   * workers): the e2e run is CPU-bound, and the 10 workers this 2-CPU machine's memory gives each server took a
   * share of both CPUs at every start for nothing a test checks.
   */
  static async start(opts: { indexAuth?: { username: string; password: string } } = {}): Promise<E2E> {
    const sources = await BuildSources.start(opts);
    // HOSTILE=1: every build on a hostile build host (see hostile-env.ts)
    const smallDir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-small-'));
    const platform = await LocalPlatform.create({
      buildpackDir: sharedStagedBuildpack(),
      launchEnv: smallMachine(smallDir),
      ...(HOSTILE ? { baseEnv: hostileBuildEnv() } : {}),
    });
    return new E2E(platform, sources, smallDir);
  }

  get dists(): FileServer {
    return this.sources.dists;
  }

  get index(): PackageIndexServer {
    return this.sources.index;
  }

  /** See BuildSources.python. */
  python(spec: string): Promise<PythonArchive> {
    return this.sources.python(spec);
  }

  /** See BuildSources.manifest. */
  manifest(specs: string[], name?: string): Promise<string> {
    return this.sources.manifest(specs, name);
  }

  /** See BuildSources.env. */
  env(spec?: string, extra?: Record<string, string>): Promise<Record<string, string>> {
    return this.sources.env(spec, extra);
  }

  async app(source: string | AppFiles): Promise<AppSession> {
    return this.platform.app(typeof source === 'string' && !source.includes('/') ? fixture(source) : source);
  }

  /** Launches the default process on a free port and waits for an HTTP answer. */
  async serve(res: BuildResult, opts: { env?: Record<string, string>; path?: string; processType?: string } = {}): Promise<{ proc: LaunchedProcess; port: number; status: number; body: string; elapsedMs: number }> {
    const port = Number(opts.env?.PORT ?? (await freePort()));
    const proc = await this.platform.launch(res, { processType: opts.processType, env: { PORT: String(port), ...opts.env } });
    try {
      const http = await proc.waitForHttp(`http://127.0.0.1:${port}${opts.path ?? '/'}`, { timeoutMs: 30_000 });
      return { proc, port, status: http.status, body: http.body, elapsedMs: http.elapsedMs };
    } catch (err) {
      await proc.stop('SIGKILL').catch(() => undefined);
      throw new Error(`no HTTP answer: ${(err as Error).message}\n--- app output ---\n${proc.output()}`);
    }
  }

  async stop(): Promise<void> {
    await this.platform.cleanup();
    await this.sources.close();
    fs.rmSync(this.smallDir, { recursive: true, force: true });
  }
}

/**
 * The E2E of a test file, for files that need nothing else set up: started in mocha's before() and stopped in its
 * after(), both registered by this call (put it at the top of the file's describe). The returned object stands for
 * that E2E (it forwards to it), so tests write `e2e.platform`, `e2e.env()` and pass `e2e` on as usual; using it
 * before before() ran throws.
 */
export function e2eForFile(opts?: Parameters<typeof E2E.start>[0]): E2E {
  let current: E2E | undefined;
  before(async () => {
    current = await E2E.start(opts);
  });
  after(async () => {
    await current?.stop();
  });
  return new Proxy({} as E2E, {
    get(_, prop) {
      if (!current) throw new Error(`e2e.${String(prop)} used before the file's before() started it`);
      const value = Reflect.get(current, prop, current) as unknown;
      return typeof value === 'function' ? value.bind(current) : value;
    },
  });
}

/** The build log without colours and timings, for whole-block assertions. */
export function plainLog(output: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips ANSI colour codes, which start with the ESC control character
  return output.replace(/\x1b\[[0-9;]*m/g, '').replace(/\((finished in )?(< )?\d+(\.\d+)?s\)/g, '(<time>)');
}

/**
 * Waits until gunicorn has started its workers: no new "Booting worker" line for a second, then as many workers
 * as the buildpack's fallback config gives (when it runs), each with its own signal handlers installed. gunicorn
 * 26 has a start-up race: a worker forked just before SIGTERM keeps the arbiter's handler and lives until
 * graceful_timeout (see catchesSigchld), so tests that check a clean stop wait for the boot to settle first. The
 * quiet second alone is not enough on a loaded machine, where the master can wait that long between two forks.
 */
export async function workersSettled(p: LaunchedProcess, timeoutMs = 60_000): Promise<void> {
  const booted = (): number => (p.output().match(/Booting worker with pid/g) ?? []).length;
  const deadline = Date.now() + timeoutMs;
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  let seen = -1;
  let since = Date.now();
  for (;;) {
    const n = booted();
    if (n !== seen) [seen, since] = [n, Date.now()];
    else if (Date.now() - since >= 1000) break;
    if (Date.now() > deadline) throw new Error(`gunicorn workers still booting after ${timeoutMs} ms\n${p.output()}`);
    await sleep(100);
  }
  for (;;) {
    // the master: the launched process, or the first gunicorn below it (a start script that does not exec)
    const master = gunicornMaster(p.pid);
    if (master === undefined) throw new Error(`no gunicorn process under pid ${p.pid} (it has exited?)\n${p.output()}`);
    const expected = fallbackConfigWorkers(master) ?? 0;
    const workers = childrenOf(master);
    const starting = workers.filter(catchesSigchld);
    if (workers.length >= expected && starting.length === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`gunicorn runs ${workers.length} of ${expected || 'its'} workers after ${timeoutMs} ms, ${starting.length} without their own signal handlers\n${p.output()}`);
    }
    await sleep(50);
  }
}

/** `pid` if its command line runs gunicorn, else the first such process below it (breadth first); undefined when none. */
function gunicornMaster(pid: number): number | undefined {
  const queue = [pid];
  for (let seen = 0; queue.length > 0 && seen < 50; seen++) {
    const p = queue.shift() as number;
    // `…/bin/gunicorn …`, `python -m gunicorn …`, or the title setproctitle gives the master
    if (procStrings(p, 'cmdline').some((a) => /(^|\/)gunicorn$|^gunicorn: master/.test(a))) return p;
    queue.push(...childrenOf(p));
  }
  return undefined;
}

/**
 * The workers gunicorn runs under the buildpack's fallback config (layers/gunicorn.conf.py): WEB_CONCURRENCY as
 * the master got it (exec.d sets it), 2 when unset; undefined under an app's own config, a worker count in
 * GUNICORN_CMD_ARGS, or a value the config would refuse.
 */
function fallbackConfigWorkers(pid: number): number | undefined {
  if (!procStrings(pid, 'cmdline').some((a) => a.endsWith('/gunicorn-config/gunicorn.conf.py'))) return undefined;
  const env = new Map(procStrings(pid, 'environ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  if (/(^|\s)(-w|--workers)/.test(env.get('GUNICORN_CMD_ARGS') ?? '')) return undefined;
  const raw = (env.get('WEB_CONCURRENCY') ?? '').trim();
  if (raw === '') return 2;
  return /^[1-9]\d{0,2}$/.test(raw) ? Number(raw) : undefined;
}

/**
 * Stops `p` with SIGTERM and checks it was clean: no SIGKILL needed, well within 10 s. Under gunicorn it first
 * waits for the workers to boot (workersSettled: a start-up race in gunicorn, not an app failing to stop).
 */
export async function stopsCleanly(p: LaunchedProcess): Promise<void> {
  if (p.output().includes('Booting worker')) await workersSettled(p);
  const stop = await p.stop('SIGTERM', 10_000);
  expect(stop.forced, `needed SIGKILL after 10 s\n${p.output()}`).to.equal(false);
  expect(stop.stopMs).to.be.below(10_000);
}

/**
 * Runs python in the built image (its `python` process, as the launch user): `python -c <code>` for a string,
 * `python <args>` for a list. Exit code and output.
 */
export async function pythonInImage(e2e: E2E, res: BuildResult, code: string | string[], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  const proc = await e2e.platform.launch(res, { processType: 'python', args: typeof code === 'string' ? ['-c', code] : code, env });
  const exit = await proc.waitForExit(60_000);
  return { code: exit.code, output: proc.output() };
}

/** Every regular file under `dir`, absolute paths. */
export function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop() as string;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) stack.push(p);
      else if (e.isFile()) out.push(p);
    }
  }
  return out;
}

/** Files under `dirs` whose bytes (or path) contain `needle`. */
export function filesContaining(dirs: string[], needle: string): string[] {
  const bytes = Buffer.from(needle);
  return dirs.filter((d) => fs.existsSync(d)).flatMap(filesUnder).filter((f) => f.includes(needle) || fs.readFileSync(f).includes(bytes));
}

/** The pip-deps step's line when requirement files, Python and pip settings are unchanged: pip does not run (a lock's is in lock-support.ts). */
export const REQUIREMENTS_UNCHANGED = 'Using cached dependencies: requirements, Python and pip settings are unchanged (pip was not run)';
