/**
 * A well-behaved sh buildpack: a launch layer with env.launch files, exec.d programs and a web
 * process. The launched process must see the layer env and exec.d values and answer HTTP.
 */
import { expect } from 'chai';
import { IS_ROOT } from './fsutil.js';
import { PID1_AVAILABLE } from './launcher.js';
import type { LocalPlatform } from './lifecycle.js';
import { freePort } from './net.js';
import { cleanupPlatforms, shPlatform } from './test-helpers.js';

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
      if (IS_ROOT) expect(echo.uid).to.not.equal(platform.buildUser.uid);
      if (PID1_AVAILABLE) expect(echo.pid).to.equal(1);
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

  (PID1_AVAILABLE ? it : it.skip)('runs the app as PID 1: SIGTERM without a handler is ignored until SIGKILL', async () => {
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

  (IS_ROOT ? it : it.skip)('runs as a different uid than the build: files only the build user can read break the launch', async () => {
    const p2 = await shPlatform({
      id: 'test/private',
      build: `mkdir -p "$CNB_LAYERS_DIR/cfg/env.launch"
printf 'secret' > "$CNB_LAYERS_DIR/cfg/env.launch/TOKEN"
chmod 600 "$CNB_LAYERS_DIR/cfg/env.launch/TOKEN"
printf '[types]\\nlaunch = true\\n' > "$CNB_LAYERS_DIR/cfg.toml"
printf '[[processes]]\\ntype = "web"\\ncommand = ["true"]\\n' > "$CNB_LAYERS_DIR/launch.toml"`,
    });
    const res = await p2.buildOk(await p2.app({}));
    let error: unknown;
    await p2.launch(res).catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/modify env: uid 1001 cannot read .*TOKEN/);
  });

  it('fails to launch when no process type is given and there is no default', async () => {
    const p2 = await shPlatform({
      id: 'test/nodefault',
      build: `printf '[[processes]]\\ntype = "web"\\ncommand = ["true"]\\n' > "$CNB_LAYERS_DIR/launch.toml"`,
    });
    const res = await p2.buildOk(await p2.app({}), { defaultProcess: null });
    expect(res.image?.defaultProcess).to.equal(undefined);
    let error: unknown;
    await p2.launch(res).catch((e: unknown) => (error = e));
    expect(String(error)).to.match(/when there is no default process a command is required/);
  });
});
