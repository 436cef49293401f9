/**
 * The distributable buildpack: `npm run package` (its exported function), read back by real tools, Debian's
 * skopeo and umoci, then built and served through the local platform from what umoci unpacked. Also: two
 * runs give identical bytes, and an offline package builds with the download path blocked.
 */
import { expect } from 'chai';
import { execa } from 'execa';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tar from 'tar';
import { LocalPlatform, freePort } from '../platform/index.js';
import { E2E, REPO, plainLog } from './support.js';
import { hostArch } from '../helpers/servers.js';
import { packageBuildpack, type PackageResult, type PackagedTarget } from '../../scripts/package.js';
import { BUILDPACK_ENTRIES } from '../../scripts/buildpack-files.js';
import { BUILDPACK_LAYERS_LABEL, BUILDPACKAGE_METADATA_LABEL, MEDIA_TYPES } from '../../scripts/packaging/oci.js';
import { offlineArchivePath } from '../../src/python/archives.js';

const ID = 'ausnimbus/python';
const BP_PATH = 'cnb/buildpacks/ausnimbus_python';
const NORMALIZED = new Date('1980-01-01T00:00:01Z').getTime();
const ELF_MACHINE: Record<string, number> = { amd64: 0x3e, arm64: 0xb7 };

async function requireTool(name: string): Promise<void> {
  const found = await execa('sh', ['-c', `command -v ${name}`], { reject: false });
  if (found.exitCode !== 0) throw new Error(`${name} is not installed: apt-get install -y ${name} (.ci/run installs it)`);
}

/** What the tests read of `skopeo inspect`: its summary of an image. */
interface SkopeoInspect {
  Os: string;
  Architecture: string;
  Digest: string;
  Layers: string[];
  Labels: Record<string, string>;
}

/** What the tests read of an OCI image config (`skopeo inspect --config`) and manifest (`skopeo inspect --raw`). */
interface OciConfig {
  rootfs: { type: string; diff_ids: string[] };
}
interface OciManifest {
  mediaType: string;
  layers: Array<{ mediaType: string; digest: string }>;
}

/** skopeo's JSON output, read as `T`: a document of another shape fails the assertions on it. */
async function skopeoJson<T>(args: string[]): Promise<T> {
  const { stdout } = await execa('skopeo', args);
  return JSON.parse(stdout) as T;
}

/** The .cnb untarred by GNU tar, then the image's layer unpacked by umoci. Returns the rootfs. */
async function umociUnpack(cnb: string, tag: string, into: string): Promise<string> {
  const layout = path.join(into, 'layout');
  const rootfs = path.join(into, 'rootfs');
  fs.mkdirSync(layout, { recursive: true });
  await execa('tar', ['-xf', cnb, '-C', layout]);
  await execa('umoci', ['raw', 'unpack', '--image', `${layout}:${tag}`, rootfs]);
  return rootfs;
}

interface Node {
  type: 'dir' | 'file' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  link?: string;
}

function walk(root: string): Map<string, Node> {
  const out = new Map<string, Node>();
  const visit = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const st = fs.lstatSync(path.join(root, r));
      const type = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file';
      out.set(r, { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, link: type === 'symlink' ? fs.readlinkSync(path.join(root, r)) : undefined });
      if (type === 'dir') visit(r);
    }
  };
  visit('');
  return out;
}

/**
 * The inputs of packaging copied out of the working tree (which other work may change meanwhile), with
 * node_modules linked: what a clean clone at this state would hold.
 */
function snapshotCheckout(dest: string): string {
  fs.mkdirSync(dest, { recursive: true });
  for (const entry of ['buildpack.toml', 'layers', 'src', 'scripts', 'package.json', 'tsconfig.json']) {
    fs.cpSync(path.join(REPO, entry), path.join(dest, entry), { recursive: true, verbatimSymlinks: true });
  }
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(dest, 'node_modules'));
  return dest;
}

