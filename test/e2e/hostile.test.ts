/**
 * Issue 8, item 2: a hostile build host, always (the whole e2e suite runs this way with HOSTILE=1, see
 * hostile-env.ts). The lifecycle passes `/invalid` entries in PATH, CPATH, LD_LIBRARY_PATH, LIBRARY_PATH and
 * PKG_CONFIG_PATH and an unwritable HOME; the user sets PYTHONPATH=/invalid and harmless PIP_* settings; and the
 * build image's PATH starts with a folder of decoy tools (python, python3, pip, pip3, gunicorn) that fail loudly,
 * so any use of a tool that is not the buildpack's own shows. The variables the pip-deps layer cannot work with
 * are refused with their explanation, from every place a user can set them.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { FORBIDDEN_ENV_VARS } from '../../src/checks.js';
import { E2E, plainLog } from './support.js';
import { HOSTILE_USER_ENV, hostileBuildEnv } from './hostile-env.js';
import type { EnvOverrides } from '../platform/index.js';

const DECOYS = ['python', 'python3', 'pip', 'pip3', 'gunicorn'];

/** A folder of tools that fail loudly (and leave a mark) when anything runs them. */
function decoyBin(): { dir: string; marks: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'decoy-bin-'));
  fs.chmodSync(dir, 0o755); // the build user must find them
  const marks = path.join(dir, 'marks');
  fs.mkdirSync(marks, { mode: 0o777 });
  fs.chmodSync(marks, 0o777);
  for (const tool of DECOYS) {
    fs.writeFileSync(path.join(dir, tool), `#!/bin/sh\necho "DECOY ${tool} RAN: $*" >&2\ntouch "${marks}/${tool}"\nexit 97\n`, { mode: 0o755 });
  }
  return { dir, marks };
}

const VALUES: Record<string, string> = {
  PIP_TARGET: '/tmp/elsewhere',
  PIP_PREFIX: '/opt/prefix',
  PIP_USER: '1',
  PIP_ROOT: '/tmp/root',
  PYTHONHOME: '/usr',
  PYTHONUSERBASE: '/tmp/userbase',
  VIRTUAL_ENV: '/opt/venv',
};

describe('e2e: a hostile build host', function () {
  this.timeout(600_000);
  let e2e: E2E;
  let env: Record<string, string>;
  let baseEnv: EnvOverrides;
  let decoys: { dir: string; marks: string };

  before(async () => {
    e2e = await E2E.start();
    env = { ...(await e2e.env('3.11')), ...HOSTILE_USER_ENV };
    decoys = decoyBin();
    const hostile = hostileBuildEnv();
    baseEnv = { ...hostile, PATH: `${decoys.dir}:${hostile.PATH ?? ''}` };
  });
  after(async () => {
    await e2e?.stop();
    if (decoys) fs.rmSync(decoys.dir, { recursive: true, force: true });
  });

  it('builds and serves the Flask app using only its own tools, and the rebuild reuses every layer', async () => {
    // the decoys work: as the build user, `python3` on this PATH is the decoy
    const asBuildUser = process.getuid?.() === 0 ? { uid: e2e.platform.buildUser.uid, gid: e2e.platform.buildUser.gid } : {};
    const probe = spawnSync('python3', ['-V'], { env: { PATH: baseEnv.PATH }, ...asBuildUser });
    expect(probe.status).to.equal(97);
    fs.rmSync(path.join(decoys.marks, 'python3'));
    const home = baseEnv.HOME ?? '';
    expect((fs.statSync(home).mode & 0o777).toString(8)).to.equal('555');
    const app = await e2e.app('flask-wsgi');
    // The app's .env and bunfig.toml are the app's: bun's compiled executables read both from their working
    // directory unless compiled not to (scripts/bun-compile-flags.mjs), which would refuse this build (PIP_TARGET)
    // and run the app's code inside bin/detect and bin/build (preload).
    await app.writeFile('.env', 'PIP_TARGET=/tmp/elsewhere\nBP_LOG_LEVEL=DEBUG\n');
    await app.writeFile('bunfig.toml', 'preload = ["./preload.js"]\n');
    await app.writeFile('preload.js', 'console.log("BUNFIG PRELOAD RAN");\n');
    const res = await e2e.platform.buildOk(app, { platformEnv: env, baseEnv });
    const log = plainLog(res.output);
    expect(log).to.not.match(/BUNFIG PRELOAD RAN|PIP_TARGET|\[debug\]/);
    expect(log).to.not.match(/DECOY|Traceback|Permission denied|WARNING: The directory/);
    expect(fs.readdirSync(decoys.marks)).to.deep.equal([]);
    expect(log).to.contain('Successfully installed').and.contain("gunicorn is installed: web serves 'wsgi'");
    expect(fs.readdirSync(home)).to.deep.equal([]);
    const first = await e2e.serve(res);
    expect(first.status).to.equal(200);
    expect(first.body).to.equal('Hello from Flask under gunicorn');
    await first.proc.stop();

    const again = await e2e.platform.buildOk(app, { platformEnv: env, baseEnv });
    const log2 = plainLog(again.buildOutput);
    expect(log2).to.contain('Using cached Python').and.contain('Using cached dependencies');
    expect(again.reused).to.include.members(['python', 'pip-deps']);
    const second = await e2e.serve(again);
    expect(second.status).to.equal(200);
    await second.proc.stop();
    expect(fs.readdirSync(decoys.marks)).to.deep.equal([]);
  });

  for (const [name, why] of Object.entries(FORBIDDEN_ENV_VARS)) {
    it(`${name} is refused with its explanation before anything is installed`, async () => {
      const app = await e2e.app('flask-wsgi');
      const res = await e2e.platform.build(app, { platformEnv: { ...env, [name]: VALUES[name] ?? 'x' }, baseEnv });
      expect(res.success).to.equal(false);
      const log = plainLog(res.buildOutput);
      expect(log).to.contain(`[Error: ${name} is not supported]`);
      expect(log).to.contain(`The variable ${name} is set, but ${why}`);
      expect(log).to.contain(`Unset ${name} (in the platform env, .s2i/environment or the build env) and build again.`);
      expect(log).to.not.contain('[Installing Python]');
      expect(log).to.not.match(/Traceback|at .*\.ts:\d+/);
      expect(Object.keys(res.layers)).to.deep.equal([]);
    });
  }

  it('a refused variable in .s2i/environment or in the operator build env is refused the same way', async () => {
    const viaApp = await e2e.app('flask-wsgi');
    await viaApp.writeFile('.s2i/environment', 'PIP_TARGET=/tmp/elsewhere\n');
    const a = await e2e.platform.build(viaApp, { platformEnv: env, baseEnv });
    expect(plainLog(a.buildOutput)).to.contain('[Error: PIP_TARGET is not supported]');
    const viaOperator = await e2e.app('flask-wsgi');
    const b = await e2e.platform.build(viaOperator, { platformEnv: env, baseEnv, buildConfigEnv: { 'VIRTUAL_ENV.override': '/opt/venv' } });
    expect(plainLog(b.buildOutput)).to.contain('[Error: VIRTUAL_ENV is not supported]');
    expect([a.success, b.success]).to.deep.equal([false, false]);
  });
});
