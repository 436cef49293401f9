import { expect } from 'chai';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ExtractingSink, extractTarGz, stagingDirFor } from '../../src/archive/extract.js';
import { downloadVerified, DEFAULT_DOWNLOAD_OPTIONS } from '../../src/download.js';
import { BuildpackError } from '../../src/failure.js';
import { messageFor } from '../../src/messages.js';
import { Logger } from '../../src/logger.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'arcs-'));

type Entry = { path: string; type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'Fifo'; body?: string; linkpath?: string; mode?: number };

/** A .tar.gz written by Python's tarfile, which writes hostile names and links exactly as given. */
function archive(entries: Entry[], format: 'gnu' | 'pax' = 'gnu'): string {
  const file = path.join(tmp(), 'a.tar.gz');
  const script = [
    'import io, json, sys, tarfile',
    'kinds = {"File": tarfile.REGTYPE, "Directory": tarfile.DIRTYPE, "SymbolicLink": tarfile.SYMTYPE, "Link": tarfile.LNKTYPE, "Fifo": tarfile.FIFOTYPE}',
    'fmt = tarfile.PAX_FORMAT if sys.argv[2] == "pax" else tarfile.GNU_FORMAT',
    'with tarfile.open(sys.argv[1], "w:gz", format=fmt) as t:',
    '    for e in json.loads(sys.stdin.read()):',
    '        i = tarfile.TarInfo(e["path"]); i.type = kinds[e.get("type", "File")]; body = e.get("body", "").encode()',
    '        i.linkname = e.get("linkpath", ""); i.size = len(body) if i.type == tarfile.REGTYPE else 0; i.mode = e.get("mode", 0o755); i.mtime = 1600000000',
    '        t.addfile(i, io.BytesIO(body) if i.size else None)',
  ].join('\n');
  execFileSync('python3', ['-c', script, file, format], { input: JSON.stringify(entries), env: { PATH: process.env.PATH ?? '' } });
  return file;
}

async function refusal(entries: Entry[]): Promise<{ err: BuildpackError; parent: string }> {
  const parent = tmp();
  const err = await extractTarGz(archive(entries), path.join(parent, 'python')).then(() => undefined, (e: unknown) => e);
  expect(err, 'extraction should fail').to.be.instanceOf(BuildpackError);
  return { err: err as BuildpackError, parent };
}

const DIR = { path: 'python/', type: 'Directory' as const };

