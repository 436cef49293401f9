/**
 * Issue 4, end to end through the local platform: the pip-deps layer. Packages come from the machine's
 * wheelhouse served as a loopback PEP 503 index (PIP_CONFIG_FILE=/dev/null switches off this machine's pip
 * configuration), plus a tiny wheel built here for the Python 2.7 and 3.6 apps.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { E2E, REQUIREMENTS_UNCHANGED, fixture, filesUnder, plainLog, pythonInImage } from './support.js';
import { buildWheel } from '../helpers/servers.js';
import { freePort, type BuildResult } from '../platform/index.js';

const PIP_FAILED = '[Error: Unable to install dependencies using pip]';
const SITE_PACKAGES = /\/pip-deps\/lib\/python\d\.\d+\/site-packages\//;

/** pip's version in the cached build-tools layer (build only, so not in the image). */
function toolsPip(res: BuildResult): string | undefined {
  const site = path.join(res.cache?.dir ?? '', 'layers', 'build-tools', 'lib', 'python3.11', 'site-packages');
  return fs.readdirSync(site).map((e) => /^pip-(.+)\.dist-info$/.exec(e)?.[1]).find((v) => v !== undefined);
}

/** The image has no pip (issue 16: it is in the build-only build-tools layer). */
async function noPipInImage(e2e: E2E, res: BuildResult): Promise<void> {
  const out = await pythonInImage(e2e, res, 'import pip');
  expect(out.code, out.output).to.not.equal(0);
  expect(out.output).to.contain('No module named');
}

async function expectImports(e2e: E2E, res: BuildResult, modules: string[]): Promise<string> {
  const code = `import ${modules.join(', ')}\n${modules.map((m) => `print('${m}=' + ${m}.__file__)`).join('\n')}`;
  const out = await pythonInImage(e2e, res, code);
  expect(out.code, out.output).to.equal(0);
  return out.output;
}

