/**
 * Issue 13, item 3: the manifest named by BP_PYTHON_DISTRIBUTIONS is read through the archive download's code
 * path (src/download.ts), so it has the same timeouts, retries and backoff, and a size limit of its own
 * (MAX_MANIFEST_BYTES). Loopback servers: a body with no end, one over the limit by its Content-Length, one
 * that stalls mid-body (FileServer's fault injection) and one that never answers; and file: URLs.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEFAULT_DOWNLOAD_OPTIONS, downloadVerified, fetchText, MAX_MANIFEST_BYTES } from '../../src/download.js';
import { BuildpackError } from '../../src/failure.js';
import { Logger } from '../../src/logger.js';
import { messageFor } from '../../src/messages.js';
import { FileServer } from '../helpers/servers.js';

const MiB = 1024 * 1024;

describe('manifest download limits (fetchText)', function () {
  this.timeout(30_000);
  let lines: string[] = [];
  const log = new Logger({ write: (s: string) => lines.push(s) } as unknown as NodeJS.WritableStream, undefined, false, false);
  const opts = { ...DEFAULT_DOWNLOAD_OPTIONS, attempts: 2, backoffMs: 50, timeoutSeconds: 1 };
  const MANIFEST = Buffer.from(JSON.stringify({ distributions: [] }));
  let files: FileServer;
  let raw: http.Server;
  let silent: net.Server;
  let rawOrigin = '';
  let silentOrigin = '';
  const rawRequests: string[] = [];
  const sockets = new Set<net.Socket>();
  const dirs: string[] = [];
  const scratch = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'manifest-fetch-'));
    dirs.push(d);
    return d;
  };

  before(async () => {
    files = await FileServer.start({ files: { '/m.json': MANIFEST, '/big.json': Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20) } });
    raw = http.createServer((req, res) => {
      rawRequests.push(req.url ?? '');
      if (req.url === '/endless.json') {
        res.writeHead(200); // chunked, no length; 64 MiB at most, so that code without a limit fails rather than eats the machine
        const chunk = Buffer.alloc(256 * 1024, 0x20);
        let sent = 0;
        const pump = (): void => {
          while (!res.destroyed && sent < 64 * MiB && res.write(chunk)) sent += chunk.length;
          if (res.destroyed) return;
          if (sent >= 64 * MiB) res.end();
          else res.once('drain', pump);
        };
        pump();
      } else {
        res.writeHead(404).end();
      }
    });
    const track = (s: net.Socket): void => {
      sockets.add(s);
      s.on('error', () => undefined); // the client gives up and resets the connection
    };
    raw.on('connection', track);
    silent = net.createServer(track); // accepts, never answers
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    rawOrigin = `http://127.0.0.1:${(raw.address() as AddressInfo).port}`;
    silentOrigin = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    lines = [];
    rawRequests.length = 0;
    files.clearRequests();
    files.clearFaults();
  });
  after(async () => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
    for (const s of sockets) s.destroy();
    await files.close();
    await new Promise<void>((r) => raw.close(() => r()));
    await new Promise<void>((r) => silent.close(() => r()));
  });

  async function refused(url: string): Promise<{ err: BuildpackError; ms: number }> {
    const t = Date.now();
    const err = await fetchText(url, log, opts).then(() => undefined, (e: unknown) => e);
    expect(err, 'the manifest download should fail').to.be.instanceOf(BuildpackError);
    return { err: err as BuildpackError, ms: Date.now() - t };
  }

  it('has a limit of 1 MiB: a manifest lists archives, a few hundred bytes each', () => {
    expect(MAX_MANIFEST_BYTES).to.equal(MiB);
  });

  it('reads a manifest', async () => {
    expect(await fetchText(files.url('/m.json'), log, opts)).to.equal(MANIFEST.toString());
  });

  it('refuses a body with no end once it passes 1 MiB, without retrying', async () => {
    const r = await refused(`${rawOrigin}/endless.json`);
    expect(r.err.cause).to.include({ type: 'download-too-large', maxBytes: MAX_MANIFEST_BYTES });
    expect(rawRequests).to.deep.equal(['/endless.json']);
    expect(r.ms).to.be.below(5000);
  });

  it('refuses a manifest whose Content-Length is over 1 MiB at once, without retrying', async () => {
    const r = await refused(files.url('/big.json'));
    expect(r.err.cause).to.include({ type: 'download-too-large', maxBytes: MAX_MANIFEST_BYTES });
    expect(files.requestsFor('/big.json')).to.have.length(1);
  });

  it('times out a manifest server that stalls mid-body, on every attempt, logging each retry', async () => {
    files.setFault('/m.json', { kind: 'stall', afterBytes: 5 });
    const r = await refused(files.url('/m.json'));
    expect(r.err.cause).to.include({ type: 'download-stalled', seconds: 1 });
    expect(files.requestsFor('/m.json')).to.have.length(2);
    expect(lines.join('')).to.contain('No data for 1s; retrying in 0.1s (attempt 2 of 2)');
    expect(r.ms).to.be.within(2000, 10_000); // two attempts of 1 s
  });

  it('times out a manifest server that accepts the connection and never answers', async () => {
    const r = await refused(`${silentOrigin}/m.json`);
    expect(r.err.cause).to.include({ type: 'download-stalled', seconds: 1 });
    expect(r.ms).to.be.within(2000, 10_000);
  });

  it('reads file: URLs through the same path: a manifest, and an archive whose sha256 is checked', async () => {
    const dir = scratch();
    const file = path.join(dir, 'm.json');
    fs.writeFileSync(file, MANIFEST);
    expect(await fetchText(pathToFileURL(file).href, log, opts)).to.equal(MANIFEST.toString());
    const copy = path.join(dir, 'copy');
    await downloadVerified(pathToFileURL(file).href, copy, crypto.createHash('sha256').update(MANIFEST).digest('hex'), log, opts);
    expect(fs.readFileSync(copy)).to.deep.equal(MANIFEST);
  });

  it('refuses a file: URL naming a directory or a FIFO at once (a FIFO would block), and one over the limit', async () => {
    const dir = scratch();
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    for (const [target, detail] of [[dir, 'a directory'], [fifo, 'not a regular file']] as const) {
      const r = await refused(pathToFileURL(target).href);
      expect(r.err.cause).to.include({ type: 'download-file-unreadable', file: target, reason: 'not-a-file', detail });
      expect(r.ms).to.be.below(1000);
    }
    const big = path.join(dir, 'big.json');
    fs.writeFileSync(big, Buffer.alloc(MAX_MANIFEST_BYTES + 1, 0x20));
    expect((await refused(pathToFileURL(big).href)).err.cause).to.include({ type: 'download-too-large', maxBytes: MAX_MANIFEST_BYTES });
  });

  it('says which limit was hit, and what to change, when the manifest cannot be read', () => {
    const where = 'https://pythons.example/m.json';
    const stalled = messageFor(new BuildpackError({ type: 'manifest-unreadable', where, reason: { type: 'download-stalled', url: where, seconds: 7 } }));
    expect(stalled.body).to.contain('No data arrived from https://pythons.example/m.json for 7 seconds').and.contain('raise BP_DOWNLOAD_TIMEOUT (now 7 seconds');
    const large = messageFor(new BuildpackError({ type: 'manifest-unreadable', where, reason: { type: 'download-too-large', url: where, maxBytes: MAX_MANIFEST_BYTES } }));
    expect(large.body).to.contain('is larger than the limit of 1 MB').and.contain('A manifest may be at most 1 MB');
  });
});
