/**
 * Exercises FileServer fault modes, PackageIndexServer with real pip (with/without basic auth,
 * overlay wheels/sdists for Python 2.7 and 3.6), and the wheel/manifest builders.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import TOML from '@iarna/toml';
import { expect } from 'chai';
import { execa } from 'execa';
import fse from 'fs-extra';
import { cleanPythonEnv, pyenvRoot, resolvePyenvVersion } from './python-dist.js';
import { FileServer, PackageIndexServer, buildSdist, buildWheel, hostArch, writeDistributionsManifest } from './servers.js';

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Whole body received and the response ended normally. */
  complete: boolean;
  /** No data for `idleMs` (stall). */
  timedOut: boolean;
}

/** GET with node:http so truncation/stalls are observable (fetch would just throw). */
function rawGet(url: string, opts: { idleMs?: number; headers?: http.OutgoingHttpHeaders; method?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      let timedOut = false;
      const finish = (complete: boolean): void =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), complete, timedOut });
      res.setTimeout(opts.idleMs ?? 5000, () => {
        timedOut = true;
        res.destroy();
      });
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => finish(res.complete));
      res.on('error', () => finish(false));
      res.on('close', () => finish(res.complete));
    });
    req.on('error', reject);
    req.end();
  });
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const pythonOf = (spec: string): string => path.join(pyenvRoot(), 'versions', resolvePyenvVersion(spec), 'bin', 'python');

