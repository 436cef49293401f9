/**
 * Requirement files are read before pip runs, and what would end in pip's bare `ERROR: Exception:` is a user
 * error naming the file and the line: an include cycle, a byte pip cannot decode, an include that is a folder
 * or cannot be read. Files pip accepts (byte order marks, PEP 263 coding lines) are accepted.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectRequirementInputs, numberedLines } from '../../src/python/requirements.js';
import { firstInvalidUtf8 } from '../../src/cnb/env-value.js';
import { decodeRequirementBytes } from '../../src/python/requirement-encoding.js';
import { renderCause } from '../../src/messages.js';
import { thrownCause } from '../fakes/thrown.js';

function appWith(files: Record<string, string | Buffer>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'req-checks-'));
  fs.chmodSync(dir, 0o755);
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

/** Runs `fn` as nobody when the tests run as root, who is not refused by file modes (a build does not run as root). */
function asNobody<T>(fn: () => T): T {
  const asRoot = process.getuid?.() === 0;
  if (asRoot) process.seteuid?.(65534);
  try {
    return fn();
  } finally {
    if (asRoot) process.seteuid?.(0);
  }
}

const collect = (app: string, roots = ['requirements.txt']): string[] => collectRequirementInputs(app, roots).files;

describe('requirement files: include cycles', () => {
  it('a file that includes itself names the file and the line', () => {
    const app = appWith({ 'requirements.txt': 'flask\n\n-r requirements.txt\n' });
    expect(thrownCause(() => collect(app))).to.deep.equal({ type: 'requirement-include-cycle', files: ['requirements.txt', 'requirements.txt'], line: 3, text: '-r requirements.txt' });
  });

  it('a cycle of two names both files in order and the line that closes it', () => {
    const app = appWith({ 'a.txt': '-r b.txt\n', 'b.txt': 'six\n# loop back\n--requirement=./a.txt\n' });
    expect(thrownCause(() => collect(app, ['a.txt']))).to.deep.equal({ type: 'requirement-include-cycle', files: ['a.txt', 'b.txt', 'a.txt'], line: 3, text: '--requirement=./a.txt' });
  });

  it('follows -c, subfolders (relative to the including file), continuation lines and symbolic links', () => {
    const app = appWith({ 'requirements.txt': 'six\n-r reqs/base.txt\n', 'reqs/base.txt': 'flask \\\n  >=3\n-c \\\n  ../requirements.txt\n' });
    expect(thrownCause(() => collect(app))).to.deep.include({ files: ['requirements.txt', 'reqs/base.txt', 'requirements.txt'], line: 3 });
    const linked = appWith({ 'requirements.txt': '-r alias.txt\n' });
    fs.symlinkSync('requirements.txt', path.join(linked, 'alias.txt'));
    expect(thrownCause(() => collect(linked))).to.deep.include({ type: 'requirement-include-cycle', files: ['requirements.txt', 'alias.txt'] });
  });

  it('a file included twice without a loop, or named twice, is not a cycle', () => {
    const app = appWith({ 'requirements.txt': '-r a.txt\n-r b.txt\n', 'a.txt': '-r common.txt\n', 'b.txt': '-c common.txt\n', 'common.txt': 'six\n' });
    expect(collect(app)).to.deep.equal(['requirements.txt', 'a.txt', 'common.txt', 'b.txt']);
    expect(collect(app, ['a.txt', 'a.txt'])).to.deep.equal(['a.txt', 'common.txt']);
  });

  it('says "includes itself" for one file and "include each other" for a loop', () => {
    expect(renderCause({ type: 'requirement-include-cycle', files: ['r.txt', 'r.txt'], line: 2, text: '-r r.txt' }).title).to.equal('Requirements file includes itself');
    const loop = renderCause({ type: 'requirement-include-cycle', files: ['a.txt', 'b.txt', 'a.txt'], line: 3, text: '-r a.txt' });
    expect(loop.title).to.equal('Requirement files include each other');
    expect(loop.body).to.contain('a.txt → b.txt → a.txt; b.txt includes a.txt on line 3');
  });
});

