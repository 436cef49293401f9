/**
 * Issue 8, item 4, end to end: resource limits as a user meets them, through a real build. A decompression bomb
 * named by a distributions manifest (with its true sha256), a server that claims a body over the download
 * limit, and a server that accepts the connection and never answers (BP_DOWNLOAD_TIMEOUT=1). Each build stops
 * with its message, quickly, and leaves no python layer behind. test/unit/archive-limits.test.ts has the rest.
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { E2E, REPO, fixture, plainLog } from './support.js';
import { HOSTILE, hostileBuildEnv } from './hostile-env.js';
import { hostArch } from '../helpers/servers.js';
import { stageMeasuredBuildpack, type MeasuredBuildpack } from '../helpers/peak-memory.js';
import { LocalPlatform, type BuildResult } from '../platform/index.js';
import { ustarHeader as tarHeader } from '../helpers/archives.js';

const MiB = 1024 * 1024;


/** python/ and a 5 GiB file of zeros: 80 gzip members of 64 MiB of zeros, about 5 MB in all. */
function gzipBomb(): Buffer {
  const zeros = zlib.gzipSync(Buffer.alloc(64 * MiB), { level: 9 });
  const parts = [zlib.gzipSync(Buffer.concat([tarHeader('python/', 0, '5'), tarHeader('python/lib/big', 80 * 64 * MiB, '0')]))];
  for (let i = 0; i < 80; i++) parts.push(zeros);
  parts.push(zlib.gzipSync(Buffer.alloc(1024)));
  return Buffer.concat(parts);
}

describe('e2e: resource limits of the Python download', function () {
  this.timeout(300_000);
  let e2e: E2E;
  let env: Record<string, string>;
  let other: http.Server;
  let silent: net.Server;
  const sockets = new Set<net.Socket>();

  before(async () => {
    e2e = await E2E.start();
    env = await e2e.env('3.11');
    other = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Length': String(2 * 1024 * MiB) });
      res.write(Buffer.alloc(1024)); // and then nothing
    });
    const track = (s: net.Socket): void => {
      sockets.add(s);
      s.on('error', () => undefined); // the client gives up and resets the connection
    };
    other.on('connection', track);
    silent = net.createServer(track); // accepts, never answers
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => other.close(() => r()));
    await new Promise<void>((r) => silent.close(() => r()));
    await e2e?.stop();
  });

  /** Builds the Flask app with Python `version` from a one-entry manifest. */
  async function buildWith(version: string, uri: string, sha256: string, extra: Record<string, string> = {}): Promise<{ res: BuildResult; log: string; ms: number }> {
    const name = `/limits-${version}.json`;
    e2e.dists.addFile(name, Buffer.from(JSON.stringify({ distributions: [{ version, uri, sha256, arch: hostArch() }] })));
    const app = await e2e.app('flask-wsgi');
    const t = Date.now();
    const res = await e2e.platform.build(app, { platformEnv: { ...env, BP_PYTHON_DISTRIBUTIONS: e2e.dists.url(name), BP_PYTHON_VERSION: version, ...extra } });
    const ms = Date.now() - t;
    expect(res.success).to.equal(false);
    expect(Object.keys(res.files).filter((f) => f.startsWith('python'))).to.deep.equal([]);
    return { res, log: plainLog(res.buildOutput), ms };
  }

  it('a decompression bomb (5 MB of gzip, a 5 GiB file inside) is refused by the unpacked-size limit', async () => {
    const bomb = gzipBomb();
    e2e.dists.addFile('/python/bomb.tar.gz', bomb);
    const sha = crypto.createHash('sha256').update(bomb).digest('hex');
    const { log, ms } = await buildWith('3.99.1', e2e.dists.url('/python/bomb.tar.gz'), sha);
    expect(log).to.contain('[Error: Archive too large]');
    expect(log).to.contain('The Python archive exceeds the limit on its unpacked size (4096 MB) and was refused.');
    expect(ms).to.be.below(60_000);
  });

  it('a body over the 1 GiB download limit is refused at once, with no retry', async () => {
    const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}/python.tar.gz`;
    const { log } = await buildWith('3.99.2', url, 'a'.repeat(64));
    expect(log).to.contain('[Error: Download too large]');
    expect(log).to.contain('is larger than the limit of 1024 MB and was refused');
    expect(log).to.not.contain('retrying');
  });

  it('a server that never answers times out after BP_DOWNLOAD_TIMEOUT on every attempt', async () => {
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/python.tar.gz`;
    const { log, ms } = await buildWith('3.99.3', url, 'b'.repeat(64), { BP_DOWNLOAD_TIMEOUT: '1' });
    expect(log).to.contain('No response for 1s; retrying');
    expect(log).to.contain('[Error: Download timed out]');
    expect(log).to.contain('for 1 seconds, after several attempts');
    expect(log).to.contain('raise BP_DOWNLOAD_TIMEOUT');
    expect(ms).to.be.below(60_000);
  });
});

