/**
 * The pip-deps key covers the contents of every local file or folder pip can install from: a wheel or sdist
 * named by path or file: URL, a project folder, find-links folders (-f, --find-links, PIP_FIND_LINKS) and
 * file: indexes, inside the app or outside it. A file replaced under the same name, with the same size, changes
 * the key; rewriting the same bytes (a new modification time, as after a checkout) does not.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BuildContext } from '../../src/cnb/context.js';
import { cacheInvalidationReasons, layerKey, localInputReasons, type InstallPlan } from '../../src/layers/pip-deps.js';
import type { InstalledPython } from '../../src/layers/python.js';
import { collectRequirementInputs, parseLine, type LocalInput } from '../../src/python/requirements.js';
import { localInputsKey } from '../../src/python/local-inputs.js';
import type { Settings } from '../../src/settings.js';

const WHEEL = 'pkg-1.0-py3-none-any.whl';

function dirWith(files: Record<string, string | Buffer>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'local-inputs-'));
  for (const [name, content] of Object.entries(files)) write(dir, name, content);
  return dir;
}

function write(dir: string, name: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  fs.writeFileSync(path.join(dir, name), content);
}

const local = (app: string, req: string, pipVariables: Record<string, string> = {}): LocalInput[] => {
  write(app, 'requirements.txt', req);
  return collectRequirementInputs(app, ['requirements.txt'], pipVariables).local;
};

function layerKeyOf(app: string, plan: InstallPlan, pipVariables: Record<string, string> = {}): ReturnType<typeof layerKey> {
  const ctx = { appDir: app, target: { arch: 'amd64' }, buildpack: { version: '0.1.0' } } as unknown as BuildContext;
  const python: InstalledPython = { version: '3.11.7', sha256: 'a'.repeat(64), layerPath: '/l/python', python: '/l/python/bin/python' };
  return layerKey(ctx, plan, python, { pipUpgrade: false, pipVariables } as unknown as Settings);
}

describe('local inputs: what the requirements name', () => {
  it('a wheel or sdist by path, bare archive name or file: URL, resolved from the app (pip\'s working directory)', () => {
    const app = dirWith({ [`wheels/${WHEEL}`]: 'w', 'sub/x': '' });
    const outside = dirWith({ [WHEEL]: 'w' });
    expect(local(app, `./wheels/${WHEEL}\n`)).to.deep.equal([{ kind: 'path', path: `wheels/${WHEEL}`, editable: false }]);
    expect(local(app, `${WHEEL}\ndist/x-1.0.tar.gz ; python_version >= "3"\n`).map((l) => l.path)).to.deep.equal([WHEEL, 'dist/x-1.0.tar.gz']);
    expect(local(app, `file:wheels/${WHEEL}\nfile:./wheels/${WHEEL}\npkg @ file://${outside}/${WHEEL}\npkg[extra] @ file://localhost${outside}/${WHEEL} ; python_version >= "3"\n`).map((l) => l.path))
      .to.deep.equal([`wheels/${WHEEL}`, `${outside}/${WHEEL}`]);
    // A path in a requirements file in a subfolder is still relative to the app, as pip resolves it.
    write(app, 'sub/req.txt', `./wheels/${WHEEL}\n`);
    expect(collectRequirementInputs(app, ['sub/req.txt']).local.map((l) => l.path)).to.deep.equal([`wheels/${WHEEL}`]);
  });

  it('projects, editable or not, with extras and egg fragments; nothing for names, URLs and VCS links', () => {
    const app = dirWith({});
    expect(local(app, '-e .[dev]\n--editable=./libs/a#egg=a\n./libs/b[x]\nflask>=3\nhttps://x.example/p-1.0.tar.gz\ngit+https://x/y.git#egg=y\n-e git+file:///r#egg=r\n'))
      .to.deep.equal([{ kind: 'path', path: '.', editable: true }, { kind: 'path', path: 'libs/a', editable: true }, { kind: 'path', path: 'libs/b', editable: false }]);
  });

  it('find-links in every form pip accepts, relative to the requirements file when the folder is there', () => {
    for (const line of ['-f ./wheels', '-fwheels', '--find-links=wheels', '--find-links wheels', '--find-links=file:wheels', '--pre -f wheels --no-index', "-f 'wheels'"]) {
      expect(parseLine(line).filter((r) => r.kind === 'find-links').length, line).to.equal(1);
      expect(local(dirWith({}), `${line}\npkg==1.0\n`), line).to.deep.equal([{ kind: 'find-links', path: 'wheels' }]);
    }
    const app = dirWith({ 'sub/wheels/x': '', 'sub/other.txt': '' });
    write(app, 'sub/req.txt', '-f wheels\n-f elsewhere\n-f https://x.example/links\n');
    expect(collectRequirementInputs(app, ['sub/req.txt']).local).to.deep.equal([{ kind: 'find-links', path: 'sub/wheels' }, { kind: 'find-links', path: 'elsewhere' }]);
  });

  it('PIP_FIND_LINKS, PIP_CONSTRAINT and file: indexes from the PIP_* variables, inside and outside the app', () => {
    const app = dirWith({ 'requirements.txt': 'pkg\n', 'c.txt': 'pkg<2\n' });
    const inputs = collectRequirementInputs(app, ['requirements.txt'], { PIP_FIND_LINKS: './wheels  /opt/wheels file:///srv/w https://x/y', PIP_CONSTRAINT: 'c.txt', PIP_INDEX_URL: 'file:///srv/simple', PIP_EXTRA_INDEX_URL: 'https://x/simple' });
    expect(inputs.files).to.deep.equal(['requirements.txt', 'c.txt']);
    expect(inputs.local).to.deep.equal([
      { kind: 'find-links', path: 'wheels' }, { kind: 'find-links', path: '/opt/wheels' }, { kind: 'find-links', path: '/srv/w' }, { kind: 'index', path: '/srv/simple' },
    ]);
    expect(local(app, '-i file:///srv/simple\n--extra-index-url=file:idx\n')).to.deep.equal([{ kind: 'index', path: '/srv/simple' }, { kind: 'index', path: 'idx' }]);
  });

  it('a remote include is left to pip (not reported missing)', () => {
    expect(local(dirWith({}), '-r https://x.example/req.txt\nsix\n')).to.deep.equal([]);
  });
});

describe('local inputs: the key', () => {
  it('a wheel replaced under the same name and size changes the key; the same bytes with a new time do not', () => {
    const app = dirWith({ [`wheels/${WHEEL}`]: 'version one' });
    const inputs = local(app, `./wheels/${WHEEL}\n`);
    const before = localInputsKey(app, inputs);
    expect(Object.keys(before)).to.deep.equal([`wheel:wheels/${WHEEL}`]);
    write(app, `wheels/${WHEEL}`, 'version one');
    fs.utimesSync(path.join(app, 'wheels', WHEEL), new Date(), new Date(Date.now() + 60_000));
    expect(localInputsKey(app, inputs)).to.deep.equal(before);
    write(app, `wheels/${WHEEL}`, 'version two');
    const t = new Date('2020-01-01T00:00:00Z');
    fs.utimesSync(path.join(app, 'wheels', WHEEL), t, t);
    expect(localInputsKey(app, inputs)[`wheel:wheels/${WHEEL}`]).to.not.equal(before[`wheel:wheels/${WHEEL}`]);
  });

  it('a find-links folder: a file added, replaced or removed changes the key (symbolic links followed); its subfolders do not count', () => {
    const target = dirWith({ 'b-1.0.tar.gz': 'sdist' });
    const app = dirWith({ [`wheels/${WHEEL}`]: 'one' });
    fs.symlinkSync(path.join(target, 'b-1.0.tar.gz'), path.join(app, 'wheels', 'b-1.0.tar.gz'));
    const inputs = local(app, '--find-links ./wheels\npkg==1.0\n');
    const key = (): string => localInputsKey(app, inputs)['find-links:wheels'] as string;
    const k0 = key();
    write(app, 'wheels/old/ignored.whl', 'pip does not look here');
    expect(key()).to.equal(k0);
    write(target, 'b-1.0.tar.gz', 'sdisT');
    const k1 = key();
    expect(k1).to.not.equal(k0);
    write(app, 'wheels/c-1.0-py3-none-any.whl', 'new');
    const k2 = key();
    expect(k2).to.not.equal(k1);
    fs.rmSync(path.join(app, 'wheels', 'c-1.0-py3-none-any.whl'));
    expect(key()).to.equal(k1);
  });

  it('a project folder counts by its whole tree, an editable one by its metadata, inside or outside the app', () => {
    const shared = dirWith({ 'lib/setup.py': 's', 'lib/lib.py': 'v1' });
    const app = dirWith({ 'setup.py': 's', 'app.py': 'v1' });
    const inputs = local(app, `-e .\n${path.join(shared, 'lib')}\n`);
    const before = localInputsKey(app, inputs);
    expect(Object.keys(before)).to.deep.equal(['editable:.', `project:${shared}/lib`]);
    write(app, 'app.py', 'v2'); // used in place
    expect(localInputsKey(app, inputs)).to.deep.equal(before);
    write(shared, 'lib/lib.py', 'v2');
    expect(localInputsKey(app, inputs)['editable:.']).to.equal(before['editable:.']);
    expect(localInputsKey(app, inputs)[`project:${shared}/lib`]).to.not.equal(before[`project:${shared}/lib`]);
  });

  it('a file: index counts by every file under it', () => {
    const index = dirWith({ 'simple/pkg/index.html': '<a href="pkg-1.0.tar.gz">', 'simple/pkg/pkg-1.0.tar.gz': 'one' });
    const app = dirWith({});
    const inputs = local(app, `-i file://${index}/simple\npkg\n`);
    const before = localInputsKey(app, inputs);
    write(index, 'simple/pkg/pkg-1.0.tar.gz', 'two');
    expect(localInputsKey(app, inputs)).to.not.deep.equal(before);
  });

  it('a tree too large to compare never matches another build', () => {
    const app = dirWith({ 'lib/a.py': '', 'lib/b.py': '', 'lib/c.py': '' });
    const inputs = local(app, './lib\n');
    const a = localInputsKey(app, inputs, 2)['project:lib'];
    expect(a).to.match(/^uncomparable:/);
    expect(localInputsKey(app, inputs, 2)['project:lib']).to.not.equal(a);
  });
});

describe('local inputs: the pip-deps layer key and its reasons', () => {
  it('layerKey changes with the wheel a requirement names and with the find-links folder of PIP_FIND_LINKS (also for setup.py apps)', () => {
    const app = dirWith({ 'requirements.txt': `./wheels/${WHEEL}\n`, [`wheels/${WHEEL}`]: 'one', 'setup.py': 's', 'links/x-1.0.tar.gz': 'x' });
    const plan: InstallPlan = { kind: 'requirements', files: ['requirements.txt'] };
    const before = layerKeyOf(app, plan);
    write(app, `wheels/${WHEEL}`, 'two');
    const after = layerKeyOf(app, plan);
    expect(cacheInvalidationReasons(before, after)).to.deep.equal([`The local wheel wheels/${WHEEL} has changed`]);

    const project: InstallPlan = { kind: 'project', editable: true, marker: 'setup.py' };
    const p0 = layerKeyOf(app, project, { PIP_FIND_LINKS: 'links' });
    write(app, 'links/x-1.0.tar.gz', 'y');
    expect(cacheInvalidationReasons(p0, layerKeyOf(app, project, { PIP_FIND_LINKS: 'links' }))).to.deep.equal(['The find-links folder links (its files) has changed']);
  });

  it('names each changed, new, dropped or uncomparable input', () => {
    expect(localInputReasons(
      { 'wheel:w/a.whl': '1', 'find-links:wheels': '1', 'project:lib': '1', 'index:/srv/simple': '1' },
      { 'wheel:w/a.whl': '2', 'find-links:wheels': '1', 'project:lib': 'uncomparable:x', 'editable:.': '1' },
    )).to.deep.equal([
      'The editable project . (its setup.py, setup.cfg or pyproject.toml) is now used',
      'The local package index /srv/simple is no longer used',
      'The local project lib (its files) holds more than 50,000 files, too many to compare, so it counts as changed at every build',
      'The local wheel w/a.whl has changed',
    ]);
  });
});
