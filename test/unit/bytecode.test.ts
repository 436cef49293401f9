// The python layer's bytecode: unchecked-hash .pyc files (PEP 552) for the standard library, so they stay
// valid after the exporter resets every mtime, and nothing for test suites, pip/setuptools or old Pythons.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { realExecutor } from '../../src/exec.js';
import { Logger } from '../../src/logger.js';
import { compileJobs, compileLayerBytecode, hasHashPyc, logCompile } from '../../src/python/bytecode.js';
import { systemClock } from '../../src/logger.js';
import { movedPattern } from '../../src/python/build-only.js';
import { pyenvPython } from '../helpers/pyenv.js';

/** The interpreter that compiles the fake layer below (its lib/python3.11): any pyenv 3.11, required. */
const PYTHON_SPEC = '3.11';

/** The flags word of a .pyc header: 0 timestamp, 1 unchecked hash, 3 checked hash. */
const pycFlags = (file: string): number => fs.readFileSync(file).readUInt32LE(4);

describe('python layer bytecode', () => {
  let layer: string;
  let lines: string[];
  const log = (): Logger => new Logger({ write: (t: string) => void lines.push(t) }, undefined, false, false);
  beforeEach(() => {
    lines = [];
    layer = fs.mkdtempSync(path.join(os.tmpdir(), 'bytecode-'));
    const lib = path.join(layer, 'lib', 'python3.11');
    const files: Record<string, string> = {
      'json_like.py': 'X = 1\n',
      'pkg/__init__.py': '',
      'pkg/tests/test_x.py': 'pass\n',
      'test/test_big.py': 'pass\n',
      'site-packages/pip/__init__.py': 'pass\n',
      'site-packages/_distutils_hack/__init__.py': 'pass\n',
      'broken.py': 'def (:\n',
    };
    for (const [rel, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(lib, rel)), { recursive: true });
      fs.writeFileSync(path.join(lib, rel), text);
    }
  });
  afterEach(() => fs.rmSync(layer, { recursive: true, force: true }));

  it('knows which versions have hash-based .pyc files', () => {
    expect(['3.7.0', '3.11.7', '3.14.0', '4.0.0', '3.13.0rc1', '3.7.0b1', '3.12.7+local'].map(hasHashPyc)).to.deep.equal([true, true, true, true, true, true, true]);
    expect(['2.7.18', '3.6.15', 'x'].map(hasHashPyc)).to.deep.equal([false, false, false]);
  });

  it('compiles the standard library to unchecked-hash .pyc, skipping tests and site-packages but _distutils_hack', async () => {
    const { python, version } = pyenvPython(PYTHON_SPEC);
    const report = await compileLayerBytecode({ exec: realExecutor, clock: systemClock }, { PATH: process.env.PATH ?? '/usr/bin:/bin' }, python, layer, version);
    logCompile(log(), report, false);
    const lib = path.join(layer, 'lib', 'python3.11');
    const pyc = (dir: string, name: string): string => path.join(lib, dir, '__pycache__', `${name}.cpython-311.pyc`);
    expect(pycFlags(pyc('.', 'json_like'))).to.equal(1);
    expect(pycFlags(pyc('pkg', '__init__'))).to.equal(1);
    expect(pycFlags(pyc('site-packages/_distutils_hack', '__init__'))).to.equal(1);
    for (const [dir, name] of [['pkg/tests', 'test_x'], ['test', 'test_big'], ['site-packages/pip', '__init__'], ['.', 'broken']] as const) {
      expect(fs.existsSync(pyc(dir, name)), `${dir}/${name}`).to.equal(false);
    }
    // broken.py does not stop anything: it is only reported.
    expect(lines.join('')).to.contain('Some standard library modules were not precompiled');
  });

  it('leaves out what moved to build-tools: a linked file (with the pattern movedPattern gives) and a linked folder (compileall never follows one)', async () => {
    const { python, version } = pyenvPython(PYTHON_SPEC);
    const lib = path.join(layer, 'lib', 'python3.11');
    const elsewhere = path.join(layer, 'elsewhere');
    fs.mkdirSync(path.join(elsewhere, 'lib2to3'), { recursive: true });
    fs.writeFileSync(path.join(elsewhere, 'turtle.py'), 'T = 1\n');
    fs.writeFileSync(path.join(elsewhere, 'lib2to3', '__init__.py'), '');
    fs.symlinkSync(path.join(elsewhere, 'turtle.py'), path.join(lib, 'turtle.py'));
    fs.symlinkSync(path.join(elsewhere, 'lib2to3'), path.join(lib, 'lib2to3'));
    const parts = [{ rel: 'lib/python3.11/turtle.py', kind: 'stdlib' as const }, { rel: 'lib/python3.11/lib2to3', kind: 'stdlib' as const }];
    const report = await compileLayerBytecode({ exec: realExecutor, clock: systemClock }, { PATH: process.env.PATH ?? '/usr/bin:/bin' }, python, layer, version, { exclude: movedPattern(parts, layer) });
    expect(report.kind).to.equal('partial'); // broken.py
    expect(fs.existsSync(path.join(lib, '__pycache__', 'json_like.cpython-311.pyc'))).to.equal(true);
    expect(fs.existsSync(path.join(lib, '__pycache__', 'turtle.cpython-311.pyc'))).to.equal(false);
    expect(fs.existsSync(path.join(elsewhere, 'lib2to3', '__pycache__'))).to.equal(false);
  });

  it('stops when its signal is aborted (a failed build): the report says canceled and nothing is logged', async () => {
    const { python, version } = pyenvPython(PYTHON_SPEC);
    const cancel = new AbortController();
    const compiling = compileLayerBytecode({ exec: realExecutor, clock: systemClock }, { PATH: process.env.PATH ?? '/usr/bin:/bin' }, python, layer, version, { signal: cancel.signal });
    cancel.abort();
    const report = await compiling;
    expect(report).to.deep.equal({ kind: 'canceled' });
    logCompile(log(), report, true);
    expect(lines).to.deep.equal([]);
  });

  it('compiles on every CPU but one, which pip keeps while both run; at least one worker', () => {
    expect([1, 2, 4, 16].map((n) => compileJobs(n))).to.deep.equal([1, 1, 3, 15]);
  });

  it('does nothing for Pythons before 3.7', async () => {
    const report = await compileLayerBytecode({ exec: realExecutor, clock: systemClock }, {}, '/nonexistent/python', layer, '3.6.15');
    expect(report).to.deep.equal({ kind: 'none' });
    logCompile(log(), report, true);
    expect(lines).to.deep.equal([]);
  });
});
