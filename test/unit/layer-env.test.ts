/**
 * The env each layer gives, over a poisoned base env (as heroku/buildpacks-python's python_layer_env test and
 * its integration tests do): the buildpack's own values must win where the build depends on them, and
 * leave alone what a user may set. Each layer is built for real on a temp layers dir; its env files are then
 * applied as the lifecycle does (test/platform/env-files.ts) in both scopes: build (later buildpacks) and launch
 * (the app). The env the buildpack's own later steps get (the `env` object a step updates) is checked too.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LayerEnv, Scope } from '../../src/cnb/env.js';
import { DEFAULT_DOWNLOAD_OPTIONS } from '../../src/download.js';
import { contributeGunicornConfig } from '../../src/layers/gunicorn-config.js';
import { installDependencies } from '../../src/layers/pip-deps.js';
import { installPython, type InstalledPython } from '../../src/layers/python.js';
import { readSettings } from '../../src/settings.js';
import { TempBuild } from '../fakes/context.js';
import { fakeDeps } from '../fakes/deps.js';
import { ok } from '../fakes/executor.js';
import { offlinePythonArchive } from '../fakes/python-archive.js';
import { layerToml, lifecycleEnv, restoreLayer, sorted } from '../helpers/layers.js';

/** What a build image or a user could have set, each wrong for the buildpack's needs. */
const POISONED = { PATH: '/invalid', PYTHONPATH: '/invalid', PYTHONUSERBASE: '/elsewhere', PORT: '1' };
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('layer env over a poisoned base env', () => {
  let b: TempBuild;
  beforeEach(() => {
    b = new TempBuild();
  });
  afterEach(() => b.cleanup());

  describe('python', () => {
    let py: string;
    let sha: string;
    let tools: string;
    /** Installs (or keeps) the layer, finished, updating `env` as for the build's later steps; returns the tools run. */
    async function install(env: Record<string, string>): Promise<number> {
      const f = fakeDeps([ok()]);
      const dist = { version: '3.12.7', uri: 'http://127.0.0.1:9/x.tar.gz', sha256: sha, arch: 'amd64' as const, origin: 'buildpack' as const };
      await (await installPython(b.context(), env, dist, f.deps, { download: DEFAULT_DOWNLOAD_OPTIONS })).finish();
      return f.exec.executions.length;
    }
    beforeEach(async () => {
      py = b.layerPath('python');
      tools = b.layerPath('build-tools');
      sha = await offlinePythonArchive(b.buildpackDir, b.root, 'a');
    });

    // The build-tools layer (build only) is a user base: lib/pythonX.Y/site-packages, so the lifecycle adds its
    // lib/ for later buildpacks as it does pip-deps'. Its bin/ holds pip's scripts when the archive has pip.
    it('build: bin/ and lib/ (and include/, a link into build-tools, for later buildpacks) first; PYTHONPATH, PYTHONUSERBASE and PORT left alone', async () => {
      const env = { ...POISONED };
      await install(env);
      const own = {
        PATH: `${py}/bin:/invalid`, LD_LIBRARY_PATH: `${tools}/lib:${py}/lib`, LIBRARY_PATH: `${tools}/lib:${py}/lib`, PYTHONPATH: '/invalid', PYTHONUSERBASE: '/elsewhere', PORT: '1',
      };
      expect(sorted(env), "the buildpack's later steps").to.deep.equal(sorted(own));
      const later = await lifecycleEnv(b.layersDir, 'build', POISONED);
      expect(later, 'later buildpacks').to.deep.equal(sorted({ ...own, LD_LIBRARY_PATH: `${py}/lib:${tools}/lib`, LIBRARY_PATH: `${py}/lib:${tools}/lib`, CPATH: `${py}/include` }));
      expect(fs.existsSync(path.join(py, 'include', 'python3.12', 'Python.h')), 'the headers, through the link, at build').to.equal(true);
    });

    it('build, on a kept layer: the same env for the later steps', async () => {
      await install({ ...POISONED });
      restoreLayer(b.layersDir, 'python');
      restoreLayer(b.layersDir, 'build-tools');
      const env = { ...POISONED };
      expect(await install(env), 'tools run on the kept layer').to.equal(0);
      expect(sorted(env)).to.deep.equal(sorted({ PATH: `${py}/bin:/invalid`, LD_LIBRARY_PATH: `${tools}/lib:${py}/lib`, LIBRARY_PATH: `${tools}/lib:${py}/lib`, PYTHONPATH: '/invalid', PYTHONUSERBASE: '/elsewhere', PORT: '1' }));
    });

    it('launch: bin/ and lib/ first, and UTF-8, unbuffered output as defaults a user can override', async () => {
      await install({ ...POISONED });
      expect(await lifecycleEnv(b.layersDir, 'launch', POISONED, 'web')).to.deep.equal(sorted({
        PATH: `${py}/bin:/invalid`, LD_LIBRARY_PATH: `${py}/lib`, PYTHONPATH: '/invalid', PYTHONUSERBASE: '/elsewhere', PORT: '1',
        LANG: 'C.UTF-8', PYTHONIOENCODING: 'UTF-8', PYTHONUNBUFFERED: '1',
      }));
      const user = { LANG: 'de_DE.UTF-8', PYTHONIOENCODING: 'latin-1', PYTHONUNBUFFERED: '0' };
      expect(await lifecycleEnv(b.layersDir, 'launch', { ...POISONED, ...user }, 'web')).to.include(user);
    });
  });

  describe('pip-deps', () => {
    const PYTHON: InstalledPython = { version: '3.12.7', sha256: 'a'.repeat(64), layerPath: '/layers/python', python: '/layers/python/bin/python' };
    let deps: string;
    /** pip's user scheme: packages under lib/pythonX.Y/site-packages, console scripts in bin/. */
    const pip = ok('', (e) => {
      const base = e.env.PYTHONUSERBASE as string;
      fs.mkdirSync(path.join(base, 'lib', 'python3.12', 'site-packages', 'six-1.16.0.dist-info'), { recursive: true });
      fs.writeFileSync(path.join(base, 'lib', 'python3.12', 'site-packages', 'six-1.16.0.dist-info', 'METADATA'), 'Name: six\nVersion: 1.16.0\n');
      fs.mkdirSync(path.join(base, 'bin'), { recursive: true });
      fs.writeFileSync(path.join(base, 'bin', 'six'), '', { mode: 0o755 });
    });
    async function install(env: Record<string, string>, processEnv: Record<string, string> = {}): Promise<ReturnType<typeof fakeDeps>> {
      const f = fakeDeps([pip]);
      const ctx = b.context({ processEnv });
      await installDependencies(ctx, env, PYTHON, readSettings(ctx.userEnv), '/layers/pip-cache', f.deps);
      return f;
    }
    beforeEach(() => {
      b.writeApp({ 'requirements.txt': 'six\n' });
      deps = b.layerPath('pip-deps');
    });

    it("pip runs with the layer as PYTHONUSERBASE, without PYTHONPATH, with the user's PIP_* variables and a reproducible env", async () => {
      const f = await install({ ...POISONED }, { PIP_INDEX_URL: 'https://pypi.internal/simple' });
      expect(f.exec.executions.map((e) => sorted(e.env))).to.deep.equal([sorted({
        PATH: '/invalid', PORT: '1', PYTHONUSERBASE: deps, PIP_INDEX_URL: 'https://pypi.internal/simple', PIP_CACHE_DIR: '/layers/pip-cache',
        SOURCE_DATE_EPOCH: '315532800', PYTHONHASHSEED: '0', PYTHONDONTWRITEBYTECODE: '1',
        // no locale in the base env: pip on 2.7 and 3.6 would read requirement files as ASCII
        LC_CTYPE: 'C.UTF-8',
      })]);
    });

    it('build: PYTHONUSERBASE is the layer whatever the base said, its bin/ first; PYTHONPATH and PORT left alone', async () => {
      const env = { ...POISONED };
      await install(env);
      const own = { PATH: `${deps}/bin:/invalid`, LD_LIBRARY_PATH: `${deps}/lib`, LIBRARY_PATH: `${deps}/lib`, PYTHONPATH: '/invalid', PYTHONUSERBASE: deps, PORT: '1' };
      expect(sorted(env), "the buildpack's later steps").to.deep.equal(sorted(own));
      expect(await lifecycleEnv(b.layersDir, 'build', POISONED), 'later buildpacks').to.deep.equal(sorted(own));
    });

    it('build, on a kept layer: the same env for the later steps', async () => {
      await install({ ...POISONED });
      restoreLayer(b.layersDir, 'pip-deps');
      const env = { ...POISONED };
      const f = fakeDeps();
      const ctx = b.context();
      await installDependencies(ctx, env, PYTHON, readSettings(ctx.userEnv), '/layers/pip-cache', f.deps);
      expect(f.exec.executions).to.deep.equal([]);
      expect(sorted(env)).to.deep.equal(sorted({ PATH: `${deps}/bin:/invalid`, LD_LIBRARY_PATH: `${deps}/lib`, LIBRARY_PATH: `${deps}/lib`, PYTHONPATH: '/invalid', PYTHONUSERBASE: deps, PORT: '1' }));
    });

    it('launch: PYTHONUSERBASE is the layer whatever the container says, its bin/ first', async () => {
      await install({ ...POISONED });
      expect(await lifecycleEnv(b.layersDir, 'launch', POISONED, 'web')).to.deep.equal(sorted({
        PATH: `${deps}/bin:/invalid`, LD_LIBRARY_PATH: `${deps}/lib`, PYTHONPATH: '/invalid', PYTHONUSERBASE: deps, PORT: '1',
      }));
    });
  });

  describe('gunicorn-config', () => {
    /** What build.ts passes: the app's .s2i/environment values as launch defaults. */
    const appDefaults = (values: Record<string, string>): LayerEnv => {
      const env = new LayerEnv();
      for (const [k, v] of Object.entries(values)) env.default(Scope.launch, k, v);
      return env;
    };
    const contribute = (launchEnv = new LayerEnv()) => contributeGunicornConfig(b.context({ buildpackDir: REPO }), launchEnv);
    const { PORT: _port, ...noPort } = POISONED;

    it('build: nothing (a launch-only layer)', async () => {
      await contribute();
      expect(layerToml(b.layersDir, 'gunicorn-config')?.types).to.deep.equal({ build: false, launch: true, cache: false });
      expect(await lifecycleEnv(b.layersDir, 'build', POISONED)).to.deep.equal(sorted(POISONED));
    });

    it("launch: PORT=8080 only as a default, the container's PORT wins", async () => {
      await contribute();
      expect(await lifecycleEnv(b.layersDir, 'launch', POISONED, 'web')).to.deep.equal(sorted(POISONED));
      expect(await lifecycleEnv(b.layersDir, 'launch', noPort, 'web')).to.deep.equal(sorted({ ...noPort, PORT: '8080' }));
    });

    it(".s2i/environment values are launch defaults: the app's PORT replaces 8080, the container's values win over both", async () => {
      await contribute(appDefaults({ PORT: '5000', GREETING: 'hello' }));
      expect(await lifecycleEnv(b.layersDir, 'launch', POISONED, 'web')).to.deep.equal(sorted({ ...POISONED, GREETING: 'hello' }));
      expect(await lifecycleEnv(b.layersDir, 'launch', noPort, 'web')).to.deep.equal(sorted({ ...noPort, PORT: '5000', GREETING: 'hello' }));
      expect(await lifecycleEnv(b.layersDir, 'launch', { ...noPort, GREETING: 'hi' }, 'web')).to.deep.equal(sorted({ ...noPort, PORT: '5000', GREETING: 'hi' }));
      expect(await lifecycleEnv(b.layersDir, 'build', POISONED)).to.deep.equal(sorted(POISONED));
    });
  });
});