describe('servers: FileServer', () => {
  let tmp: string;
  let server: FileServer;
  let big: Buffer;
  const SIZE = 3 * 1024 * 1024 + 17;

  before(async () => {
    tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'servers-test-'));
    big = randomBytes(SIZE);
    await fse.outputFile(path.join(tmp, 'www/dists/big.tar.gz'), big);
    await fse.outputFile(path.join(tmp, 'elsewhere.bin'), Buffer.from('mapped'));
  });
  beforeEach(async () => {
    server = await FileServer.start({ root: path.join(tmp, 'www'), files: { '/mapped/x.bin': path.join(tmp, 'elsewhere.bin'), '/inline.txt': Buffer.from('hello\n') } });
  });
  afterEach(() => server.close());
  after(() => fse.remove(tmp));

  it('streams directory files and mapped files, recording every request', async () => {
    expect(server.requests).to.have.length(0); // "no request was made" is checkable
    const r = await rawGet(server.url('/dists/big.tar.gz'), { headers: { 'User-Agent': 'probe/1' } });
    expect([r.status, r.complete, Number(r.headers['content-length'])]).to.deep.equal([200, true, SIZE]);
    expect(sha256(r.body)).to.equal(sha256(big));
    expect((await rawGet(server.url('/mapped/x.bin'))).body.toString()).to.equal('mapped');
    expect((await rawGet(server.url('/inline.txt'))).body.toString()).to.equal('hello\n');
    const head = await rawGet(server.url('/dists/big.tar.gz'), { method: 'HEAD' });
    expect([head.status, head.body.length, Number(head.headers['content-length'])]).to.deep.equal([200, 0, SIZE]);
    expect(server.requests.map((q) => `${q.method} ${q.path} ${q.status}`)).to.deep.equal([
      'GET /dists/big.tar.gz 200',
      'GET /mapped/x.bin 200',
      'GET /inline.txt 200',
      'HEAD /dists/big.tar.gz 200',
    ]);
    expect(server.requests[0]?.headers['user-agent']).to.equal('probe/1');
    expect(server.requestsFor('/inline.txt')).to.have.length(1);
  });

  it('404s unknown paths and path traversal', async () => {
    expect((await rawGet(server.url('/nope'))).status).to.equal(404);
    expect((await rawGet(`${server.origin}/dists/%2e%2e/%2e%2e/elsewhere.bin`)).status).to.equal(404);
  });

  it('status faults: 404 always, 500 N times then success, 500 always, global "*"', async () => {
    server.setFault('/inline.txt', { kind: 'status', status: 404 });
    expect((await rawGet(server.url('/inline.txt'))).status).to.equal(404);
    expect((await rawGet(server.url('/inline.txt'))).status).to.equal(404);
    server.setFault('/dists/big.tar.gz', { kind: 'status', status: 500, times: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await rawGet(server.url('/dists/big.tar.gz'))).status);
    expect(statuses).to.deep.equal([500, 500, 200]);
    server.clearFaults();
    server.setFault('*', { kind: 'status', status: 500 });
    server.setFault('/mapped/x.bin', { kind: 'status', status: 503, times: 1 });
    expect((await rawGet(server.url('/inline.txt'))).status).to.equal(500);
    expect((await rawGet(server.url('/mapped/x.bin'))).status).to.equal(503);
    expect((await rawGet(server.url('/mapped/x.bin'))).status).to.equal(500); // path fault used up → global
  });

  it('truncate: full Content-Length, K bytes, then the connection drops (once, then OK)', async () => {
    server.setFault('/dists/big.tar.gz', { kind: 'truncate', afterBytes: 100_000, times: 1 });
    const r = await rawGet(server.url('/dists/big.tar.gz'));
    expect([r.status, Number(r.headers['content-length']), r.body.length, r.complete, r.timedOut]).to.deep.equal([200, SIZE, 100_000, false, false]);
    expect(r.body.equals(big.subarray(0, 100_000))).to.equal(true);
    const ok = await rawGet(server.url('/dists/big.tar.gz'));
    expect([ok.complete, ok.body.length]).to.deep.equal([true, SIZE]);
  });

  it('stall: headers and K bytes, then silence with the socket left open', async () => {
    server.setFault('/dists/big.tar.gz', { kind: 'stall', afterBytes: 4096 });
    const started = Date.now();
    const r = await rawGet(server.url('/dists/big.tar.gz'), { idleMs: 400 });
    expect([r.status, r.body.length, r.complete, r.timedOut]).to.deep.equal([200, 4096, false, true]);
    expect(Date.now() - started).to.be.greaterThanOrEqual(350);
    // a stalled client still connected must not block close()
    void rawGet(server.url('/dists/big.tar.gz'), { idleMs: 60_000 });
    await new Promise((r2) => setTimeout(r2, 100));
  });

  it('corrupt: same length with a flipped byte, or a replacement body', async () => {
    server.setFault('/dists/big.tar.gz', { kind: 'corrupt', times: 1 });
    const r = await rawGet(server.url('/dists/big.tar.gz'));
    expect([r.complete, r.body.length]).to.deep.equal([true, SIZE]);
    expect(sha256(r.body)).not.to.equal(sha256(big));
    expect(r.body.filter((b, i) => b !== big[i]).length).to.equal(1);
    server.setFault('/inline.txt', { kind: 'corrupt', body: Buffer.from('evil\n') });
    expect((await rawGet(server.url('/inline.txt'))).body.toString()).to.equal('evil\n');
  });

  it('basic auth: 401 without or with wrong credentials', async () => {
    const secured = await FileServer.start({ root: path.join(tmp, 'www'), auth: { username: 'user', password: 's3cr3t' } });
    try {
      const auth = (u: string, p: string) => ({ Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
      const none = await rawGet(secured.url('/dists/big.tar.gz'));
      expect([none.status, none.headers['www-authenticate']]).to.deep.equal([401, 'Basic realm="test"']);
      expect((await rawGet(secured.url('/dists/big.tar.gz'), { headers: auth('user', 'wrong') })).status).to.equal(401);
      expect((await rawGet(secured.url('/dists/big.tar.gz'), { headers: auth('user', 's3cr3t') })).status).to.equal(200);
      expect(secured.requests.map((q) => q.status)).to.deep.equal([401, 401, 200]);
      expect(secured.url('/a', { username: 'user', password: 's3cr3t' })).to.equal(`http://user:s3cr3t@127.0.0.1:${new URL(secured.origin).port}/a`);
    } finally {
      await secured.close();
    }
  });
});

