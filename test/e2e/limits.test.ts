/**
 * Issue 8, item 4, end to end: resource limits as a user meets them, through a real build. A decompression bomb
 * named by a distributions manifest (with its true sha256), a server that claims a body over the download
 * limit, and a server that accepts the connection and never answers (BP_DOWNLOAD_TIMEOUT=1). Each build stops
 * with its message, quickly, and leaves no python layer behind. test/unit/archive-limits.test.ts has the rest.
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { E2E, plainLog } from './support.js';
import { hostArch } from '../helpers/servers.js';
import type { BuildResult } from '../platform/index.js';
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
    other = http.createServer((req, res) => {
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
