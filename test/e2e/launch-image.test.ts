/**
 * Issue 16, end to end through the local platform: what the image holds of Python, and that it starts from
 * valid bytecode. The python layer leaves out what serves builds only (pip, setuptools, wheel, the C headers,
 * ensurepip, idlelib, tkinter, turtle, lib2to3, the help topics and the stdlib's tests), which the build-only
 * build-tools layer holds: every build step, an .s2i/bin/assemble and a later buildpack still find them.
 * The stdlib's bytecode compile runs alongside pip; the launched app must still import every stdlib module it
 * uses from the layer's .pyc files, never compiling one (python -v says which file each code object came from).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { E2E, fixture, plainLog, pythonInImage } from './support.js';
import { buildWheel } from '../helpers/wheels.js';
import type { AppFiles, BuildResult } from '../platform/index.js';

/** The flask-wsgi fixture's files, for apps that add to it. */
function flaskFiles(): AppFiles {
  const dir = fixture('flask-wsgi');
  return Object.fromEntries(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]));
}

/** Modules each line imports in the image; `absent` ones must raise ImportError. */
const IMPORT_PROBE = (present: string[], absent: string[]): string => [
  'import importlib',
  `for m in ${JSON.stringify(present)}: importlib.import_module(m)`,
  'gone = []',
  `for m in ${JSON.stringify(absent)}:`,
  '    try:',
  '        importlib.import_module(m)',
  '    except ImportError:',
  '        gone.append(m)',
  'print("gone: " + " ".join(gone))',
].join('\n');

const LEFT_OUT = ['pip', 'setuptools', 'pkg_resources', '_distutils_hack', 'ensurepip', 'lib2to3', 'tkinter', 'idlelib', 'turtle', 'turtledemo', 'pydoc_data', 'test', 'unittest.test', '_testcapi'];
const KEPT = ['json', 'ssl', 'sqlite3', 'decimal', 'email.mime.text', 'unittest.mock', 'venv', 'sysconfig', 'distutils.util', 'pydoc', 'ctypes', 'zoneinfo'];

