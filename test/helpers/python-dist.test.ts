/**
 * Proves that packPythonArchive() output is relocatable: each archive is unpacked into a temp
 * dir and run in a private mount namespace where an empty tmpfs hides the whole pyenv root.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { execa } from 'execa';
import fse from 'fs-extra';
import * as tar from 'tar';
import { cleanPythonEnv, packPythonArchive, pyenvRoot, resolvePyenvVersion, type PythonArchive } from './python-dist.js';

/** Python 2.7-compatible probe: version, prefix, libpython mappings, LIBDIR, extension imports. */
const PROBE = `
import sys, sysconfig, json
maps = sorted(set(l.split()[-1] for l in open('/proc/self/maps') if 'libpython' in l))
import zlib, ctypes, sqlite3, ssl, bz2, json, select, _socket
print(json.dumps({'version': sys.version.split()[0], 'prefix': sys.prefix, 'libpython': maps,
                  'LIBDIR': sysconfig.get_config_var('LIBDIR')}))
`;

interface Probe {
  version: string;
  prefix: string;
  libpython: string[];
  LIBDIR: string;
}

/** Run a command with pyenv hidden behind an empty tmpfs (needs root / CAP_SYS_ADMIN). */
function runHidden(args: string[], env: Record<string, string> = cleanPythonEnv()) {
  return execa('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs none "$0" && exec "$@"', pyenvRoot(), ...args], { env, extendEnv: false });
}

function isElf(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const b = Buffer.alloc(4);
    fs.readSync(fd, b, 0, 4, 0);
    return b.equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]));
  } finally {
    fs.closeSync(fd);
  }
}

