/**
 * The pip-deps layer's cache decisions (src/layers/pip-deps.ts installDependencies) on a real layers dir with
 * the real src/cnb/layers.ts: each part of the key that discards a restored layer, with the lines the user
 * reads; a kept layer left as it was with pip not run; and a failed pip run leaving nothing a later build
 * would trust. pip is the recording executor: a successful "install" writes a distribution into the
 * PYTHONUSERBASE it was given, as pip's user scheme would.
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Execution } from '../../src/deps.js';
import { installDependencies } from '../../src/layers/pip-deps.js';
import type { InstalledPython } from '../../src/layers/python.js';
import { readSettings } from '../../src/settings.js';
import { TempBuild, type ContextOptions } from '../fakes/context.js';
import { fakeDeps, type FakeDeps } from '../fakes/deps.js';
import { exit, io, ok, type ScriptStep } from '../fakes/executor.js';
import { rejectedCause } from '../fakes/thrown.js';
import { layerToml, restoreLayer, snapshot } from '../helpers/layers.js';

const PYTHON: InstalledPython = { version: '3.12.7', sha256: 'a'.repeat(64), layerPath: '/layers/python', python: '/layers/python/bin/python' };
const PIP_CACHE = '/layers/pip-cache';

/** What `pip install --user` leaves under PYTHONUSERBASE: a distribution's metadata and a console script. */
function installs(name: string, version: string): (e: Execution) => void {
  return (e) => {
    const base = e.env.PYTHONUSERBASE as string;
    const info = path.join(base, 'lib', 'python3.12', 'site-packages', `${name}-${version}.dist-info`);
    fs.mkdirSync(info, { recursive: true });
    fs.writeFileSync(path.join(info, 'METADATA'), `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`);
    fs.mkdirSync(path.join(base, 'bin'), { recursive: true });
    fs.writeFileSync(path.join(base, 'bin', name), '#!/bin/sh\n', { mode: 0o755 });
  };
}
const pipOk = (): ScriptStep => ok('Successfully installed flask-3.0.0\n', installs('flask', '3.0.0'));

interface BuildInputs {
  ctx?: ContextOptions;
  python?: InstalledPython;
  withinCustomAssemble?: boolean;
  /** Milliseconds after the fake clock's start at which this build runs. */
  at?: number;
}

