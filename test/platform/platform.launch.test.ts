/**
 * A well-behaved sh buildpack: a launch layer with env.launch files, exec.d programs and a web
 * process. The launched process must see the layer env and exec.d values and answer HTTP, and see
 * exactly what it sees when the real launcher (test/lifecycle/) starts it from the real builder's image.
 */
import { expect } from 'chai';
import type { RealLifecycle, RealBuildResult, RealLaunchOptions } from '../lifecycle/index.js';
import type { BuildResult, LocalPlatform } from './lifecycle.js';
import type { LaunchOptions } from './launcher.js';
import { freePort } from './net.js';
import type { LaunchedProcess } from './process-handle.js';
import { cleanupPlatforms, requirePid1, requireRoot, shPlatform, shRealLifecycle } from './test-helpers.js';

const SERVER = `#!/usr/bin/python3
import http.server, json, os, signal, sys
signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"env": dict(os.environ), "cwd": os.getcwd(), "uid": os.getuid(), "argv": sys.argv, "pid": os.getpid()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
print("serving on", os.environ["PORT"], flush=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
`;

const BUILD = `L="$CNB_LAYERS_DIR"
echo "building in $(pwd) as $(id -u)"
mkdir -p "$L/web/bin" "$L/web/env.launch/web" "$L/web/exec.d/web" "$L/web/env"
cat > "$L/web/bin/serve" <<'PY'
${SERVER}PY
chmod 755 "$L/web/bin/serve"
printf 'hello' > "$L/web/env.launch/GREETING.default"
printf '/from/layer' > "$L/web/env/MYPATH.prepend"
printf ':' > "$L/web/env/MYPATH.delim"
printf 'web-only' > "$L/web/env.launch/web/PROC_VAR"
cat > "$L/web/exec.d/concurrency" <<'SH'
#!/bin/sh
[ -n "\${WEB_CONCURRENCY:-}" ] && exit 0
echo "exec.d: setting WEB_CONCURRENCY"
printf 'WEB_CONCURRENCY = "%s"\\n' "3" >&3
SH
cat > "$L/web/exec.d/web/echo-greeting" <<'SH'
#!/bin/sh
printf 'EXECD_SAW = "%s %s"\\n' "$GREETING" "$(pwd)" >&3
SH
chmod 755 "$L/web/exec.d/concurrency" "$L/web/exec.d/web/echo-greeting"
printf '[types]\\nlaunch = true\\n[metadata]\\nversion = "1"\\n' > "$L/web.toml"
cat > "$L/launch.toml" <<'EOF'
[[processes]]
type = "web"
command = ["serve"]
args = ["default-arg"]
default = true

[[processes]]
type = "worker"
command = ["printenv"]
EOF
`;

interface Echo {
  env: Record<string, string>;
  cwd: string;
  uid: number;
  argv: string[];
  pid: number;
}

