/**
 * The python layer's cache decisions (src/layers/python.ts) on a real layers dir with the real
 * src/cnb/layers.ts: each reason a restored layer is discarded, with the lines the user reads, and that a kept
 * layer is left as it was with no tool run. The "archive" is a small tarball served as an offline package
 * (dependencies/<sha256>/python.tar.gz in the buildpack dir), so no Python and no network is needed; the
 * compileall run on a fresh install goes to the recording executor. The archive has include/, which moves to the
 * build-tools layer (src/python/build-only.ts), so every build here makes that layer too; the two are one install.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_DOWNLOAD_OPTIONS } from '../../src/download.js';
import { installPython, type PythonInstallOptions } from '../../src/layers/python.js';
import type { PythonArchive } from '../../src/python/archives.js';
import { TempBuild, type ContextOptions } from '../fakes/context.js';
import { fakeDeps, type FakeDeps } from '../fakes/deps.js';
import { exit, io, ok } from '../fakes/executor.js';
import { offlinePythonArchive } from '../fakes/python-archive.js';
import { rejectedCause } from '../fakes/thrown.js';
import { layerToml, restoreLayer, snapshot } from '../helpers/layers.js';

/** One attempt at a port nothing listens on: a download attempted where none should be fails at once. */
const OPTS: PythonInstallOptions = { download: { ...DEFAULT_DOWNLOAD_OPTIONS, attempts: 1, timeoutSeconds: 1 } };
const NOWHERE = 'http://127.0.0.1:9/python.tar.gz';