describe('pip-deps layer: cache decisions', () => {
  let b: TempBuild;
  beforeEach(() => {
    b = new TempBuild();
    b.writeApp({ 'requirements.txt': 'flask==3.0.0\n' });
  });
  afterEach(() => b.cleanup());

  async function build(inputs: BuildInputs = {}, script: ScriptStep[] = [pipOk()]): Promise<FakeDeps> {
    const f = fakeDeps(script);
    f.clock.advance(inputs.at ?? 0);
    const ctx = b.context(inputs.ctx);
    await installDependencies(ctx, { PATH: '/usr/bin:/bin' }, inputs.python ?? PYTHON, readSettings(ctx.userEnv), PIP_CACHE, f.deps, {
      withinCustomAssemble: inputs.withinCustomAssemble,
    });
    return f;
  }

  /** A first build, restored by the lifecycle for the next one, with a file the next build must keep or drop. */
  async function cached(inputs: BuildInputs = {}): Promise<void> {
    await build(inputs);
    restoreLayer(b.layersDir, 'pip-deps');
    fs.writeFileSync(path.join(b.layerPath('pip-deps'), 'from-the-previous-build'), '');
  }

  /** pip ran once more, into a layer emptied first, and the layer now describes this build. */
  function expectReinstalled(f: FakeDeps, previousMetadata: unknown): void {
    expect(f.exec.executions.map((e) => e.args.slice(0, 3)), 'pip runs').to.deep.equal([['-m', 'pip', 'install']]);
    expect(fs.existsSync(path.join(b.layerPath('pip-deps'), 'from-the-previous-build'))).to.equal(false);
    const toml = layerToml(b.layersDir, 'pip-deps');
    expect(toml?.types).to.deep.equal({ build: true, launch: true, cache: true });
    expect(toml?.metadata).to.not.deep.equal(previousMetadata);
  }

  it('keeps an unchanged layer: contents untouched and pip not run', async () => {
    await cached();
    const before = snapshot(b.layerPath('pip-deps'));
    const metadata = layerToml(b.layersDir, 'pip-deps')?.metadata;
    const f = await build({}, []);
    expect(f.log.stdout).to.equal('- Using cached dependencies: requirements, Python and pip settings are unchanged (pip was not run)\n');
    expect(f.log.stderr).to.equal('');
    expect(f.exec.executions).to.deep.equal([]);
    expect(snapshot(b.layerPath('pip-deps'))).to.deep.equal(before);
    expect(layerToml(b.layersDir, 'pip-deps')).to.deep.equal({ types: { build: true, launch: true, cache: true }, metadata });
  });

  it('keeps the layer when only the credentials in a PIP_* URL changed (a rotated token installs the same)', async () => {
    await cached({ ctx: { processEnv: { PIP_INDEX_URL: 'https://ci:old-token@pypi.internal/simple' } } });
    const f = await build({ ctx: { processEnv: { PIP_INDEX_URL: 'https://ci:new-token@pypi.internal/simple' } } }, []);
    expect(f.log.lines).to.deep.equal(['- Using cached dependencies: requirements, Python and pip settings are unchanged (pip was not run)']);
    expect(f.exec.executions).to.deep.equal([]);
  });

  const REASONS: Array<{ what: string; first?: BuildInputs; change?: () => void; next?: BuildInputs; reason: string }> = [
    { what: 'requirements.txt changed', change: () => b.writeApp({ 'requirements.txt': 'flask==3.0.1\n' }), reason: 'The requirements (or the files they include) have changed' },
    { what: 'the Python version changed', next: { python: { ...PYTHON, version: '3.12.8' } }, reason: 'The Python version or build has changed' },
    { what: 'the Python archive changed (same version)', next: { python: { ...PYTHON, sha256: 'b'.repeat(64) } }, reason: 'The Python version or build has changed' },
    { what: 'a PIP_* variable was added', next: { ctx: { processEnv: { PIP_INDEX_URL: 'https://pypi.internal/simple' } } }, reason: 'The pip settings (PIP_* variables) have changed' },
    { what: 'a PIP_* value changed', first: { ctx: { processEnv: { PIP_NO_BINARY: ':none:' } } }, next: { ctx: { processEnv: { PIP_NO_BINARY: ':all:' } } }, reason: 'The pip settings (PIP_* variables) have changed' },
    { what: 'the index host changed behind the same credentials', first: { ctx: { processEnv: { PIP_INDEX_URL: 'https://ci:t@a.internal/simple' } } }, next: { ctx: { processEnv: { PIP_INDEX_URL: 'https://ci:t@b.internal/simple' } } }, reason: 'The pip settings (PIP_* variables) have changed' },
    { what: 'the architecture changed', first: { ctx: { arch: 'arm64' } }, reason: 'The architecture has changed' },
    { what: 'the buildpack version changed', first: { ctx: { buildpackVersion: '0.0.9' } }, reason: 'The buildpack version has changed' },
  ];
  for (const r of REASONS) {
    it(`discards the layer when ${r.what}, and says so`, async () => {
      await cached(r.first);
      const previous = layerToml(b.layersDir, 'pip-deps')?.metadata;
      r.change?.();
      const f = await build(r.next);
      expect(f.log.block('- Discarding cached')).to.deep.equal(['- Discarding cached dependencies since:', `  - ${r.reason}`]);
      expect(f.log.stderr).to.equal('');
      expectReinstalled(f, previous);
    });
  }

  it('discards the layer when PIP_UPGRADE is turned on, and runs the upgrade before the install', async () => {
    await cached();
    const f = await build({ ctx: { processEnv: { PIP_UPGRADE: 'TRUE' } } }, [ok(), pipOk()]);
    expect(f.log.block('- Discarding cached')).to.deep.equal(['- Discarding cached dependencies since:', '  - The pip settings (PIP_* variables) have changed']);
    expect(f.exec.executions.map((e) => e.args.slice(-3))).to.deep.equal([['pip', 'setuptools', 'wheel'], ['--no-warn-script-location', '-r', 'requirements.txt']]);
  });

  it('lists every reason at once, in a fixed order', async () => {
    await cached({ ctx: { arch: 'arm64', buildpackVersion: '0.0.9' } });
    b.writeApp({ 'requirements.txt': 'flask==3.0.1\n' });
    const f = await build({ python: { ...PYTHON, version: '3.12.8' }, ctx: { processEnv: { PIP_INDEX_URL: 'https://pypi.internal/simple' } } });
    expect(f.log.block('- Discarding cached')).to.deep.equal([
      '- Discarding cached dependencies since:',
      '  - The requirements (or the files they include) have changed',
      '  - The Python version or build has changed',
      '  - The pip settings (PIP_* variables) have changed',
      '  - The architecture has changed',
      '  - The buildpack version has changed',
    ]);
  });

  it("never reuses a layer filled by the app's .s2i/bin/assemble, even with the same inputs", async () => {
    await cached({ withinCustomAssemble: true });
    expect(layerToml(b.layersDir, 'pip-deps')?.metadata).to.deep.equal({ assemble: 'custom' });
    const f = await build();
    expect(f.log.block('- Discarding cached')).to.deep.equal([
      '- Discarding cached dependencies since:',
      "  - The layer was filled by the app's .s2i/bin/assemble (what a custom script installs cannot be keyed)",
    ]);
    expectReinstalled(f, { assemble: 'custom' });
  });

  for (const [what, metadata] of [
    ['a field of the wrong type', '[metadata]\ninputs = 1\npython = "x"\npipSettings = "x"\narch = "amd64"\nbuildpackVersion = "0.1.0"\n'],
    ['a missing field', '[metadata]\ninputs = "x"\npython = "x"\narch = "amd64"\nbuildpackVersion = "0.1.0"\n'],
    ['no [metadata] at all', ''],
  ] as const) {
    it(`discards a layer whose metadata cannot be parsed (${what})`, async () => {
      await cached();
      fs.writeFileSync(b.tomlPath('pip-deps'), metadata);
      const f = await build();
      expect(f.log.lines[0]).to.equal("- Discarding cached dependencies since their layer metadata can't be parsed");
      expectReinstalled(f, undefined);
    });
  }
});

