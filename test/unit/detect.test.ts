import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findMarker } from '../../src/detect.js';

describe('detect: findMarker', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'detect-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  // An app that carries only a lockfile is a Python app: the build installs from it (issue 14).
  for (const lock of ['pylock.toml', 'uv.lock', 'poetry.lock', 'Pipfile.lock', 'pylock.ausnimbus.toml', 'pylock.dev.toml']) {
    it(`finds an app whose only Python file is ${lock}`, () => {
      fs.writeFileSync(path.join(dir, lock), '');
      expect(findMarker(dir)).to.equal(lock);
    });
  }

  it('names the first fixed marker before a named pylock file', () => {
    fs.writeFileSync(path.join(dir, 'pylock.web.toml'), '');
    fs.writeFileSync(path.join(dir, 'app.py'), '');
    expect(findMarker(dir)).to.equal('app.py');
  });

  it('finds nothing in a folder of other files, pylock look-alikes included', () => {
    for (const f of ['pylock.toml.bak', 'pylock..toml', 'pylock.a.b.toml', 'index.js']) fs.writeFileSync(path.join(dir, f), '');
    expect(findMarker(dir)).to.equal(undefined);
  });
});