describe('servers: PackageIndexServer + pip', function () {
  this.timeout(300_000);
  const AUTH = { username: 'user', password: 's3cr3t' };
  let tmp: string;
  let overlay: string;
  let venv311: string;

  const pip = (python: string, args: string[], indexUrl: string) =>
    execa(python, ['-m', 'pip', 'install', '--no-cache-dir', '--index-url', indexUrl, ...args], { env: cleanPythonEnv(), extendEnv: false, reject: false });

  before(async () => {
    tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'index-test-'));
    overlay = path.join(tmp, 'overlay');
    // tiny-greeter (wheel) depends on tiny-dep (sdist): both only exist in the overlay
    await buildWheel({ name: 'tiny-greeter', version: '1.0.0', outDir: overlay, requires: ['tiny-dep>=0.1'], modules: { 'tiny_greeter/__init__.py': 'from tiny_dep import WHO\ndef hello():\n    return "hello " + WHO\n' } });
    await buildSdist({ name: 'tiny-dep', version: '0.1.0', outDir: overlay, modules: { 'tiny_dep.py': 'WHO = "world"\n' } });
    venv311 = path.join(tmp, 'venv311');
    // /opt/pypi only carries cp311 binary wheels (markupsafe), so Flask needs a 3.11 interpreter
    await execa(pythonOf('3.11'), ['-m', 'venv', venv311], { env: cleanPythonEnv(), extendEnv: false });
  });
  after(() => fse.remove(tmp));

  it('serves /simple/ (file or generated), project pages with sha256 links, files, redirects', async () => {
    const index = await PackageIndexServer.start();
    try {
      const root = await rawGet(index.indexUrl());
      expect(root.body.toString()).to.include('<a href="flask/">flask</a>');
      const page = (await rawGet(index.url('/simple/flask/'))).body.toString();
      const m = /href="\.\.\/\.\.\/files\/([^"#]+)#sha256=([0-9a-f]{64})"/.exec(page);
      expect(m, page).to.not.equal(null);
      const file = await rawGet(index.url(`/files/${m?.[1] ?? ''}`));
      expect(sha256(file.body)).to.equal(m?.[2]);
      const redirect = await rawGet(index.url('/simple/Flask'));
      expect([redirect.status, redirect.headers.location]).to.deep.equal([301, '/simple/flask/']);
      expect((await rawGet(index.url('/simple/no-such-project-xyz/'))).status).to.equal(404);
    } finally {
      await index.close();
    }
    // a root without simple/index.html, merged with the overlay
    const bare = path.join(tmp, 'bare');
    await fse.outputFile(path.join(bare, 'simple/alpha/index.html'), '<a href="../../files/alpha-1.0-py3-none-any.whl">alpha-1.0-py3-none-any.whl</a>');
    const merged = await PackageIndexServer.start({ root: bare, overlayDirs: [overlay] });
    try {
      const listing = (await rawGet(merged.indexUrl())).body.toString();
      expect(listing.match(/href="[^"]+"/g)).to.deep.equal(['href="alpha/"', 'href="tiny-dep/"', 'href="tiny-greeter/"']);
      const page = (await rawGet(merged.url('/simple/tiny-greeter/'))).body.toString();
      expect(page).to.match(/href="\.\.\/\.\.\/overlay\/tiny_greeter-1\.0\.0-py2\.py3-none-any\.whl#sha256=[0-9a-f]{64}"/);
    } finally {
      await merged.close();
    }
  });

  it('pip installs flask from the index without auth', async () => {
    const index = await PackageIndexServer.start();
    try {
      const r = await pip(path.join(venv311, 'bin/python'), ['flask'], index.indexUrl());
      expect(r.exitCode, r.stderr + r.stdout).to.equal(0);
      expect(index.requestsFor('/simple/flask/')).to.have.length.greaterThan(0);
      expect(index.requests.some((q) => q.path.startsWith('/files/flask-'))).to.equal(true);
      const v = await execa(path.join(venv311, 'bin/python'), ['-c', 'import flask, importlib.metadata as m; print(m.version("flask"))']);
      expect(v.stdout).to.match(/^\d+\.\d+/);
    } finally {
      await index.close();
    }
  });

  it('pip installs flask with basic auth and fails with wrong credentials', async () => {
    const index = await PackageIndexServer.start({ auth: AUTH });
    try {
      const wrong = await pip(path.join(venv311, 'bin/python'), ['--force-reinstall', '--no-deps', 'flask'], index.indexUrl({ ...AUTH, password: 'nope' }));
      expect(wrong.exitCode).to.not.equal(0);
      expect(index.requests.length).to.be.greaterThan(0);
      expect(index.requests.every((q) => q.status === 401)).to.equal(true);
      index.clearRequests();
      const ok = await pip(path.join(venv311, 'bin/python'), ['--force-reinstall', 'flask'], index.indexUrl(AUTH));
      expect(ok.exitCode, ok.stderr + ok.stdout).to.equal(0);
      expect(index.requests.some((q) => q.path.startsWith('/files/flask-') && q.status === 200)).to.equal(true);
    } finally {
      await index.close();
    }
  });

  for (const spec of ['2.7', '3.6', '3.12']) {
    it(`pip (Python ${spec}) installs overlay wheel + sdist dependency`, async () => {
      const index = await PackageIndexServer.start({ overlayDirs: [overlay], auth: AUTH });
      const target = path.join(tmp, `target-${spec}`);
      try {
        const r = await pip(pythonOf(spec), ['--target', target, 'tiny-greeter'], index.indexUrl(AUTH));
        expect(r.exitCode, r.stderr + r.stdout).to.equal(0);
        const out = await execa(pythonOf(spec), ['-c', 'import tiny_greeter; print(tiny_greeter.hello())'], { env: cleanPythonEnv({ PYTHONPATH: target }), extendEnv: false });
        expect(out.stdout.trim()).to.equal('hello world');
        expect(index.requestsFor('/overlay/tiny_dep-0.1.0.tar.gz')).to.have.length(1);
      } finally {
        await index.close();
      }
    });
  }
});