describe('pip-deps layer: requirements that pin no exact version are reused for BP_PIP_UNPINNED_MAX_AGE (issue 14, item 8)', () => {
  let b: TempBuild;
  beforeEach(() => {
    b = new TempBuild();
    b.writeApp({ 'requirements.txt': 'flask\n-r more.txt\n', 'more.txt': 'six==1.17.0\ngunicorn>=22\n' });
  });
  afterEach(() => b.cleanup());

  const HOUR = 3600 * 1000;
  async function build(at: number, processEnv: Record<string, string> = {}, script: ScriptStep[] = [pipOk()]): Promise<FakeDeps> {
    const f = fakeDeps(script);
    f.clock.advance(at);
    const ctx = b.context({ processEnv });
    await installDependencies(ctx, { PATH: '/usr/bin:/bin' }, PYTHON, readSettings(ctx.userEnv), PIP_CACHE, f.deps);
    return f;
  }
  async function cached(at = 0, processEnv: Record<string, string> = {}): Promise<void> {
    await build(at, processEnv);
    restoreLayer(b.layersDir, 'pip-deps');
  }

  it('the install names the unpinned lines (includes followed), says when pip resolves them again, and records when it ran', async () => {
    const f = await build(0);
    const lines = f.log.lines;
    const at = lines.indexOf('- These requirements pin no exact version, so pip resolves them again at the first build after 24h (BP_PIP_UNPINNED_MAX_AGE), even when nothing else changed:');
    expect(at, lines.join('\n')).to.be.greaterThan(0);
    expect(lines.slice(at + 1, at + 4)).to.deep.equal([
      '  - requirements.txt:1: flask',
      '  - more.txt:2: gunicorn>=22',
      '- A lockfile (pylock.toml, uv.lock, poetry.lock, Pipfile.lock), or every requirement pinned with == or --hash, installs the same versions at every build and is reused until it changes',
    ]);
    expect(layerToml(b.layersDir, 'pip-deps')?.metadata).to.include({ installedAt: '2026-01-01T00:00:00.000Z' });
  });

  it('an unchanged layer is kept before the age (pip not run, the log says until when and why); after it, pip runs again, saying why', async () => {
    await cached(0);
    const kept = await build(23 * HOUR, {}, []);
    expect(kept.exec.executions).to.deep.equal([]);
    expect(kept.log.lines.slice(0, 4)).to.deep.equal([
      '- Using cached dependencies: requirements, Python and pip settings are unchanged (pip was not run)',
      '- They are reused for up to 24h (BP_PIP_UNPINNED_MAX_AGE), then pip resolves again these requirements, which pin no exact version:',
      '  - requirements.txt:1: flask',
      '  - more.txt:2: gunicorn>=22',
    ]);
    restoreLayer(b.layersDir, 'pip-deps');
    const again = await build(24 * HOUR + 1);
    expect(again.exec.executions.map((e) => e.args.slice(0, 3))).to.deep.equal([['-m', 'pip', 'install']]);
    expect(again.log.block('- Discarding cached')).to.deep.equal([
      '- Discarding cached dependencies since:',
      '  - Some requirements pin no exact version, and their dependencies were installed 24h ago, not less than BP_PIP_UNPINNED_MAX_AGE (24h): pip resolves them again',
    ]);
    expect(layerToml(b.layersDir, 'pip-deps')?.metadata).to.include({ installedAt: '2026-01-02T00:00:00.001Z' });
  });

  it('the age counts from the install, not from the last reuse', async () => {
    await cached(0);
    await build(20 * HOUR, {}, []);
    restoreLayer(b.layersDir, 'pip-deps');
    const f = await build(25 * HOUR);
    expect(f.exec.executions).to.have.length(1);
  });

  it('BP_PIP_UNPINNED_MAX_AGE sets the age; 0 resolves at every build; changing it is no change of the key', async () => {
    await cached(0, { BP_PIP_UNPINNED_MAX_AGE: '2h' });
    expect((await build(HOUR, { BP_PIP_UNPINNED_MAX_AGE: '2h' }, [])).exec.executions).to.deep.equal([]);
    restoreLayer(b.layersDir, 'pip-deps');
    expect((await build(HOUR, { BP_PIP_UNPINNED_MAX_AGE: '30m' })).exec.executions).to.have.length(1);
    restoreLayer(b.layersDir, 'pip-deps');
    const f = await build(HOUR, { BP_PIP_UNPINNED_MAX_AGE: '0' });
    expect(f.log.block('- Discarding cached')[1]).to.equal('  - Some requirements pin no exact version, and their dependencies were installed 0s ago, not less than BP_PIP_UNPINNED_MAX_AGE (0: every build): pip resolves them again');
  });

  it('fully pinned requirements (==, --hash, includes too) are kept however old the layer is, and the log says nothing of pinning', async () => {
    b.writeApp({ 'requirements.txt': 'flask==3.0.0\n-r more.txt\n-c constraints.txt\n', 'more.txt': 'six==1.17.0 --hash=sha256:abc\nidna @ https://files.example/idna-3.10-py3-none-any.whl#sha256=00ff\n', 'constraints.txt': 'werkzeug>=3\n' });
    await cached(0);
    const f = await build(100 * 24 * HOUR, {}, []);
    expect(f.exec.executions).to.deep.equal([]);
    expect(f.log.lines).to.deep.equal(['- Using cached dependencies: requirements, Python and pip settings are unchanged (pip was not run)']);
  });

  it('a layer from before this rule (no installedAt) with unpinned requirements is reinstalled', async () => {
    await cached(0);
    const toml = fs.readFileSync(b.tomlPath('pip-deps'), 'utf8');
    fs.writeFileSync(b.tomlPath('pip-deps'), toml.replace(/^installedAt = .*\n/m, ''));
    const f = await build(HOUR);
    expect(f.log.block('- Discarding cached')[1]).to.equal('  - Some requirements pin no exact version, and when their dependencies were installed is unknown: pip resolves them again');
  });

  it('an app installed as a project (setup.py) counts as unpinned', async () => {
    fs.rmSync(path.join(b.appDir, 'requirements.txt'));
    b.writeApp({ 'setup.py': 'from setuptools import setup\nsetup(name="app", install_requires=["flask"])\n' });
    await cached(0);
    const f = await build(25 * HOUR);
    expect(f.exec.executions).to.have.length(1);
    expect(f.log.lines).to.include("  - setup.py: the app's own dependencies, which pip resolves from its metadata");
  });
});

