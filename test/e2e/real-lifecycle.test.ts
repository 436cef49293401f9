/**
 * The buildpack through the reference CNB lifecycle's own binaries (v0.21, Platform API 0.15): `detector` and
 * `builder` as the build user, processes started by `launcher` as a different user (test/lifecycle/). What
 * the other e2e files prove through the local platform, proven here against the real thing for the main
 * paths: a Flask app under Gunicorn, layer reuse on rebuild, exec.d, APP_RUN, APP_HOME (a process working-dir),
 * an s2i app and a failing build.
 * Python archives and packages come from the same loopback servers as every e2e build (BuildSources).
 * Builds are few and shared between the assertions; each is made by the first test that needs it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { RealLifecycle, type RealBuildResult } from '../lifecycle/index.js';
import { freePort, type LaunchedProcess } from '../platform/index.js';
import { BuildSources, fixture, plainLog, stagedBuildpack } from './support.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const PIP_NOT_RUN = 'Using cached dependencies: requirements, Python and pip settings are unchanged (pip was not run)';

/** Memoises an async step: the first caller starts it, later callers share its result. */
function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

describe('e2e: through the real CNB lifecycle (detector, builder, launcher)', function () {
  this.timeout(600_000);
  let sources: BuildSources;
  let lc: RealLifecycle;
  let staged: string;
  let machines: string;
  const running: LaunchedProcess[] = [];

  before(async () => {
    sources = await BuildSources.start();
    staged = stagedBuildpack();
    lc = await RealLifecycle.create({ buildpackDir: staged }); // fails, naming what is missing, without the lifecycle
    machines = fs.mkdtempSync(path.join(os.tmpdir(), 'real-lifecycle-machines-'));
    fs.chmodSync(machines, 0o755);
  });
  afterEach(async () => {
    for (const p of running.splice(0)) if (p.running) await p.stop('SIGKILL', 5000).catch(() => undefined);
  });
  after(async () => {
    await lc?.cleanup();
    await sources?.close();
    for (const d of [staged, machines]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  /** Starts the image's default process (or `processType`) through the launcher and waits for an HTTP answer. */
  async function serve(res: RealBuildResult, env: Record<string, string> = {}, urlPath = '/'): Promise<{ proc: LaunchedProcess; port: number; status: number; body: string }> {
    const port = await freePort();
    const proc = await lc.launch(res, { env: { PORT: String(port), ...env } });
    running.push(proc);
    const http = await proc.waitForHttp(`http://127.0.0.1:${port}${urlPath}`, { timeoutMs: 60_000 });
    return { proc, port, status: http.status, body: http.body };
  }

  const build = async (name: string, extra: Record<string, string> = {}): Promise<RealBuildResult> =>
    lc.buildOk(await lc.app(fixture(name)), { platformEnv: await sources.env(undefined, extra) });

  const flask = once(() => build('flask-wsgi'));
  /** The same app built again with the same inputs, with the requests the servers saw meanwhile. */
  const flaskRebuild = once(async () => {
    const first = await flask();
    const [dists, index] = [sources.dists.requests.length, sources.index.requests.length];
    const res = await lc.buildOk(first.app, { platformEnv: await sources.env() });
    return { res, distRequests: sources.dists.requests.slice(dists).map((r) => r.path), indexRequests: sources.index.requests.slice(index).map((r) => r.path) };
  });

  it('Flask under Gunicorn: the detector picks the buildpack, the builder records the web process, cnb/process/web answers HTTP 200', async () => {
    const res = await flask();
    expect(res.detector.groupToml).to.match(/id = "ausnimbus\/python"/);
    const web = res.processes.find((p) => p.type === 'web');
    expect(path.basename(web?.command[0] ?? '')).to.equal('gunicorn');
    expect(web?.args).to.deep.equal(['wsgi']);
    expect(res.metadataToml).to.contain('buildpack-default-process-type = "web"');

    const { proc, status, body } = await serve(res);
    expect(status).to.equal(200);
    expect(body).to.equal('Hello from Flask under gunicorn');
    expect(proc.output()).to.contain('Starting gunicorn');
  });

  it('a rebuild restores python and pip-deps and keeps them: no download, no pip run, same layers exported', async () => {
    const first = await flask();
    const { res, distRequests, indexRequests } = await flaskRebuild();
    expect(res.restored.python).to.include({ contents: true });
    expect(res.restored['pip-deps']).to.include({ contents: true });
    const log = plainLog(res.output);
    expect(log).to.contain('Using cached Python');
    expect(log).to.contain(PIP_NOT_RUN);
    expect(log).not.to.contain("Running 'python -m pip");
    // the manifest is read at every build; the archive is not downloaded again, and the index is not asked
    expect(distRequests, 'requests to the Python server during the rebuild').to.deep.equal(['/distributions.json']);
    expect(indexRequests, 'requests to the package index during the rebuild').to.deep.equal([]);
    expect(res.reused).to.include.members(['python', 'pip-deps']);
    expect(res.layers['pip-deps']?.digest).to.equal(first.layers['pip-deps']?.digest);

    const { status, body } = await serve(res);
    expect(status).to.equal(200);
    expect(body).to.equal('Hello from Flask under gunicorn');
  });

  it("exec.d exports WEB_CONCURRENCY from the memory limit: the app sees it and gunicorn runs that many workers", async () => {
    const { res } = await flaskRebuild();
    // A cgroup v2 container limited to 768 MiB on a 16 GiB machine (README: up to 1 GiB, 4 workers).
    const dir = path.join(machines, '768m');
    const write = (rel: string, text: string): void => {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true, mode: 0o755 });
      fs.writeFileSync(path.join(dir, rel), text, { mode: 0o644 });
    };
    write('cgroup/kubepods.slice/pod-1/memory.max', `${768 * MiB}\n`);
    write('proc-self-cgroup', '0::/kubepods.slice/pod-1\n');
    write('proc-meminfo', `MemTotal:       ${(16 * GiB) / 1024} kB\n`);
    const machine = {
      AUSNIMBUS_CGROUP_ROOT: path.join(dir, 'cgroup'),
      AUSNIMBUS_PROC_CGROUP: path.join(dir, 'proc-self-cgroup'),
      AUSNIMBUS_MEMINFO: path.join(dir, 'proc-meminfo'),
    };
    const { proc, body } = await serve(res, machine, '/env/WEB_CONCURRENCY');
    expect(body).to.equal('4');
    const workers = (): number => (proc.output().match(/Booting worker with pid/g) ?? []).length;
    const deadline = Date.now() + 30_000;
    while (workers() < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1000)); // a fifth would have booted by now
    expect(workers(), proc.output()).to.equal(4);
  });

  it('a WEB_CONCURRENCY=abc the user set: the launcher applies exec.d\'s 2 over it, and gunicorn serves with 2 workers', async () => {
    // Gunicorn would exit on 'abc' (int() of it for its workers default); exec.d output overrides the user's
    // value (CNB buildpack spec, "Exec.d Output"), which this proves for the real launcher.
    const { res } = await flaskRebuild();
    const { proc, status, port } = await serve(res, { WEB_CONCURRENCY: 'abc' });
    expect(status, proc.output()).to.equal(200);
    expect((await proc.waitForHttp(`http://127.0.0.1:${port}/env/WEB_CONCURRENCY`)).body).to.equal('2');
    const workers = (): number => (proc.output().match(/Booting worker with pid/g) ?? []).length;
    const deadline = Date.now() + 30_000;
    while (workers() < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 1000)); // a third would have booted by now
    expect(workers(), proc.output()).to.equal(2);
    const said = proc.output().split('\n').filter((l) => l.includes('is not a whole number'));
    expect(said).to.deep.equal(["WEB_CONCURRENCY='abc' is not a whole number from 1 to 1000; using 2"]);
  });

  it('APP_RUN: web is the command run by /bin/sh, exec\'d, so the app is PID 1 and $PORT expands', async () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell parameter expansion, for /bin/sh at launch
    const appRun = 'python server.py "${PORT:-8080}" "Hello from APP_RUN"';
    const res = await build('start-app-run', { APP_RUN: appRun });
    expect(res.processes.find((p) => p.type === 'web')?.command).to.deep.equal(['/bin/sh', '-c', `exec ${appRun}`]);
    const { status, body } = await serve(res);
    expect(status).to.equal(200);
    expect(body).to.equal('Hello from APP_RUN (pid 1)');
  });

  it("APP_HOME: the launcher starts web in the process's working-dir (Buildpack API 0.8+), with the app's top folder on PYTHONPATH", async () => {
    const res = await build('start-app-home');
    const web = res.processes.find((p) => p.type === 'web');
    expect(web?.workingDir).to.equal(path.join(res.app.appDir, 'project'));
    const { status, body } = await serve(res);
    expect(status).to.equal(200);
    expect(body).to.equal('Hello from project/wsgi.py (cwd project)');
  });

  it("an s2i app: web runs the app's .s2i/bin/run, which sets a variable and starts gunicorn through the default run script", async () => {
    const res = await build('s2i-run');
    expect(plainLog(res.output)).to.contain("web runs the app's own .s2i/bin/run");
    const { proc, status, body } = await serve(res);
    expect(status).to.equal(200);
    expect(body).to.match(/^RUN_SCRIPT_MARKER=set by \.s2i\/bin\/run\nserver: gunicorn\/\d/);
    expect(proc.output()).to.contain('---> custom run: setting RUN_SCRIPT_MARKER');
  });

  it('a failing bin/build makes the builder exit 51, with our error message in its log and no image', async () => {
    // PIP_TARGET would move the app's packages out of the pip-deps layer: the build stops before any download
    const app = await lc.app(fixture('flask-wsgi'));
    const res = await lc.build(app, { platformEnv: await sources.env(undefined, { PIP_TARGET: '/tmp/elsewhere' }) });
    expect(res.failedPhase).to.equal('builder');
    expect(res.exitCode, res.output).to.equal(51);
    const log = plainLog(res.output);
    expect(log).to.contain('[Error: PIP_TARGET is not supported]');
    expect(log).to.contain('Unset PIP_TARGET (in the platform env, .s2i/environment or the build env) and build again.');
    expect(log).to.match(/ERROR: failed to build: exit status [1-9]/);
    expect(res.image).to.equal(undefined);
  });

  it('an app with nothing Python in it fails detection: bin/detect exits 100 and the detector 20', async () => {
    const res = await lc.build(await lc.app({ 'index.html': '<p>static</p>\n', 'package.json': '{}\n' }));
    expect(res.failedPhase).to.equal('detector');
    expect(res.exitCode, res.output).to.equal(20);
    expect(res.output).to.contain('No buildpack groups passed detection');
    expect(res.builder).to.equal(undefined);
  });
});
