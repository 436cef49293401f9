import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePythonVersionFile, parseRuntimeTxt, readVersionRequest, toSpecifier } from '../../src/python/version-request.js';
import { BuildpackError } from '../../src/failure.js';
import { thrownCause } from '../fakes/thrown.js';
import { checkLockPython } from '../../src/python/choose.js';

function appWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vr-'));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

describe('version request', () => {
  it('turns every accepted form into a PEP 440 specifier', () => {
    expect(toSpecifier('3')).to.equal('==3.*');
    expect(toSpecifier('3.12')).to.equal('==3.12.*');
    expect(toSpecifier('3.12.7')).to.equal('==3.12.7');
    expect(toSpecifier('3.12.*')).to.equal('==3.12.*');
    expect(toSpecifier('~=3.11')).to.equal('~=3.11');
    expect(toSpecifier('>=3.10,<3.13')).to.equal('>=3.10,<3.13');
    expect(toSpecifier('>= 3.10, < 3.13')).to.equal('>=3.10,<3.13');
    expect(toSpecifier('python-3.6.15')).to.equal('==3.6.15');
    expect(toSpecifier('banana')).to.equal(undefined);
    expect(toSpecifier('')).to.equal(undefined);
  });

  it('reads the first non-comment line of .python-version and the s2i-era runtime.txt', () => {
    expect(parsePythonVersionFile('# pinned\n\n3.12.7\n3.11\n')).to.equal('3.12.7');
    expect(parseRuntimeTxt('python-3.6.15\n')).to.equal('3.6.15');
    expect(parseRuntimeTxt('3.11')).to.equal('3.11');
    expect(parseRuntimeTxt('ruby-2.7')).to.equal(undefined);
  });

  it('takes the first source found, in order, and says which one decided', () => {
    const all = appWith({ '.python-version': '3.11\n', 'runtime.txt': 'python-3.6.15', 'pyproject.toml': '[project]\nrequires-python = ">=3.10"\n' });
    expect(readVersionRequest(all, '3.13', '3.14')).to.include({ source: 'BP_PYTHON_VERSION', specifier: '==3.13.*' });
    expect(readVersionRequest(all, undefined, '3.14')).to.include({ source: '.python-version', specifier: '==3.11.*' });
    fs.rmSync(path.join(all, '.python-version'));
    expect(readVersionRequest(all, undefined, '3.14')).to.include({ source: 'runtime.txt', specifier: '==3.6.15' });
    fs.rmSync(path.join(all, 'runtime.txt'));
    expect(readVersionRequest(all, undefined, '3.14')).to.include({ source: 'pyproject.toml', specifier: '>=3.10' });
    fs.writeFileSync(path.join(all, 'pyproject.toml'), '[project]\nname = "x"\n');
    expect(readVersionRequest(all, undefined, '3.14')).to.include({ source: 'default', specifier: '==3.14.*' });
  });

  it('stops with a user error for a bad runtime.txt, .python-version or request', () => {
    const cases: Array<[Record<string, string>, string | undefined, string]> = [
      [{ 'runtime.txt': 'python-three' }, undefined, 'bad-runtime-txt'],
      [{ '.python-version': 'system\n' }, undefined, 'bad-python-version-file'],
      [{ 'pyproject.toml': '[project\n' }, undefined, 'bad-pyproject-toml'],
      [{}, '3.x.y', 'invalid-version-request'],
    ];
    for (const [files, fromEnv, type] of cases) {
      const err = (() => {
        try {
          readVersionRequest(appWith(files), fromEnv, '3.14');
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(err).to.be.instanceOf(BuildpackError);
      expect((err as BuildpackError).cause.type).to.equal(type);
    }
  });
});

describe('version request: the lockfile (issue 14, item 6)', () => {
  const LOCK = { file: 'uv.lock', requiresPython: '>=3.12' };

  it("the lock's requires-python is a source after .python-version, runtime.txt and pyproject.toml, before the default", () => {
    const app = appWith({ '.python-version': '3.11\n', 'runtime.txt': 'python-3.10.4', 'pyproject.toml': '[project]\nrequires-python = ">=3.10"\n' });
    expect(readVersionRequest(app, undefined, '3.14', LOCK)).to.include({ source: '.python-version' });
    fs.rmSync(path.join(app, '.python-version'));
    expect(readVersionRequest(app, undefined, '3.14', LOCK)).to.include({ source: 'runtime.txt' });
    fs.rmSync(path.join(app, 'runtime.txt'));
    expect(readVersionRequest(app, undefined, '3.14', LOCK)).to.include({ source: 'pyproject.toml' });
    fs.writeFileSync(path.join(app, 'pyproject.toml'), '[tool.poetry]\nname = "x"\n');
    expect(readVersionRequest(app, undefined, '3.14', LOCK)).to.deep.equal({ specifier: '>=3.12', written: '>=3.12', source: 'lockfile', file: 'uv.lock' });
    expect(readVersionRequest(app, undefined, '3.14', { file: 'poetry.lock', requiresPython: '*' })).to.include({ source: 'default' });
    expect(readVersionRequest(app, undefined, '3.14', { file: 'pylock.toml', requiresPython: undefined })).to.include({ source: 'default' });
  });

  it('a chosen Python outside the lock`s requires-python stops the build naming both and where the version came from', () => {
    const request = readVersionRequest(appWith({ '.python-version': '3.11\n' }), undefined, '3.14', LOCK);
    expect(thrownCause(() => checkLockPython('3.11.9', request, LOCK))).to.deep.equal({ type: 'lock-python-mismatch', file: 'uv.lock', requiresPython: '>=3.12', python: '3.11.9', source: '.python-version' });
    expect(() => checkLockPython('3.12.1', request, LOCK)).to.not.throw();
    expect(() => checkLockPython('3.11.9', request, { file: 'poetry.lock', requiresPython: '*' })).to.not.throw();
    expect(() => checkLockPython('3.11.9', request, undefined)).to.not.throw();
  });
});
