// What of a Python install moves to the build-only build-tools layer (src/python/build-only.ts), on a fake
// unpacked Python laid out as python-build-standalone's: which parts, the links left in their place, the .pth
// that finds pip, setuptools and wheel at build, and their console scripts. The .pth line and the links are
// then run by real interpreters (pyenv 2.7 and 3.11): found while build-tools is there, no module once it is not.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { TOOLS_PTH, moveBuildOnlyParts, movedPattern, recordPaths, stdlibBuildOnlyParts, toolDistributions, toolsPthLine, wrapperScript } from '../../src/python/build-only.js';
import { pyenvPython } from '../helpers/pyenv.js';

function write(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text, { mode: rel.startsWith('bin/') ? 0o755 : 0o644 });
  }
}

const SP = 'lib/python3.11/site-packages';

/** A PBS-like unpacked Python 3.11 with pip and setuptools in site-packages. */
function fakePython(root: string): void {
  write(root, {
    'bin/python3.11': '#!/bin/sh\n',
    'bin/pip': 'trampoline', 'bin/pip3': 'trampoline', 'bin/pip3.11': 'trampoline', 'bin/idle3.11': 'x', 'bin/2to3-3.11': 'x', 'bin/pydoc3.11': 'x',
    'bin/python3.11-config': 'x',
    'include/python3.11/Python.h': '',
    'lib/pkgconfig/python3.pc': '',
    // python-build-standalone's Tcl/Tk for tkinter; libpython stays
    'lib/libtcl8.6.so': '', 'lib/libtk8.6.so': '', 'lib/tcl8.6/init.tcl': '', 'lib/tk8.6/tk.tcl': '', 'lib/itcl4.2.4/itcl.tcl': '', 'lib/thread2.8.9/pkgIndex.tcl': '',
    'lib/libpython3.11.so.1.0': '', 'lib/libpython3.so': '',
    'lib/python3.11/config-3.11-x86_64-linux-gnu/Makefile': '',
    'lib/python3.11/os.py': '',
    'lib/python3.11/turtle.py': '',
    'lib/python3.11/pydoc.py': '',
    'lib/python3.11/ensurepip/__init__.py': '',
    'lib/python3.11/idlelib/idle_test/__init__.py': '',
    'lib/python3.11/tkinter/__init__.py': '',
    'lib/python3.11/tkinter/test/__init__.py': '',
    'lib/python3.11/lib2to3/tests/__init__.py': '',
    'lib/python3.11/pydoc_data/topics.py': '',
    'lib/python3.11/test/__init__.py': '',
    'lib/python3.11/unittest/__init__.py': '',
    'lib/python3.11/unittest/test/__init__.py': '',
    'lib/python3.11/unittest/mock.py': '',
    'lib/python3.11/ctypes/test/__init__.py': '',
    'lib/python3.11/email/__init__.py': '',
    // an app's own tests folder name in the stdlib is not a reason: only the stdlib's test packages move
    'lib/python3.11/importlib/metadata/tests_are_not_here.py': '',
    'lib/python3.11/lib-dynload/_testcapi.cpython-311-x86_64-linux-gnu.so': '',
    'lib/python3.11/lib-dynload/_ctypes_test.cpython-311-x86_64-linux-gnu.so': '',
    'lib/python3.11/lib-dynload/xxlimited_35.cpython-311-x86_64-linux-gnu.so': '',
    'lib/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so': '',
    'lib/python3.11/lib-dynload/_testing_is_a_prefix_not_a_rule.py': '',
    [`${SP}/README.txt`]: '',
    [`${SP}/pip/__init__.py`]: '',
    [`${SP}/pip/__main__.py`]: '',
    [`${SP}/pip-23.2.1.dist-info/RECORD`]: [
      '../../../bin/pip,sha256=x,10', '../../../bin/pip3,sha256=x,10',
      'pip/__init__.py,sha256=x,0', 'pip/__main__.py,sha256=x,0', 'pip-23.2.1.dist-info/RECORD,,', '"pip/odd,name.py",sha256=x,0', '',
    ].join('\n'),
    [`${SP}/pip-23.2.1.dist-info/entry_points.txt`]: '[console_scripts]\npip = pip._internal.cli.main:main\npip3 = pip._internal.cli.main:main\n',
    [`${SP}/setuptools/__init__.py`]: '',
    [`${SP}/pkg_resources/__init__.py`]: '',
    [`${SP}/_distutils_hack/__init__.py`]: '',
    [`${SP}/distutils-precedence.pth`]: "import os; var = 'SETUPTOOLS_USE_DISTUTILS'\n",
    [`${SP}/__pycache__/easy_install.cpython-311.pyc`]: '',
    [`${SP}/__pycache__/other.cpython-311.pyc`]: '',
    [`${SP}/setuptools-65.5.0.dist-info/RECORD`]: [
      '_distutils_hack/__init__.py,,', 'distutils-precedence.pth,,', 'pkg_resources/__init__.py,,', 'setuptools/__init__.py,,',
      '__pycache__/easy_install.cpython-311.pyc,,', 'setuptools-65.5.0.dist-info/RECORD,,',
    ].join('\n'),
    // an app package someone put into the archive: not a build tool, it stays
    [`${SP}/six.py`]: '',
    [`${SP}/six-1.16.0.dist-info/RECORD`]: 'six.py,,\n',
  });
}