describe('e2e: the pip-deps layer', function () {
  this.timeout(900_000);
  let e2e: E2E;
  let overlay: string;
  before(async () => {
    e2e = await E2E.start();
    overlay = fs.mkdtempSync(path.join(os.tmpdir(), 'pip-overlay-'));
    // For the 2.7 and 3.6 apps: the wheelhouse's wheels are for current Pythons.
    await buildWheel({ name: 'tiny-greeter', version: '1.0', outDir: overlay });
    e2e.index.addOverlayDir(overlay);
  });
  after(async () => {
    await e2e?.stop();
    if (overlay) fs.rmSync(overlay, { recursive: true, force: true });
  });

  describe('installs', () => {
    it('Flask app: requirements.txt installs into pip-deps, the packages import at launch, the SBOM lists them', async () => {
      const res = await e2e.platform.buildOk(await e2e.app('pip-flask'), { platformEnv: await e2e.env() });
      const log = plainLog(res.output);
      expect(log).to.contain("Running 'python -m pip install --user -r requirements.txt'");
      expect(log).to.match(/Successfully installed .*flask-3\.1\.3/);
      expect(res.layers['pip-deps']?.types).to.deep.equal({ build: true, launch: true, cache: true });
      const out = await expectImports(e2e, res, ['flask', 'werkzeug', 'jinja2', 'markupsafe']);
      for (const line of out.trim().split('\n')) expect(line).to.match(SITE_PACKAGES);

      const sbom = JSON.parse(res.files['pip-deps.sbom.cdx.json'] ?? '{}') as { components?: Array<{ name: string; version: string; purl: string }> };
      const byName = new Map((sbom.components ?? []).map((c) => [c.name.toLowerCase(), c]));
      for (const name of ['flask', 'werkzeug', 'jinja2', 'markupsafe', 'itsdangerous', 'click', 'blinker']) {
        const c = byName.get(name);
        expect(c, `${name} in the SBOM`).to.not.equal(undefined);
        expect(c?.purl).to.equal(`pkg:pypi/${name}@${c?.version}`);
      }
      expect(byName.get('flask')?.version).to.equal('3.1.3');
    });

    it('Django app: Django imports at launch and manage.py check runs in the image', async () => {
      const res = await e2e.platform.buildOk(await e2e.app('pip-django'), { platformEnv: await e2e.env() });
      expect(plainLog(res.output)).to.match(/Successfully installed .*[Dd]jango-5\.2\.17/);
      const out = await pythonInImage(e2e, res, 'import django, sys; print("django", django.get_version())\nfrom django.core.management import execute_from_command_line\nimport os\nos.environ["DJANGO_SETTINGS_MODULE"] = "pipsite.settings"\nsys.argv = ["manage.py", "check"]\nexecute_from_command_line(sys.argv)');
      expect(out.code, out.output).to.equal(0);
      expect(out.output).to.contain('django 5.2.17');
      expect(out.output).to.contain('System check identified no issues');
    });

    it('setup.py-only app: pip install -e . installs its dependency; the app imports at launch; no app file is changed', async () => {
      const app = await e2e.app('pip-setup-py');
      const res = await e2e.platform.buildOk(app, { platformEnv: await e2e.env() });
      const log = plainLog(res.output);
      expect(log).to.contain("Running 'python -m pip install --user -e .'");
      expect(log).to.match(/Successfully installed .*itsdangerous/);
      const out = await pythonInImage(e2e, res, 'import setup_only_app, itsdangerous; print(setup_only_app.MESSAGE); print(itsdangerous.__file__)');
      expect(out.code, out.output).to.equal(0);
      expect(out.output).to.contain('setup.py app with itsdangerous');
      expect(out.output).to.match(SITE_PACKAGES);
      const { appDir } = await app.materialize();
      for (const f of ['setup.py', 'setup_only_app.py']) {
        expect(fs.readFileSync(path.join(appDir, f), 'utf8'), f).to.equal(fs.readFileSync(path.join(app.sourceDir, f), 'utf8'));
      }
      expect(fs.existsSync(path.join(appDir, 'requirements.txt')), 'no requirements.txt written into the app').to.equal(false);
    });

    it('pyproject-only app: pip install . installs the app and its dependency into site-packages', async () => {
      const res = await e2e.platform.buildOk(await e2e.app('pip-pyproject'), { platformEnv: await e2e.env() });
      const log = plainLog(res.output);
      expect(log).to.contain("Running 'python -m pip install --user .'");
      expect(log).to.match(/Successfully installed .*blinker.*pyproj[-_]app-1\.0|Successfully installed .*pyproj[-_]app-1\.0/);
      const out = await expectImports(e2e, res, ['pyproj_app', 'blinker']);
      for (const line of out.trim().split('\n')) expect(line).to.match(SITE_PACKAGES);
    });

    it("PIP_UPGRADE=TRUE upgrades pip in the build-only build-tools layer (to the index's 26.2.1), once, and pip-deps is installed again; the image has no pip either way; unset again, Python is installed afresh", async () => {
      const app = await e2e.app('pip-upgrade');
      const plain = await e2e.platform.buildOk(app, { platformEnv: await e2e.env() });
      const bundled = toolsPip(plain);
      expect(bundled).to.not.equal(undefined);
      expect(bundled).to.not.equal('26.2.1');
      await noPipInImage(e2e, plain);

      const upgrade = await e2e.env(undefined, { PIP_UPGRADE: 'TRUE' });
      const res = await e2e.platform.buildOk(app, { platformEnv: upgrade });
      const log = plainLog(res.output);
      expect(log).to.contain('Using cached Python');
      expect(log).to.contain("Running 'python -m pip install --user --upgrade pip setuptools wheel' in the build-tools layer (PIP_UPGRADE)");
      expect(log).to.match(/Successfully installed .*pip-26\.2\.1/);
      expect(log).to.contain('Upgraded pip, setuptools and wheel (PIP_UPGRADE)');
      expect(log).to.contain('Discarding cached dependencies since:');
      expect(log).to.contain('- The pip settings (PIP_* variables) have changed');
      expect(toolsPip(res)).to.equal('26.2.1');
      expect(res.layers['build-tools']?.metadata).to.include({ upgraded: true });
      await noPipInImage(e2e, res);

      const again = await e2e.platform.buildOk(app, { platformEnv: upgrade });
      expect(plainLog(again.output)).to.not.contain('Upgraded pip');
      expect(plainLog(again.output)).to.contain(REQUIREMENTS_UNCHANGED);

      const off = await e2e.platform.buildOk(app, { platformEnv: await e2e.env() });
      expect(plainLog(off.output)).to.contain('- PIP_UPGRADE is no longer set: pip, setuptools and wheel go back to the versions that come with Python');
      expect(toolsPip(off)).to.equal(bundled);
    });

    it('UPGRADE_PIP_TO_LATEST (OpenShift s2i) upgrades pip as PIP_UPGRADE does, and the log names it', async () => {
      const res = await e2e.platform.buildOk(await e2e.app('pip-upgrade'), { platformEnv: await e2e.env(undefined, { UPGRADE_PIP_TO_LATEST: '1' }) });
      const log = plainLog(res.output);
      expect(log).to.contain("Running 'python -m pip install --user --upgrade pip setuptools wheel' in the build-tools layer (UPGRADE_PIP_TO_LATEST)");
      expect(log).to.contain('Upgraded pip, setuptools and wheel (UPGRADE_PIP_TO_LATEST)');
      expect(toolsPip(res)).to.equal('26.2.1');
      await noPipInImage(e2e, res);
    });

    it('DISABLE_SETUP_PY_PROCESSING (OpenShift s2i): the setup.py app is not installed, and neither is its dependency', async () => {
      const res = await e2e.platform.buildOk(await e2e.app('pip-setup-py'), { platformEnv: await e2e.env(undefined, { DISABLE_SETUP_PY_PROCESSING: 'true' }) });
      const log = plainLog(res.output);
      expect(log).not.to.contain("Running 'python -m pip");
      expect(log).to.contain('No requirements.txt, and setup.py is not installed (DISABLE_SETUP_PY_PROCESSING is set): no dependencies to install');
      expect(res.layers).not.to.have.property('pip-deps');
      const out = await pythonInImage(e2e, res, 'import itsdangerous');
      expect(out.code, out.output).to.not.equal(0);
      expect(out.output).to.contain("No module named 'itsdangerous'");
    });

    it('DISABLE_PYPROJECT_TOML_PROCESSING (OpenShift s2i): the pyproject.toml project is not installed', async () => {
      const res = await e2e.platform.buildOk(await e2e.app('pip-pyproject'), { platformEnv: await e2e.env(undefined, { DISABLE_PYPROJECT_TOML_PROCESSING: '1' }) });
      const log = plainLog(res.output);
      expect(log).not.to.contain("Running 'python -m pip");
      expect(log).to.contain('pyproject.toml is not installed (DISABLE_PYPROJECT_TOML_PROCESSING is set)');
      expect(res.layers).not.to.have.property('pip-deps');
      const out = await pythonInImage(e2e, res, 'import pyproj_app');
      expect(out.code, out.output).to.not.equal(0);
      expect(out.output).to.contain("No module named 'pyproj_app'");
    });

    it('a setup.cfg that only configures tools (flake8, pytest) is not a package: nothing to install, the build passes', async () => {
      const res = await e2e.platform.buildOk(await e2e.app('pip-setup-cfg-tools'), { platformEnv: await e2e.env() });
      const log = plainLog(res.output);
      expect(log).not.to.contain("Running 'python -m pip");
      expect(log).to.contain('setup.cfg declares no package');
      expect(res.layers).not.to.have.property('pip-deps');
    });

    for (const version of ['2.7', '3.6']) {
      it(`Python ${version} app: a dependency from the index installs and imports at launch`, async () => {
        const res = await e2e.platform.buildOk(await e2e.app('pip-legacy'), { platformEnv: await e2e.env(version) });
        const log = plainLog(res.output);
        expect(log).to.contain(`Selected Python ${version}.`);
        expect(log).to.match(/Successfully installed tiny-greeter-1\.0/);
        const out = await pythonInImage(e2e, res, 'import sys, tiny_greeter; print("py%d.%d greeter %s %s" % (sys.version_info[0], sys.version_info[1], tiny_greeter.VERSION, tiny_greeter.__file__))');
        expect(out.code, out.output).to.equal(0);
        expect(out.output).to.contain(`py${version} greeter 1.0`);
        expect(out.output).to.match(SITE_PACKAGES);
      });
    }
  });

  describe('reuse and reproducibility', () => {
    it('a rebuild with nothing changed runs no pip (the index sees no request); editing requirements.txt reinstalls and says why', async () => {
      const app = await e2e.app('pip-rebuild');
      const env = await e2e.env();
      const first = await e2e.platform.buildOk(app, { platformEnv: env });
      expect(plainLog(first.output)).to.contain("Running 'python -m pip install");

      e2e.index.clearRequests();
      const again = await e2e.platform.buildOk(app, { platformEnv: env });
      const log = plainLog(again.output);
      expect(e2e.index.requests.map((r) => r.path)).to.deep.equal([]);
      expect(log).to.contain(REQUIREMENTS_UNCHANGED);
      expect(log).not.to.contain('Running \'python -m pip');
      expect(again.reused).to.include('pip-deps');
      expect(again.layers['pip-deps']?.digest).to.equal(first.layers['pip-deps']?.digest);

      await app.writeFile('requirements.txt', 'six\nblinker\n');
      e2e.index.clearRequests();
      const edited = await e2e.platform.buildOk(app, { platformEnv: env });
      const editedLog = plainLog(edited.output);
      expect(editedLog).to.contain('Discarding cached dependencies since:\n  - The requirements (or the files they include) have changed');
      expect(editedLog).to.contain("Running 'python -m pip install --user -r requirements.txt'");
      expect(e2e.index.requestsFor('/simple/blinker/')).to.have.length(1);
      expect(edited.layers['pip-deps']?.exported).to.equal('new');
      await expectImports(e2e, edited, ['six', 'blinker']);
    });

    it('requirements that pin no exact version: reused within BP_PIP_UNPINNED_MAX_AGE (no pip, the log names the line); past it, pip runs again saying why (issue 14, item 8)', async () => {
      const app = await e2e.app({ 'requirements.txt': 'six\nblinker==1.9.0\n', 'app.py': 'print("app")\n' });
      const env = await e2e.env();
      const first = await e2e.platform.buildOk(app, { platformEnv: env });
      const firstLog = plainLog(first.output);
      expect(firstLog).to.contain('These requirements pin no exact version, so pip resolves them again at the first build after 24h (BP_PIP_UNPINNED_MAX_AGE), even when nothing else changed:\n  - requirements.txt:1: six\n- A lockfile (pylock.toml');

      // Before the age (the default, 24 hours): kept, pip not run, the index not asked.
      e2e.index.clearRequests();
      const before = await e2e.platform.buildOk(app, { platformEnv: env });
      const beforeLog = plainLog(before.output);
      expect(beforeLog).to.contain(REQUIREMENTS_UNCHANGED);
      expect(beforeLog).to.contain('They are reused for up to 24h (BP_PIP_UNPINNED_MAX_AGE), then pip resolves again these requirements, which pin no exact version:\n  - requirements.txt:1: six');
      expect(e2e.index.requests.map((r) => r.path)).to.deep.equal([]);
      expect(before.reused).to.include('pip-deps');

      // Past the age (1 second, whose passing the first build already took): pip resolves again, from the index.
      e2e.index.clearRequests();
      const after = await e2e.platform.buildOk(app, { platformEnv: { ...env, BP_PIP_UNPINNED_MAX_AGE: '1s' } });
      const afterLog = plainLog(after.output);
      // plainLog writes a duration in parentheses as <time>.
      expect(afterLog).to.match(/Discarding cached dependencies since:\n {2}- Some requirements pin no exact version, and their dependencies were installed \d+s ago, not less than BP_PIP_UNPINNED_MAX_AGE \((1s|<time>)\): pip resolves them again/);
      expect(afterLog).to.contain("Running 'python -m pip install --user -r requirements.txt'");
      expect(e2e.index.requestsFor('/simple/six/')).to.have.length(1);
      // The same versions again: pip refilled the layer byte for byte as before (the install is reproducible).
      expect(after.layers['pip-deps']?.digest).to.equal(first.layers['pip-deps']?.digest);
      await expectImports(e2e, after, ['six', 'blinker']);
    });

    it('fully pinned requirements are reused however short BP_PIP_UNPINNED_MAX_AGE is (issue 14, item 8)', async () => {
      const app = await e2e.app({ 'requirements.txt': 'six==1.17.0\n', 'app.py': 'print("app")\n' });
      const env = { ...(await e2e.env()), BP_PIP_UNPINNED_MAX_AGE: '1s' };
      await e2e.platform.buildOk(app, { platformEnv: env });
      e2e.index.clearRequests();
      const again = await e2e.platform.buildOk(app, { platformEnv: env });
      expect(plainLog(again.output)).to.contain(REQUIREMENTS_UNCHANGED);
      expect(plainLog(again.output)).not.to.contain('pin no exact version');
      expect(e2e.index.requests.map((r) => r.path)).to.deep.equal([]);
    });

    it('BP_PIP_REQUIREMENT names another file; its -r include and -e . line install; editing the included file reinstalls', async () => {
      const app = await e2e.app('pip-requirement-files');
      const env = await e2e.env(undefined, { BP_PIP_REQUIREMENT: 'requirements/prod.txt' });
      const first = await e2e.platform.buildOk(app, { platformEnv: env });
      expect(plainLog(first.output)).to.contain("Running 'python -m pip install --user -r requirements/prod.txt'");
      const out = await pythonInImage(e2e, first, 'import req_files_app; print(req_files_app.MESSAGE)');
      expect(out.code, out.output).to.equal(0);
      expect(out.output).to.contain('req-files app with six 1.17.0');

      const again = await e2e.platform.buildOk(app, { platformEnv: env });
      expect(plainLog(again.output)).to.contain(REQUIREMENTS_UNCHANGED);
      await app.writeFile('requirements/base.txt', 'six\nblinker\n');
      const edited = await e2e.platform.buildOk(app, { platformEnv: env });
      expect(plainLog(edited.output)).to.contain('Discarding cached dependencies since:\n  - The requirements (or the files they include) have changed');
      await expectImports(e2e, edited, ['req_files_app', 'blinker']);
    });

    for (const fixtureName of ['pip-flask', 'pip-setup-py', 'pip-pyproject']) {
      it(`two builds from the same inputs give the same pip-deps layer digest (${fixtureName}, fresh caches)`, async () => {
        // Same app (the local platform gives each app its own absolute paths; a real lifecycle uses /layers and
        // /workspace for every app), the second build with --clear-cache: nothing restored, pip runs again.
        const app = await e2e.app(fixtureName);
        const env = await e2e.env();
        const first = await e2e.platform.buildOk(app, { platformEnv: env });
        app.dropImage();
        const second = await e2e.platform.buildOk(app, { platformEnv: env, clearCache: true });
        expect(plainLog(second.output)).to.contain("Running 'python -m pip install");
        expect(second.restored['pip-deps']).to.equal(undefined);
        const a = first.layers['pip-deps']?.digest;
        expect(a).to.match(/^sha256:/);
        expect(second.layers['pip-deps']?.digest).to.equal(a);
        expect(second.files['pip-deps.sbom.cdx.json']).to.equal(first.files['pip-deps.sbom.cdx.json']);
      });
    }
  });

  describe('failures', () => {
    async function failing(fixtureName: string, extra: Record<string, string> = {}): Promise<{ res: BuildResult; log: string }> {
      const res = await e2e.platform.build(await e2e.app(fixtureName), { platformEnv: await e2e.env(undefined, extra) });
      const log = plainLog(res.output);
      expect(res.success, log).to.equal(false);
      expect(res.lifecycleExitCode).to.equal(51);
      // Nothing a later build would trust: no pip-deps.toml (the lifecycle ignores a directory without one).
      expect(res.files).not.to.have.property('pip-deps.toml');
      expect(res.layers).not.to.have.property('pip-deps');
      expect(res.image).to.equal(undefined);
      // The stdlib compile running alongside pip is stopped, not waited for: nothing is exported anyway.
      expect(log).not.to.contain('Finishing the python layer');
      expect(res.files).not.to.have.property('python.toml');
      return { res, log };
    }

    it('a missing package ends in a clear message naming it', async () => {
      const { log } = await failing('pip-missing-package');
      expect(log).to.contain(PIP_FAILED);
      expect(log).to.contain("'python -m pip install --user -r requirements.txt' failed (exit status 1)");
      expect(log).to.match(/pip reported:\n\s+ERROR: Could not find a version that satisfies the requirement no-such-package-ausnimbus==1\.0/);
      expect(log).to.contain('No matching distribution found for no-such-package-ausnimbus==1.0');
    });

    it('a broken requirements line ends in a clear message quoting it', async () => {
      const { log } = await failing('pip-broken-line');
      expect(log).to.contain(PIP_FAILED);
      const reported = log.slice(log.indexOf(PIP_FAILED));
      expect(reported).to.contain("pip reported:\n  ERROR: Invalid requirement: 'flask = 1.0' (from line 2 of requirements.txt)\n  Hint: = is not a valid operator. Did you mean == ?");
    });

    it("a 1 MB requirement line fails with pip's own error within seconds, not minutes, as a short bad line does", async () => {
      // Every line of pip's output goes through the masker and the log; the masker once took minutes on a long
      // run of letters (a 200 KB line, 53 s). A short bad line first, for the time a failing build takes here.
      const build = async (line: string): Promise<{ ms: number; log: string }> => {
        const started = performance.now();
        const res = await e2e.platform.build(await e2e.app({ 'requirements.txt': `six\n${line}\n`, 'app.py': 'print("app")\n' }), { platformEnv: await e2e.env() });
        const ms = performance.now() - started;
        const log = plainLog(res.output);
        expect(res.success, log.slice(-2000)).to.equal(false);
        expect(log).to.contain(PIP_FAILED);
        return { ms, log };
      };
      const short = await build('flask==not-a-version');
      const long = await build(`flask==${'a1B2'.repeat(256 * 1024)}`);
      console.log(`      failing build: short bad line ${(short.ms / 1000).toFixed(1)} s, 1 MB line ${(long.ms / 1000).toFixed(1)} s`);
      expect(short.log).to.contain('ERROR: No matching distribution found for flask==not-a-version');
      // pip's lines are in the log whole (and masked); the error message quotes none, as they fall outside the
      // 64 KB tail of pip's output it reads.
      expect(long.log).to.match(/\n {6}ERROR: No matching distribution found for flask==(a1B2){262144}\n/);
      // The quadratic handling this guards against cost 53 s for a 200 KB line; the two builds run beside other
      // workers' builds, so the bound is relative and generous.
      expect(long.ms, 'the 1 MB line costs seconds at most').to.be.below(2 * short.ms + 60_000);
    });

    it('an unreachable index ends in a clear message naming the requirement and the index', async () => {
      const port = await freePort(); // nothing listens there
      const { log } = await failing('pip-rebuild', { PIP_INDEX_URL: `http://127.0.0.1:${port}/simple/` });
      expect(log).to.contain(PIP_FAILED);
      const reported = log.slice(log.indexOf(PIP_FAILED));
      expect(reported).to.contain(`pip could not connect to the package index http://127.0.0.1:${port}/simple/ ([Errno 111] Connection refused)`);
      expect(reported).to.contain('No matching distribution found for six');
    });

    it('a failed build after a good one keeps nothing of the failed install; the next good build reuses the good layer', async () => {
      const app = await e2e.app('pip-rebuild');
      const env = await e2e.env();
      const good = await e2e.platform.buildOk(app, { platformEnv: env });
      await app.writeFile('requirements.txt', 'six\nno-such-package-ausnimbus==1.0\n');
      const bad = await e2e.platform.build(app, { platformEnv: env });
      expect(bad.success).to.equal(false);
      expect(plainLog(bad.output)).to.contain(PIP_FAILED);
      expect(bad.files).not.to.have.property('pip-deps.toml');
      await app.writeFile('requirements.txt', fs.readFileSync(path.join(fixture('pip-rebuild'), 'requirements.txt'), 'utf8'));
      e2e.index.clearRequests();
      const fixed = await e2e.platform.buildOk(app, { platformEnv: env });
      expect(plainLog(fixed.output)).to.contain(REQUIREMENTS_UNCHANGED);
      expect(e2e.index.requests).to.have.length(0);
      expect(fixed.layers['pip-deps']?.digest).to.equal(good.layers['pip-deps']?.digest);
    });
  });

  describe('settings', () => {
    for (const [name, value, why] of [
      ['PIP_TARGET', '/tmp/elsewhere', 'it makes pip install into that folder instead of the pip-deps layer'],
      ['VIRTUAL_ENV', '/opt/venv', 'a virtual environment from the build image would replace the interpreter'],
      ['PIP_PREFIX', '/tmp/prefix', 'it makes pip install under that prefix instead of the pip-deps layer'],
      ['PYTHONUSERBASE', '/tmp/userbase', 'the buildpack sets it to the pip-deps layer'],
    ] as const) {
      it(`${name} stops the build with its explanation before pip runs`, async () => {
        e2e.index.clearRequests();
        const res = await e2e.platform.build(await e2e.app('pip-rebuild'), { platformEnv: await e2e.env(undefined, { [name]: value }) });
        const log = plainLog(res.output);
        expect(res.success).to.equal(false);
        expect(log).to.contain(`[Error: ${name} is not supported]`);
        expect(log).to.contain(`The variable ${name} is set, but ${why}`);
        expect(log).to.contain(`Unset ${name}`);
        expect(log).not.to.contain('Running \'python -m pip');
        expect(e2e.index.requests).to.have.length(0);
      });
    }

    it('the launch image holds no pip cache: pip-cache is cache-only and never exported', async () => {
      const app = await e2e.app('pip-cache-not-exported');
      const res = await e2e.platform.buildOk(app, { platformEnv: await e2e.env() });
      expect(res.layers['pip-cache']?.types).to.deep.equal({ build: false, launch: false, cache: true });
      expect(res.layers['pip-cache']?.exported).to.equal(undefined);
      expect(res.cache?.layers).to.have.property('pip-cache');
      expect(res.image?.layers).not.to.have.property('pip-cache');
      expect(Object.keys(res.image?.layers ?? {})).to.include('pip-deps');
      // pip's cache has http-v2/ (responses) and wheels/ (built wheels); none of it is anywhere in the image.
      const imageDirs = filesUnder(res.image?.dir as string).map((f) => path.relative(res.image?.dir as string, f));
      expect(imageDirs.filter((f) => /(^|\/)(pip-cache|http-v2|selfcheck)(\/|$)|\.cache\/pip|^layers\/[^/]+\/(http|wheels)\//.test(f))).to.deep.equal([]);
      const { bpLayersDir } = await app.materialize();
      expect(fs.existsSync(path.join(bpLayersDir, 'pip-cache'))).to.equal(false);
      expect(fs.existsSync(path.join(bpLayersDir, 'pip-cache.toml'))).to.equal(false);
    });
  });
});