/** What the package must hold: buildpack.toml, bin/ (executable and two links) and the checkout's layers/ as it is. */
function expectedTree(checkout: string, prefix: string): Map<string, { type: Node['type']; mode?: number; link?: string }> {
  const out = new Map<string, { type: Node['type']; mode?: number; link?: string }>();
  const parts = prefix.split('/');
  for (let i = 1; i <= parts.length; i++) out.set(parts.slice(0, i).join('/'), { type: 'dir', mode: 0o755 });
  out.set(`${prefix}/buildpack.toml`, { type: 'file', mode: 0o644 });
  out.set(`${prefix}/bin`, { type: 'dir', mode: 0o755 });
  out.set(`${prefix}/bin/ausnimbus-python`, { type: 'file', mode: 0o755 });
  out.set(`${prefix}/bin/detect`, { type: 'symlink', link: 'ausnimbus-python' });
  out.set(`${prefix}/bin/build`, { type: 'symlink', link: 'ausnimbus-python' });
  for (const [rel, node] of walk(path.join(checkout, 'layers'))) {
    const mode = node.type === 'dir' || node.mode & 0o111 ? 0o755 : 0o644;
    out.set(`${prefix}/layers${rel ? `/${rel}` : ''}`, { type: node.type, mode, link: node.link });
  }
  out.set(`${prefix}/layers`, { type: 'dir', mode: 0o755 });
  return out;
}

function elfMachine(file: string): number {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(20);
    fs.readSync(fd, buf, 0, 20, 0);
    expect(buf.subarray(0, 4).toString('latin1')).to.equal('\x7fELF');
    return buf.readUInt16LE(18);
  } finally {
    fs.closeSync(fd);
  }
}

async function tarEntries(file: string): Promise<tar.ReadEntry[]> {
  const entries: tar.ReadEntry[] = [];
  await tar.t({ file, onReadEntry: (e) => void entries.push(e) });
  return entries;
}