describe('build-only parts of a Python install', () => {
  let root: string;
  let layer: string;
  let tools: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'build-only-'));
    layer = path.join(root, 'python');
    tools = path.join(root, 'build-tools');
    fs.mkdirSync(tools);
    fakePython(layer);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("lists the headers, the stdlib's desktop, packaging and test parts by name (never a folder because it is called tests), and the tools by their RECORD", () => {
    expect(stdlibBuildOnlyParts(layer, '3.11')).to.deep.equal([
      { rel: 'bin/2to3-3.11', kind: 'stdlib' },
      { rel: 'bin/idle3.11', kind: 'stdlib' },
      { rel: 'include', kind: 'headers' },
      { rel: 'lib/itcl4.2.4', kind: 'stdlib' },
      { rel: 'lib/libtcl8.6.so', kind: 'stdlib' },
      { rel: 'lib/libtk8.6.so', kind: 'stdlib' },
      { rel: 'lib/pkgconfig', kind: 'headers' },
      { rel: 'lib/python3.11/config-3.11-x86_64-linux-gnu', kind: 'headers' },
      { rel: 'lib/python3.11/ctypes/test', kind: 'stdlib' },
      { rel: 'lib/python3.11/ensurepip', kind: 'stdlib' },
      { rel: 'lib/python3.11/idlelib', kind: 'stdlib' },
      { rel: 'lib/python3.11/lib-dynload/_ctypes_test.cpython-311-x86_64-linux-gnu.so', kind: 'stdlib' },
      { rel: 'lib/python3.11/lib-dynload/_testcapi.cpython-311-x86_64-linux-gnu.so', kind: 'stdlib' },
      { rel: 'lib/python3.11/lib-dynload/xxlimited_35.cpython-311-x86_64-linux-gnu.so', kind: 'stdlib' },
      { rel: 'lib/python3.11/lib2to3', kind: 'stdlib' },
      { rel: 'lib/python3.11/pydoc_data', kind: 'stdlib' },
      { rel: 'lib/python3.11/test', kind: 'stdlib' },
      { rel: 'lib/python3.11/tkinter', kind: 'stdlib' },
      { rel: 'lib/python3.11/turtle.py', kind: 'stdlib' },
      { rel: 'lib/python3.11/unittest/test', kind: 'stdlib' },
      { rel: 'lib/tcl8.6', kind: 'stdlib' },
      { rel: 'lib/thread2.8.9', kind: 'stdlib' },
      { rel: 'lib/tk8.6', kind: 'stdlib' },
    ]);
    const found = toolDistributions(path.join(layer, SP)).map((t) => ({ name: t.name, version: t.version, entries: t.entries, scripts: t.scripts }));
    expect(found).to.deep.equal([
      { name: 'pip', version: '23.2.1', entries: ['pip', 'pip-23.2.1.dist-info'], scripts: ['pip', 'pip3'] },
      {
        name: 'setuptools', version: '65.5.0',
        entries: ['__pycache__/easy_install.cpython-311.pyc', '_distutils_hack', 'distutils-precedence.pth', 'pkg_resources', 'setuptools', 'setuptools-65.5.0.dist-info'],
        scripts: [],
      },
    ]);
  });

  it('reads RECORD rows as CSV: a quoted path may hold a comma', () => {
    expect(recordPaths('a/b.py,sha256=x,1\n"a/c,d.py",sha256=y,2\n"a/""q"".py",,\n')).to.deep.equal(['a/b.py', 'a/c,d.py', 'a/"q".py']);
  });

  it('moves them into build-tools: relative links for the stdlib and headers, the tools into its site-packages with a .pth and script wrappers (recorded or named after an entry point: pip3.11); nothing else moves', () => {
    const python = path.join(layer, 'bin', 'python');
    const moved = moveBuildOnlyParts(layer, tools, '3.11', python);
    expect(moved.distributions).to.deep.equal([{ name: 'pip', version: '23.2.1' }, { name: 'setuptools', version: '65.5.0' }]);
    expect(moved.parts.filter((p) => p.kind === 'tool').map((p) => p.rel)).to.deep.equal([
      'bin/pip', 'bin/pip3', 'bin/pip3.11',
      `${SP}/__pycache__/easy_install.cpython-311.pyc`, `${SP}/_distutils_hack`, `${SP}/distutils-precedence.pth`, `${SP}/pip`, `${SP}/pip-23.2.1.dist-info`,
      `${SP}/pkg_resources`, `${SP}/setuptools`, `${SP}/setuptools-65.5.0.dist-info`,
    ]);
    expect(fs.readlinkSync(path.join(layer, 'include'))).to.equal('../build-tools/python/include');
    expect(fs.readlinkSync(path.join(layer, 'lib/python3.11/ensurepip'))).to.equal('../../../build-tools/python/lib/python3.11/ensurepip');
    expect(fs.readlinkSync(path.join(layer, 'lib/python3.11/unittest/test'))).to.equal('../../../../build-tools/python/lib/python3.11/unittest/test');
    expect(fs.existsSync(path.join(layer, 'lib/python3.11/unittest/test/__init__.py')), 'resolves while build-tools is there').to.equal(true);
    expect(fs.readdirSync(path.join(layer, SP)).sort()).to.deep.equal(['README.txt', '__pycache__', TOOLS_PTH, 'six-1.16.0.dist-info', 'six.py']);
    expect(fs.readdirSync(path.join(layer, SP, '__pycache__'))).to.deep.equal(['other.cpython-311.pyc']);
    expect(fs.readdirSync(path.join(tools, SP)).sort()).to.deep.equal(['__pycache__', '_distutils_hack', 'distutils-precedence.pth', 'pip', 'pip-23.2.1.dist-info', 'pkg_resources', 'setuptools', 'setuptools-65.5.0.dist-info']);
    expect(fs.readFileSync(path.join(layer, SP, TOOLS_PTH), 'utf8')).to.equal(toolsPthLine(path.join(tools, SP)));
    expect(fs.readdirSync(path.join(layer, 'bin')).sort()).to.deep.equal(['2to3-3.11', 'idle3.11', 'pydoc3.11', 'python3.11', 'python3.11-config']);
    expect(fs.lstatSync(path.join(layer, 'bin', 'idle3.11')).isSymbolicLink()).to.equal(true);
    expect(fs.readdirSync(path.join(tools, 'bin')).sort()).to.deep.equal(['pip', 'pip3', 'pip3.11']);
    expect(fs.readFileSync(path.join(tools, 'bin', 'pip3.11'), 'utf8')).to.equal(wrapperScript(python, 'pip3.11', 'pip._internal.cli.main:main'));
    expect(fs.statSync(path.join(tools, 'bin', 'pip')).mode & 0o777).to.equal(0o755);
    // The regex compileall gets: the linked file (turtle.py) and anything under a linked folder, nothing else.
    const rx = new RegExp(movedPattern(moved.parts, layer) as string);
    expect(rx.test(path.join(layer, 'lib/python3.11/turtle.py'))).to.equal(true);
    expect(rx.test(path.join(layer, 'lib/python3.11/test/test_x.py'))).to.equal(true);
    expect(rx.test(path.join(layer, 'lib/python3.11/os.py'))).to.equal(false);
    expect(rx.test(path.join(layer, 'lib/python3.11/testing.py'))).to.equal(false);
  });

  it('a wrapper runs its entry point with sys.argv[0] set, through /bin/sh, with a path that needs quoting', () => {
    const py = pyenvPython('3.11');
    const dir = path.join(root, "it's here");
    write(dir, { 'mod/__init__.py': 'import sys\ndef main():\n    print(sys.argv[0], sys.argv[1:])\n    return 3\n' });
    const linked = path.join(dir, 'python'); // the interpreter's path holds a quote too
    fs.symlinkSync(py.python, linked);
    const script = path.join(dir, 'tool');
    fs.writeFileSync(script, wrapperScript(linked, 'tool', 'mod:main'), { mode: 0o755 });
    const r = spawnSync(script, ['a b', "c'd"], { cwd: dir, encoding: 'utf8', env: { PATH: '/usr/bin:/bin', PYTHONPATH: dir } });
    expect(r.status, r.stderr).to.equal(3);
    expect(r.stdout.trim()).to.equal("tool ['a b', \"c'd\"]");
  });

  for (const spec of ['2.7', '3.11']) {
    it(`Python ${spec}: the .pth adds build-tools' site-packages (its own .pth files processed), after the others; without it, no module and no sys.path entry; a dangling link is no module`, () => {
      const py = pyenvPython(spec);
      const site = path.join(root, 'site');
      const toolsSite = path.join(root, 'tools-site');
      write(site, { [TOOLS_PTH]: toolsPthLine(toolsSite) });
      write(toolsSite, { 'buildtool.py': 'X = 1\n', 'nested.pth': 'import os; os.environ["NESTED_PTH"] = "ran"\n' });
      write(root, { 'elsewhere/gone/__init__.py': '' });
      fs.symlinkSync(path.join(root, 'elsewhere', 'gone'), path.join(site, 'linked'));
      const code = [
        'import os, site, sys',
        `site.addsitedir(${JSON.stringify(site)})`,
        `print(sys.path.index(${JSON.stringify(toolsSite)}) > sys.path.index(${JSON.stringify(site)}) if ${JSON.stringify(toolsSite)} in sys.path else "absent")`,
        'print(os.environ.get("NESTED_PTH"))',
        'try:\n    import buildtool\n    print("found")\nexcept ImportError:\n    print("no module")',
        `sys.path.insert(0, ${JSON.stringify(site)})`,
        'try:\n    import linked\n    print("linked found")\nexcept ImportError:\n    print("linked: no module")',
      ].join('\n');
      const run = (): string[] => {
        const r = spawnSync(py.python, ['-c', code], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
        expect(r.status, r.stderr).to.equal(0);
        return r.stdout.trim().split('\n');
      };
      expect(run()).to.deep.equal(['True', 'ran', 'found', 'linked found']);
      fs.rmSync(toolsSite, { recursive: true });
      fs.rmSync(path.join(root, 'elsewhere'), { recursive: true });
      expect(run()).to.deep.equal(['absent', 'None', 'no module', 'linked: no module']);
    });
  }
});
