import { expect } from 'chai';
import type { AppFiles } from '../platform/index.js';
import { e2eForFile, plainLog, workersSettled } from './support.js';

describe('e2e: foundation', function () {
  this.timeout(300_000);
  const e2e = e2eForFile();

  it('detect passes for a Flask app, naming the file that decided, and fails for an empty directory', async () => {
    const pass = await e2e.platform.detect(await e2e.app('flask-wsgi'));
    expect(pass.status).to.equal('pass');
    expect(pass.output).to.contain('Python app detected: found requirements.txt');
    expect(pass.entries.map((e) => e.name)).to.deep.equal(['python']);
    const fail = await e2e.platform.detect(await e2e.platform.app({}));
    expect(fail.status).to.equal('fail');
    expect(fail.code).to.equal(100);
    expect(fail.output).to.contain('No Python app found: none of requirements.txt, setup.py');
  });

  it('detect finds the markers that are a folder or a pattern, and not a link to nothing, as compiled', async () => {
    const detect = async (files: AppFiles) => e2e.platform.detect(await e2e.platform.app(files));
    expect((await detect({ '.s2i/environment': 'A=1\n', 'index.js': '' })).output).to.contain('Python app detected: found .s2i');
    expect((await detect({ 'pylock.a.b.toml': '', 'pylock.web.toml': '' })).output).to.contain('Python app detected: found pylock.web.toml');
    expect((await detect({ 'requirements.txt': { symlink: '/nonexistent/requirements.txt' } })).status).to.equal('fail');
  });

  it('builds a Flask app that gunicorn serves, as another user, and stops on SIGTERM', async () => {
    const app = await e2e.app('flask-wsgi');
    const res = await e2e.platform.buildOk(app, { platformEnv: await e2e.env() });
    const log = plainLog(res.output);
    expect(log).to.contain("gunicorn is installed: web serves 'wsgi' (from wsgi.py) with the buildpack's fallback config");
    expect(res.processes.map((p) => p.type)).to.include.members(['web', 'python']);
    const { proc, status, body } = await e2e.serve(res);
    expect(status).to.equal(200);
    expect(body).to.equal('Hello from Flask under gunicorn');
    await workersSettled(proc);
    const stop = await proc.stop('SIGTERM', 10_000);
    expect(stop.forced).to.equal(false);
    expect(stop.stopMs).to.be.below(10_000);
  });
});
