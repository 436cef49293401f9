/**
 * The python layer's cache decisions (src/layers/python.ts) on a real layers dir with the real
 * src/cnb/layers.ts: each reason a restored layer is discarded, with the lines the user reads, and that a kept
 * layer is left as it was with no tool run. The "archive" is a small tarball served as an offline package
 * (dependencies/<sha256>/python.tar.gz in the buildpack dir), so no Python and no network is needed; the
 * compileall run on a fresh install goes to the recording executor.
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

  /** One build of the layer; a fresh install's compileall is answered ok. */
  async function build(d: PythonArchive, ctxOpts: ContextOptions = {}, f: FakeDeps = fakeDeps([ok()])): Promise<FakeDeps> {
    await installPython(b.context(ctxOpts), { PATH: '/usr/bin:/bin' }, d, f.deps, OPTS);
    return f;
  }

  /** A first build with `first`, restored by the lifecycle for the next one. */
  async function cached(first: PythonArchive, ctxOpts: ContextOptions = {}): Promise<void> {
    await build(first, ctxOpts);
    restoreLayer(b.layersDir, 'python');
  }

  /** The rebuild replaced the contents: a stale file is gone and the metadata describes this build. */
  function expectReinstalled(f: FakeDeps, d: PythonArchive): void {
    expect(f.exec.executions.map((e) => e.args.slice(0, 3)), 'compileall of the fresh install').to.deep.equal([['-I', '-m', 'compileall']]);
    expect(fs.existsSync(path.join(b.layerPath('python'), 'stale'))).to.equal(false);
    expect(layerToml(b.layersDir, 'python')).to.deep.equal({
      types: { build: true, launch: true, cache: true },
      metadata: { version: d.version, sha256: d.sha256, arch: d.arch, buildpackVersion: '0.1.0' },
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
      '  Compiled the standard library to hash-based bytecode (valid in the image whatever its timestamps)',
      '- Installed Python 3.12.7 (finished in 1.5s)',
      '',
    ].join('\n'));
    const layer = b.layerPath('python');
    expect(first.exec.executions.map(({ mode, command, cwd, env, args }) => ({ mode, command, cwd, env, lib: args.at(-1) }))).to.deep.equal([
      { mode: 'capture', command: path.join(layer, 'bin', 'python'), cwd: layer, env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' }, lib: path.join(layer, 'lib', 'python3.12') },
    ]);
    restoreLayer(b.layersDir, 'python');
    fs.writeFileSync(path.join(b.layerPath('python'), 'stale'), 'kept as it was');
    const before = snapshot(b.layerPath('python'));
    // Without the offline archive a reinstall would have to download, from a port nothing listens on.
    fs.rmSync(path.join(b.buildpackDir, 'dependencies'), { recursive: true });

    const again = await build(dist(), {}, fakeDeps());
    expect(again.log.stdout).to.equal('- Using cached Python 3.12.7\n');
    expect(again.log.stderr).to.equal('');
    expect(again.exec.executions).to.deep.equal([]);
    expect(snapshot(b.layerPath('python'))).to.deep.equal(before);
    // [types] written again (the restorer drops them), the metadata as it was.
    expect(layerToml(b.layersDir, 'python')).to.deep.equal({
      types: { build: true, launch: true, cache: true },
      metadata: { version: '3.12.7', sha256: shaA, arch: 'amd64', buildpackVersion: '0.1.0' },
    });
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
      expect(f.log.lines).to.include(`  Some standard library modules were not precompiled (${detail}); they are compiled when imported`);
      expect(f.log.stderr).to.equal('');
      expect(layerToml(b.layersDir, 'python')?.metadata).to.deep.equal({ version: '3.12.7', sha256: shaA, arch: 'amd64', buildpackVersion: '0.1.0' });
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
  });
});
