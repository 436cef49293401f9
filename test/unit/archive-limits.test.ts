/**
 * Issue 8, item 4: resource limits of the Python download and its extraction, with real decompression bombs
 * (a few MB of gzip that expand to gigabytes) at the product's limits, and small limits where the bomb would
 * otherwise have to be gigabytes. Stalled servers time out with the download's own messages.
 */
import { expect } from 'chai';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { ExtractingSink, extractTarGz, stagingDirFor } from '../../src/archive/extract.js';
import { DEFAULT_EXTRACT_LIMITS, streamBudget } from '../../src/archive/limits.js';
import { DEFAULT_DOWNLOAD_OPTIONS, downloadVerified } from '../../src/download.js';
import { BuildpackError } from '../../src/failure.js';
import { messageFor } from '../../src/messages.js';
import { Logger } from '../../src/logger.js';
import { ustarHeader as tarHeader } from '../helpers/archives.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'limits-'));
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;


/** gzip of 64 MiB of zeros, computed once: members are concatenated to make gigabytes from kilobytes. */
let zeros64: Buffer | undefined;
const zeroMember = (): Buffer => (zeros64 ??= zlib.gzipSync(Buffer.alloc(64 * MiB), { level: 9 }));

/** Writes a multi-member .tar.gz: each part is raw tar bytes, or a count of 64 MiB blocks of zeros. */
function writeGz(parts: Array<Buffer | { zeros64MiB: number }>): string {
  const file = path.join(tmp(), 'bomb.tar.gz');
  const fd = fs.openSync(file, 'w');
  for (const p of parts) {
    if (Buffer.isBuffer(p)) fs.writeSync(fd, zlib.gzipSync(p));
    else for (let i = 0; i < p.zeros64MiB; i++) fs.writeSync(fd, zeroMember());
  }
  fs.closeSync(fd);
  return file;
}

const EOF_BLOCKS = Buffer.alloc(1024);
const pythonDir = (): Buffer => tarHeader('python/', 0, '5');

async function extract(file: string, limits = DEFAULT_EXTRACT_LIMITS): Promise<{ err: unknown; parent: string; dest: string; ms: number }> {
  const parent = tmp();
  const dest = path.join(parent, 'python');
  const t = Date.now();
  const err = await extractTarGz(file, dest, limits).then(() => undefined, (e: unknown) => e);
  return { err, parent, dest, ms: Date.now() - t };
}


describe('resource limits: decompression bombs', function () {
  this.timeout(120_000);

  it('refuses a 5 GiB file of zeros (5 MB of gzip) at the product limit, from its header, writing nothing', async () => {
    const file = writeGz([Buffer.concat([pythonDir(), tarHeader('python/big', 5 * GiB, '0')]), { zeros64MiB: 80 }, EOF_BLOCKS]);
    expect(fs.statSync(file).size).to.be.below(8 * MiB);
    const r = await extract(file);
    expect(r.err).to.be.instanceOf(BuildpackError);
    expect((r.err as BuildpackError).cause).to.deep.equal({ type: 'archive-too-large', limit: { kind: 'unpacked-size', bytes: 4 * GiB } });
    expect(fs.readdirSync(r.parent)).to.deep.equal([]);
    expect(r.ms).to.be.below(10_000); // refused at the header: the 5 GiB are never inflated to disk
  });

  it('never decompresses what follows the end of the archive: 16 GiB of zeros after it cost nothing', async () => {
    const archive = Buffer.concat([pythonDir(), tarHeader('python/bin/', 0, '5'), tarHeader('python/bin/python', 1, '0'), Buffer.from('x'), Buffer.alloc(511), EOF_BLOCKS]);
    const file = writeGz([archive, { zeros64MiB: 256 }]);
    expect(fs.statSync(file).size).to.be.below(24 * MiB);
    const r = await extract(file);
    expect(r.err).to.equal(undefined);
    expect(fs.readFileSync(path.join(r.dest, 'bin', 'python'), 'utf8')).to.equal('x');
    expect(r.ms).to.be.below(5000); // inflating 16 GiB takes tens of seconds
  });

  it('refuses metadata that inflates without bound (pax headers are not files, but count against the stream budget)', async () => {
    const file = path.join(tmp(), 'pax.tar.gz');
    const script = [
      'import io, sys, tarfile',
      'with tarfile.open(sys.argv[1], "w:gz", format=tarfile.PAX_FORMAT) as t:',
      '    d = tarfile.TarInfo("python"); d.type = tarfile.DIRTYPE; t.addfile(d)',
      '    for i in range(20):',
      '        f = tarfile.TarInfo(f"python/f{i}"); f.pax_headers = {"comment": "a" * 1000000}; t.addfile(f)',
    ].join('\n');
    execFileSync('python3', ['-c', script, file], { env: { PATH: process.env.PATH ?? '' } });
    const limits = { maxUnpackedBytes: MiB, maxEntries: 100 };
    expect(streamBudget(limits)).to.be.below(4 * MiB);

    const r = await extract(file, limits);
    expect((r.err as BuildpackError).cause).to.deep.equal({ type: 'archive-too-large', limit: { kind: 'unpacked-size', bytes: MiB } });
    expect(fs.readdirSync(r.parent)).to.deep.equal([]);
    // the same archive is fine within the product's limits
    expect((await extract(file)).err).to.equal(undefined);
  });

  it('refuses too many entries and too many bytes across files (small limits)', async () => {
    const files = Array.from({ length: 30 }, (_, i) => tarHeader(`python/e${i}`, 0, '0'));
    const many = await extract(writeGz([Buffer.concat([pythonDir(), ...files, EOF_BLOCKS])]), { maxUnpackedBytes: GiB, maxEntries: 20 });
    expect((many.err as BuildpackError).cause).to.deep.equal({ type: 'archive-too-large', limit: { kind: 'entries', count: 20 } });
    // two 1 MiB files with a 1.5 MiB limit: the second header is refused, before its data
    const mib = (n: string): Buffer[] => [tarHeader(n, MiB, '0'), Buffer.alloc(MiB)];
    const big = await extract(writeGz([Buffer.concat([pythonDir(), ...mib('python/a'), ...mib('python/b'), EOF_BLOCKS])]), { maxUnpackedBytes: 1.5 * MiB, maxEntries: 100 });
    expect((big.err as BuildpackError).cause).to.deep.equal({ type: 'archive-too-large', limit: { kind: 'unpacked-size', bytes: 1.5 * MiB } });
    expect(fs.readdirSync(big.parent)).to.deep.equal([]);
  });
});