/**
 * Issue 13, item 3: the manifest named by BP_PYTHON_DISTRIBUTIONS comes through the same download as the
 * archives, with a size limit of its own (1 MiB) and BP_DOWNLOAD_TIMEOUT between reads. bin/build runs under
 * GNU time here, so each test also checks the peak memory of the process against 1 GiB.
 */
describe('e2e: resource limits of the manifest download', function () {
  this.timeout(300_000);
  /**
   * Where the endless server gives up: 64 times the manifest limit, so a regression fails this test without
   * taking the machine's memory (the code before the limit, fed 512 MiB here, grew to 24 GB and was OOM-killed).
   */
  const ENDLESS_CAP = 64 * MiB;
  let measured: MeasuredBuildpack;
  let platform: LocalPlatform;
  let server: http.Server;
  let origin = '';
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();

  before(async () => {
    measured = stageMeasuredBuildpack(REPO);
    platform = await LocalPlatform.create({ buildpackDir: measured.dir, ...(HOSTILE ? { baseEnv: hostileBuildEnv() } : {}) });
    server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === '/endless.json') {
        res.writeHead(200, { 'Content-Type': 'application/json' }); // chunked, no length
        res.write('{"distributions": [');
        const chunk = Buffer.from(`${JSON.stringify({ version: '3.11.7', uri: 'https://example.invalid/p.tar.gz', sha256: 'a'.repeat(64), arch: hostArch() })},`.repeat(1000));
        let sent = 0;
        const pump = (): void => {
          while (!res.destroyed && sent < ENDLESS_CAP && res.write(chunk)) sent += chunk.length;
          if (res.destroyed) return;
          if (sent >= ENDLESS_CAP) res.end();
          else res.once('drain', pump);
        };
        pump();
      } else if (req.url === '/stalled.json') {
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '4096' });
        res.write('{"distributions": ['); // and then nothing
      } else {
        res.writeHead(404).end();
      }
    });
    server.on('connection', (s) => {
      sockets.add(s);
      s.on('error', () => undefined); // the client gives up and resets the connection
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server?.close(() => r()));
    await platform?.cleanup();
    measured?.remove();
  });

  async function buildWithManifest(manifest: string, extra: Record<string, string> = {}): Promise<{ log: string; ms: number; peakMiB: number; requests: string[] }> {
    requests.length = 0;
    const before = measured.peaksKiB().length;
    const app = await platform.app(fixture('flask-wsgi'));
    const t = Date.now();
    const res = await platform.build(app, { platformEnv: { BP_PYTHON_DISTRIBUTIONS: `${origin}${manifest}`, BP_PYTHON_VERSION: '3.11', ...extra }, timeoutMs: 120_000 });
    const ms = Date.now() - t;
    expect(res.success).to.equal(false);
    expect(res.code, res.output).to.equal(1);
    expect(Object.keys(res.files).filter((f) => f.startsWith('python'))).to.deep.equal([]);
    const peaks = measured.peaksKiB();
    expect(peaks, 'one peak memory figure per build').to.have.length(before + 1);
    const peakMiB = (peaks[peaks.length - 1] ?? 0) / 1024;
    console.log(`      bin/build peak memory: ${peakMiB.toFixed(1)} MiB, build ${ms} ms`);
    return { log: plainLog(res.buildOutput), ms, peakMiB, requests: [...requests] };
  }

  it('an endless manifest is refused at the 1 MiB manifest limit, once, with bin/build under 1 GiB', async () => {
    const r = await buildWithManifest('/endless.json');
    expect(r.log).to.contain('[Error: Python distributions manifest unreadable]');
    expect(r.log).to.contain(`${origin}/endless.json is larger than the limit of 1 MB and was refused`);
    expect(r.log).to.contain('A manifest may be at most 1 MB');
    expect(r.log).to.not.contain('retrying');
    expect(r.requests).to.deep.equal(['/endless.json']);
    expect(r.peakMiB).to.be.below(1024);
    expect(r.ms).to.be.below(30_000);
  });

  it('a manifest server that stalls mid-body times out after BP_DOWNLOAD_TIMEOUT on each of 4 attempts, with bin/build under 1 GiB', async () => {
    const r = await buildWithManifest('/stalled.json', { BP_DOWNLOAD_TIMEOUT: '1' });
    expect(r.log).to.contain('No data for 1s; retrying in 0.5s (attempt 2 of 4)');
    expect(r.log).to.contain('No data for 1s; retrying in 2.0s (attempt 4 of 4)');
    expect(r.log).to.contain('[Error: Python distributions manifest unreadable]');
    expect(r.log).to.contain(`No data arrived from ${origin}/stalled.json for 1 seconds, after several attempts`);
    expect(r.log).to.contain('raise BP_DOWNLOAD_TIMEOUT (now 1 seconds; at most 600)');
    expect(r.requests).to.deep.equal(Array(4).fill('/stalled.json'));
    expect(r.peakMiB).to.be.below(1024);
    // 4 attempts of 1 s and backoffs of 0.5, 1 and 2 s
    expect(r.ms).to.be.within(7_000, 40_000);
  });
});
