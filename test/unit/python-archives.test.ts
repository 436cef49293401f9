import { expect } from 'chai';
import fs from 'node:fs';
import { parseToml } from '../../src/cnb/toml.js';
import { applyMirror, builtinArchives, parseManifest, resolveArchive, type PythonArchive } from '../../src/python/archives.js';
import { toSpecifier, type VersionRequest } from '../../src/python/version-request.js';
import { BuildpackError } from '../../src/failure.js';
import { thrownCause } from '../fakes/thrown.js';
import pkg from '../../package.json' with { type: 'json' };

const req = (written: string): VersionRequest => ({ written, specifier: toSpecifier(written) as string, source: 'BP_PYTHON_VERSION' });
const dist = (version: string, arch: 'amd64' | 'arm64' = 'amd64', origin: PythonArchive['origin'] = 'buildpack'): PythonArchive =>
  ({ version, arch, origin, uri: `https://example.com/${version}.tar.gz`, sha256: 'a'.repeat(64) });

describe('distributions', () => {
  const descriptor = parseToml(fs.readFileSync('buildpack.toml', 'utf8'));
  const builtin = builtinArchives(descriptor.metadata as Record<string, unknown>);

  it('buildpack.toml carries the two newest patches of 3.8 to 3.14 for both arches, with checksums, purl and cpe', () => {
    for (const arch of ['amd64', 'arm64']) {
      for (const minor of ['3.8', '3.9', '3.10', '3.11', '3.12', '3.13', '3.14']) {
        expect(builtin.filter((d) => d.arch === arch && d.version.startsWith(`${minor}.`))).to.have.length(2, `${arch} ${minor}`);
      }
    }
    for (const d of builtin) {
      expect(d.sha256).to.match(/^[0-9a-f]{64}$/);
      expect(d.uri).to.match(/^https:\/\/github\.com\/astral-sh\/python-build-standalone\/releases\/download\/.*install_only_stripped\.tar\.gz$/);
      expect(d.purl).to.match(/^pkg:generic\/python@/);
      expect(d.cpe).to.match(/^cpe:2\.3:a:python:python:/);
    }
    expect((descriptor.buildpack as Record<string, unknown>).version).to.equal(pkg.version);
  });

  it('resolves the newest match for the arch', () => {
    const all = [dist('3.12.1'), dist('3.12.7'), dist('3.13.0'), dist('3.12.9', 'arm64')];
    expect(resolveArchive(req('3.12'), all, 'amd64').version).to.equal('3.12.7');
    expect(resolveArchive(req('~=3.11'), all, 'amd64').version).to.equal('3.13.0');
    expect(resolveArchive(req('>=3.10,<3.13'), all, 'amd64').version).to.equal('3.12.7');
    expect(resolveArchive(req('3'), all, 'arm64').version).to.equal('3.12.9');
  });

  it('prefers a manifest entry over a built-in one of the same version', () => {
    const all = [dist('3.12.7'), dist('3.12.7', 'amd64', 'manifest')];
    expect(resolveArchive(req('3.12.7'), all, 'amd64').origin).to.equal('manifest');
  });

  it('lists what is available when nothing matches', () => {
    try {
      resolveArchive(req('3.9'), [dist('3.12.7'), dist('3.13.0'), dist('3.9.1', 'arm64')], 'amd64');
      expect.fail('resolved');
    } catch (e) {
      expect(e).to.be.instanceOf(BuildpackError);
      expect((e as BuildpackError).cause).to.deep.equal({ type: 'no-matching-python', written: '3.9', source: 'BP_PYTHON_VERSION', arch: 'amd64', available: ['3.13.0', '3.12.7'] });
    }
  });

  it('parses JSON and TOML manifests and refuses bad entries with the entry named', () => {
    const sha = 'b'.repeat(64);
    const json = JSON.stringify({ distributions: [{ version: '2.7.18', uri: 'http://127.0.0.1/py.tgz', sha256: sha, arch: 'amd64' }] });
    expect(parseManifest(json, 'm.json')[0]).to.include({ version: '2.7.18', origin: 'manifest' });
    const toml = `[[distributions]]\nversion = "3.6.15"\nuri = "file:///tmp/p.tgz"\nsha256 = "${sha}"\narch = "arm64"\n`;
    expect(parseManifest(toml, 'm.toml')[0]).to.include({ version: '3.6.15', arch: 'arm64' });
    const entry = (e: object): string => JSON.stringify({ distributions: [{ version: '3.6.1', uri: 'http://x/a', sha256: sha, arch: 'amd64', ...e }] });
    for (const [bad, kind] of [
      [entry({ version: '3.6' }), 'bad-version'],
      [entry({ version: '3.13.0rc1', uri: 'ftp://x/a' }), 'bad-uri'], // a PEP 440 pre-release is a full version
      [entry({ sha256: 'xyz' }), 'bad-sha256'],
      [entry({ arch: 'x86' }), 'bad-arch'],
      ['{"distributions": [1]}', 'entry-not-object'],
      ['{"nothing": []}', 'no-distributions-list'],
      ['not [ valid', 'not-json-or-toml'],
    ]) {
      try {
        parseManifest(bad as string, 'm');
        expect.fail(`accepted ${bad}`);
      } catch (e) {
        expect(e).to.be.instanceOf(BuildpackError);
        const cause = (e as BuildpackError).cause;
        expect(cause.type === 'bad-manifest' && cause.problem.kind, bad).to.equal(kind);
      }
    }
  });

  it('BP_DEPENDENCY_MIRROR replaces scheme and host, keeping the path', () => {
    const uri = 'https://github.com/astral-sh/python-build-standalone/releases/download/20260814/cpython-3.14.7%2B20260814-x86_64.tar.gz';
    expect(applyMirror(uri, 'http://127.0.0.1:8080/mirror/')).to.equal('http://127.0.0.1:8080/mirror/astral-sh/python-build-standalone/releases/download/20260814/cpython-3.14.7%2B20260814-x86_64.tar.gz');
    expect(applyMirror(uri, 'file:///srv/mirror')).to.equal('file:///srv/mirror/astral-sh/python-build-standalone/releases/download/20260814/cpython-3.14.7%2B20260814-x86_64.tar.gz');
    expect(applyMirror(uri, undefined)).to.equal(uri);
    expect(thrownCause(() => applyMirror(uri, 'ftp://mirror'))).to.deep.equal({ type: 'bad-mirror', value: 'ftp://mirror' });
  });
});
