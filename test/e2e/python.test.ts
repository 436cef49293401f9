/**
 * End to end through the local platform: the `python` layer (issue 3). Which source decides the version, the
 * interpreter that runs at launch, reuse without a download, replacement with the reason logged, mirrors and
 * manifests, and every way a download or an archive can be bad: each stops the build with its message from
 * src/messages.ts, and leaves no python layer that a later build would trust.
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import TOML from '@iarna/toml';
import { rcompare } from '@renovatebot/pep440';
import { E2E, plainLog } from './support.js';
import { hostArch } from '../helpers/servers.js';
import { writeTarGz, type TarEntry } from '../helpers/archives.js';
import type { BuildResult } from '../platform/index.js';
import type { Cause } from '../../src/causes.js';
import { renderCause } from '../../src/messages.js';

/** The `[Error: …]` line a failure with this cause prints. */
const errorLine = (c: Cause): string => `[Error: ${renderCause(c).title}]`;

const tarGz = (dir: string, name: string, entries: TarEntry[]): string => writeTarGz(path.join(dir, name), entries);


const sha256 = (file: string): string => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

describe('e2e: the python layer', function () {
  this.timeout(120_000);
  let e2e: E2E;
  /** Served JSON manifest with the four pyenv Pythons. */
  let manifestUrl: string;
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-python-'));

  before(async () => {
    e2e = await E2E.start();
    manifestUrl = await e2e.manifest(['2.7', '3.6', '3.11', '3.13']);
  });
  after(async () => {
    await e2e?.stop();
    fs.rmSync(scratch, { recursive: true, force: true });
  });
  afterEach(() => e2e.dists.clearFaults());

  /** `python --version` in the image (Python 2 prints it to stderr; the output is both). */
  async function launchedVersion(res: BuildResult): Promise<string> {
    const proc = await e2e.platform.launch(res, { processType: 'python', args: ['--version'] });
    const exit = await proc.exited;
    expect(exit.code, proc.output()).to.equal(0);
    return proc.output().trim();
  }

  /** Requests the dist server received from `mark` on (see `e2e.dists.requests`). */
  const requestsSince = (mark: number): string[] => e2e.dists.requests.slice(mark).map((r) => r.path);

  /** The build failed, and nothing python-related is left in the buildpack's layers dir. */
  function expectNoTrustedPython(res: BuildResult): void {
    expect(res.success, res.output).to.equal(false);
    expect(res.lifecycleExitCode).to.equal(51);
    const dir = path.join(res.app.layersDir, e2e.platform.descriptor.escapedId);
    const left = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
    expect(left.filter((n) => n.includes('python')), `left in ${dir}`).to.deep.equal([]);
  }

  describe('version sources, launch, reuse and replacement', () => {
    it('.python-version decides (3.13.0, manifest as a TOML path in the app); a rebuild reuses the layer with no request; BP_PYTHON_VERSION then decides (2.7.18) and replaces it, saying why', async () => {
      const app = await e2e.app('python-version-file');
      const dists = [await e2e.python('3.13'), await e2e.python('2.7')] as const;
      const toml = dists
        .map((a) => `[[distributions]]\nversion = "${a.version}"\nuri = "${e2e.dists.url(`/python/${a.filename}`)}"\nsha256 = "${a.sha256}"\narch = "${hostArch()}"\n`)
        .join('\n');
      await app.writeFile('distributions.toml', `# in-house builds of Python, for BP_PYTHON_DISTRIBUTIONS\n${toml}`);
      const env = { BP_PYTHON_DISTRIBUTIONS: 'distributions.toml' };

      const first = await e2e.platform.buildOk(app, { platformEnv: env });
      const log1 = plainLog(first.output);
      expect(log1).to.contain('- Requested Python 3.13.0 (from .python-version)');
      expect(log1).to.contain('- Added 2 Python archive(s) from distributions.toml (BP_PYTHON_DISTRIBUTIONS)');
      expect(log1).to.contain(`- Selected Python 3.13.0 for ${hostArch()} from BP_PYTHON_DISTRIBUTIONS`);
      expect(log1).to.contain(`- Downloading Python 3.13.0 from ${e2e.dists.url(`/python/${dists[0].filename}`)}`);
      expect(log1).to.contain(`Verified sha256 ${dists[0].sha256}`);
      expect(first.layers.python?.types).to.deep.equal({ build: true, launch: true, cache: true });
      expect(first.layers.python?.metadata).to.include({ version: '3.13.0', sha256: dists[0].sha256, arch: hostArch() });
      expect(first.files['python.sbom.cdx.json']).to.contain('"version": "3.13.0"').and.contain(dists[0].sha256);
      expect(await launchedVersion(first)).to.equal('Python 3.13.0');

      const mark = e2e.dists.requests.length;
      const again = await e2e.platform.buildOk(app, { platformEnv: env });
      expect(plainLog(again.output)).to.contain('- Using cached Python 3.13.0');
      expect(plainLog(again.output)).not.to.contain('Downloading Python');
      expect(requestsSince(mark), 'requests during the rebuild').to.deep.equal([]);
      expect(again.restored.python?.contents).to.equal(true);
      expect(again.reused).to.include('python');

      const changed = await e2e.platform.buildOk(app, { platformEnv: { ...env, BP_PYTHON_VERSION: '2.7.18' } });
      const log3 = plainLog(changed.output);
      expect(log3).to.contain('- Requested Python 2.7.18 (from BP_PYTHON_VERSION)');
      expect(log3).to.contain('- Discarding cached Python 3.13.0 since:\n  - The Python version has changed from 3.13.0 to 2.7.18');
      expect(log3).to.contain('- Downloading Python 2.7.18');
      expect(changed.layers.python?.metadata).to.include({ version: '2.7.18', sha256: dists[1].sha256 });
      expect(changed.layers.python?.exported).to.equal('new');
      expect(await launchedVersion(changed)).to.equal('Python 2.7.18');
    });

    it('runtime.txt decides: python-3.6.15 (manifest by URL) runs at launch', async () => {
      const res = await e2e.platform.buildOk(await e2e.app('python-runtime-txt'), { platformEnv: { BP_PYTHON_DISTRIBUTIONS: manifestUrl } });
      const log = plainLog(res.output);
      expect(log).to.contain('- Requested Python 3.6.15 (from runtime.txt)');
      expect(log).to.contain('- Added 4 Python archive(s) from');
      expect(log).to.contain(`- Selected Python 3.6.15 for ${hostArch()} from BP_PYTHON_DISTRIBUTIONS`);
      expect(await launchedVersion(res)).to.equal('Python 3.6.15');
      // The layer's launch env (.default files) and python3 on PATH, from the layer.
      const script = 'import os, sys; print(sys.executable); print(" ".join(os.environ[k] for k in ("PYTHONUNBUFFERED", "PYTHONIOENCODING", "LANG")))';
      const proc = await e2e.platform.launch(res, { command: ['python3', '-c', script] });
      expect((await proc.exited).code, proc.output()).to.equal(0);
      const [exe, env] = proc.output().trim().split('\n');
      expect(exe).to.match(new RegExp(`/layers/${e2e.platform.descriptor.escapedId}/python/bin/python3(\\.6)?$`));
      expect(env).to.equal('1 UTF-8 C.UTF-8');
    });

    it('pyproject.toml requires-python decides: ">=2.7,<3" selects 2.7.18 from the manifest', async () => {
      const res = await e2e.platform.buildOk(await e2e.app('python-pyproject'), { platformEnv: { BP_PYTHON_DISTRIBUTIONS: manifestUrl, PIP_INDEX_URL: e2e.index.indexUrl(), PIP_CONFIG_FILE: '/dev/null' } });
      const log = plainLog(res.output);
      expect(log).to.contain('- Requested Python >=2.7,<3 (from pyproject.toml)');
      expect(log).to.contain(`- Selected Python 2.7.18 for ${hostArch()} from BP_PYTHON_DISTRIBUTIONS`);
      expect(await launchedVersion(res)).to.equal('Python 2.7.18');
      const python2 = await e2e.platform.launch(res, { command: ['python2', '-c', 'import sys; print(sys.version_info[:3])'] });
      expect((await python2.exited).code, python2.output()).to.equal(0);
      expect(python2.output().trim()).to.equal('(2, 7, 18)');
    });

    it('the buildpack default decides (3.14): the built-in entry is fetched from BP_DEPENDENCY_MIRROR, whose file fails its sha256', async () => {
      const bp = TOML.parse(fs.readFileSync(path.join(e2e.platform.buildpackDir, 'buildpack.toml'), 'utf8')) as {
        metadata: { 'default-versions': { python: string }; dependencies: Array<{ id: string; version: string; uri: string; checksum: string; arch: string }> };
      };
      expect(bp.metadata['default-versions'].python).to.equal('3.14');
      const builtin = bp.metadata.dependencies
        .filter((d) => d.id === 'python' && d.arch === hostArch() && d.version.startsWith('3.14.'))
        .sort((a, b) => rcompare(a.version, b.version))[0];
      if (!builtin) throw new Error('no built-in 3.14 for this architecture in buildpack.toml');
      const original = new URL(builtin.uri);
      const mirror = e2e.dists.url('/mirror');
      // The mirror serves some other archive under the built-in path: a mirror with the wrong file.
      const servedPath = decodeURIComponent(`/mirror${original.pathname}`);
      e2e.dists.addFile(servedPath, tarGz(scratch, 'impostor.tar.gz', [{ path: 'python/', type: 'Directory' }, { path: 'python/bin/python', body: '#!/bin/sh\n' }]));
      const mark = e2e.dists.requests.length;

      const res = await e2e.platform.build(await e2e.app('python-default'), { platformEnv: { BP_DEPENDENCY_MIRROR: mirror } });
      const log = plainLog(res.output);
      expect(log).to.contain('- Requested Python 3.14 (from the buildpack default)');
      expect(log).to.contain(`- Selected Python ${builtin.version} for ${hostArch()}\n`);
      expect(log).to.contain(`- Downloading Python ${builtin.version} from ${mirror}${original.pathname}`);
      expect(log).to.contain(errorLine({ type: 'checksum-mismatch', url: '', expected: '', actual: '' }));
      expect(log).to.contain(`but ${builtin.checksum.replace(/^sha256:/, '')} was expected`);
      expect(requestsSince(mark)).to.deep.equal([servedPath]);
      expectNoTrustedPython(res);
    });
  });

  describe('bad downloads and archives stop the build and leave nothing trusted', () => {
    let app: Awaited<ReturnType<E2E['app']>>;
    let good: Awaited<ReturnType<E2E['python']>>;
    let goodPath: string;
    let hostileUrl: string;
    /** The version each hostile archive is listed under in hostile.json. */
    const HOSTILE = { dotdot: '3.99.1', symlink: '3.99.2', truncated: '3.99.3', noInterpreter: '3.99.4' } as const;

    before(async () => {
      app = await e2e.app('python-failures');
      good = await e2e.python('3.11');
      goodPath = `/python/${good.filename}`;
      const top = { path: 'python/', type: 'Directory' as const };
      const bin = { path: 'python/bin/python', body: '#!/bin/sh\necho never run\n' };
      const cutFrom = tarGz(scratch, 'whole.tar.gz', [top, bin, { path: 'python/lib/data.bin', body: crypto.randomBytes(96 * 1024).toString('base64') }]);
      const cut = path.join(scratch, 'cut.tar.gz');
      const whole = fs.readFileSync(cutFrom);
      fs.writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
      const files = {
        dotdot: [HOSTILE.dotdot, tarGz(scratch, 'dotdot.tar.gz', [top, bin, { path: 'python/../../../escaped-dotdot', body: 'x' }])],
        symlink: [HOSTILE.symlink, tarGz(scratch, 'symlink.tar.gz', [top, bin, { path: 'python/lib/', type: 'Directory' }, { path: 'python/lib/escape', type: 'SymbolicLink', linkpath: '../../../..' }, { path: 'python/lib/escape/escaped-symlink', body: 'x' }])],
        truncated: [HOSTILE.truncated, cut],
        noInterpreter: [HOSTILE.noInterpreter, tarGz(scratch, 'no-interpreter.tar.gz', [top, { path: 'python/bin/pip3.99', body: '#!/bin/sh\n' }, { path: 'python/lib/python3.99/os.py', body: '' }])],
      } as const;
      const entries = [{ version: good.version, uri: e2e.dists.url(goodPath), sha256: good.sha256, arch: hostArch() }];
      for (const [name, [version, file]] of Object.entries(files)) {
        e2e.dists.addFile(`/hostile/${name}.tar.gz`, file);
        entries.push({ version, uri: e2e.dists.url(`/hostile/${name}.tar.gz`), sha256: sha256(file), arch: hostArch() });
      }
      e2e.dists.addFile('/hostile.json', Buffer.from(JSON.stringify({ distributions: entries })));
      hostileUrl = e2e.dists.url('/hostile.json');
    });

    /** A new directory under `scratch` that the build user (uid 1000) may enter and list. */
    const readableDir = (): string => {
      fs.chmodSync(scratch, 0o755);
      const dir = fs.mkdtempSync(path.join(scratch, 'readable-'));
      fs.chmodSync(dir, 0o755);
      return dir;
    };

    const build = (version: string, extra: Record<string, string> = {}): Promise<BuildResult> =>
      e2e.platform.build(app, { platformEnv: { BP_PYTHON_DISTRIBUTIONS: hostileUrl, BP_PYTHON_VERSION: version, ...extra } });

    it('a checksum mismatch (a byte flipped on the way)', async () => {
      e2e.dists.setFault(goodPath, { kind: 'corrupt' });
      const res = await build(good.version);
      const log = plainLog(res.output);
      expect(log).to.contain(errorLine({ type: 'checksum-mismatch', url: '', expected: '', actual: '' }));
      expect(log).to.contain(`but ${good.sha256} was expected`);
      expectNoTrustedPython(res);
    });

    it('an archive truncated on the way (every attempt), after retries', async () => {
      e2e.dists.setFault(goodPath, { kind: 'truncate', afterBytes: Math.floor(good.size / 2) });
      const mark = e2e.dists.requests.length;
      const res = await build(good.version);
      const log = plainLog(res.output);
      // The client sees up to half the bytes before the reset, however many arrived before it.
      expect(log).to.match(new RegExp(`Connection lost after \\d+ of ${good.size} bytes`));
      expect(log).to.match(/retrying in 0\.5s \(attempt 2 of 4\)/);
      expect(requestsSince(mark).filter((p) => p === goodPath)).to.have.length(4);
      expect(log).to.contain(errorLine({ type: 'download-truncated', url: '', got: 0, expected: 0 }));
      const got = Number(new RegExp(`ended after (\\d+) of ${good.size} bytes, after several attempts`).exec(log)?.[1]);
      expect(got).to.be.at.most(Math.floor(good.size / 2));
      expect(log).not.to.contain('verbose: true');
      expectNoTrustedPython(res);
    });

    it('an archive truncated at its source (its manifest sha256 matches the cut file)', async () => {
      const res = await build(HOSTILE.truncated);
      expect(plainLog(res.output)).to.contain(errorLine({ type: 'archive-corrupt', detail: '' }));
      expectNoTrustedPython(res);
    });

    it('an archive with a ../ entry', async () => {
      const res = await build(HOSTILE.dotdot);
      const log = plainLog(res.output);
      expect(log).to.contain(errorLine({ type: 'archive-unsafe-entry', entry: '', why: '' }));
      expect(log).to.contain("'python/../../../escaped-dotdot', a path that leaves the archive");
      expectNoTrustedPython(res);
      expect(fs.existsSync(path.join(app.layersDir, 'escaped-dotdot'))).to.equal(false);
      expect(fs.existsSync(path.join(path.dirname(app.layersDir), 'escaped-dotdot'))).to.equal(false);
    });

    it('an archive with a symlink that points out of it', async () => {
      const res = await build(HOSTILE.symlink);
      const log = plainLog(res.output);
      expect(log).to.contain(errorLine({ type: 'archive-unsafe-entry', entry: '', why: '' }));
      expect(log).to.contain("'python/lib/escape', a symlink that points outside (../../../..)");
      expectNoTrustedPython(res);
    });

    it('an archive with no bin/python nor bin/python3.99: stops before "Installed Python", naming what is missing', async () => {
      const res = await build(HOSTILE.noInterpreter);
      const log = plainLog(res.output);
      expect(log).to.contain(errorLine({ type: 'archive-no-interpreter', version: '', versioned: '', binEntries: [], libDir: '', hasLibDir: false }));
      expect(log).to.contain('The archive for Python 3.99.4 unpacked, but it has no bin/python, nor bin/python3.99 from which bin/python is made; lib/python3.99 is there. Its bin/ holds: pip3.99.');
      expect(log).to.contain('Nothing from it was installed.');
      expect(log).to.not.contain('Installed Python');
      expect(log).to.not.contain('Internal buildpack error');
      expectNoTrustedPython(res);
    });

    it('an archive file:// URI the build user cannot read: reported once, naming the file, no retry', async () => {
      const dir = readableDir();
      const file = path.join(dir, 'python.tar.gz');
      fs.copyFileSync(good.path, file);
      fs.chmodSync(file, 0o600); // root's; the build runs as uid 1000
      const manifest = `/unreadable-${path.basename(dir)}.json`;
      e2e.dists.addFile(manifest, Buffer.from(JSON.stringify({ distributions: [{ version: '3.99.5', uri: `file://${file}`, sha256: good.sha256, arch: hostArch() }] })));
      const started = Date.now();
      const res = await e2e.platform.build(app, { platformEnv: { BP_PYTHON_DISTRIBUTIONS: e2e.dists.url(manifest), BP_PYTHON_VERSION: '3.99.5' } });
      const log = plainLog(res.output);
      expect(log).to.contain(errorLine({ type: 'download-file-unreadable', url: '', file: '', reason: 'permission-denied', detail: '', uid: 0 }));
      expect(log).to.contain(`The file ${file} cannot be read by the build user (uid 1000): permission denied.`);
      expect(log).to.contain(`'chmod a+r ${file}'`);
      expect(log).to.not.contain('retrying');
      expect(log).to.not.contain('Download incomplete');
      // a retry would add seconds of backoff per attempt; the bound leaves room for a loaded machine's start-up
      expect(Date.now() - started).to.be.below(60_000);
      expectNoTrustedPython(res);
    });

    it('a file:// manifest the build user cannot read: says which file and how to make it readable', async () => {
      const dir = readableDir();
      const file = path.join(dir, 'pythons.json');
      fs.writeFileSync(file, JSON.stringify({ distributions: [] }), { mode: 0o600 });
      const res = await e2e.platform.build(app, { platformEnv: { BP_PYTHON_DISTRIBUTIONS: `file://${file}`, BP_PYTHON_VERSION: '3.11' } });
      const log = plainLog(res.output);
      expect(log).to.contain('[Error: Python distributions manifest unreadable]');
      expect(log).to.contain(`could not be read: The file ${file} cannot be read by the build user (uid 1000): permission denied.`);
      expect(log).to.contain(`'chmod a+r ${file}'`);
      expectNoTrustedPython(res);
    });

    it('BP_DOWNLOAD_TIMEOUT=abc stops the build before any download, naming the value and the range', async () => {
      const mark = e2e.dists.requests.length;
      const res = await build(good.version, { BP_DOWNLOAD_TIMEOUT: 'abc' });
      const log = plainLog(res.output);
      expect(log).to.contain(errorLine({ type: 'invalid-download-timeout', value: '', max: 0 }));
      expect(log).to.contain("BP_DOWNLOAD_TIMEOUT is 'abc', which is not a number of seconds above 0 and at most 600.");
      expect(requestsSince(mark)).to.deep.equal([]);
      expectNoTrustedPython(res);
    });

    it('a 404 (no retry)', async () => {
      e2e.dists.setFault(goodPath, { kind: 'status', status: 404 });
      const mark = e2e.dists.requests.length;
      const res = await build(good.version);
      expect(plainLog(res.output)).to.contain(errorLine({ type: 'download-not-found', url: '', detail: '' })).and.contain('was not found (HTTP 404)');
      expect(requestsSince(mark).filter((p) => p === goodPath)).to.have.length(1);
      expectNoTrustedPython(res);
    });

    it('repeated 500s, after retries with backoff', async () => {
      e2e.dists.setFault(goodPath, { kind: 'status', status: 500 });
      const mark = e2e.dists.requests.length;
      const res = await build(good.version);
      const log = plainLog(res.output);
      expect(log).to.contain('HTTP 500 from the server; retrying in 0.5s (attempt 2 of 4)');
      expect(log).to.contain('HTTP 500 from the server; retrying in 2.0s (attempt 4 of 4)');
      expect(log).to.contain(errorLine({ type: 'download-server-error', url: '', status: 500 })).and.contain('The server answered HTTP 500');
      expect(requestsSince(mark).filter((p) => p === goodPath)).to.have.length(4);
      expectNoTrustedPython(res);
    });

    it('an unknown version, naming the versions there are and how to add one', async () => {
      const mark = e2e.dists.requests.length;
      const res = await build('3.98');
      const log = plainLog(res.output);
      expect(log).to.contain(errorLine({ type: 'no-matching-python', written: '', source: 'BP_PYTHON_VERSION', arch: '', available: [] }));
      expect(log).to.contain(`No Python for ${hostArch()} satisfies '3.98' (from BP_PYTHON_VERSION)`);
      expect(log).to.match(new RegExp(`Available for ${hostArch()}: 3\\.99\\.4, 3\\.99\\.3, 3\\.99\\.2, 3\\.99\\.1, 3\\.14\\.\\d+, .*3\\.11\\.7`));
      expect(log).to.contain('set BP_PYTHON_DISTRIBUTIONS to a manifest');
      expect(requestsSince(mark)).to.deep.equal(['/hostile.json']);
      expectNoTrustedPython(res);
    });

    it('a stalled download times out (BP_DOWNLOAD_TIMEOUT=2)', async () => {
      e2e.dists.setFault(goodPath, { kind: 'stall', afterBytes: 64 * 1024 });
      const started = Date.now();
      const res = await build(good.version, { BP_DOWNLOAD_TIMEOUT: '2' });
      const log = plainLog(res.output);
      expect(log).to.contain('No data for 2s; retrying in 0.5s (attempt 2 of 4)');
      expect(log).to.contain(errorLine({ type: 'download-stalled', url: '', seconds: 2 })).and.contain('for 2 seconds, after several attempts');
      // by design about 11.5 s (4 attempts of 2 s, backoff 0.5 + 1 + 2 s); a missing timeout would take minutes
      expect(Date.now() - started).to.be.below(90_000);
      expectNoTrustedPython(res);
    });

    it('then a good build succeeds: a manifest entry on another host, fetched through BP_DEPENDENCY_MIRROR, checksum checked', async () => {
      const elsewhere = `https://python-dists.invalid${goodPath}`;
      e2e.dists.addFile('/elsewhere.json', Buffer.from(JSON.stringify({ distributions: [{ version: good.version, uri: elsewhere, sha256: good.sha256, arch: hostArch() }] })));
      const mark = e2e.dists.requests.length;
      const res = await e2e.platform.buildOk(app, {
        platformEnv: { BP_PYTHON_DISTRIBUTIONS: e2e.dists.url('/elsewhere.json'), BP_PYTHON_VERSION: good.version, BP_DEPENDENCY_MIRROR: e2e.dists.origin },
      });
      const log = plainLog(res.output);
      expect(log).to.contain(`- Downloading Python ${good.version} from ${e2e.dists.url(goodPath)}`);
      expect(log).to.contain(`Verified sha256 ${good.sha256}`);
      expect(requestsSince(mark)).to.deep.equal(['/elsewhere.json', goodPath]);
      expect(res.layers.python?.metadata).to.include({ version: good.version, sha256: good.sha256 });
      expect(await launchedVersion(res)).to.equal(`Python ${good.version}`);
    });
  });
});