describe('platform: launching a well-behaved buildpack', function () {
  this.timeout(60_000);
  let platform: LocalPlatform;
  after(cleanupPlatforms);
  before(async () => {
    platform = await shPlatform({ id: 'test/good', build: BUILD });
  });

  it('builds, launches the web process and serves HTTP with the layer env and exec.d values', async () => {
    requirePid1('launching as another user than the build, as PID 1');
    const app = await platform.app({ 'hello.txt': 'hi' });
    const res = await platform.buildOk(app);
    expect(res.buildOutput).to.include(`as ${platform.buildUser.uid}`);
    expect(res.image?.layers.web?.source).to.equal('new');
    const port = await freePort();
    const web = await platform.launch(res, { env: { PORT: String(port) } });
    try {
      const http = await web.waitForHttp(`http://127.0.0.1:${port}/`, { timeoutMs: 15_000 });
      expect(http.status).to.equal(200);
      const echo = JSON.parse(http.body) as Echo;
      const bpLayers = `${app.layersDir}/test_good`;
      expect(echo.env.GREETING).to.equal('hello');
      expect(echo.env.WEB_CONCURRENCY).to.equal('3');
      expect(echo.env.PROC_VAR).to.equal('web-only');
      expect(echo.env.MYPATH).to.equal('/from/layer');
      expect(echo.env.EXECD_SAW).to.equal(`hello ${app.appDir}`);
      expect(echo.env.PATH?.split(':')[0]).to.equal(`${bpLayers}/web/bin`);
      expect(Object.keys(echo.env).filter((k) => k.startsWith('CNB_'))).to.deep.equal([]);
      expect(echo.cwd).to.equal(app.appDir);
      expect(echo.uid).to.equal(platform.launchUser.uid);
      expect(echo.argv.slice(1)).to.deep.equal(['default-arg']);
      expect(echo.uid).to.not.equal(platform.buildUser.uid);
      expect(echo.pid).to.equal(1);
      expect(web.output()).to.include('exec.d: setting WEB_CONCURRENCY').and.include(`serving on ${port}`);
      const stop = await web.stop('SIGTERM', 5000);
      expect(stop).to.include({ code: 0, forced: false });
    } finally {
      web.kill();
    }
  });

  it('lets a user value win over .default files and exec.d, and user args replace process args', async () => {
    const app = await platform.app({});
    const res = await platform.buildOk(app);
    const port = await freePort();
    const web = await platform.launch(res, { env: { PORT: String(port), GREETING: 'user', WEB_CONCURRENCY: '7' }, args: ['a', 'b'] });
    try {
      const echo = JSON.parse((await web.waitForHttp(`http://127.0.0.1:${port}/`)).body) as Echo;
      expect(echo.env.GREETING).to.equal('user');
      expect(echo.env.WEB_CONCURRENCY).to.equal('7');
      expect(echo.argv.slice(1)).to.deep.equal(['a', 'b']);
    } finally {
      await web.stop();
    }
  });

  it('applies only the process-type specific env of the started process', async () => {
    const app = await platform.app({});
    const res = await platform.buildOk(app);
    const worker = await platform.launch(res, { processType: 'worker' });
    const exit = await worker.waitForExit(10_000);
    expect(exit.code).to.equal(0);
    expect(worker.output()).to.include('GREETING=hello').and.not.include('PROC_VAR').and.not.include('EXECD_SAW');
    const cmd = await platform.launch(res, { command: ['printenv', 'WEB_CONCURRENCY'] });
    await cmd.waitForExit(10_000);
    expect(cmd.output()).to.match(/^3$/m);
  });

  it('runs the app as PID 1: SIGTERM without a handler is ignored until SIGKILL', async () => {
    requirePid1('running the app as PID 1');
    const p2 = await shPlatform({
      id: 'test/sleep',
      build: `printf '[[processes]]\\ntype = "web"\\ncommand = ["sleep", "30"]\\n' > "$CNB_LAYERS_DIR/launch.toml"`,
    });
    const res = await p2.buildOk(await p2.app({}));
    const proc = await p2.launch(res);
    await new Promise((r) => setTimeout(r, 200));
    const stop = await proc.stop('SIGTERM', 500);
    expect(stop).to.include({ forced: true, signal: 'SIGKILL' });
    expect(stop.stopMs).to.be.greaterThanOrEqual(500);
  });

  const BUILD_PRIVATE = `mkdir -p "$CNB_LAYERS_DIR/cfg/env.launch"
printf 'secret' > "$CNB_LAYERS_DIR/cfg/env.launch/TOKEN"
chmod 600 "$CNB_LAYERS_DIR/cfg/env.launch/TOKEN"
printf '[types]\\nlaunch = true\\n' > "$CNB_LAYERS_DIR/cfg.toml"
printf '[[processes]]\\ntype = "web"\\ncommand = ["true"]\\n' > "$CNB_LAYERS_DIR/launch.toml"`;
  it('runs as a different uid than the build: files only the build user can read break the launch, as with the launcher', async () => {
    requireRoot('launching as another user than the build');
    const p2 = await shPlatform({ id: 'test/private', build: BUILD_PRIVATE });
    const res = await p2.buildOk(await p2.app({}));
    let error: unknown;
    await p2.launch(res).catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/modify env: uid 1001 cannot read .*TOKEN/);

    const lifecycle = await shRealLifecycle({ id: 'test/private', build: BUILD_PRIVATE });
    const proc = await lifecycle.launch(await lifecycle.buildOk(await lifecycle.app({})));
    expect((await proc.waitForExit(10_000)).code, 'the real launcher').to.equal(82);
    expect(proc.output()).to.match(/failed to launch: modify env: .*TOKEN: permission denied/);
  });

  const BUILD_NO_DEFAULT = `printf '[[processes]]\\ntype = "web"\\ncommand = ["true"]\\n' > "$CNB_LAYERS_DIR/launch.toml"`;
  it('fails to launch when no process type is given and there is no default, as the launcher does', async () => {
    const p2 = await shPlatform({ id: 'test/nodefault', build: BUILD_NO_DEFAULT });
    const res = await p2.buildOk(await p2.app({}), { defaultProcess: null });
    expect(res.image?.defaultProcess).to.equal(undefined);
    let error: unknown;
    await p2.launch(res).catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/when there is no default process a command is required/);

    const lifecycle = await shRealLifecycle({ id: 'test/nodefault', build: BUILD_NO_DEFAULT });
    const real = await lifecycle.buildOk(await lifecycle.app({}), { defaultProcess: null });
    expect(real.image?.defaultProcess).to.equal(undefined);
    const proc = await lifecycle.launch(real); // the bare launcher, as the image's ENTRYPOINT without a default process
    expect((await proc.waitForExit(10_000)).code, 'the real launcher').to.equal(82);
    expect(proc.output()).to.contain('when there is no default process a command is required');
  });
});

