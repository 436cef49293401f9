import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePythonVersionFile, parseRuntimeTxt, readVersionRequest, toSpecifier } from '../../src/python/version-request.js';
import { BuildpackError } from '../../src/failure.js';

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