describe('e2e: package (npm run package, read by skopeo and umoci)', function () {
  this.timeout(900_000);
  let e2e: E2E;
  let tmp: string;
  let checkout: string;
  let first: PackageResult;
  const platforms: LocalPlatform[] = [];
  const quiet = (): void => undefined;

  before(async () => {
    await requireTool('skopeo');
    await requireTool('umoci');
    e2e = await E2E.start();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-package-test-'));
    checkout = snapshotCheckout(path.join(tmp, 'checkout'));
    first = await packageBuildpack({ repo: checkout, outDir: path.join(tmp, 'first'), write: quiet });
  });
  after(async () => {
    for (const p of platforms) await p.cleanup();
    await e2e?.stop();
    if (tmp && !process.env.KEEP_PLATFORM) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const target = (arch: string): PackagedTarget => {
    const t = first.targets.find((x) => x.arch === arch);
    if (!t) throw new Error(`no ${arch} package`);
    return t;
  };

  it('writes a .cnb and a .tgz per target, and a second run (from a copy of the checkout elsewhere) gives byte-identical files', async () => {
    const names = first.files.map((f) => path.basename(f.file));
    expect(names).to.deep.equal([
      `ausnimbus-python-${first.version}-linux-amd64.cnb`,
      `ausnimbus-python-${first.version}-linux-amd64.tgz`,
      `ausnimbus-python-${first.version}-linux-arm64.cnb`,
      `ausnimbus-python-${first.version}-linux-arm64.tgz`,
    ]);
    // At the same depth as the first copy: both link node_modules from the repo, and bun's chunk names hash the
    // modules' paths relative to the checkout (scripts/compile.mjs), which a link from another depth changes.
    // A clone with its own node_modules (npm ci) has the same relative paths wherever it is.
    const elsewhere = path.join(tmp, 'elsewhere');
    fs.cpSync(checkout, elsewhere, { recursive: true, verbatimSymlinks: true });
    const second = await packageBuildpack({ repo: elsewhere, outDir: path.join(tmp, 'second'), write: quiet });
    const sums = (r: PackageResult): string[][] => r.files.map((f) => [path.basename(f.file), f.sha256]);
    expect(sums(second)).to.deep.equal(sums(first));
    for (const f of first.files) console.log(`      ${f.sha256}  ${(f.size / 1e6).toFixed(1)} MB  ${path.basename(f.file)}`);
  });

  it('the .cnb is an uncompressed tar of an OCI layout, every entry root-owned with a fixed mtime, as pack writes it', async () => {
    for (const t of first.targets) {
      const entries = await tarEntries(t.cnb);
      const names = entries.map((e) => e.path.replace(/^\//, ''));
      expect(names.slice(0, 2)).to.deep.equal(['blobs', 'blobs/sha256']);
      expect(names.slice(-2)).to.deep.equal(['index.json', 'oci-layout']);
      expect(names).to.have.length(7); // manifest, config, layer
      for (const e of entries) {
        expect([e.uid, e.gid, e.mode, e.mtime?.getTime()], e.path).to.deep.equal([0, 0, 0o755, NORMALIZED]);
      }
    }
  });

  it('skopeo reads each .cnb: platform, labels, one gzip layer whose diffID the labels name', async () => {
    for (const t of first.targets) {
      const ref = `oci-archive:${t.cnb}`;
      const info = await skopeoJson<SkopeoInspect>(['inspect', ref]);
      expect(info.Os).to.equal('linux');
      expect(info.Architecture).to.equal(t.arch);
      expect(info.Digest).to.equal(t.manifestDigest);
      expect(info.Layers).to.have.length(1);
      const metadata = JSON.parse(info.Labels[BUILDPACKAGE_METADATA_LABEL] ?? '');
      expect(metadata).to.include({ id: ID, version: first.version });
      expect(metadata.stacks).to.deep.equal([{ id: '*' }]);
      const layers = JSON.parse(info.Labels[BUILDPACK_LAYERS_LABEL] ?? '');
      expect(Object.keys(layers)).to.deep.equal([ID]);
      expect(Object.keys(layers[ID])).to.deep.equal([first.version]);
      const entry = layers[ID][first.version];
      expect(entry).to.include({ api: '0.10', layerDiffID: t.layerDiffId });
      expect(entry.targets).to.deep.equal([{ os: 'linux', arch: t.arch }]);

      const config = await skopeoJson<OciConfig>(['inspect', '--config', ref]);
      expect(config.rootfs).to.deep.equal({ type: 'layers', diff_ids: [t.layerDiffId] });
      const manifest = await skopeoJson<OciManifest>(['inspect', '--raw', ref]);
      expect(manifest.mediaType).to.equal(MEDIA_TYPES.manifest);
      expect(manifest.layers.map((l) => l.mediaType)).to.deep.equal([MEDIA_TYPES.layer]);
    }
  });

  it('umoci unpacks exactly the buildpack: pack modes, root owner, links kept, the right executable per arch', async () => {
    const prefix = `${BP_PATH}/${first.version}`;
    for (const t of first.targets) {
      const rootfs = await umociUnpack(t.cnb, first.version, path.join(tmp, `umoci-${t.arch}`));
      const actual = walk(rootfs);
      const expected = expectedTree(checkout, prefix);
      expect([...actual.keys()].sort()).to.deep.equal([...expected.keys()].sort());
      for (const [rel, want] of expected) {
        const got = actual.get(rel);
        if (!got) expect.fail(`${rel} is not in the unpacked layer`);
        expect(got.type, rel).to.equal(want.type);
        expect([got.uid, got.gid], `${rel} owner`).to.deep.equal([0, 0]);
        if (want.mode !== undefined) expect(got.mode.toString(8), `${rel} mode`).to.equal(want.mode.toString(8));
        if (want.link !== undefined) expect(got.link, rel).to.equal(want.link);
      }
      expect(elfMachine(path.join(rootfs, prefix, 'bin', 'ausnimbus-python'))).to.equal(ELF_MACHINE[t.arch]);
      const toml = fs.readFileSync(path.join(rootfs, prefix, 'buildpack.toml'), 'utf8');
      expect(toml.match(/^\[\[targets\]\]/gm)).to.have.length(1);
      expect(toml).to.contain(`arch = "${t.arch}"`);
    }
  });

  it('the layer tar itself: /cnb/buildpacks/<id>/<version>/ entries, uid/gid 0, no owner names, fixed mtime', async () => {
    const layout = path.join(tmp, 'umoci-amd64', 'layout');
    const manifest = await skopeoJson<OciManifest>(['inspect', '--raw', `oci:${layout}:${first.version}`]);
    const [layer] = manifest.layers;
    if (!layer) expect.fail('the manifest names no layer');
    const blob = path.join(layout, 'blobs', 'sha256', layer.digest.replace('sha256:', ''));
    const entries = await tarEntries(blob);
    expect(entries[0]?.path).to.equal(`/${BP_PATH}`);
    expect(entries[1]?.path).to.equal(`/${BP_PATH}/${first.version}`);
    for (const e of entries) {
      expect([e.uid, e.gid, e.uname ?? '', e.gname ?? '', e.mtime?.getTime()], e.path).to.deep.equal([0, 0, '', '', NORMALIZED]);
    }
  });

  it('the .tgz holds the same buildpack with buildpack.toml at its root (pack build --buildpack <file>)', async () => {
    const t = target(hostArch());
    const entries = await tarEntries(t.tgz);
    const names = entries.map((e) => e.path);
    expect(names).to.include('buildpack.toml');
    expect([...new Set(names.map((n) => n.split('/')[0]))].sort()).to.deep.equal([...BUILDPACK_ENTRIES].sort());
    const fromCnb = [...walk(path.join(tmp, `umoci-${t.arch}`, 'rootfs', BP_PATH, first.version)).keys()];
    expect([...names].sort()).to.deep.equal(fromCnb.sort());
    for (const e of entries) expect([e.uid, e.gid, e.mtime?.getTime()], e.path).to.deep.equal([0, 0, NORMALIZED]);
  });

  it('the buildpack umoci unpacked builds examples/flask-hello on the local platform and serves it', async () => {
    const buildpackDir = path.join(tmp, `umoci-${hostArch()}`, 'rootfs', BP_PATH, first.version);
    const platform = await LocalPlatform.create({ buildpackDir });
    platforms.push(platform);
    const app = await platform.app(path.join(REPO, 'examples', 'flask-hello'));
    const res = await platform.buildOk(app, { platformEnv: await e2e.env('3.11') });
    expect(res.processes.map((p) => p.type)).to.include('web');
    const port = String(await freePort());
    const proc = await platform.launch(res, { env: { PORT: port } });
    try {
      const http = await proc.waitForHttp(`http://127.0.0.1:${port}/`, { timeoutMs: 30_000 });
      expect(http.status).to.equal(200);
      expect(http.body).to.match(/^Hello from AusNimbus Python: Python 3\.11\.\d+, \d+ Gunicorn workers/);
    } finally {
      await proc.stop('SIGTERM', 10_000);
    }
  });

  it('an offline package builds with the download path blocked, says it used the bundled archive, and refuses a damaged one', async () => {
    const python = await e2e.python('3.11');
    const manifest = await e2e.manifest(['3.11'], 'offline-distributions.json');
    const offline = await packageBuildpack({
      repo: checkout,
      outDir: path.join(tmp, 'offline'),
      archs: [hostArch()],
      offline: { versions: [python.version], manifest },
      cacheDir: path.join(tmp, 'offline-cache'),
      write: quiet,
    });
    const [t] = offline.targets;
    if (!t) expect.fail('the offline package has no target');
    expect(path.basename(t.cnb)).to.equal(`ausnimbus-python-${offline.version}-offline-linux-${hostArch()}.cnb`);
    expect(t.bundled.map((d) => d.sha256)).to.deep.equal([python.sha256]);

    // The build gets the package as a user would: the .cnb, unpacked by umoci.
    const rootfs = await umociUnpack(t.cnb, offline.version, path.join(tmp, 'umoci-offline'));
    const buildpackDir = path.join(rootfs, BP_PATH, offline.version);
    const bundledFile = offlineArchivePath(buildpackDir, python.sha256);
    expect(fs.statSync(bundledFile).size).to.equal(python.size);
    expect(fs.readFileSync(path.join(buildpackDir, 'buildpack.toml'), 'utf8')).to.contain(`checksum = "sha256:${python.sha256}"`);

    const env = {
      BP_PYTHON_VERSION: python.version,
      BP_DEPENDENCY_MIRROR: 'http://127.0.0.1:9/', // every download goes nowhere; no BP_PYTHON_DISTRIBUTIONS either
      PIP_INDEX_URL: e2e.index.indexUrl(),
      PIP_CONFIG_FILE: '/dev/null',
    };
    e2e.dists.clearRequests();
    const platform = await LocalPlatform.create({ buildpackDir });
    platforms.push(platform);
    const res = await platform.buildOk(await platform.app(path.join(REPO, 'examples', 'flask-hello')), { platformEnv: env });
    const log = plainLog(res.output);
    expect(log).to.contain(`Using the Python ${python.version} archive bundled in the buildpack (offline package)`);
    expect(log).to.contain(`Verified sha256 ${python.sha256}`);
    expect(log).not.to.contain('Downloading Python');
    expect(e2e.dists.requests, 'requests to the archive server').to.deep.equal([]);

    // The same package with its archive damaged: the checksum is checked before anything is unpacked.
    const damaged = path.join(tmp, 'damaged');
    fs.cpSync(buildpackDir, damaged, { recursive: true, verbatimSymlinks: true });
    const file = offlineArchivePath(damaged, python.sha256);
    fs.chmodSync(file, 0o644);
    fs.appendFileSync(file, 'tampered');
    const broken = await LocalPlatform.create({ buildpackDir: damaged });
    platforms.push(broken);
    const bad = await broken.build(await broken.app(path.join(REPO, 'examples', 'flask-hello')), { platformEnv: env });
    expect(bad.success).to.equal(false);
    const badLog = plainLog(bad.output);
    expect(badLog).to.contain('[Error: Checksum mismatch]');
    expect(badLog).to.contain(`but ${python.sha256} was expected`);
  });
});