describe('servers: builders and manifest', () => {
  let tmp: string;
  before(async () => {
    tmp = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'builders-test-'));
  });
  after(() => fse.remove(tmp));

  it('buildWheel is deterministic and a valid zip with a correct RECORD', async () => {
    const a = await buildWheel({ name: 'Demo.Pkg', version: '2.0', outDir: path.join(tmp, 'a'), consoleScripts: { demo: 'demo_pkg:main' } });
    const b = await buildWheel({ name: 'Demo.Pkg', version: '2.0', outDir: path.join(tmp, 'b'), consoleScripts: { demo: 'demo_pkg:main' } });
    expect(a.filename).to.equal('demo_pkg-2.0-py2.py3-none-any.whl');
    expect(a.sha256).to.equal(b.sha256);
    const check = `
import zipfile, hashlib, base64, sys
z = zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None
rec = z.read('demo_pkg-2.0.dist-info/RECORD').decode().splitlines()
for line in rec:
    p, h, n = line.rsplit(',', 2)
    if not h: continue
    d = z.read(p); assert int(n) == len(d), p
    assert h == 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode(), p
print(sorted(z.namelist()))`;
    const r = await execa(pythonOf('3.12'), ['-c', check, a.path], { env: cleanPythonEnv(), extendEnv: false });
    expect(r.stdout).to.include('demo_pkg.py').and.include('entry_points.txt');
  });

  it('writeDistributionsManifest writes json and toml with a default arch', async () => {
    const entries = [{ version: '3.12.1', uri: 'http://127.0.0.1:1/a.tar.gz', sha256: 'ab'.repeat(32) }, { version: '3.11.7', uri: 'http://x/b', sha256: 'cd'.repeat(32), arch: 'arm64', os: 'linux' }];
    const json = await writeDistributionsManifest(entries, tmp, 'json');
    const toml = await writeDistributionsManifest(entries, tmp, 'toml');
    expect(path.basename(json)).to.equal('distributions.json');
    const fromJson = (await fse.readJson(json)) as { distributions: Array<Record<string, string>> };
    const fromToml = TOML.parse(await fs.promises.readFile(toml, 'utf8')) as unknown as { distributions: Array<Record<string, string>> };
    for (const m of [fromJson, fromToml]) {
      expect(m.distributions[0]).to.deep.equal({ ...entries[0], arch: hostArch() });
      expect(m.distributions[1]).to.deep.equal(entries[1]);
    }
  });
});