describe('python layer: cache decisions', () => {
  let b: TempBuild;
  /** sha256 of two different "builds" of a Python 3.12 archive, both packaged offline. */
  let shaA: string;
  let shaB: string;

  const dist = (over: Partial<PythonArchive> = {}): PythonArchive => ({ version: '3.12.7', uri: NOWHERE, sha256: shaA, arch: 'amd64', origin: 'buildpack', ...over });

  /** One build of the layer, finished; a fresh install's compileall is answered ok. */
  async function build(d: PythonArchive, ctxOpts: ContextOptions = {}, f: FakeDeps = fakeDeps([ok()]), opts: PythonInstallOptions = OPTS): Promise<FakeDeps> {
    const py = await installPython(b.context(ctxOpts), { PATH: '/usr/bin:/bin' }, d, f.deps, opts);
    await py.finish();
    return f;
  }

  /** A first build with `first`, restored by the lifecycle for the next one (python and build-tools). */
  async function cached(first: PythonArchive, ctxOpts: ContextOptions = {}, opts: PythonInstallOptions = OPTS): Promise<void> {
    await build(first, ctxOpts, fakeDeps([ok()]), opts);
    restoreLayer(b.layersDir, 'python');
    if (fs.existsSync(b.tomlPath('build-tools'))) restoreLayer(b.layersDir, 'build-tools');
  }

  /** The rebuild replaced the contents: a stale file is gone and the metadata describes this build. */
  function expectReinstalled(f: FakeDeps, d: PythonArchive): void {
    expect(f.exec.executions.map((e) => e.args.slice(0, 3)), 'compileall of the fresh install').to.deep.equal([['-I', '-m', 'compileall']]);
    expect(fs.existsSync(path.join(b.layerPath('python'), 'stale'))).to.equal(false);
    expect(layerToml(b.layersDir, 'python')).to.deep.equal({
      types: { build: true, launch: true, cache: true },
      metadata: { version: d.version, sha256: d.sha256, arch: d.arch, buildpackVersion: '0.1.0', launch: 'server' },
    });
    expect(layerToml(b.layersDir, 'build-tools')).to.deep.equal({
      types: { build: true, launch: false, cache: true },
      metadata: { version: d.version, sha256: d.sha256, arch: d.arch, buildpackVersion: '0.1.0', upgraded: false },
    });
  }

  beforeEach(async () => {
    b = new TempBuild();
    shaA = await offlinePythonArchive(b.buildpackDir, b.root, 'build-a');
    shaB = await offlinePythonArchive(b.buildpackDir, b.root, 'build-b');
  });
  afterEach(() => b.cleanup());

  it('a new layer is installed without a discard line, then kept on an unchanged rebuild: contents untouched, no tool run, no download', async () => {
    const first = fakeDeps();
    first.exec.answer(ok('', () => first.clock.advance(1500))); // compileall takes 1.5 s
    await build(dist(), {}, first);
    expect(first.log.stdout).to.equal([
      '- Using the Python 3.12.7 archive bundled in the buildpack (offline package)',
      `  Verified sha256 ${shaA}`,
      '  Moved what only builds use to the build-tools layer, left out of the image: the C headers',
      '- Installed Python 3.12.7 (finished in < 0.1s)',
      '  Compiling the standard library to hash-based bytecode alongside the next steps',
      '',
      '[Finishing the python layer]',
      '  Compiled the standard library to hash-based bytecode (valid in the image whatever its timestamps), alongside the steps above, in 1.5s',
      '',
    ].join('\n'));
    const layer = b.layerPath('python');
    expect(first.exec.executions.map(({ mode, command, cwd, env, args }) => ({ mode, command, cwd, env, lib: args.at(-1) }))).to.deep.equal([
      { mode: 'capture', command: path.join(layer, 'bin', 'python'), cwd: layer, env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' }, lib: path.join(layer, 'lib', 'python3.12') },
    ]);
    restoreLayer(b.layersDir, 'python');
    restoreLayer(b.layersDir, 'build-tools');
    fs.writeFileSync(path.join(b.layerPath('python'), 'stale'), 'kept as it was');
    const before = snapshot(b.layerPath('python'));
    const toolsBefore = snapshot(b.layerPath('build-tools'));
    // Without the offline archive a reinstall would have to download, from a port nothing listens on.
    fs.rmSync(path.join(b.buildpackDir, 'dependencies'), { recursive: true });

    const again = await build(dist(), {}, fakeDeps());
    expect(again.log.stdout).to.equal('- Using cached Python 3.12.7\n');
    expect(again.log.stderr).to.equal('');
    expect(again.exec.executions).to.deep.equal([]);
    expect(snapshot(b.layerPath('python'))).to.deep.equal(before);
    expect(snapshot(b.layerPath('build-tools'))).to.deep.equal(toolsBefore);
    // [types] written again (the restorer drops them), the metadata as it was.
    expect(layerToml(b.layersDir, 'python')).to.deep.equal({
      types: { build: true, launch: true, cache: true },
      metadata: { version: '3.12.7', sha256: shaA, arch: 'amd64', buildpackVersion: '0.1.0', launch: 'server' },
    });
    expect(layerToml(b.layersDir, 'build-tools')?.types).to.deep.equal({ build: true, launch: false, cache: true });
  });

  /** Functions: the checksums are known only once beforeEach has packed the archives. */
  const reasons: Array<{ what: string; first: () => PythonArchive; firstCtx?: ContextOptions; next: () => PythonArchive; reason: () => string }> = [
    { what: 'the Python version', first: () => dist({ version: '3.12.6' }), next: () => dist(), reason: () => 'The Python version has changed from 3.12.6 to 3.12.7' },
    { what: 'the archive checksum', first: () => dist(), next: () => dist({ sha256: shaB }), reason: () => `The checksum of the Python archive has changed from ${shaA} to ${shaB}` },
    { what: 'the architecture', first: () => dist({ arch: 'arm64' }), next: () => dist(), reason: () => 'The architecture has changed from arm64 to amd64' },
    { what: 'the buildpack version', first: () => dist(), firstCtx: { buildpackVersion: '0.0.9' }, next: () => dist(), reason: () => 'The buildpack version has changed from 0.0.9 to 0.1.0' },
  ];
  for (const r of reasons) {
    it(`discards the cached layer when ${r.what} changed, and says so`, async () => {
      const first = r.first();
      await cached(first, r.firstCtx);
      fs.writeFileSync(path.join(b.layerPath('python'), 'stale'), 'from the previous build');
      const next = r.next();
      const f = await build(next);
      expect(f.log.block('- Discarding cached')).to.deep.equal([`- Discarding cached Python ${first.version} since:`, `  - ${r.reason()}`]);
      expect(f.log.stderr).to.equal('');
      expectReinstalled(f, next);
    });
  }

  it('lists every reason at once, in a fixed order', async () => {
    await cached(dist({ version: '3.12.6', arch: 'arm64' }), { buildpackVersion: '0.0.9' });
    const f = await build(dist({ sha256: shaB }));
    expect(f.log.block('- Discarding cached')).to.deep.equal([
      '- Discarding cached Python 3.12.6 since:',
      '  - The Python version has changed from 3.12.6 to 3.12.7',
      `  - The checksum of the Python archive has changed from ${shaA} to ${shaB}`,
      '  - The architecture has changed from arm64 to amd64',
      '  - The buildpack version has changed from 0.0.9 to 0.1.0',
    ]);
    expectReinstalled(f, dist({ sha256: shaB }));
  });

  it('discards an unchanged layer whose bin/python is missing (incomplete)', async () => {
    await cached(dist());
    fs.rmSync(path.join(b.layerPath('python'), 'bin', 'python'));
    const f = await build(dist());
    expect(f.log.block('- Discarding cached')).to.deep.equal(['- Discarding cached Python 3.12.7 since:', '  - The cached layer is incomplete']);
    expectReinstalled(f, dist());
    expect(fs.readlinkSync(path.join(b.layerPath('python'), 'bin', 'python'))).to.equal('python3.12');
  });

  it('discards an unchanged layer whose bin/python is not executable (incomplete)', async () => {
    await cached(dist());
    fs.chmodSync(path.join(b.layerPath('python'), 'bin', 'python3.12'), 0o644);
    const f = await build(dist());
    expect(f.log.block('- Discarding cached')).to.deep.equal(['- Discarding cached Python 3.12.7 since:', '  - The cached layer is incomplete']);
    expectReinstalled(f, dist());
  });

  for (const [what, metadata] of [
    ['a field of the wrong type', '[metadata]\nversion = 3\nsha256 = "x"\narch = "amd64"\nbuildpackVersion = "0.1.0"\n'],
    ['an unknown launch layout', '[metadata]\nversion = "3.12.7"\nsha256 = "x"\narch = "amd64"\nbuildpackVersion = "0.1.0"\nlaunch = "slim"\n'],
    ['a missing field', '[metadata]\nversion = "3.12.7"\narch = "amd64"\nbuildpackVersion = "0.1.0"\n'],
    ['no [metadata] at all', ''],
  ] as const) {
    it(`discards a layer whose metadata cannot be parsed (${what})`, async () => {
      await cached(dist());
      fs.writeFileSync(b.tomlPath('python'), metadata);
      fs.writeFileSync(path.join(b.layerPath('python'), 'stale'), 'from the previous build');
      const f = await build(dist());
      expect(f.log.lines[0]).to.equal("- Discarding cached Python since its layer metadata can't be parsed");
      expectReinstalled(f, dist());
    });
  }

  for (const [what, step, detail] of [
    ['exits 1', exit(1, '*** Error compiling broken.py'), 'exit status 1'],
    ['cannot be started', io('spawn ENOEXEC'), 'spawn ENOEXEC'],
  ] as const) {
    it(`a compileall that ${what} still leaves a complete layer that later builds trust, and says so`, async () => {
      const f = await build(dist(), {}, fakeDeps([step]));
      expect(f.log.lines).to.include(`  Some standard library modules were not precompiled (${detail}); they are compiled when imported, alongside the steps above, in < 0.1s`);
      expect(f.log.stderr).to.equal('');
      expect(layerToml(b.layersDir, 'python')?.metadata).to.deep.equal({ version: '3.12.7', sha256: shaA, arch: 'amd64', buildpackVersion: '0.1.0', launch: 'server' });
    });
  }

  it('Pythons before 3.7 (no hash-based .pyc, PEP 552) run no compileall', async () => {
    const sha36 = await offlinePythonArchive(b.buildpackDir, b.root, 'build-3.6', '3.6');
    const f = await build(dist({ version: '3.6.15', sha256: sha36 }), {}, fakeDeps());
    expect(f.exec.executions).to.deep.equal([]);
    expect(layerToml(b.layersDir, 'python')?.metadata).to.include({ version: '3.6.15' });
  });

  it('an archive with no interpreter for its version (a 3.12 archive listed as 3.11.9) stops the build before "Installed", leaving no layer, even over a cached one', async () => {
    await cached(dist());
    const f = fakeDeps();
    const cause = await rejectedCause(installPython(b.context(), { PATH: '/usr/bin:/bin' }, dist({ version: '3.11.9', sha256: shaB }), f.deps, OPTS));
    expect(cause).to.deep.equal({ type: 'archive-no-interpreter', version: '3.11.9', versioned: 'bin/python3.11', binEntries: ['python3.12'], libDir: 'lib/python3.11', hasLibDir: false });
    expect(f.log.stdout).to.not.contain('Installed');
    expect(f.exec.executions).to.deep.equal([]);
    expect(fs.existsSync(b.tomlPath('python'))).to.equal(false);
    expect(fs.existsSync(b.layerPath('python'))).to.equal(false);
    expect(fs.existsSync(b.tomlPath('build-tools'))).to.equal(false);
    expect(fs.existsSync(b.layerPath('build-tools'))).to.equal(false);
  });

  describe('the build-tools layer: one install with the python layer', () => {
    it('a kept python layer whose build-tools layer was not restored is installed again, and says why', async () => {
      await cached(dist());
      fs.rmSync(b.tomlPath('build-tools'));
      const f = await build(dist());
      expect(f.log.block('- Discarding cached')).to.deep.equal([
        '- Discarding cached Python 3.12.7 since:',
        '  - The build-tools layer (pip, setuptools, wheel and the C headers, used at build only) was not restored with it',
      ]);
      expectReinstalled(f, dist());
    });

    it('a build-tools layer made from another archive takes the python layer with it', async () => {
      await cached(dist());
      const toml = fs.readFileSync(b.tomlPath('build-tools'), 'utf8');
      fs.writeFileSync(b.tomlPath('build-tools'), toml.replace(shaA, shaB));
      const f = await build(dist());
      expect(f.log.block('- Discarding cached')).to.deep.equal([
        '- Discarding cached Python 3.12.7 since:',
        '  - The build-tools layer restored with it was made from another Python archive',
      ]);
      expectReinstalled(f, dist());
    });

    it('a python layer is discarded with its build-tools layer: a stale file of either is gone', async () => {
      await cached(dist());
      fs.writeFileSync(path.join(b.layerPath('build-tools'), 'stale'), 'from the previous build');
      const f = await build(dist({ sha256: shaB }));
      expectReinstalled(f, dist({ sha256: shaB }));
      expect(fs.existsSync(path.join(b.layerPath('build-tools'), 'stale'))).to.equal(false);
    });

    it('PIP_UPGRADE newly set keeps both layers (the upgrade happens in build-tools later); no longer set, installs both again', async () => {
      await cached(dist());
      const py = await installPython(b.context(), { PATH: '/usr/bin:/bin' }, dist(), fakeDeps().deps, { ...OPTS, pipUpgrade: true });
      expect(py.buildTools?.upgraded).to.equal(false);
      // As src/layers/build-tools-upgrade.ts leaves it after pip upgraded the tools:
      fs.writeFileSync(b.tomlPath('build-tools'), fs.readFileSync(b.tomlPath('build-tools'), 'utf8').replace('upgraded = false', 'upgraded = true'));
      restoreLayer(b.layersDir, 'python');
      restoreLayer(b.layersDir, 'build-tools');
      const kept = await installPython(b.context(), { PATH: '/usr/bin:/bin' }, dist(), fakeDeps().deps, { ...OPTS, pipUpgrade: true });
      expect(kept.buildTools?.upgraded).to.equal(true);
      restoreLayer(b.layersDir, 'python');
      restoreLayer(b.layersDir, 'build-tools');
      const f = await build(dist());
      expect(f.log.block('- Discarding cached')).to.deep.equal([
        '- Discarding cached Python 3.12.7 since:',
        '  - PIP_UPGRADE is no longer set: pip, setuptools and wheel go back to the versions that come with Python',
      ]);
      expectReinstalled(f, dist());
    });

    it('BP_PYTHON_KEEP_ALL: everything stays in the python layer, no build-tools layer (a cached one is dropped); turning it on or off installs again, saying why', async () => {
      await cached(dist());
      const whole = await build(dist(), {}, fakeDeps([ok()]), { ...OPTS, keepAll: true });
      expect(whole.log.block('- Discarding cached')).to.deep.equal(['- Discarding cached Python 3.12.7 since:', '  - BP_PYTHON_KEEP_ALL is set: the whole Python goes into the image']);
      expect(whole.log.stdout).to.not.contain('Moved what only builds use');
      expect(fs.existsSync(path.join(b.layerPath('python'), 'include', 'python3.12', 'Python.h'))).to.equal(true);
      expect(fs.existsSync(b.layerPath('build-tools')), 'build-tools left').to.equal(false);
      expect(fs.existsSync(b.tomlPath('build-tools'))).to.equal(false);
      expect(layerToml(b.layersDir, 'python')?.metadata).to.include({ launch: 'whole' });
      restoreLayer(b.layersDir, 'python');
      const again = await build(dist(), {}, fakeDeps(), { ...OPTS, keepAll: true });
      expect(again.log.stdout).to.equal('- Using cached Python 3.12.7\n');
      restoreLayer(b.layersDir, 'python');
      const server = await build(dist());
      expect(server.log.block('- Discarding cached')).to.deep.equal([
        '- Discarding cached Python 3.12.7 since:',
        "  - Python's build-only parts (pip, setuptools, wheel, the C headers, the stdlib's tests and tools) now go to the build-tools layer, out of the image",
      ]);
      expectReinstalled(server, dist());
    });

    it('a layer made before the build-tools layer existed (no launch field) holds the whole install: kept with BP_PYTHON_KEEP_ALL, installed again without', async () => {
      await cached(dist(), {}, { ...OPTS, keepAll: true });
      fs.writeFileSync(b.tomlPath('python'), fs.readFileSync(b.tomlPath('python'), 'utf8').replace(/^launch = .*$/m, ''));
      const kept = await build(dist(), {}, fakeDeps(), { ...OPTS, keepAll: true });
      expect(kept.log.stdout).to.equal('- Using cached Python 3.12.7\n');
      restoreLayer(b.layersDir, 'python');
      fs.writeFileSync(b.tomlPath('python'), fs.readFileSync(b.tomlPath('python'), 'utf8').replace(/^launch = .*$/m, ''));
      const f = await build(dist());
      expect(f.log.block('- Discarding cached')[1]).to.contain("Python's build-only parts");
      expectReinstalled(f, dist());
    });
  });

  describe('the bytecode compile runs alongside the later steps', () => {
    it('build-tools.toml, python.toml and the SBOM are written only by finish(), once compileall is done; the headers are links into build-tools meanwhile', async () => {
      let release: () => void = () => undefined;
      const compiled = new Promise<void>((r) => {
        release = r;
      });
      const f = fakeDeps([ok('', () => compiled)]);
      const py = await installPython(b.context(), { PATH: '/usr/bin:/bin' }, dist(), f.deps, OPTS);
      // The install returned while compileall runs: the layer is in place, and nothing says it is complete.
      expect(f.exec.executions.map((e) => e.args.slice(0, 3))).to.deep.equal([['-I', '-m', 'compileall']]);
      expect(fs.existsSync(path.join(b.layerPath('python'), 'bin', 'python'))).to.equal(true);
      expect(fs.existsSync(b.tomlPath('python'))).to.equal(false);
      expect(fs.existsSync(path.join(b.layersDir, 'python.sbom.cdx.json'))).to.equal(false);
      expect(fs.readlinkSync(path.join(b.layerPath('python'), 'include'))).to.equal('../build-tools/python/include');
      expect(fs.existsSync(b.tomlPath('build-tools')), 'build-tools.toml comes with python.toml').to.equal(false);
      let done = false;
      const finishing = py.finish().then(() => {
        done = true;
      });
      await new Promise((r) => setTimeout(r, 20));
      expect(done).to.equal(false);
      expect(fs.existsSync(b.tomlPath('python'))).to.equal(false);
      expect(fs.existsSync(b.tomlPath('build-tools'))).to.equal(false);
      release();
      await finishing;
      expect(layerToml(b.layersDir, 'python')?.metadata).to.include({ launch: 'server' });
      expect(layerToml(b.layersDir, 'build-tools')?.metadata).to.include({ upgraded: false });
      const sbom = JSON.parse(fs.readFileSync(path.join(b.layersDir, 'python.sbom.cdx.json'), 'utf8'));
      expect(sbom.components[0].properties).to.deep.equal([
        { name: 'ausnimbus:left-out-of-image:headers', value: 'include' },
        { name: 'ausnimbus:left-out-of-image:held-by', value: 'the build-tools layer (build only)' },
      ]);
      await py.finish(); // idempotent: nothing runs or is logged twice
      expect(f.log.stdout.match(/Compiled the standard library/g)).to.have.lengthOf(1);
    });

    it('abandon(), after a failed step, stops the compile through its signal and leaves the layer without a toml, saying nothing', async () => {
      let signal: AbortSignal | undefined;
      // compileall runs until it is canceled, as the real one would be killed
      const f = fakeDeps([ok('', (e) => new Promise<void>((r) => {
        signal = e.signal;
        e.signal?.addEventListener('abort', () => r());
      }))]);
      const py = await installPython(b.context(), { PATH: '/usr/bin:/bin' }, dist(), f.deps, OPTS);
      await new Promise((r) => setTimeout(r, 10));
      expect(signal?.aborted).to.equal(false);
      await py.abandon();
      expect(signal?.aborted).to.equal(true);
      for (const name of ['python', 'build-tools']) expect(fs.existsSync(b.tomlPath(name)), `${name}.toml`).to.equal(false);
      expect(fs.existsSync(path.join(b.layersDir, 'python.sbom.cdx.json'))).to.equal(false);
      expect(f.log.stdout).not.to.contain('Finishing the python layer');
      await py.finish(); // a later finish() (the build is failing anyway) writes nothing either
      expect(fs.existsSync(b.tomlPath('python'))).to.equal(false);
    });

    it('a failure after the compile has started (reading the layer\'s build env) stops the compile before it is reported', async () => {
      let signal: AbortSignal | undefined;
      let stopped = false;
      const f = fakeDeps([ok('', (e) => new Promise<void>((r) => {
        signal = e.signal;
        // the layer's lib/ becomes a symlink loop: stat() fails with ELOOP when its build env is read
        const lib = path.join(b.layerPath('python'), 'lib');
        fs.rmSync(lib, { recursive: true, force: true });
        fs.symlinkSync('lib', lib);
        e.signal?.addEventListener('abort', () => {
          stopped = true;
          r();
        });
      }))]);
      const err = await installPython(b.context(), { PATH: '/usr/bin:/bin' }, dist(), f.deps, OPTS).then(() => undefined, (e: unknown) => e);
      expect((err as NodeJS.ErrnoException | undefined)?.code).to.equal('ELOOP');
      expect(signal?.aborted, 'the compile was canceled').to.equal(true);
      expect(stopped, 'and had stopped when installPython rejected').to.equal(true);
      expect(fs.existsSync(b.tomlPath('python'))).to.equal(false);
    });
  });
});