describe('pip-deps layer: a failed pip run leaves nothing behind', () => {
  let b: TempBuild;
  beforeEach(() => {
    b = new TempBuild();
    b.writeApp({ 'requirements.txt': 'flask==3.0.0\nnope==1\n' });
  });
  afterEach(() => b.cleanup());

  /** pip got as far as writing one distribution into the layer before it failed. */
  const halfway = installs('flask', '3.0.0');
  const CASES: Array<{ what: string; env?: Record<string, string>; script: ScriptStep[]; cause: string }> = [
    { what: 'pip install exits 1', script: [exit(1, 'ERROR: No matching distribution found for nope==1\n', halfway)], cause: 'pip-install-failed' },
    { what: 'the PIP_UPGRADE step exits 1', env: { PIP_UPGRADE: '1' }, script: [exit(1, 'ERROR: could not upgrade\n', halfway)], cause: 'pip-upgrade-failed' },
    { what: 'pip install fails after the upgrade', env: { PIP_UPGRADE: '1' }, script: [ok('', halfway), exit(1, 'ERROR: No matching distribution found for nope==1\n')], cause: 'pip-install-failed' },
    { what: 'the interpreter cannot be started', script: [io('spawn /layers/python/bin/python ENOENT')], cause: 'pip-command-io' },
  ];
  for (const c of CASES) {
    for (const previous of [false, true]) {
      it(`${c.what}${previous ? ', over a discarded layer' : ''}: no pip-deps.toml, no contents, no SBOM`, async () => {
        if (previous) {
          b.writeApp({ 'requirements.txt': 'six==1.16.0\n' });
          const ctx = b.context();
          await installDependencies(ctx, {}, PYTHON, readSettings(ctx.userEnv), PIP_CACHE, fakeDeps([ok('', installs('six', '1.16.0'))]).deps);
          restoreLayer(b.layersDir, 'pip-deps');
          b.writeApp({ 'requirements.txt': 'flask==3.0.0\nnope==1\n' });
        }
        const f = fakeDeps(c.script);
        const ctx = b.context({ processEnv: c.env });
        const cause = await rejectedCause(installDependencies(ctx, {}, PYTHON, readSettings(ctx.userEnv), PIP_CACHE, f.deps));
        expect(cause.type).to.equal(c.cause);
        expect(f.exec.executions).to.have.length(c.script.length);
        expect(fs.readdirSync(b.layersDir)).to.deep.equal([]);
      });
    }
  }
});