describe('requirement files: encoding', () => {
  it('a latin-1 byte in a UTF-8 file names the file, the line and the byte', () => {
    const app = appWith({ 'requirements.txt': '-r base.txt\n', 'base.txt': Buffer.from('six\nflask  # caf\xe9\n', 'latin1') });
    expect(thrownCause(() => collect(app))).to.deep.equal({ type: 'requirement-file-not-decodable', file: 'base.txt', line: 2, byte: 0xe9, declared: undefined });
  });

  it('accepts what pip accepts: UTF-8, byte order marks (the mark is not part of the first line), PEP 263 coding lines', () => {
    const base = { 'base.txt': 'six\n' };
    const bom8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('-r base.txt\n')]);
    expect(collect(appWith({ ...base, 'requirements.txt': bom8 }))).to.deep.equal(['requirements.txt', 'base.txt']);
    const bom16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('-r base.txt\n', 'utf16le')]);
    expect(collect(appWith({ ...base, 'requirements.txt': bom16 }))).to.deep.equal(['requirements.txt', 'base.txt']);
    const latin = Buffer.from('# -*- coding: latin-1 -*-\n# caf\xe9\n-r base.txt\n', 'latin1');
    expect(collect(appWith({ ...base, 'requirements.txt': latin }))).to.deep.equal(['requirements.txt', 'base.txt']);
    expect(collect(appWith({ ...base, 'requirements.txt': '# caf\u00e9 \u2603 \u{1F600}\n-r base.txt\n' }))).to.deep.equal(['requirements.txt', 'base.txt']);
  });

  it('a byte the declared encoding does not have names that encoding', () => {
    const app = appWith({ 'requirements.txt': Buffer.from('# coding: ascii\nsix\n# caf\xe9\n', 'latin1') });
    expect(thrownCause(() => collect(app))).to.deep.equal({ type: 'requirement-file-not-decodable', file: 'requirements.txt', line: 3, byte: 0xe9, declared: { name: 'ascii', by: 'coding-line' } });
    const m = renderCause({ type: 'requirement-file-not-decodable', file: 'r.txt', line: 3, byte: 0xe9, declared: { name: 'ascii', by: 'coding-line' } });
    expect(m.title).to.equal('Requirements file does not match its encoding');
    expect(m.body).to.contain('the byte 0xE9 on line 3 is not valid ascii');
  });

  it('reports the first byte of a bad sequence, as Python does (overlong forms, surrogates, truncation)', () => {
    expect(decodeRequirementBytes(Buffer.from([0x61, 0x0a, 0xc0, 0xaf]))).to.deep.include({ ok: false, offset: 2, line: 2, byte: 0xc0 });
    expect(decodeRequirementBytes(Buffer.from([0x61, 0xed, 0xa0, 0x80]))).to.deep.include({ ok: false, offset: 1, byte: 0xed });
    expect(decodeRequirementBytes(Buffer.from([0x61, 0x62, 0xe2, 0x82]))).to.deep.include({ ok: false, offset: 2, byte: 0xe2 });
    expect(decodeRequirementBytes(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).to.deep.include({ ok: false, offset: 0 });
  });

  it('finds an invalid UTF-8 byte exactly when a strict decoder fails', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    // Valid characters of every length, mixed with random bytes and cut anywhere.
    const chunk = fc.oneof(fc.uint8Array({ maxLength: 3 }), fc.string({ unit: 'binary', maxLength: 3 }).map((s) => new Uint8Array(Buffer.from(s))));
    const input = fc.tuple(fc.array(chunk, { maxLength: 8 }), fc.nat()).map(([parts, cut]) => {
      const all = Buffer.concat(parts);
      return new Uint8Array(all.subarray(0, all.length - (cut % 2 === 0 ? 0 : cut % 3)));
    });
    fc.assert(fc.property(input, (bytes) => {
      let valid = true;
      try {
        strict.decode(bytes);
      } catch {
        valid = false;
      }
      expect(firstInvalidUtf8(bytes) < 0, Buffer.from(bytes).toString('hex')).to.equal(valid);
    }), { numRuns: 3000 });
  });

  it('numbers logical lines as pip does: a continued line by its first line', () => {
    expect(numberedLines('a \\\n b\n\n# c\r\nd # e\n')).to.deep.equal([{ line: 1, text: 'a  b' }, { line: 5, text: 'd' }]);
  });
});

describe('requirement files: includes that cannot be read', () => {
  it('an include that is a folder says so', () => {
    const app = appWith({ 'requirements.txt': 'six\n-r reqs\n', 'reqs/base.txt': 'flask\n' });
    expect(thrownCause(() => collect(app))).to.deep.equal({ type: 'unreadable-requirement-file', file: 'reqs', from: 'requirements.txt', line: 2, problem: 'folder', detail: 'EISDIR' });
    const m = renderCause({ type: 'unreadable-requirement-file', file: 'reqs', from: 'requirements.txt', line: 2, problem: 'folder', detail: 'EISDIR' });
    expect(m.title).to.equal('Requirements file is a folder');
    expect(m.body).to.contain('-r reqs/base.txt');
  });

  it('requirements.txt itself as a folder says so', () => {
    const app = appWith({ 'requirements.txt/x': '' });
    expect(thrownCause(() => collect(app))).to.deep.include({ file: 'requirements.txt', from: undefined, problem: 'folder' });
  });

  it('an include without read permission says permission denied, not "not found"', () => {
    const app = appWith({ 'requirements.txt': '-r secret.txt\n', 'secret.txt': 'six\n' });
    fs.chmodSync(path.join(app, 'secret.txt'), 0o000);
    const cause = asNobody(() => thrownCause(() => collect(app)));
    expect(cause).to.deep.equal({ type: 'unreadable-requirement-file', file: 'secret.txt', from: 'requirements.txt', line: 1, problem: 'permission-denied', detail: 'EACCES' });
    expect(renderCause(cause).body).to.contain('chmod a+r secret.txt');
  });

  it('a missing include is still "not found"', () => {
    const app = appWith({ 'requirements.txt': '-r missing.txt\n' });
    expect(thrownCause(() => collect(app))).to.deep.equal({ type: 'missing-requirement-file', file: 'missing.txt', from: 'requirements.txt' });
  });
});