describe('python-dist: packPythonArchive', function () {
  this.timeout(300_000);
  let tmp: string;
  /** Why pyenv cannot be hidden here, or undefined when it can. */
  let cannotHide: string | undefined;
  /** Fails (never skips) a check that must run with pyenv hidden when it cannot be hidden. */
  const requireHiddenPyenv = (): void => {
    if (cannotHide !== undefined) {
      throw new Error(`cannot hide pyenv behind a tmpfs (unshare -m then mount, which needs root or CAP_SYS_ADMIN): ${cannotHide}. Run the tests as root, as the README says`);
    }
  };

  before(async () => {
    tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'python-dist-test-'));
    const probe = await execa('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs none "$0" && test -z "$(ls -A "$0")"', pyenvRoot()], { reject: false });
    if (probe.exitCode !== 0) cannotHide = probe.stderr.trim() || `exit ${probe.exitCode}`;
  });

  after(async () => {
    await fse.remove(tmp);
  });

  it('resolves version specs to installed pyenv versions', () => {
    expect(resolvePyenvVersion('3.12')).to.match(/^3\.12\.\d+$/);
    expect(resolvePyenvVersion('2.7')).to.equal('2.7.18');
    expect(() => resolvePyenvVersion('3.99')).to.throw(/no pyenv Python/);
  });

  for (const spec of ['3.12', '2.7', '3.6', '3.13']) {
    describe(`Python ${spec}`, () => {
      let archive: PythonArchive;
      let root: string; // <tmp>/<spec>/python

      before(async () => {
        const started = Date.now();
        archive = await packPythonArchive(spec);
        console.log(`    packed ${archive.version}: ${(archive.size / 1e6).toFixed(1)} MB in ${Date.now() - started} ms (cache hit if fast)`);
        const dest = path.join(tmp, spec);
        await fse.ensureDir(dest);
        await tar.x({ file: archive.path, cwd: dest });
        root = path.join(dest, 'python');
      });

      it('is a PBS-style archive with a single python/ top folder and interpreter links', async () => {
        const tops = new Set<string>();
        await tar.t({ file: archive.path, onReadEntry: (e) => void tops.add(e.path.split('/')[0] ?? '') });
        expect([...tops]).to.deep.equal(['python']);
        expect(archive.version.startsWith(`${spec}.`)).to.equal(true);
        const major = spec.split('.')[0] ?? '';
        for (const name of ['python', `python${major}`, `python${archive.minor}`, 'pip']) {
          expect(fs.existsSync(path.join(root, 'bin', name)), `bin/${name}`).to.equal(true);
        }
        expect(fs.existsSync(path.join(root, `lib/python${archive.minor}/test`))).to.equal(false);
        const sitePackages = fs.readdirSync(path.join(root, `lib/python${archive.minor}/site-packages`));
        expect(sitePackages.some((d) => /^pip-.*\.dist-info$/.test(d))).to.equal(true);
      });

      it('keeps no pyenv path in RUNPATHs or in any non-ELF file', async () => {
        const pyenv = pyenvRoot();
        for (const rel of (await fs.promises.readdir(root, { recursive: true })) as string[]) {
          const file = path.join(root, rel);
          if (!(await fs.promises.lstat(file)).isFile()) continue;
          if (isElf(file)) {
            const { stdout } = await execa('readelf', ['-d', '-W', file]);
            expect(stdout, rel).not.to.include(pyenv);
          } else {
            expect((await fs.promises.readFile(file)).includes(pyenv), rel).to.equal(false);
          }
        }
      });

      it('runs from the unpacked folder with pyenv hidden', async () => {
        requireHiddenPyenv();
        const { stdout } = await runHidden([path.join(root, 'bin/python'), '-c', PROBE]);
        const probe = JSON.parse(stdout) as Probe;
        expect(probe.version).to.equal(archive.version);
        expect(probe.prefix).to.equal(root);
        expect(probe.libpython).to.have.length.greaterThan(0);
        for (const lib of probe.libpython) expect(lib.startsWith(`${root}/lib/`), lib).to.equal(true);
        expect(probe.LIBDIR).to.equal('/install/lib');
        expect(probe.LIBDIR).not.to.include(pyenvRoot());
      });

      it('runs pip (python -m pip and the bin/pip trampoline)', async () => {
        requireHiddenPyenv();
        const site = `${root}/lib/python${archive.minor}/site-packages/pip`;
        expect((await runHidden([path.join(root, 'bin/python'), '-m', 'pip', '--version'])).stdout).to.include(site);
        expect((await runHidden([path.join(root, 'bin/pip'), '--version'])).stdout).to.include(site);
      });

      if (spec.startsWith('3.')) {
        it('creates a working venv', async () => {
          requireHiddenPyenv();
          const venv = path.join(tmp, `venv-${spec}`);
          await runHidden([path.join(root, 'bin/python3'), '-m', 'venv', venv]);
          const { stdout } = await runHidden([path.join(venv, 'bin/python'), '-c', 'import sys, pip; print(sys.prefix, sys.base_prefix, pip.__file__)']);
          expect(stdout.trim().split(' ')).to.deep.equal([venv, root, `${venv}/lib/python${archive.minor}/site-packages/pip/__init__.py`]);
        });
      }
    });
  }

  it('caches and packs deterministically', async () => {
    const cached = await packPythonArchive('2.7');
    expect(await packPythonArchive('2.7')).to.deep.equal(cached);
    const fresh = await packPythonArchive('2.7', { cacheDir: path.join(tmp, 'cache'), force: true });
    expect(fresh.sha256).to.equal(cached.sha256);
    expect(fresh.size).to.equal(cached.size);
  });

  it('processes that want the same archive at once: one packs it, the others wait for its result', async () => {
    const cacheDir = path.join(tmp, 'shared-cache');
    const helper = new URL('./python-dist.ts', import.meta.url).pathname;
    const script = `import { packPythonArchive } from ${JSON.stringify(helper)}; const a = await packPythonArchive('2.7', { cacheDir: ${JSON.stringify(cacheDir)} }); console.log(JSON.stringify(a));`;
    const packers = [0, 1, 2].map(() => execa('node', ['--import', 'tsx', '--input-type=module', '-e', script], { reject: false }));
    // work folders (.pack-<version>-*) in the cache while they run: never more than one at a time
    let most = 0;
    let done = false;
    const watching = (async () => {
      while (!done) {
        const dirs = fs.existsSync(path.join(cacheDir, 'v1')) ? fs.readdirSync(path.join(cacheDir, 'v1')).filter((n) => n.startsWith('.pack-')) : [];
        most = Math.max(most, dirs.length);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const results = await Promise.all(packers);
    done = true;
    await watching;
    for (const r of results) expect(r.exitCode, r.stderr).to.equal(0);
    const archives = results.map((r) => JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as PythonArchive);
    expect(new Set(archives.map((a) => a.sha256)).size).to.equal(1);
    expect(most, 'packs running at the same time').to.equal(1);
    expect(fs.readdirSync(path.join(cacheDir, 'v1')).filter((n) => n.endsWith('.lock'))).to.deep.equal([]);
  });
});