describe('platform: the launch is the real launcher\'s', function () {
  this.timeout(60_000);
  let platform: LocalPlatform;
  let lifecycle: RealLifecycle;
  const running: LaunchedProcess[] = [];
  after(cleanupPlatforms);
  before(async () => {
    platform = await shPlatform({ id: 'test/good', build: BUILD });
    lifecycle = await shRealLifecycle({ id: 'test/good', build: BUILD });
  });
  /** The same app built both ways, once, by the first test that needs it. */
  let builds: Promise<[BuildResult, RealBuildResult]> | undefined;
  const built = (): Promise<[BuildResult, RealBuildResult]> =>
    (builds ??= (async () => [await platform.buildOk(await platform.app({ 'hello.txt': 'hi' })), await lifecycle.buildOk(await lifecycle.app({ 'hello.txt': 'hi' }))] as [BuildResult, RealBuildResult])());
  afterEach(async () => {
    for (const p of running.splice(0)) await p.stop('SIGKILL', 5000);
  });

  /** `text` with this build's paths as placeholders: the two builds live in different folders. */
  function normalized(text: string, res: { app: { root: string } }): string {
    return text.split(res.app.root).join('<app root>').replace(/launch-home\/\d+/g, 'launch-home/<n>');
  }

  /** Starts the same process both ways; returns what each printed or served, normalised. */
  async function launchBoth(o: LaunchOptions & RealLaunchOptions, http: boolean): Promise<[string, string]> {
    const [emulated, real] = await built();
    const seen: string[] = [];
    const port = await freePort(); // one after the other, on the same port: the app prints PORT
    for (const [res, launch] of [
      [emulated, (env: Record<string, string>) => platform.launch(emulated, { ...o, env })],
      [real, (env: Record<string, string>) => lifecycle.launch(real, { ...o, env })],
    ] as const) {
      const proc = await launch({ ...o.env, PORT: String(port) });
      running.push(proc);
      if (http) seen.push(normalized((await proc.waitForHttp(`http://127.0.0.1:${port}/`, { timeoutMs: 15_000 })).body, res));
      else {
        await proc.waitForExit(10_000);
        seen.push(normalized(proc.output(), res));
      }
      await proc.stop('SIGTERM', 5000);
    }
    return [seen[0] ?? '', seen[1] ?? ''];
  }

  it('web: the same env (layer env files, exec.d values, PATH), cwd, uid, argv and PID 1', async () => {
    const [emu, rl] = await launchBoth({}, true);
    const e = JSON.parse(emu) as Echo;
    expect(e.env.EXECD_SAW).to.equal('hello <app root>/workspace');
    expect(e).to.deep.equal(JSON.parse(rl));
  });

  it('web with user env and args: the user values win the same way, the args replace the process args', async () => {
    const [emu, rl] = await launchBoth({ env: { GREETING: 'user', WEB_CONCURRENCY: '7' }, args: ['a', 'b'] }, true);
    const e = JSON.parse(emu) as Echo;
    expect(e.argv.slice(1)).to.deep.equal(['a', 'b']);
    expect(e).to.deep.equal(JSON.parse(rl));
  });

  it('another process type: only its own type-specific env, the same env otherwise', async () => {
    const [emu, rl] = await launchBoth({ processType: 'worker' }, false);
    expect(emu).to.contain('GREETING=hello').and.not.contain('PROC_VAR');
    expect(emu.split('\n').sort()).to.deep.equal(rl.split('\n').sort());
  });

  it('a user command (launcher -- printenv): exec.d runs for it too', async () => {
    const [emu, rl] = await launchBoth({ command: ['printenv', 'WEB_CONCURRENCY', 'GREETING'] }, false);
    expect(emu).to.equal('exec.d: setting WEB_CONCURRENCY\n3\nhello\n');
    expect(rl).to.equal(emu);
  });
});
