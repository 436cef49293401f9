// Issue 5, "Starting the app", end to end through the local platform: the web process each start rule
// chooses, the named processes, the gunicorn-config layer (fallback config, exec.d WEB_CONCURRENCY) and how
// the launched process behaves (user, SIGTERM). One small fixture per behaviour in test/fixtures/start-*
// (plus flask-wsgi). Apps are built once each and launched as often as needed.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { freePort, type AppFiles, type BuildResult, type LaunchedProcess } from '../platform/index.js';
import type { Cause } from '../../src/causes.js';
import { renderCause, renderWarning } from '../../src/messages.js';
import { descendants } from '../../src/exec.js';
import { E2E, plainLog, stopsCleanly, workersSettled } from './support.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Resolves when nothing listens on `port` (so a test that must bind it can), or throws after `timeoutMs`. */
async function waitPortFree(port: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '0.0.0.0', () => srv.close(() => resolve(true)));
    });
    if (free) return;
    if (Date.now() > deadline) throw new Error(`port ${port} stayed busy for ${timeoutMs} ms (another test or app uses it)`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** GETs `url`; resolves to the status, or to 'refused' when nothing listens. */
async function probe(url: string): Promise<number | 'refused'> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
    await res.text();
    return res.status;
  } catch {
    return 'refused';
  }
}

function countMatches(text: string, re: RegExp): number {
  return [...text.matchAll(new RegExp(re.source, 'g'))].length;
}