describe('resource limits: downloads', function () {
  this.timeout(60_000);
  const log = new Logger({ write: () => true } as unknown as NodeJS.WritableStream, undefined, false, false);
  const opts = { ...DEFAULT_DOWNLOAD_OPTIONS, attempts: 2, backoffMs: 50, timeoutSeconds: 1 };
  let server: http.Server;
  let silent: net.Server;
  let origin = '';
  let silentOrigin = '';
  const requests: string[] = [];
  const sockets = new Set<net.Socket>();

  before(async () => {
    server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      if (req.url === '/claims-2gib') {
        res.writeHead(200, { 'Content-Length': String(2 * GiB) });
        res.write(Buffer.alloc(1024)); // and then nothing
      } else if (req.url === '/endless') {
        res.writeHead(200); // chunked, no length
        const chunk = Buffer.alloc(256 * 1024, 1);
        const pump = (): void => {
          while (!res.destroyed && res.write(chunk));
          if (!res.destroyed) res.once('drain', pump);
        };
        pump();
      } else if (req.url === '/stall') {
        res.writeHead(200, { 'Content-Length': '100000' });
        res.write(Buffer.alloc(1000)); // and then nothing
      } else {
        res.writeHead(404).end();
      }
    });
    const track = (s: net.Socket): void => {
      sockets.add(s);
      s.on('error', () => undefined); // the client gives up and resets the connection
    };
    server.on('connection', track);
    silent = net.createServer(track); // accepts, never answers
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    silentOrigin = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
    await new Promise<void>((r) => silent.close(() => r()));
  });

  async function download(url: string, o = opts): Promise<{ err: BuildpackError; ms: number; parent: string }> {
    const parent = tmp();
    const sink = new ExtractingSink(stagingDirFor(path.join(parent, 'python')));
    const t = Date.now();
    const err = await downloadVerified(url, sink, crypto.randomBytes(32).toString('hex'), log, o).then(() => undefined, (e: unknown) => e);
    expect(err, 'the download should fail').to.be.instanceOf(BuildpackError);
    return { err: err as BuildpackError, ms: Date.now() - t, parent };
  }

  it('refuses a body whose Content-Length is over the limit at once, without retrying', async () => {
    requests.length = 0;
    const r = await download(`${origin}/claims-2gib`);
    expect(r.err.cause).to.include({ type: 'download-too-large', maxBytes: GiB });
    expect(requests).to.deep.equal(['/claims-2gib']);
    expect(fs.readdirSync(r.parent)).to.deep.equal([]);
  });

  it('refuses an endless body once it passes the limit (4 MiB here)', async () => {
    const r = await download(`${origin}/endless`, { ...opts, maxBytes: 4 * MiB });
    expect(r.err.cause).to.include({ type: 'download-too-large', maxBytes: 4 * MiB });
    expect(fs.readdirSync(r.parent)).to.deep.equal([]);
  });

  it('times out a server that stops sending, after each attempt, with the timeout in the message', async () => {
    const r = await download(`${origin}/stall`);
    expect(r.err.cause).to.include({ type: 'download-stalled', seconds: 1 });
    expect(messageFor(r.err).body).to.contain('No data arrived from').and.contain('for 1 seconds, after several attempts').and.contain('raise BP_DOWNLOAD_TIMEOUT');
    expect(r.ms).to.be.within(2000, 10_000); // two attempts of 1 s
  });

  it('times out a server that accepts the connection and never answers', async () => {
    const r = await download(`${silentOrigin}/python.tar.gz`);
    expect(r.err.cause).to.include({ type: 'download-stalled', seconds: 1 });
    expect(r.ms).to.be.within(2000, 10_000);
  });
});
