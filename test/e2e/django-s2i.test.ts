/**
 * Issue 6, end to end through the local platform: Django's collectstatic (served by WhiteNoise under
 * gunicorn), .s2i/environment, .s2i/bin/assemble and .s2i/bin/run as apps written for the seed s2i builder
 * use them. Django, gunicorn, flask and six come from the local wheelhouse; WhiteNoise from a wheel built out
 * of Debian's python3-whitenoise.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { E2E, plainLog } from './support.js';
import { whitenoiseWheel } from '../helpers/debian-wheels.js';
import type { AppFiles, BuildResult } from '../platform/index.js';
import type { Cause } from '../../src/causes.js';
import { renderCause, renderWarning } from '../../src/messages.js';

const SITE_CSS = 'body { color: #0a7d55; }\n';

describe('e2e: Django and s2i compatibility', function () {
  this.timeout(600_000);
  let e2e: E2E;
  let overlay: string;
  before(async () => {
    e2e = await E2E.start();
    overlay = fs.mkdtempSync(path.join(os.tmpdir(), 'whitenoise-wheel-'));
    await whitenoiseWheel(overlay); // fails (not skips) when python3-whitenoise is missing
    e2e.index.addOverlayDir(overlay);
  });
  after(async () => {
    await e2e?.stop();
    if (overlay) fs.rmSync(overlay, { recursive: true, force: true });
  });

  async function get(port: number, urlPath: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${port}${urlPath}`);
    return { status: res.status, body: await res.text() };
  }

  async function imageFile(res: BuildResult, rel: string): Promise<string | undefined> {
    const { appDir } = await res.app.materialize();
    const p = path.join(appDir, rel);
    return fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : undefined;
  }

  function webCommand(res: BuildResult): string {
    const web = res.processes.find((p) => p.type === 'web');
    return web ? [...web.command, ...web.args].join(' ') : '<no web process>';
  }

  describe('Django', () => {
    it('runs collectstatic at build; WhiteNoise serves the collected file with HTTP 200 under gunicorn', async () => {
      const app = await e2e.app('django-whitenoise');
      const res = await e2e.platform.buildOk(app, { platformEnv: await e2e.env(undefined, { GUNICORN_APP_MODULE: 'mysite.wsgi' }) });
      const log = plainLog(res.output);
      expect(log).to.match(/Successfully installed .*whitenoise-\d/i);
      expect(log).to.contain("Running 'python manage.py collectstatic --noinput'");
      expect(log).to.contain("1 static file copied to '");
      expect(log).to.contain('- Collected static files (<time>)');
      expect(log).to.contain("gunicorn is installed: web serves 'mysite.wsgi' (from GUNICORN_APP_MODULE)");
      expect(await imageFile(res, 'staticfiles/css/site.css')).to.equal(SITE_CSS);

      const { proc, port, status, body } = await e2e.serve(res, { path: '/static/css/site.css' });
      expect(status, proc.output()).to.equal(200);
      expect(body).to.equal(SITE_CSS);
      expect(await get(port, '/')).to.deep.equal({ status: 200, body: 'Hello from Django' });
      expect(proc.output()).to.contain('Starting gunicorn');
      await proc.stop();
    });

    it('skips collectstatic with DISABLE_COLLECTSTATIC=TRUE: no collected files, the static URL answers 404', async () => {
      const app = await e2e.app('django-whitenoise');
      const res = await e2e.platform.buildOk(app, {
        platformEnv: await e2e.env(undefined, { GUNICORN_APP_MODULE: 'mysite.wsgi', DISABLE_COLLECTSTATIC: 'TRUE' }),
      });
      const log = plainLog(res.output);
      expect(log).to.contain('Skipping collectstatic: DISABLE_COLLECTSTATIC is set');
      expect(log).not.to.contain('collectstatic --noinput');
      expect(await imageFile(res, 'staticfiles/css/site.css')).to.equal(undefined);

      const { proc, port, status, body } = await e2e.serve(res);
      expect(status).to.equal(200);
      expect(body).to.equal('Hello from Django');
      expect((await get(port, '/static/css/site.css')).status).to.equal(404);
      await proc.stop();
    });

    it('stops the build with Django\'s own message and names DISABLE_COLLECTSTATIC when collectstatic fails', async () => {
      const app = await e2e.app('django-collectstatic-fails');
      const res = await e2e.platform.build(app, { platformEnv: await e2e.env(undefined, { GUNICORN_APP_MODULE: 'mysite.wsgi' }) });
      expect(res.success).to.equal(false);
      const log = plainLog(res.output);
      expect(log).to.contain('[Error: Unable to generate Django static files]');
      expect(log).to.contain("'python manage.py collectstatic --noinput' failed. Django said:");
      expect(log).to.contain("You're using the staticfiles app without having set the STATIC_ROOT setting to a filesystem path.");
      expect(log).to.contain('set DISABLE_COLLECTSTATIC=TRUE');
      expect(log).not.to.contain('- Collected static files');
    });

    it('skips collectstatic with a log line when staticfiles is not in INSTALLED_APPS, and the app runs', async () => {
      const app = await e2e.app('django-no-staticfiles');
      const res = await e2e.platform.buildOk(app, { platformEnv: await e2e.env(undefined, { GUNICORN_APP_MODULE: 'mysite.wsgi' }) });
      const log = plainLog(res.output);
      expect(log).to.contain('Skipped collectstatic: django.contrib.staticfiles is not in INSTALLED_APPS');
      expect(log).not.to.contain('- Collected static files');
      const { proc, status, body } = await e2e.serve(res);
      expect(status).to.equal(200);
      expect(body).to.equal('Hello from Django');
      await proc.stop();
    });
  });

  describe('.s2i/environment', () => {
    it('applies APP_RUN from the file at build and gives the launched app its variables', async () => {
      const app = await e2e.app('s2i-environment');
      const res = await e2e.platform.buildOk(app, { platformEnv: await e2e.env() });
      const log = plainLog(res.output);
      expect(log).to.contain('Read APP_RUN, GREETING from .s2i/environment');
      expect(log).to.contain("APP_RUN is set: web runs '");
      expect(webCommand(res)).to.match(/^\/bin\/sh -c (exec )?python server\.py$/);
      const { proc, body } = await e2e.serve(res);
      expect(body).to.equal('GREETING=hello from .s2i/environment\nstarted by: APP_RUN from .s2i/environment\n');
      expect(proc.output()).to.contain('GREETING=hello from .s2i/environment');
      await proc.stop();
    });

    it('lets a value set on the platform at build win over the file', async () => {
      const app = await e2e.app('s2i-environment');
      const res = await e2e.platform.buildOk(app, { platformEnv: await e2e.env(undefined, { APP_RUN: 'python server.py platform' }) });
      expect(plainLog(res.output)).to.contain('Read APP_RUN, GREETING from .s2i/environment');
      expect(webCommand(res)).to.match(/^\/bin\/sh -c (exec )?python server\.py platform$/);
      const { proc, body } = await e2e.serve(res);
      expect(body).to.equal('GREETING=hello from .s2i/environment\nstarted by: platform\n');
      await proc.stop();
    });

    it('lets a value set at runtime win over the file at launch', async () => {
      const app = await e2e.app('s2i-environment');
      const res = await e2e.platform.buildOk(app, { platformEnv: await e2e.env() });
      const { proc, body } = await e2e.serve(res, { env: { GREETING: 'set at runtime' } });
      expect(body).to.equal('GREETING=set at runtime\nstarted by: APP_RUN from .s2i/environment\n');
      expect(proc.output()).to.contain('GREETING=set at runtime');
      await proc.stop();
    });

    it('stops the build at a malformed line, naming its line number', async () => {
      const app = await e2e.app('s2i-environment-malformed');
      const res = await e2e.platform.build(app, { platformEnv: await e2e.env() });
      expect(res.success).to.equal(false);
      const log = plainLog(res.output);
      expect(log).to.contain('[Error: Invalid .s2i/environment file]');
      expect(log).to.contain("Line 4 of .s2i/environment is not KEY=VALUE: 'this line has no equals sign'.");
    });
  });

  describe('.s2i/bin/assemble', () => {
    it('runs the app\'s script, which sources /usr/libexec/s2i/assemble: its lines are logged, the requirements installed, its file in the image', async () => {
      const app = await e2e.app('s2i-assemble');
      const res = await e2e.platform.buildOk(app, { platformEnv: await e2e.env() });
      const log = plainLog(res.output);
      expect(log).to.contain('Running .s2i/bin/assemble');
      expect(log).to.contain('.s2i/bin/assemble refers to /usr/libexec/s2i: running a copy that uses $STI_SCRIPTS_PATH instead');
      const before = log.indexOf('---> custom assemble: before the default steps');
      const installed = log.search(/Successfully installed six-/);
      const after = log.indexOf('---> custom assemble: after the default steps');
      expect(before, log).to.be.greaterThan(-1);
      expect(installed).to.be.greaterThan(before);
      expect(after).to.be.greaterThan(installed);
      expect(await imageFile(res, 'assembled.txt')).to.equal('written by .s2i/bin/assemble after the default steps\n');

      const { proc, body } = await e2e.serve(res);
      expect(body).to.match(/^six \d+\.\d+/m);
      expect(body).to.contain('assembled.txt: written by .s2i/bin/assemble after the default steps');
      await proc.stop();
    });

    it('keeps what the script installs with pip before it sources the default steps, called from another directory', async () => {
      const app = await e2e.app('s2i-assemble-pip-first');
      const res = await e2e.platform.buildOk(app, { platformEnv: await e2e.env() });
      const log = plainLog(res.output);
      expect(log).to.match(/Successfully installed idna-/);
      expect(log, 'the default steps found requirements.txt though the script had cd\'d to /tmp').to.match(/Successfully installed six-/);
      const { proc, body } = await e2e.serve(res);
      expect(body).to.match(/^six \d+\.\d+/m);
      expect(body, 'idna, installed by the script before the default steps, is importable at launch').to.match(/^idna \d+\.\d+/m);
      expect(body).to.contain('assembled.txt: written by .s2i/bin/assemble after the default steps');
      await proc.stop();
    });
  });

  describe('.s2i/bin/run', () => {
    it('runs the app\'s script as web; it sets a variable and runs /usr/libexec/s2i/run, and gunicorn serves the app with it', async () => {
      const app = await e2e.app('s2i-run');
      const res = await e2e.platform.buildOk(app, { platformEnv: await e2e.env() });
      const log = plainLog(res.output);
      expect(log).to.contain('.s2i/bin/run refers to /usr/libexec/s2i: running a copy that uses $STI_SCRIPTS_PATH instead');
      expect(log).to.contain("web runs the app's own .s2i/bin/run");
      const { proc, body } = await e2e.serve(res);
      expect(body).to.match(/^RUN_SCRIPT_MARKER=set by \.s2i\/bin\/run\nserver: gunicorn\/\d/);
      expect(proc.output()).to.contain('---> custom run: setting RUN_SCRIPT_MARKER');
      expect(proc.output()).to.contain('Starting gunicorn');
      const stop = await proc.stop('SIGTERM', 10_000);
      expect(stop.forced, 'gunicorn, exec\'d by the script, handles SIGTERM').to.equal(false);
    });
  });

  describe('.s2i/bin scripts: modes and #! lines (issue 13)', () => {
    const errorLine = (c: Cause): string => `[Error: ${renderCause(c).title}]`;
    const SERVER = 'import http.server, os\n' +
      'class H(http.server.BaseHTTPRequestHandler):\n' +
      '    def do_GET(self):\n        self.send_response(200)\n        self.end_headers()\n        self.wfile.write(b"Hello from .s2i/bin/run")\n' +
      'http.server.HTTPServer(("0.0.0.0", int(os.environ["PORT"])), H).serve_forever()\n';

    async function buildFails(files: AppFiles, cause: Cause): Promise<string> {
      const res = await e2e.platform.build(await e2e.platform.app(files), { platformEnv: await e2e.env() });
      const log = plainLog(res.output);
      expect(res.success, log).to.equal(false);
      expect(res.code, log).to.be.a('number').and.not.equal(0);
      expect(log).to.contain(errorLine(cause));
      expect(log).not.to.contain('ENOENT');
      return log;
    }

    it('a .s2i/bin/run that is not executable is run all the same, as s2i does, and serves the app', async () => {
      const app = await e2e.platform.app({ 'server.py': SERVER, '.s2i/bin/run': { content: '#!/bin/sh\nexec python server.py\n', mode: 0o644 } });
      const res = await e2e.platform.buildOk(app, { platformEnv: await e2e.env() });
      const log = plainLog(res.output);
      expect(log).to.contain('.s2i/bin/run is not executable; running it anyway, as s2i does');
      expect(log).to.contain("web runs the app's own .s2i/bin/run");
      const { proc, status, body } = await e2e.serve(res);
      expect(status).to.equal(200);
      expect(body).to.equal('Hello from .s2i/bin/run');
      await proc.stop();
    });

    it('a .s2i/bin/assemble that is not executable is run all the same, as s2i does', async () => {
      const app = await e2e.platform.app({
        'app.py': 'print("app")\n',
        '.s2i/bin/assemble': { content: '#!/bin/sh\necho "---> custom assemble, mode 644"\n. "$STI_SCRIPTS_PATH/assemble"\n', mode: 0o644 },
      });
      const log = plainLog((await e2e.platform.buildOk(app, { platformEnv: await e2e.env() })).output);
      expect(log).to.contain('.s2i/bin/assemble is not executable; running it anyway, as s2i does');
      expect(log).to.contain('---> custom assemble, mode 644');
    });

    it('a .s2i/bin/assemble with CRLF line endings stops the build naming them and the fix', async () => {
      const log = await buildFails({ 'app.py': 'print("app")\n', '.s2i/bin/assemble': { content: '#!/bin/sh\r\necho hi\r\n', mode: 0o755 } }, { type: 's2i-script-crlf', script: 'assemble' });
      expect(log).to.contain('The #! line of .s2i/bin/assemble ends with a carriage return (CRLF line endings)');
      expect(log).to.contain('dos2unix .s2i/bin/assemble');
      expect(log).to.contain('core.autocrlf');
    });

    it('a .s2i/bin/run with CRLF line endings stops the build (it would fail at every start)', async () => {
      const log = await buildFails({ 'server.py': SERVER, '.s2i/bin/run': { content: '#!/bin/sh\r\nexec python server.py\r\n', mode: 0o755 } }, { type: 's2i-script-crlf', script: 'run' });
      expect(log).to.contain('dos2unix .s2i/bin/run');
    });

    it('a .s2i/bin/assemble whose interpreter the image lacks stops the build naming the interpreter', async () => {
      const log = await buildFails(
        { 'app.py': 'print("app")\n', '.s2i/bin/assemble': { content: '#!/bin/no-such-shell\necho hi\n', mode: 0o755 } },
        { type: 's2i-script-interpreter-missing', script: 'assemble', interpreter: '/bin/no-such-shell' },
      );
      expect(log).to.contain('The #! line of .s2i/bin/assemble names the interpreter /bin/no-such-shell, which the build image does not have.');
    });

    it('a .s2i/bin/run whose interpreter the build image lacks builds with a warning naming it', async () => {
      const app = await e2e.platform.app({ 'server.py': SERVER, '.s2i/bin/run': { content: '#!/bin/no-such-shell\nexec python server.py\n', mode: 0o755 } });
      const log = plainLog((await e2e.platform.buildOk(app, { platformEnv: await e2e.env() })).output);
      expect(log).to.contain(`[Warning: ${renderWarning({ type: 's2i-run-interpreter-missing', interpreter: '/bin/no-such-shell' }).title}]`);
      expect(log).to.contain('unless that image has /bin/no-such-shell, the web process fails to start');
    });
  });
});