/** Waits until `re` occurs `n` times in the process output. */
async function waitForCount(p: LaunchedProcess, re: RegExp, n: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (countMatches(p.output(), re) < n) {
    if (Date.now() > deadline) throw new Error(`expected ${n} × ${String(re)} in:\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until no new gunicorn worker has booted for 1 s (then 300 ms more for its signal handlers). */
/**
 * A fake machine for the exec.d program: a cgroup tree, /proc/self/cgroup and /proc/meminfo, readable by the
 * launch user, passed to the container as AUSNIMBUS_CGROUP_ROOT, AUSNIMBUS_PROC_CGROUP and AUSNIMBUS_MEMINFO.
 */
function fakeMachine(root: string, name: string, spec: { cgroup: 'v1' | 'v2'; limit: number | 'none'; machine: number }): Record<string, string> {
  const dir = path.join(root, name);
  const cgRoot = path.join(dir, 'sys-fs-cgroup');
  const write = (file: string, text: string): void => {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
    fs.writeFileSync(file, text, { mode: 0o644 });
  };
  if (spec.cgroup === 'v2') {
    const limit = spec.limit === 'none' ? 'max' : String(spec.limit);
    write(path.join(cgRoot, 'kubepods.slice', 'pod-1', 'memory.max'), `${limit}\n`);
    write(path.join(dir, 'proc-self-cgroup'), '0::/kubepods.slice/pod-1\n');
  } else {
    const limit = spec.limit === 'none' ? '9223372036854771712' : String(spec.limit);
    write(path.join(cgRoot, 'memory', 'docker', 'c0ffee', 'memory.limit_in_bytes'), `${limit}\n`);
    write(path.join(cgRoot, 'cpu,cpuacct', 'docker', 'c0ffee', 'cpu.shares'), '1024\n');
    write(path.join(dir, 'proc-self-cgroup'), '12:memory:/docker/c0ffee\n11:cpu,cpuacct:/docker/c0ffee\n1:name=systemd:/docker/c0ffee\n');
  }
  write(path.join(dir, 'proc-meminfo'), `MemTotal:       ${Math.floor(spec.machine / 1024)} kB\nMemFree:         1024 kB\n`);
  return { AUSNIMBUS_CGROUP_ROOT: cgRoot, AUSNIMBUS_PROC_CGROUP: path.join(dir, 'proc-self-cgroup'), AUSNIMBUS_MEMINFO: path.join(dir, 'proc-meminfo') };
}

describe('e2e: starting the app (issue 5)', function () {
  this.timeout(300_000);
  let e2e: E2E;
  let machines: string;
  const builds = new Map<string, Promise<BuildResult>>();
  const running: LaunchedProcess[] = [];

  /** Builds `fixture` (with extra platform env) once; later calls reuse the result. */
  function built(fixture: string, extra: Record<string, string> = {}): Promise<BuildResult> {
    const key = `${fixture} ${JSON.stringify(extra)}`;
    let b = builds.get(key);
    if (!b) {
      b = (async () => e2e.platform.buildOk(await e2e.app(fixture), { platformEnv: await e2e.env(undefined, extra) }))();
      builds.set(key, b);
    }
    return b;
  }

  async function launch(res: BuildResult, opts: Parameters<E2E['platform']['launch']>[1]): Promise<LaunchedProcess> {
    const p = await e2e.platform.launch(res, opts);
    running.push(p);
    return p;
  }

  function processOf(res: BuildResult, type: string): { command: string[]; args: string[]; default: boolean } {
    const p = res.processes.find((x) => x.type === type);
    if (!p) throw new Error(`no process '${type}' in launch.toml: ${res.processes.map((x) => x.type).join(', ')}`);
    return p;
  }

  /** Runs the `python` process with `-c code` (as `/cnb/process/python -c code`) and returns its output. */
  async function pythonOneOff(res: BuildResult, env: Record<string, string>, code: string): Promise<string> {
    const p = await launch(res, { processType: 'python', args: ['-c', code], env });
    const exit = await p.waitForExit(30_000);
    expect(exit.code, p.output()).to.equal(0);
    return p.output();
  }

  const PRINT_WC = "import os; print('WEB_CONCURRENCY=' + os.environ.get('WEB_CONCURRENCY', '<unset>'))";
  async function webConcurrencySeen(res: BuildResult, env: Record<string, string>): Promise<string> {
    const out = await pythonOneOff(res, env, PRINT_WC);
    const m = /WEB_CONCURRENCY=(\S+)/.exec(out);
    if (!m?.[1]) throw new Error(`no WEB_CONCURRENCY line in:\n${out}`);
    return m[1];
  }

  before(async () => {
    e2e = await E2E.start();
    machines = fs.mkdtempSync(path.join(os.tmpdir(), 'start-e2e-machines-'));
    fs.chmodSync(machines, 0o755);
  });
  afterEach(async () => {
    for (const p of running.splice(0)) if (p.running) await p.stop('SIGKILL', 5000).catch(() => undefined);
  });
  after(async () => {
    await e2e?.stop();
    if (machines) fs.rmSync(machines, { recursive: true, force: true });
  });

  describe('the web process, by rule', () => {
    it('wsgi.py: gunicorn with the fallback config answers on 8080 when PORT is not set, and stops on SIGTERM', async () => {
      const res = await built('flask-wsgi');
      const log = plainLog(res.output);
      expect(log).to.contain("gunicorn is installed: web serves 'wsgi' (from wsgi.py) with the buildpack's fallback config");
      const web = processOf(res, 'web');
      expect(web.default).to.equal(true);
      expect(path.basename(web.command[0] ?? '')).to.equal('gunicorn');
      expect(web.command.slice(1)).to.deep.equal(['--config', path.join(res.app.layersDir, 'ausnimbus_python', 'gunicorn-config', 'gunicorn.conf.py')]);
      expect(web.args).to.deep.equal(['wsgi']);
      // No `gunicorn` duplicate of web; `python` is always there.
      expect(res.processes.map((p) => p.type)).to.deep.equal(['web', 'python']);

      await waitPortFree(8080);
      const p = await launch(res, {}); // no PORT set by the user: the image's default
      expect(p.details.env.PORT).to.equal('8080');
      const http = await p.waitForHttp('http://127.0.0.1:8080/', { timeoutMs: 30_000 });
      expect(http.status).to.equal(200);
      expect(http.body).to.equal('Hello from Flask under gunicorn');
      expect(p.output()).to.contain('Listening at: http://0.0.0.0:8080');
      await stopsCleanly(p);
    });

    it('PORT=9090 moves the fallback config\'s bind to 9090', async () => {
      const res = await built('flask-wsgi');
      await waitPortFree(9090);
      await waitPortFree(8080);
      const p = await launch(res, { env: { PORT: '9090' } });
      const http = await p.waitForHttp('http://127.0.0.1:9090/', { timeoutMs: 30_000 });
      expect(http.status).to.equal(200);
      expect(p.output()).to.contain('Listening at: http://0.0.0.0:9090');
      expect(p.output()).not.to.contain(':8080');
      expect(await probe('http://127.0.0.1:8080/')).to.equal('refused');
      await stopsCleanly(p);
    });

    it('GUNICORN_APP_MODULE: gunicorn serves the named callable, as a different user than the build', async () => {
      const res = await built('start-app-module', { GUNICORN_APP_MODULE: 'service.web:app' });
      expect(plainLog(res.output)).to.contain(
        "gunicorn is installed: web serves 'service.web:app' (from GUNICORN_APP_MODULE) with the buildpack's fallback config",
      );
      expect(processOf(res, 'web').args).to.deep.equal(['service.web:app']);
      const { proc, status, body } = await e2e.serve(res);
      running.push(proc);
      expect(status).to.equal(200);
      const uid = Number(/uid=(\d+)/.exec(body)?.[1]);
      // The build ran as the build user (it owns what the build wrote); the app reports the launch user.
      const buildUid = fs.statSync(path.join(res.app.layersDir, 'ausnimbus_python', 'pip-deps')).uid;
      expect(buildUid).to.equal(e2e.platform.buildUser.uid);
      expect(uid).to.equal(e2e.platform.launchUser.uid);
      expect(uid).not.to.equal(buildUid);
      await stopsCleanly(proc);
    });

    it('setup.py: gunicorn serves the module named by setup(name=...)', async () => {
      const res = await built('start-setup-py');
      expect(plainLog(res.output)).to.contain("gunicorn is installed: web serves 'hello_setup' (from the name in setup.py)");
      expect(processOf(res, 'web').args).to.deep.equal(['hello_setup']);
      const { proc, status, body } = await e2e.serve(res);
      running.push(proc);
      expect(status).to.equal(200);
      expect(body).to.equal('Hello from the module setup.py names');
      await stopsCleanly(proc);
    });

    it('app.py without gunicorn: python app.py, as a different user than the build, stops on SIGTERM', async () => {
      const res = await built('start-app-py');
      expect(plainLog(res.output)).to.contain("web runs 'python app.py'");
      const web = processOf(res, 'web');
      expect(web.command.map((c) => path.basename(c))).to.deep.equal(['python', 'app.py']);
      expect(res.processes.map((p) => p.type)).to.deep.equal(['web', 'python']); // no gunicorn to offer
      const { proc, status, body, port } = await e2e.serve(res);
      running.push(proc);
      expect(status).to.equal(200);
      expect(body).to.equal('Hello from app.py');
      const who = JSON.parse((await proc.waitForHttp(`http://127.0.0.1:${port}/uid`)).body) as { uid: number; pid: number };
      expect(who.uid).to.equal(e2e.platform.launchUser.uid);
      expect(who.uid).not.to.equal(e2e.platform.buildUser.uid);
      expect(who.pid).to.equal(1); // the launcher execs: the app is PID 1 of the container
      await stopsCleanly(proc);
    });

    it('APP_RUN: the command runs through /bin/sh (so $PORT expands) and overrides gunicorn; `gunicorn` stays a named process', async () => {
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, meant literally (/bin/sh expands it at launch)
      const appRun = 'python server.py "${PORT:-8080}" "Hello from APP_RUN"';
      const res = await built('start-app-run', { APP_RUN: appRun });
      expect(plainLog(res.output)).to.contain(`APP_RUN is set: web runs '${appRun}' through /bin/sh`);
      // One simple command: exec'd, as `bash -c` would, so the app (not /bin/sh) is PID 1 and gets SIGTERM.
      expect(processOf(res, 'web').command).to.deep.equal(['/bin/sh', '-c', `exec ${appRun}`]);
      expect(res.processes.map((p) => p.type)).to.deep.equal(['web', 'gunicorn', 'python']);

      const { proc, status, body } = await e2e.serve(res);
      running.push(proc);
      expect(status).to.equal(200);
      expect(body).to.equal('Hello from APP_RUN (pid 1)');
      await stopsCleanly(proc);

      // /cnb/process/gunicorn: the wsgi.py app under the fallback config.
      const g = await e2e.serve(res, { processType: 'gunicorn' });
      running.push(g.proc);
      expect(g.status).to.equal(200);
      expect(g.body).to.equal('Hello from wsgi.py under gunicorn');
      expect(g.proc.output()).to.contain(`Listening at: http://0.0.0.0:${g.port}`);
      await stopsCleanly(g.proc);
    });

    it("GUNICORN_CONFIG: the app's own config is used instead of the fallback, and WEB_CONCURRENCY is still exported", async () => {
      const res = await built('start-gunicorn-config', { GUNICORN_CONFIG: 'deploy/gunicorn_settings.py' });
      expect(plainLog(res.output)).to.contain("gunicorn is installed: web serves 'wsgi' (from wsgi.py) with the app's config deploy/gunicorn_settings.py");
      expect(processOf(res, 'web').command.slice(1)).to.deep.equal(['--config', path.join(res.app.appDir, 'deploy', 'gunicorn_settings.py')]);

      // Its own settings: bind on CUSTOM_PORT (PORT ignored), 3 workers (WEB_CONCURRENCY ignored), its access format.
      const [customPort, port] = [await freePort(), await freePort()];
      const machine = fakeMachine(machines, 'gunicorn-config-768m', { cgroup: 'v2', limit: 768 * MiB, machine: 16 * GiB });
      const p = await launch(res, { env: { CUSTOM_PORT: String(customPort), PORT: String(port), ...machine } });
      const http = await p.waitForHttp(`http://127.0.0.1:${customPort}/web-concurrency`, { timeoutMs: 30_000 });
      expect(http.status).to.equal(200);
      expect(http.body).to.equal('4'); // exec.d still ran: 768 MiB -> 4
      await p.waitForOutput('custom-config-access 200 /web-concurrency', 10_000);
      await waitForCount(p, /Booting worker with pid/, 3);
      await new Promise((r) => setTimeout(r, 500));
      expect(p.output()).to.contain(`Listening at: http://127.0.0.1:${customPort}`);
      expect(countMatches(p.output(), /Booting worker with pid/)).to.equal(3);
      expect(await probe(`http://127.0.0.1:${port}/`)).to.equal('refused');
      await stopsCleanly(p);
    });

    it("an app's own gunicorn.conf.py without a bind: gunicorn binds 0.0.0.0 on the image's default PORT 8080", async () => {
      const res = await built('start-own-config-no-bind');
      expect(plainLog(res.output)).to.contain("with the app's config gunicorn.conf.py");
      await waitPortFree(8080);
      const p = await launch(res, {});
      const http = await p.waitForHttp('http://127.0.0.1:8080/', { timeoutMs: 30_000 });
      expect(http.body).to.equal('Hello from an app whose gunicorn.conf.py names no bind');
      expect(p.output()).to.contain('Listening at: http://0.0.0.0:8080');
      await stopsCleanly(p);
    });

    it("an app with none of APP_RUN, .s2i/bin/run, a WSGI module or app.py fails to build with the seed's message", async () => {
      const res = await e2e.platform.build(await e2e.app('start-no-rule'), { platformEnv: await e2e.env() });
      expect(res.success).to.equal(false);
      const log = plainLog(res.output);
      expect(log).to.contain("don't know how to run your application");
      for (const hint of ['APP_RUN', 'GUNICORN_APP_MODULE', 'wsgi.py', 'app.py']) expect(log).to.contain(hint);
    });
  });

  describe('more start rules (issue 15)', () => {
    const errorLine = (c: Cause): string => `[Error: ${renderCause(c).title}]`;

    it('Procfile: web (winning over app.py) serves through /bin/sh as PID 1 and stops on SIGTERM; worker is a process of its own', async () => {
      const res = await built('start-procfile');
      expect(plainLog(res.output)).to.contain(`the Procfile defines web: web runs 'python hello.py "Hello from the Procfile web"' through /bin/sh`);
      expect(processOf(res, 'web').command).to.deep.equal(['/bin/sh', '-c', 'exec python hello.py "Hello from the Procfile web"']);
      expect(res.processes.map((p) => p.type)).to.deep.equal(['web', 'python', 'worker']);
      const { proc, status, body } = await e2e.serve(res);
      running.push(proc);
      expect(status).to.equal(200);
      expect(body).to.equal('Hello from the Procfile web (pid 1)');
      await stopsCleanly(proc);

      const worker = await launch(res, { processType: 'worker' });
      await worker.waitForOutput('worker started: --queue default', 30_000);
      await stopsCleanly(worker);
    });

    it('Procfile and APP_RUN: APP_RUN serves, and the log says the Procfile web is not used', async () => {
      const res = await built('start-procfile-app-run', { APP_RUN: 'python hello.py "Hello from APP_RUN"' });
      const log = plainLog(res.output);
      expect(log).to.contain("APP_RUN is set: web runs 'python hello.py \"Hello from APP_RUN\"' through /bin/sh");
      expect(log).to.contain("The Procfile's web ('python hello.py \"Hello from the Procfile web\"') is not used: APP_RUN comes first");
      const { proc, status, body } = await e2e.serve(res);
      running.push(proc);
      expect(status).to.equal(200);
      expect(body).to.equal('Hello from APP_RUN (pid 1)');
      await stopsCleanly(proc);
    });

    it('APP_MODULE (OpenShift s2i, from .s2i/environment): gunicorn serves the module it names, and stops on SIGTERM', async () => {
      const res = await built('start-app-module-alias');
      expect(plainLog(res.output)).to.contain("gunicorn is installed: web serves 'project.web:application' (from APP_MODULE) with the buildpack's fallback config");
      expect(processOf(res, 'web').args).to.deep.equal(['project.web:application']);
      const { proc, status, body } = await e2e.serve(res);
      running.push(proc);
      expect(status).to.equal(200);
      expect(body).to.equal('Hello from project.web via APP_MODULE');
      await stopsCleanly(proc);
    });

    it('APP_MODULE and GUNICORN_APP_MODULE naming different modules stop the build, naming both', async () => {
      const res = await e2e.platform.build(await e2e.app('start-app-module-conflict'), { platformEnv: await e2e.env() });
      expect(res.success).to.equal(false);
      const log = plainLog(res.output);
      expect(log).to.contain(errorLine({ type: 'conflicting-app-module', gunicornAppModule: 'wsgi', appModule: 'project.web:application' }));
      expect(log).to.contain("GUNICORN_APP_MODULE is 'wsgi' and APP_MODULE is 'project.web:application'");
      expect(log).not.to.contain('Installing'); // settings are read before anything is installed
    });

    it('APP_FILE (from .s2i/environment): web runs python with the file, before app.py, and stops on SIGTERM', async () => {
      const res = await built('start-app-file');
      expect(plainLog(res.output)).to.contain("APP_FILE is set: web runs 'python server/run.py'");
      expect(processOf(res, 'web').command.map((c) => path.basename(c))).to.deep.equal(['python', 'run.py']);
      const { proc, status, body } = await e2e.serve(res);
      running.push(proc);
      expect(status).to.equal(200);
      expect(body).to.equal('Hello from APP_FILE (pid 1)');
      await stopsCleanly(proc);
    });

    it('APP_SCRIPT (from .s2i/environment): web runs the script directly (made executable at build), before app.py, and stops on SIGTERM', async () => {
      const res = await built('start-app-script');
      const log = plainLog(res.output);
      expect(log).to.contain("APP_SCRIPT is set: web runs './bin/start.sh'");
      expect(log).to.contain('start.sh was not executable: made it executable so that it can run');
      expect(processOf(res, 'web').command).to.deep.equal([path.join(res.app.appDir, 'bin', 'start.sh')]);
      const { proc, status, body } = await e2e.serve(res);
      running.push(proc);
      expect(status).to.equal(200);
      expect(body).to.equal('Hello from APP_SCRIPT (pid 1)');
      await stopsCleanly(proc);
    });

    it("app.sh: runs when none of the seed's rules applies, and stops on SIGTERM", async () => {
      const res = await built('start-app-sh');
      expect(plainLog(res.output)).to.contain("no other rule applies and the app has app.sh: web runs './app.sh'");
      const { proc, status, body } = await e2e.serve(res);
      running.push(proc);
      expect(status).to.equal(200);
      expect(body).to.equal('Hello from app.sh (pid 1)');
      await stopsCleanly(proc);
    });

    it('APP_FILE naming a file the app does not have stops the build, naming the variable and the file', async () => {
      const res = await e2e.platform.build(await e2e.app('start-app-file-missing'), { platformEnv: await e2e.env() });
      expect(res.success).to.equal(false);
      const log = plainLog(res.output);
      expect(log).to.contain(errorLine({ type: 'start-file-unusable', name: 'APP_FILE', value: 'server.py', problem: { kind: 'missing' } }));
      expect(log).to.contain("APP_FILE names 'server.py', which is not a file in the app.");
    });

    it('main.py with a Flask app: gunicorn serves main:app, and stops on SIGTERM', async () => {
      const res = await built('start-main-py');
      expect(plainLog(res.output)).to.contain("gunicorn is installed: web serves 'main:app' (from main.py) with the buildpack's fallback config");
      expect(processOf(res, 'web').args).to.deep.equal(['main:app']);
      const { proc, status, body } = await e2e.serve(res);
      running.push(proc);
      expect(status).to.equal(200);
      expect(body).to.equal('Hello from main.py under gunicorn');
      await stopsCleanly(proc);
    });

    it('a malformed Procfile line stops the build, quoting it', async () => {
      const res = await e2e.platform.build(await e2e.app('start-procfile-malformed'), { platformEnv: await e2e.env() });
      expect(res.success).to.equal(false);
      const log = plainLog(res.output);
      expect(log).to.contain(errorLine({ type: 'procfile-malformed', line: 2, text: 'worker python worker.py', problem: 'not-type-command' }));
      expect(log).to.contain("Line 2 of the Procfile is not 'type: command': 'worker python worker.py'");
    });
  });

  describe('what the build checks about the start (issue 13)', () => {
    const errorLine = (c: Cause): string => `[Error: ${renderCause(c).title}]`;

    /** Builds an app that must fail: bin/build exits non-zero and the log has the error line; returns the log. */
    async function buildFails(files: AppFiles, env: Record<string, string>, cause: Cause): Promise<string> {
      const res = await e2e.platform.build(await e2e.platform.app(files), { platformEnv: await e2e.env(undefined, env) });
      const log = plainLog(res.output);
      expect(res.success, log).to.equal(false);
      expect(res.code, log).to.be.a('number').and.not.equal(0);
      expect(log).to.contain(errorLine(cause));
      return log;
    }

    const PLAIN_APP: AppFiles = { 'wsgi.py': 'def application(environ, start_response):\n    start_response("200 OK", [])\n    return [b"ok"]\n', 'app.py': 'print("app")\n' };
    const outside = { type: 'gunicorn-config-outside-app', name: 'GUNICORN_CONFIG', value: '', resolved: '' } as const;

    it('GUNICORN_CONFIG=/etc/passwd stops the build, naming the variable, the value and what to do', async () => {
      const log = await buildFails(PLAIN_APP, { GUNICORN_CONFIG: '/etc/passwd' }, outside);
      expect(log).to.contain("GUNICORN_CONFIG names '/etc/passwd', which leads to /etc/passwd, outside the app.");
      expect(log).to.contain('Set GUNICORN_CONFIG to a config file inside the app');
    });

    it('APP_CONFIG=../gunicorn.py (leaving the app) stops the build, naming APP_CONFIG', async () => {
      const log = await buildFails(PLAIN_APP, { APP_CONFIG: '../gunicorn.py' }, outside);
      expect(log).to.match(/APP_CONFIG names '\.\.\/gunicorn\.py', which leads to \S+\/gunicorn\.py, outside the app\./);
    });

    it('GUNICORN_CONFIG naming a link in the app that points outside it stops the build, naming where it leads', async () => {
      const log = await buildFails({ ...PLAIN_APP, 'deploy/gunicorn.py': { symlink: '/etc/passwd' } }, { GUNICORN_CONFIG: 'deploy/gunicorn.py' }, outside);
      expect(log).to.contain("GUNICORN_CONFIG names 'deploy/gunicorn.py', which leads to /etc/passwd, outside the app.");
    });

    it('GUNICORN_APP_MODULE naming a module the app does not have stops the build, naming the module and the files looked for', async () => {
      const log = await buildFails(
        { 'requirements.txt': 'gunicorn\n', 'service/__init__.py': '', 'service/web.py': 'def app(environ, start_response):\n    pass\n' },
        { GUNICORN_APP_MODULE: 'service.webapp:app' },
        { type: 'gunicorn-module-not-found', source: '', value: '', missing: '', files: [], lookedIn: [] },
      );
      expect(log).to.contain("GUNICORN_APP_MODULE is 'service.webapp:app', but the module 'service.webapp' cannot be imported: neither service/webapp.py nor service/webapp/__init__.py exists.");
    });

    it('an ASGI app under the sync worker builds with a warning saying what to do; with the advice followed, no warning and uvicorn\'s worker serves it', async () => {
      const asgi = 'async def app(scope, receive, send):\n    if scope["type"] != "http":\n        return\n' +
        '    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})\n' +
        '    await send({"type": "http.response.body", "body": b"Hello from ASGI"})\n';
      const warningLine = `[Warning: ${renderWarning({ type: 'asgi-app-under-sync-worker', module: '', evidence: '', config: undefined }).title}]`;
      const res = await e2e.platform.buildOk(await e2e.platform.app({ 'requirements.txt': 'gunicorn\n', 'main.py': asgi }), { platformEnv: await e2e.env(undefined, { GUNICORN_APP_MODULE: 'main:app' }) });
      const log = plainLog(res.output);
      expect(log).to.contain(warningLine);
      expect(log).to.contain("Gunicorn will serve 'main:app', which looks like an ASGI app (it defines async def app(scope, receive, send)).");
      expect(log).to.contain("set APP_RUN='uvicorn main:app --host 0.0.0.0 --port $PORT'");
      expect(log).to.contain("gunicorn is installed: web serves 'main:app'");

      const fixed = await e2e.platform.buildOk(
        await e2e.platform.app({ 'requirements.txt': 'gunicorn\nuvicorn\n', 'main.py': asgi, 'gunicorn.conf.py': "worker_class = 'uvicorn.workers.UvicornWorker'\n" }),
        { platformEnv: await e2e.env(undefined, { GUNICORN_APP_MODULE: 'main:app' }) },
      );
      expect(plainLog(fixed.output)).not.to.contain(warningLine);
      const { proc, status, body } = await e2e.serve(fixed);
      running.push(proc);
      expect(status, proc.output()).to.equal(200);
      expect(body).to.equal('Hello from ASGI');
      await stopsCleanly(proc);
    });
  });

  describe('ASGI apps (issue 15)', () => {
    const UVICORN_LINE = /^exec \S+\/pip-deps\/bin\/uvicorn (\S+) --host 0\.0\.0\.0 --port "\$\{PORT:-8080\}" --workers "\$\{WEB_CONCURRENCY:-2\}" --forwarded-allow-ips "\$\{FORWARDED_ALLOW_IPS:-\*\}" --timeout-graceful-shutdown 25$/;

    /** The processes below `pid` (its children, theirs, ...), with their command lines. */
    function descendantsWithCmdline(pid: number): Array<{ pid: number; cmdline: string }> {
      return descendants(pid).map((child) => {
        let cmdline = '';
        try {
          cmdline = fs.readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').join(' ');
        } catch {
          // gone meanwhile
        }
        return { pid: child, cmdline };
      });
    }

    it('app.py with a FastAPI app and no __main__ block: served by uvicorn (not `python app.py`, which would exit at once), as PID 1; stops on SIGTERM', async () => {
      const res = await built('start-asgi-app-py');
      expect(plainLog(res.output)).to.contain(
        "app.py defines an ASGI app and has no if __name__ == '__main__': block, so 'python app.py' would exit at once; " +
          "uvicorn is installed: web serves 'app:app' (from app.py, an ASGI app: app = FastAPI(...)) with uvicorn, WEB_CONCURRENCY workers on $PORT",
      );
      const web = processOf(res, 'web');
      expect(web.command.slice(0, 2)).to.deep.equal(['/bin/sh', '-c']);
      expect(UVICORN_LINE.exec(web.command[2] ?? '')?.[1], web.command[2]).to.equal('app:app');
      const { proc, status, body } = await e2e.serve(res, { env: { WEB_CONCURRENCY: '1' } });
      running.push(proc);
      expect(status, proc.output()).to.equal(200);
      expect(body).to.equal('Hello from FastAPI in app.py');
      expect(proc.output()).to.contain('Started server process [1]'); // exec: uvicorn, not /bin/sh, is PID 1
      await stopsCleanly(proc);
      expect(proc.output()).to.contain('Finished server process [1]');
    });

    it("a FastAPI app in main.py with gunicorn and uvicorn: Gunicorn with uvicorn's worker class, WEB_CONCURRENCY workers; stops on SIGTERM", async () => {
      const res = await built('start-asgi-gunicorn');
      expect(plainLog(res.output)).to.contain(
        "gunicorn and uvicorn are installed: web serves 'main:app' (from main.py, an ASGI app: app = FastAPI(...)) with uvicorn's worker class uvicorn.workers.UvicornWorker and the buildpack's fallback config",
      );
      expect(plainLog(res.output)).not.to.contain('[Warning: ASGI app served by a WSGI worker]');
      const web = processOf(res, 'web');
      expect(web.command.slice(1)).to.deep.equal(['--config', path.join(res.app.layersDir, 'ausnimbus_python', 'gunicorn-config', 'gunicorn.conf.py'), '--worker-class', 'uvicorn.workers.UvicornWorker']);
      expect(web.args).to.deep.equal(['main:app']);
      const { proc, status, body } = await e2e.serve(res, { env: { WEB_CONCURRENCY: '2' } });
      running.push(proc);
      expect(status, proc.output()).to.equal(200);
      expect(body).to.equal('Hello from FastAPI under Gunicorn');
      expect(proc.output()).to.contain('Using worker: uvicorn.workers.UvicornWorker');
      await waitForCount(proc, /Booting worker with pid/, 2);
      await workersSettled(proc);
      expect(countMatches(proc.output(), /Booting worker with pid/)).to.equal(2);
      await stopsCleanly(proc);
    });

    it('a FastAPI app in main.py with uvicorn alone: WEB_CONCURRENCY=3 gives 3 uvicorn worker processes; stops on SIGTERM within 10 s', async () => {
      const res = await built('start-asgi-uvicorn');
      expect(plainLog(res.output)).to.contain("uvicorn is installed: web serves 'main:app' (from main.py, an ASGI app: app = FastAPI(...)) with uvicorn, WEB_CONCURRENCY workers on $PORT");
      expect(res.processes.map((p) => p.type)).to.deep.equal(['web', 'python']);
      expect(UVICORN_LINE.exec(processOf(res, 'web').command[2] ?? '')?.[1]).to.equal('main:app');
      const { proc, status, body, port } = await e2e.serve(res, { env: { WEB_CONCURRENCY: '3' } });
      running.push(proc);
      expect(status, proc.output()).to.equal(200);
      expect(body).to.equal('Hello from FastAPI under uvicorn');
      await waitForCount(proc, /Started server process \[\d+\]/, 3, 30_000);
      await new Promise((r) => setTimeout(r, 500));
      const started = [...proc.output().matchAll(/Started server process \[(\d+)\]/g)].map((m) => m[1]);
      expect(new Set(started).size, proc.output()).to.equal(3);
      expect(proc.output()).to.contain('Started parent process [1]'); // uvicorn's supervisor is PID 1
      // The worker processes themselves: uvicorn spawns each with multiprocessing (spawn_main).
      const workers = descendantsWithCmdline(proc.pid).filter((d) => d.cmdline.includes('spawn_main'));
      expect(workers.length, JSON.stringify(descendantsWithCmdline(proc.pid), null, 1)).to.equal(3);
      expect((await proc.waitForHttp(`http://127.0.0.1:${port}/env/WEB_CONCURRENCY`)).body).to.equal('3');
      // The supervisor (the launched process): trusted proxies from FORWARDED_ALLOW_IPS (default *), as in the fallback Gunicorn config.
      const supervisor = fs.readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').split('\0');
      expect(supervisor.slice(-9), supervisor.join(' ')).to.deep.equal(['--port', String(port), '--workers', '3', '--forwarded-allow-ips', '*', '--timeout-graceful-shutdown', '25', '']);
      await stopsCleanly(proc);
      expect(proc.output()).to.contain('Received SIGTERM, exiting.');
      expect(countMatches(proc.output(), /Finished server process \[\d+\]/)).to.equal(3);
    });

    it('app.py calling uvicorn.run(app) with the app object: starts (without WEB_CONCURRENCY, which uvicorn would take as workers and exit), other processes keep WEB_CONCURRENCY', async () => {
      const res = await built('start-asgi-uvicorn-run');
      const log = plainLog(res.output);
      expect(log).to.contain("web runs 'python app.py'");
      expect(log).to.contain(
        'app.py passes an app object to uvicorn.run() (app), which cannot start workers: it runs without WEB_CONCURRENCY, which uvicorn would take as its worker count and exit; to serve it with WEB_CONCURRENCY workers instead, set APP_MODULE=app:app',
      );
      const web = processOf(res, 'web');
      expect(web.command).to.deep.equal(['/bin/sh', '-c', `unset WEB_CONCURRENCY; exec ${processOf(res, 'python').command[0]} app.py`]);
      // exec.d exports 4 here: the value uvicorn.run() would have refused.
      const machine = fakeMachine(machines, 'uvicorn-run-768m', { cgroup: 'v2', limit: 768 * MiB, machine: 16 * GiB });
      const { proc, status, body, port } = await e2e.serve(res, { env: machine });
      running.push(proc);
      expect(status, proc.output()).to.equal(200);
      expect(body).to.equal('Hello from uvicorn.run(app) in app.py (pid 1)');
      expect((await proc.waitForHttp(`http://127.0.0.1:${port}/env/WEB_CONCURRENCY`)).body).to.equal('<unset>');
      expect(proc.output()).not.to.contain('You must pass the application as an import string');
      await stopsCleanly(proc);
      expect(await webConcurrencySeen(res, machine)).to.equal('4');
    });

    it('an ASGI app with an explicit WSGI module (APP_MODULE): the explicit module wins, under the sync worker, and the log says the ASGI app is not used', async () => {
      const res = await built('start-asgi-explicit-wsgi');
      const log = plainLog(res.output);
      expect(log).to.contain("gunicorn is installed: web serves 'legacy:app' (from APP_MODULE) with the buildpack's fallback config");
      expect(log).to.contain("main.py's ASGI app (app = FastAPI(...)) is not used: 'legacy:app' (from APP_MODULE) comes first");
      const web = processOf(res, 'web');
      expect(web.command).not.to.include('--worker-class');
      expect(web.args).to.deep.equal(['legacy:app']);
      const { proc, status, body } = await e2e.serve(res, { env: { WEB_CONCURRENCY: '2' } });
      running.push(proc);
      expect(status, proc.output()).to.equal(200);
      expect(body).to.equal('Hello from the Flask app APP_MODULE names');
      expect(proc.output()).to.contain('Using worker: sync');
      await stopsCleanly(proc);
    });

    it("APP_HOME=service: the ASGI app in service/main.py is found there and served by uvicorn started there, the app's top folder importable; stops on SIGTERM", async () => {
      const res = await built('start-asgi-app-home');
      const log = plainLog(res.output);
      expect(log).to.contain("APP_HOME is set: the processes start in service, with the app's top folder on PYTHONPATH");
      expect(log).to.contain("uvicorn is installed: web serves 'main:app' (from main.py, an ASGI app: app = FastAPI(...)) with uvicorn, WEB_CONCURRENCY workers on $PORT");
      const home = path.join(res.app.appDir, 'service');
      expect(res.processes.map((p) => [p.type, p.workingDir])).to.deep.equal([['web', home], ['python', home]]);
      expect(UVICORN_LINE.exec(processOf(res, 'web').command[2] ?? '')?.[1]).to.equal('main:app');
      const { proc, status, body } = await e2e.serve(res, { env: { WEB_CONCURRENCY: '1' } });
      running.push(proc);
      expect(status, proc.output()).to.equal(200);
      expect(body).to.equal('Hello from FastAPI in service/main.py (cwd service)');
      await stopsCleanly(proc);
    });
  });

  describe('exec.d: WEB_CONCURRENCY at every start', () => {
    const tiers: Array<[string, number | 'none', string]> = [
      ['256 MiB', 256 * MiB, '2'],
      ['768 MiB', 768 * MiB, '4'],
      ['1.5 GiB', 1.5 * GiB, '6'],
      ['3 GiB', 3 * GiB, '8'],
      ['8 GiB', 8 * GiB, '10'],
      ['no limit (16 GiB machine)', 'none', '10'],
    ];
    for (const cgroup of ['v2', 'v1'] as const) {
      it(`cgroup ${cgroup}: the launched app sees 2/4/6/8/10 for 256 MiB, 768 MiB, 1.5 GiB, 3 GiB, 8 GiB and no limit`, async () => {
        const res = await built('start-app-py');
        const seen: Record<string, string> = {};
        for (const [name, limit] of tiers) {
          const machine = fakeMachine(machines, `${cgroup}-${name.replace(/\W+/g, '_')}`, { cgroup, limit, machine: 16 * GiB });
          seen[name] = await webConcurrencySeen(res, machine);
        }
        expect(seen).to.deep.equal(Object.fromEntries(tiers.map(([n, , w]) => [n, w])));
      });
    }

    it("the machine's memory caps the limit and stands in when there is none", async () => {
      const res = await built('start-app-py');
      expect(await webConcurrencySeen(res, fakeMachine(machines, 'cap-v2', { cgroup: 'v2', limit: 8 * GiB, machine: 1 * GiB }))).to.equal('4');
      expect(await webConcurrencySeen(res, fakeMachine(machines, 'none-small', { cgroup: 'v1', limit: 'none', machine: 1.5 * GiB }))).to.equal('6');
    });

    it('a WEB_CONCURRENCY the user set wins, for the one-off and for gunicorn\'s worker count', async () => {
      const machine = fakeMachine(machines, 'user-set', { cgroup: 'v2', limit: 256 * MiB, machine: 16 * GiB });
      expect(await webConcurrencySeen(await built('start-app-py'), { ...machine, WEB_CONCURRENCY: '3' })).to.equal('3');

      const res = await built('flask-wsgi');
      const { proc, port } = await e2e.serve(res, { env: { ...machine, WEB_CONCURRENCY: '3' } });
      running.push(proc);
      expect((await proc.waitForHttp(`http://127.0.0.1:${port}/env/WEB_CONCURRENCY`)).body).to.equal('3');
      await waitForCount(proc, /Booting worker with pid/, 3);
      await new Promise((r) => setTimeout(r, 500));
      expect(countMatches(proc.output(), /Booting worker with pid/)).to.equal(3);
      await stopsCleanly(proc);
    });

    // Gunicorn reads WEB_CONCURRENCY with int() for its `workers` default as it imports its settings, before
    // any config file: 'abc' and '1e9' raise there and '-1' fails its positive-int check, so Gunicorn exits
    // (https://docs.gunicorn.org/en/stable/settings.html#workers). exec.d replaces such a value with 2.
    for (const value of ['abc', '-1', '1e9']) {
      it(`WEB_CONCURRENCY=${value}: replaced by 2 with one line saying so; gunicorn serves with 2 workers`, async () => {
        const res = await built('flask-wsgi');
        // 3 GiB would give 8 workers: 2 shows the invalid value is replaced, not recomputed from memory.
        const machine = fakeMachine(machines, `invalid-${value}`, { cgroup: 'v2', limit: 3 * GiB, machine: 16 * GiB });
        const { proc, port, status, body } = await e2e.serve(res, { env: { ...machine, WEB_CONCURRENCY: value } });
        running.push(proc);
        expect(status, proc.output()).to.equal(200);
        expect(body).to.equal('Hello from Flask under gunicorn');
        expect((await proc.waitForHttp(`http://127.0.0.1:${port}/env/WEB_CONCURRENCY`)).body).to.equal('2');
        await waitForCount(proc, /Booting worker with pid/, 2);
        await workersSettled(proc);
        expect(countMatches(proc.output(), /Booting worker with pid/), proc.output()).to.equal(2);
        const said = proc.output().split('\n').filter((l) => l.includes('is not a whole number'));
        expect(said).to.deep.equal([`WEB_CONCURRENCY='${value}' is not a whole number from 1 to 1000; using 2`]);
        await stopsCleanly(proc);
      });
    }

    it('the web app under the fallback config gets as many workers as exec.d computed', async () => {
      const res = await built('flask-wsgi');
      const machine = fakeMachine(machines, 'web-1.5g', { cgroup: 'v1', limit: 1.5 * GiB, machine: 16 * GiB });
      const { proc, port } = await e2e.serve(res, { env: machine });
      running.push(proc);
      expect((await proc.waitForHttp(`http://127.0.0.1:${port}/env/WEB_CONCURRENCY`)).body).to.equal('6');
      await waitForCount(proc, /Booting worker with pid/, 6);
      await new Promise((r) => setTimeout(r, 500));
      expect(countMatches(proc.output(), /Booting worker with pid/)).to.equal(6);
      await stopsCleanly(proc);
    });
  });

  describe('the fallback config at launch', () => {
    it('DEBUG=TRUE turns on reload and debug logging; without it, neither', async () => {
      const res = await built('flask-wsgi');
      const machine = fakeMachine(machines, 'debug', { cgroup: 'v2', limit: 256 * MiB, machine: 16 * GiB });
      for (const value of ['TRUE', 'true', '1']) {
        const { proc } = await e2e.serve(res, { env: { ...machine, DEBUG: value } });
        running.push(proc);
        const out = proc.output();
        expect(out, `DEBUG=${value}`).to.match(/\[DEBUG\] Current configuration:/);
        expect(out, `DEBUG=${value}`).to.match(/^\s+reload: True$/m);
        expect(out, `DEBUG=${value}`).to.match(/^\s+loglevel: debug$/m);
        await stopsCleanly(proc);
      }
      const { proc } = await e2e.serve(res, { env: machine });
      running.push(proc);
      expect(proc.output()).not.to.contain('[DEBUG]');
      await stopsCleanly(proc);
    });

    it('starts cleanly when the launch user cannot write to HOME (no control-socket error)', async () => {
      const res = await built('flask-wsgi');
      const port = await freePort();
      // HOME=/ : owned by root, not writable by the launch user (as with a read-only root filesystem).
      const p = await launch(res, { env: { PORT: String(port) }, runEnv: { HOME: '/' } });
      const http = await p.waitForHttp(`http://127.0.0.1:${port}/`, { timeoutMs: 30_000 });
      expect(http.status).to.equal(200);
      await stopsCleanly(p);
      expect(p.output()).not.to.match(/\[ERROR\]|Permission denied|Traceback/);
    });
  });
});
