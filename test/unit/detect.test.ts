import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { baseName, inDir } from '../../src/cnb/files.js';
import { findMarker } from '../../src/detect.js';

describe('detect: findMarker', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'detect-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  // An app that carries only a lockfile is a Python app: the build installs from it (issue 14).
  for (const lock of ['pylock.toml', 'uv.lock', 'poetry.lock', 'Pipfile.lock', 'pylock.ausnimbus.toml', 'pylock.dev.toml']) {
    it(`finds an app whose only Python file is ${lock}`, async () => {
      fs.writeFileSync(path.join(dir, lock), '');
      expect(await findMarker(dir)).to.equal(lock);
    });
  }

  it('names the first fixed marker before a named pylock file', async () => {
    fs.writeFileSync(path.join(dir, 'pylock.web.toml'), '');
    fs.writeFileSync(path.join(dir, 'app.py'), '');
    expect(await findMarker(dir)).to.equal('app.py');
  });

  it('finds nothing in a folder of other files, pylock look-alikes included', async () => {
    for (const f of ['pylock.toml.bak', 'pylock..toml', 'pylock.a.b.toml', 'index.js']) fs.writeFileSync(path.join(dir, f), '');
    expect(await findMarker(dir)).to.equal(undefined);
  });

  it('finds a marker that is a folder (.s2i), and not a link that leads nowhere', async () => {
    fs.symlinkSync(path.join(dir, 'missing.txt'), path.join(dir, 'requirements.txt'));
    expect(await findMarker(dir)).to.equal(undefined);
    fs.mkdirSync(path.join(dir, '.s2i'));
    expect(await findMarker(dir)).to.equal('.s2i');
  });

  it('finds nothing, and does not throw, when the app folder cannot be read', async () => {
    expect(await findMarker(path.join(dir, 'no-such-app'))).to.equal(undefined);
  });
});

describe('detect: the path helpers that stand in for node:path', () => {
  it('baseName and inDir agree with node:path on the paths the lifecycle passes', () => {
    for (const p of ['/cnb/buildpacks/x/1.0/bin/detect', 'bin/build', 'detect', '/x/bin/detect/', './ausnimbus-python', '/']) {
      expect(baseName(p)).to.equal(path.basename(p), p);
    }
    for (const [dir, name] of [['/workspace', 'app.py'], ['/workspace/', '.s2i'], ['/', 'x']] as const) {
      expect(inDir(dir, name)).to.equal(path.join(dir, name));
    }
  });
});