describe('archive extraction: links, layout and streaming', () => {
  it('refuses a chain of symlinks that would write outside the layer, and writes nothing there', async () => {
    // python/deep/s -> .. is python itself; python/deep/s/t -> ../.. then lands on python/t pointing above python/.
    const { err, parent } = await refusal([
      DIR,
      { path: 'python/deep/', type: 'Directory' },
      { path: 'python/deep/s', type: 'SymbolicLink', linkpath: '..' },
      { path: 'python/deep/s/t', type: 'SymbolicLink', linkpath: '../..' },
      { path: 'python/deep/s/t/ESCAPED', body: 'pwned' },
    ]);
    expect(err.cause).to.deep.equal({ type: 'archive-unsafe-entry', entry: 'python/deep/s/t', why: 'a path inside the symlink python/deep/s' });
    expect(fs.readdirSync(parent)).to.deep.equal([]);
  });

  it("refuses links that climb out of the top folder, '..' inside a link target, hard links to unknown files and FIFOs", async () => {
    const cases: Array<[Entry[], RegExp]> = [
      [[DIR, { path: 'python/up', type: 'SymbolicLink', linkpath: '..' }], /symlink that points outside/],
      [[DIR, { path: 'python/lib/', type: 'Directory' }, { path: 'python/lib/x', type: 'SymbolicLink', linkpath: '../../python/bin' }], /symlink that points outside/],
      [[DIR, { path: 'python/x', type: 'SymbolicLink', linkpath: 'a/../b' }], /'\.\.' inside its target/],
      [[DIR, { path: 'python/h', type: 'Link', linkpath: 'python/missing' }], /not a file unpacked before it/],
      [[DIR, { path: 'python/fifo', type: 'Fifo' }], /device file or FIFO/],
      [[DIR, { path: 'other/x', body: 'x' }], /single top folder/],
      [[{ path: 'python', body: 'x' }], /single top folder/],
    ];
    for (const [entries, why] of cases) {
      const { err, parent } = await refusal(entries);
      expect(messageFor(err).body, JSON.stringify(entries)).to.match(why);
      expect(fs.readdirSync(parent)).to.deep.equal([]);
    }
  });

  it('unpacks modes, mtimes, inside links, hard links and long pax names', async () => {
    const long = `python/lib/${'d'.repeat(120)}/${'f'.repeat(120)}.py`;
    for (const format of ['gnu', 'pax'] as const) {
      const a = archive([
        DIR,
        { path: 'python/bin/', type: 'Directory' },
        { path: 'python/bin/python3.12', body: '#!/bin/sh\necho hi\n', mode: 0o755 },
        { path: 'python/bin/python3', type: 'SymbolicLink', linkpath: 'python3.12' },
        { path: 'python/lib/', type: 'Directory' },
        { path: 'python/lib/bin', type: 'SymbolicLink', linkpath: '../bin' },
        { path: 'python/lib/data.txt', body: 'data', mode: 0o644 },
        { path: 'python/lib/hard.txt', type: 'Link', linkpath: 'python/lib/data.txt' },
        { path: long, body: 'print(1)\n' },
      ], format);
      const dest = path.join(tmp(), 'python');
      await extractTarGz(a, dest);
      expect(fs.statSync(path.join(dest, 'bin/python3.12')).mode & 0o777).to.equal(0o755);
      expect(fs.statSync(path.join(dest, 'lib/data.txt')).mode & 0o777).to.equal(0o644);
      expect(fs.statSync(path.join(dest, 'lib/data.txt')).mtimeMs).to.equal(1600000000_000);
      expect(fs.readlinkSync(path.join(dest, 'bin/python3'))).to.equal('python3.12');
      expect(fs.readFileSync(path.join(dest, 'lib/bin/python3'), 'utf8')).to.contain('echo hi');
      expect(fs.statSync(path.join(dest, 'lib/hard.txt')).ino).to.equal(fs.statSync(path.join(dest, 'lib/data.txt')).ino);
      expect(fs.readFileSync(path.join(dest, long.slice('python/'.length)), 'utf8')).to.equal('print(1)\n');
      expect(fs.readdirSync(path.dirname(dest))).to.deep.equal(['python']);
    }
  });

  describe('unpacking while downloading', () => {
    let server: http.Server;
    let origin = '';
    const bodies = new Map<string, Buffer>();
    const log = new Logger({ write: () => true } as unknown as NodeJS.WritableStream, undefined, false, false);
    const opts = { ...DEFAULT_DOWNLOAD_OPTIONS, attempts: 1, timeoutSeconds: 5 };
    before(async () => {
      server = http.createServer((req, res) => {
        const body = bodies.get(req.url ?? '');
        if (!body) return void res.writeHead(404).end();
        res.writeHead(200, { 'Content-Length': body.length }).end(body);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => new Promise<void>((r) => server.close(() => r())));

    const sha = (b: Buffer): string => crypto.createHash('sha256').update(b).digest('hex');
    async function install(name: string, body: Buffer, expected: string): Promise<{ err: unknown; dest: string }> {
      bodies.set(`/${name}`, body);
      const dest = path.join(tmp(), 'python');
      const sink = new ExtractingSink(stagingDirFor(dest));
      const err = await downloadVerified(`${origin}/${name}`, sink, expected, log, opts).then(() => sink.commit(dest), (e: unknown) => e);
      return { err, dest };
    }

    it('installs a verified archive, and moves nothing into place when the sha256 differs', async () => {
      const good = fs.readFileSync(archive([DIR, { path: 'python/bin/python', body: 'x' }]));
      const ok = await install('good.tar.gz', good, sha(good));
      expect(ok.err).to.equal(undefined);
      expect(fs.readFileSync(path.join(ok.dest, 'bin/python'), 'utf8')).to.equal('x');

      const bad = await install('good2.tar.gz', good, 'f'.repeat(64));
      expect((bad.err as BuildpackError).cause.type).to.equal('checksum-mismatch');
      expect(fs.readdirSync(path.dirname(bad.dest))).to.deep.equal([]);
    });

    it('reports a checksum mismatch, not the archive problem, when an unexpected file is unsafe or not an archive', async () => {
      const hostile = fs.readFileSync(archive([DIR, { path: 'python/../evil', body: 'x' }]));
      for (const body of [hostile, Buffer.from('<html>not found</html>')]) {
        const r = await install('x.tar.gz', body, 'e'.repeat(64));
        expect((r.err as BuildpackError).cause.type).to.equal('checksum-mismatch');
        expect(fs.readdirSync(path.dirname(r.dest))).to.deep.equal([]);
      }
      // With the checksum its manifest gives, the same hostile file is refused for what it is.
      const r = await install('y.tar.gz', hostile, sha(hostile));
      expect((r.err as BuildpackError).cause.type).to.equal('archive-unsafe-entry');
      expect(fs.readdirSync(path.dirname(r.dest))).to.deep.equal([]);
    });
  });
});