describe('e2e: the image leaves out what only builds use, and starts from valid bytecode (issue 16)', function () {
  this.timeout(600_000);
  let e2e: E2E;
  let overlay: string;
  let flask: BuildResult | undefined;
  before(async () => {
    e2e = await E2E.start();
    overlay = fs.mkdtempSync(path.join(os.tmpdir(), 'launch-image-overlay-'));
    // A package that requires setuptools and imports pkg_resources when imported (as Gunicorn 20 does).
    await buildWheel({
      name: 'needs-setuptools',
      version: '1.0',
      requires: ['setuptools'],
      modules: { 'needs_setuptools.py': 'import pkg_resources\nWHERE = pkg_resources.__file__\n' },
      outDir: overlay,
    });
    e2e.index.addOverlayDir(overlay);
  });
  after(async () => {
    await e2e?.stop();
    if (overlay) fs.rmSync(overlay, { recursive: true, force: true });
  });

  /** The Flask fixture (Python 3.11), built once for the tests that only look at it. */
  async function flaskBuild(): Promise<BuildResult> {
    flask ??= await e2e.platform.buildOk(await e2e.app('flask-wsgi'), { platformEnv: await e2e.env() });
    return flask;
  }

  it('the web process imports every stdlib module from the python layer\'s .pyc files: python -v shows no module of the layer compiled from source', async () => {
    const res = await flaskBuild();
    const pythonLayer = `/layers/${e2e.platform.descriptor.escapedId}/python/`;
    const { proc, status } = await e2e.serve(res, { env: { PYTHONVERBOSE: '1' } });
    expect(status).to.equal(200);
    await proc.stop('SIGKILL');
    // importlib's verbose messages (Lib/importlib/_bootstrap_external.py, SourceLoader.get_code): a module read
    // from its cached bytecode says `code object from '<...>.pyc'`, one compiled from its source
    // `code object from <...>.py` (unquoted). The launch user cannot write the layer, so a compile would happen at
    // every start.
    const lines = proc.output().split('\n');
    const loadedFrom = lines.map((l) => /code object from '?(\S+?)'?\s*$/.exec(l)?.[1]).filter((f): f is string => f !== undefined);
    const fromLayer = (ext: string): string[] => loadedFrom.filter((f) => f.includes(pythonLayer) && f.endsWith(ext));
    const compiled = fromLayer('.py');
    const cached = fromLayer('.pyc');
    expect(compiled, 'stdlib modules compiled from source at start').to.deep.equal([]);
    expect(cached.length, `modules read from the layer's bytecode\n${lines.slice(0, 40).join('\n')}`).to.be.above(100);
    expect(cached.some((f) => f.endsWith('/lib/python3.11/__pycache__/socket.cpython-311.pyc'))).to.equal(true);
  });

  it('the image has no pip, setuptools or wheel (python -m pip fails) nor the parts no server imports; the rest of the stdlib imports; the SBOM names what was left out', async () => {
    const res = await flaskBuild();
    const log = plainLog(res.output);
    expect(log).to.match(/Moved what only builds use to the build-tools layer, left out of the image: pip \S+, setuptools \S+; the C headers; .*ensurepip.*lib2to3/);
    expect(log).to.contain('Compiling the standard library to hash-based bytecode alongside the next steps');
    expect(log).to.match(/\[Finishing the python layer\]\n {2}Compiled the standard library to hash-based bytecode \(valid in the image whatever its timestamps\), alongside the steps above, in /);
    expect(res.layers['build-tools']?.types).to.deep.equal({ build: true, launch: false, cache: true });
    expect(res.image?.layers).to.not.have.property('build-tools');

    const pip = await pythonInImage(e2e, res, ['-m', 'pip', '--version']);
    expect(pip.code).to.not.equal(0);
    expect(pip.output).to.contain('No module named pip');
    const probe = await pythonInImage(e2e, res, ['-c', IMPORT_PROBE(KEPT, LEFT_OUT)]);
    expect(probe.code, probe.output).to.equal(0);
    expect(probe.output.trim()).to.equal(`gone: ${LEFT_OUT.join(' ')}`);

    const sbom = JSON.parse(res.files['python.sbom.cdx.json'] ?? '{}') as { components: Array<{ name: string; properties?: Array<{ name: string; value: string }> }> };
    const props = sbom.components[0]?.properties ?? [];
    const leftOut = (kind: string): string[] => props.find((p) => p.name === `ausnimbus:left-out-of-image:${kind}`)?.value.split(', ') ?? [];
    expect(props.find((p) => p.name === 'ausnimbus:left-out-of-image:held-by')?.value).to.equal('the build-tools layer (build only)');
    expect(leftOut('tool')).to.include.members(['lib/python3.11/site-packages/pip', 'lib/python3.11/site-packages/setuptools', 'bin/pip']);
    expect(leftOut('headers')).to.include.members(['include', 'lib/pkgconfig']);
    expect(leftOut('stdlib')).to.include.members(['lib/python3.11/ensurepip', 'lib/python3.11/lib2to3', 'lib/python3.11/pydoc_data', 'lib/python3.11/turtle.py']);
    expect(res.files['build-tools.sbom.cdx.json']).to.contain('pkg:pypi/pip@');
    const { status, body } = await (async () => {
      const s = await e2e.serve(res);
      await s.proc.stop('SIGKILL');
      return s;
    })();
    expect(status).to.equal(200);
    expect(body).to.equal('Hello from Flask under gunicorn');
  });

  it('at build everything is there: pip and python -m pip from build-tools, setuptools, ensurepip (python -m venv), lib2to3 and the C headers, for an .s2i/bin/assemble as for a later buildpack', async () => {
    const assemble = [
      '#!/bin/sh',
      'set -e',
      'pip --version',
      'python -m pip --version',
      'python -c \'import os, sysconfig, setuptools, lib2to3, ensurepip; print("headers: %s" % os.path.isfile(os.path.join(sysconfig.get_paths()["include"], "Python.h")))\'',
      'python -m venv "$HOME/venv-probe" && "$HOME/venv-probe/bin/python" -m pip --version | sed "s/^/venv: /" && rm -rf "$HOME/venv-probe"',
      '. /usr/libexec/s2i/assemble',
    ].join('\n');
    const app = await e2e.app({ ...flaskFiles(), '.s2i/bin/assemble': { content: `${assemble}\n`, mode: 0o755 } });
    const res = await e2e.platform.buildOk(app, { platformEnv: await e2e.env() });
    const log = plainLog(res.output);
    const toolsSite = `/layers/${e2e.platform.descriptor.escapedId}/build-tools/lib/python3.11/site-packages/pip`;
    expect(log.match(new RegExp(`pip \\S+ from \\S*${toolsSite.replace(/[/.]/g, '\\$&')} \\(python 3\\.11\\)`, 'g'))).to.have.lengthOf(2);
    expect(log).to.contain('headers: True');
    expect(log).to.match(/venv: pip \S+ from \S*venv-probe/);
    expect(log).to.match(/Successfully installed .*flask/);
    const pip = await pythonInImage(e2e, res, ['-m', 'pip', '--version']);
    expect(pip.code).to.not.equal(0);
  });

  it('BP_PYTHON_KEEP_ALL=TRUE keeps the whole Python in the image: python -m pip runs there, and no build-tools layer is made', async () => {
    const res = await e2e.platform.buildOk(await e2e.app('flask-wsgi'), { platformEnv: await e2e.env(undefined, { BP_PYTHON_KEEP_ALL: 'TRUE' }) });
    expect(plainLog(res.output)).to.not.contain('Moved what only builds use');
    expect(res.layers).to.not.have.property('build-tools');
    const pip = await pythonInImage(e2e, res, ['-m', 'pip', '--version']);
    expect(pip.code, pip.output).to.equal(0);
    expect(pip.output).to.match(/\/python\/lib\/python3\.11\/site-packages\/pip /);
    const probe = await pythonInImage(e2e, res, ['-c', IMPORT_PROBE([...KEPT, 'ensurepip', 'lib2to3', 'pydoc_data', 'setuptools'], [])]);
    expect(probe.code, probe.output).to.equal(0);
  });

  for (const version of ['2.7', '3.11']) {
    it(`Python ${version}: a package that requires setuptools gets it in pip-deps, copied from build-tools, and imports pkg_resources at launch`, async () => {
      const res = await e2e.platform.buildOk(await e2e.app({ 'requirements.txt': 'needs-setuptools\n', 'app.py': 'print("app")\n' }), { platformEnv: await e2e.env(version) });
      const log = plainLog(res.output);
      expect(log).to.match(/Requirement already satisfied: setuptools .*build-tools/);
      expect(log).to.match(/Copied setuptools \S+ from the build-tools layer into pip-deps: the app's requirements need it when it runs/);
      const out = await pythonInImage(e2e, res, ['-c', 'import needs_setuptools; print(needs_setuptools.WHERE)']);
      expect(out.code, out.output).to.equal(0);
      expect(out.output).to.match(/\/pip-deps\/lib\/python\d\.\d+\/site-packages\/pkg_resources\/__init__\.pyc?/);
      expect(res.files['pip-deps.sbom.cdx.json']).to.contain('pkg:pypi/setuptools@');
    });
  }
});
