/** Packaging pieces: per-target buildpack.toml, bundle choice, the deterministic tar writer, labels, CLI. */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { parseToml, type TomlTable } from '../../src/cnb/toml.js';
import { builtinArchives, resolveArchive, type PythonArchive } from '../../src/python/archives.js';
import { descriptorForTarget, readBuildpackInfo } from '../../scripts/packaging/descriptor.js';
import { chooseDistributions } from '../../scripts/packaging/offline.js';
import { NORMALIZED_MTIME, TarWriter } from '../../scripts/packaging/tar.js';
import { buildpackageMetadataLabel, buildpackLayersLabel } from '../../scripts/packaging/oci.js';
import { parseArgs } from '../../scripts/package.js';

const REPO_TOML = fs.readFileSync(new URL('../../buildpack.toml', import.meta.url), 'utf8');

const SMALL = `api = "0.10"

[buildpack]
id = "acme/py"
version = "1.2.3"

[[targets]]
os = "linux"
arch = "amd64"
[[targets.distros]]
name = "ubuntu"
version = "22.04"

[[targets]]
os = "linux"
arch = "arm64"

# comment that belongs to metadata
[metadata]
x = 1
`;

const sha = (c: string): string => c.repeat(64);

describe('packaging: buildpack.toml per target', () => {
  it('keeps only the target\'s [[targets]] (with its distros) and everything else as written', () => {
    const amd = descriptorForTarget(SMALL, 'amd64');
    expect(parseToml(amd).targets).to.deep.equal([{ os: 'linux', arch: 'amd64', distros: [{ name: 'ubuntu', version: '22.04' }] }]);
    expect(amd).to.contain('# comment that belongs to metadata\n[metadata]');
    const arm = descriptorForTarget(SMALL, 'arm64');
    expect(parseToml(arm).targets).to.deep.equal([{ os: 'linux', arch: 'arm64' }]);
    expect(arm).not.to.contain('distros');
  });

  it('works on the repository\'s buildpack.toml: one target each, metadata untouched', () => {
    const original = parseToml(REPO_TOML);
    for (const arch of ['amd64', 'arm64'] as const) {
      const doc = parseToml(descriptorForTarget(REPO_TOML, arch));
      expect(doc.targets).to.deep.equal([{ os: 'linux', arch }]);
      expect(doc.metadata).to.deep.equal(original.metadata);
      expect(doc.buildpack).to.deep.equal(original.buildpack);
    }
  });

  it('appends archives bundled from a manifest so that a build resolves them as built-in', () => {
    const extra: PythonArchive = { version: '3.6.15', uri: 'https://example.com/py "3.6".tar.gz', sha256: sha('a'), arch: 'amd64', origin: 'manifest' };
    const text = descriptorForTarget(REPO_TOML, 'amd64', [extra]);
    const dists = builtinArchives(parseToml(text).metadata as TomlTable);
    const chosen = resolveArchive({ specifier: '==3.6.15', written: '3.6.15', source: 'BP_PYTHON_VERSION' }, dists, 'amd64');
    expect(chosen).to.include({ version: '3.6.15', sha256: sha('a'), uri: extra.uri, origin: 'buildpack' });
  });

  it('refuses a buildpack.toml with no target for the arch', () => {
    expect(() => descriptorForTarget(SMALL.replace(/\[\[targets\]\]\nos = "linux"\narch = "arm64"\n/, ''), 'arm64')).to.throw(/no \[\[targets\]\] entry for linux\/arm64/);
  });
});

describe('packaging: which archives an offline package bundles', () => {
  const builtin = builtinArchives(parseToml(REPO_TOML).metadata as TomlTable);

  it('resolves each request per arch as a build would, once per archive', () => {
    const amd = chooseDistributions(builtin, ['3.12', '3.12.14', '3.11'], 'amd64');
    expect(amd.map((d) => d.version)).to.deep.equal(['3.12.14', '3.11.16']);
    expect(chooseDistributions(builtin, ['3.12'], 'arm64')[0]?.arch).to.equal('arm64');
  });

  it('names what is available when nothing matches, and refuses a manifest entry that shadows a built-in version', () => {
    expect(() => chooseDistributions(builtin, ['2.7'], 'amd64')).to.throw(/no Python for amd64 satisfies '2\.7' \(available: .*3\.12\.14.*\); add it with --distributions/);
    expect(() => chooseDistributions(builtin, ['not-a-version'], 'amd64')).to.throw(/is not a Python version request/);
    const shadow: PythonArchive = { version: '3.12.14', uri: 'file:///x.tar.gz', sha256: sha('b'), arch: 'amd64', origin: 'manifest' };
    expect(() => chooseDistributions([...builtin, shadow], ['3.12.14'], 'amd64')).to.throw(/same version as one in buildpack\.toml/);
  });
});