describe('pip-deps layer: URL credentials pip records in direct_url.json (PEP 610)', () => {
  let b: TempBuild;
  beforeEach(() => {
    b = new TempBuild();
    b.writeApp({ 'requirements.txt': 'localpkg @ https://bucket.example/localpkg-1.0-py3-none-any.whl?X-Amz-Signature=S3CRET\n' });
  });
  afterEach(() => b.cleanup());

  const SIGNED = '{"archive_info": {}, "url": "https://bucket.example/localpkg-1.0-py3-none-any.whl?X-Amz-Signature=S3CRET"}';
  const MASKED = '{"archive_info": {}, "url": "https://bucket.example/localpkg-1.0-py3-none-any.whl?X-Amz-Signature=****"}';
  const MASKED_LINE = '- Masked the URL credentials pip recorded in 1 direct_url.json file (PEP 610), so none reaches the image';
  const info = (): string => path.join(b.layerPath('pip-deps'), 'lib', 'python3.12', 'site-packages', 'localpkg-1.0.dist-info');

  /** pip installing `localpkg @ <signed url>`: its direct_url.json, listed in RECORD; `also` runs after. */
  function installsFromUrl(also?: (info: string) => void): ScriptStep {
    return ok('Successfully installed localpkg-1.0\n', (e) => {
      installs('localpkg', '1.0')(e);
      const dir = path.join(e.env.PYTHONUSERBASE as string, 'lib', 'python3.12', 'site-packages', 'localpkg-1.0.dist-info');
      fs.writeFileSync(path.join(dir, 'direct_url.json'), SIGNED);
      fs.writeFileSync(path.join(dir, 'RECORD'), `localpkg-1.0.dist-info/METADATA,,\r\nlocalpkg-1.0.dist-info/direct_url.json,sha256=old,${SIGNED.length}\r\n`);
      also?.(dir);
    });
  }

  for (const withinCustomAssemble of [false, true]) {
    it(`masks them before the layer is described${withinCustomAssemble ? ' (default steps called from .s2i/bin/assemble)' : ''}, with one line saying how many`, async () => {
      const f = fakeDeps([installsFromUrl()]);
      const ctx = b.context();
      await installDependencies(ctx, {}, PYTHON, readSettings(ctx.userEnv), PIP_CACHE, f.deps, { withinCustomAssemble });
      expect(fs.readFileSync(path.join(info(), 'direct_url.json'), 'utf8')).to.equal(MASKED);
      const hash = crypto.createHash('sha256').update(MASKED).digest('base64url');
      expect(fs.readFileSync(path.join(info(), 'RECORD'), 'utf8')).to.equal(`localpkg-1.0.dist-info/METADATA,,\r\nlocalpkg-1.0.dist-info/direct_url.json,sha256=${hash},${MASKED.length}\r\n`);
      expect(f.log.lines).to.include(MASKED_LINE);
      expect(f.log.stdout).not.to.contain('S3CRET');
      expect(layerToml(b.layersDir, 'pip-deps')?.metadata).not.to.equal(undefined);
    });
  }

  it('says nothing when pip recorded no credential', async () => {
    const f = fakeDeps([pipOk()]);
    const ctx = b.context();
    await installDependencies(ctx, {}, PYTHON, readSettings(ctx.userEnv), PIP_CACHE, f.deps);
    expect(f.log.stdout).not.to.contain('Masked');
  });

  it('a direct_url.json that cannot be rewritten stops the build, and the layer holding the credential is removed', async () => {
    // The masker's temporary file name is taken by a folder: the rename-into-place cannot happen.
    const f = fakeDeps([installsFromUrl((dir) => fs.mkdirSync(path.join(dir, `.direct_url.json.${process.pid}.tmp`)))]);
    const ctx = b.context();
    const cause = await rejectedCause(installDependencies(ctx, {}, PYTHON, readSettings(ctx.userEnv), PIP_CACHE, f.deps));
    expect(cause).to.include({ type: 'internal', what: "Masking URL credentials in the pip-deps layer's direct_url.json files" });
    expect(fs.readdirSync(b.layersDir)).to.deep.equal([]);
  });
});