describe('packaging: deterministic tar', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkg-tar-'));
    const src = path.join(dir, 'src');
    fs.mkdirSync(path.join(src, 'bin'), { recursive: true });
    fs.mkdirSync(path.join(src, 'b-dir'), { mode: 0o700 });
    fs.writeFileSync(path.join(src, 'bin', 'tool'), 'x'.repeat(1000), { mode: 0o700 });
    fs.symlinkSync('tool', path.join(src, 'bin', 'detect'));
    fs.writeFileSync(path.join(src, 'a.toml'), 'a = 1\n', { mode: 0o600 });
    fs.writeFileSync(path.join(src, 'b-dir', 'data'), '', { mode: 0o664 });
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string): { file: string; digest: string } => {
    const file = path.join(dir, name);
    const tw = new TarWriter(file);
    tw.directory('/cnb/x');
    tw.tree(path.join(dir, 'src'), '/cnb/x/1.0.0');
    return { file, digest: tw.close() };
  };

  it('writes walk order, pack modes, root owner and the fixed mtime; the same tree gives the same bytes', async () => {
    const one = write('one.tar');
    const two = write('two.tar');
    expect(fs.readFileSync(one.file).equals(fs.readFileSync(two.file))).to.equal(true);
    expect(one.digest).to.equal(two.digest);
    const entries: Array<[string, string, string, number, number, number | undefined, string | undefined]> = [];
    await tar.t({ file: one.file, onReadEntry: (e) => void entries.push([e.path, e.type, (e.mode ?? 0).toString(8), e.uid ?? -1, e.gid ?? -1, e.mtime?.getTime(), e.linkpath || undefined]) });
    const t = NORMALIZED_MTIME.getTime();
    expect(entries).to.deep.equal([
      ['/cnb/x', 'Directory', '755', 0, 0, t, undefined],
      ['/cnb/x/1.0.0/a.toml', 'File', '644', 0, 0, t, undefined],
      ['/cnb/x/1.0.0/b-dir', 'Directory', '755', 0, 0, t, undefined],
      ['/cnb/x/1.0.0/b-dir/data', 'File', '644', 0, 0, t, undefined],
      ['/cnb/x/1.0.0/bin', 'Directory', '755', 0, 0, t, undefined],
      ['/cnb/x/1.0.0/bin/detect', 'SymbolicLink', '755', 0, 0, t, 'tool'],
      ['/cnb/x/1.0.0/bin/tool', 'File', '755', 0, 0, t, undefined],
    ]);
    // Ends with two zero blocks, as Go's tar.Writer ends an archive.
    const bytes = fs.readFileSync(one.file);
    expect(bytes.length % 512).to.equal(0);
    expect(bytes.subarray(-1024).every((b) => b === 0)).to.equal(true);
  });

  it('refuses a name that does not fit a USTAR header', () => {
    const tw = new TarWriter(path.join(dir, 'long.tar'));
    expect(() => tw.directory(`/${'x'.repeat(120)}/${'y'.repeat(120)}`)).to.throw(/does not fit a USTAR header/);
    tw.close();
  });
});

describe('packaging: labels and command line', () => {
  it('refuses a buildpack version that is not a semantic version (the registry and image tags need one)', () => {
    expect(readBuildpackInfo(REPO_TOML.replace(/^version = ".*"$/m, 'version = "1.2.3-rc.1"')).version).to.equal('1.2.3-rc.1');
    for (const bad of ['1.2', 'v1.2.3', '1.2.3.4', 'latest']) {
      expect(() => readBuildpackInfo(REPO_TOML.replace(/^version = ".*"$/m, `version = "${bad}"`)), bad).to.throw(/not a semantic version/);
    }
  });

  it('writes the labels as pack does', () => {
    const info = readBuildpackInfo(REPO_TOML);
    const metadata = JSON.parse(buildpackageMetadataLabel(info));
    expect(Object.keys(metadata)).to.deep.equal(['id', 'name', 'version', 'description', 'homepage', 'keywords', 'licenses', 'stacks']);
    expect(metadata.licenses).to.deep.equal([{ Type: 'Apache-2.0', URI: '' }]);
    expect(metadata.stacks).to.deep.equal([{ id: '*' }]);
    const layers = JSON.parse(buildpackLayersLabel(info, [{ os: 'linux', arch: 'arm64' }], 'sha256:abc'));
    expect(layers).to.deep.equal({
      [info.id]: { [info.version]: { api: info.api, targets: [{ os: 'linux', arch: 'arm64' }], layerDiffID: 'sha256:abc', homepage: info.homepage, name: info.name } },
    });
  });

  it('parses npm run package arguments', () => {
    expect(parseArgs([])).to.deep.equal({});
    expect(parseArgs(['--arch', 'amd64,arm64', '--out', 'x'])).to.deep.equal({ archs: ['amd64', 'arm64'], outDir: 'x' });
    expect(parseArgs(['--offline', '3.12', '3.11', '--mirror', 'https://m', '--distributions', 'p.json'])).to.deep.equal({
      offline: { versions: ['3.12', '3.11'], manifest: 'p.json', mirror: 'https://m' },
    });
    expect(() => parseArgs(['3.12'])).to.throw(/go with --offline/);
    expect(() => parseArgs(['--arch'])).to.throw(/--arch needs a value/);
    expect(() => parseArgs(['--bogus'])).to.throw(/unknown option --bogus/);
  });
});
