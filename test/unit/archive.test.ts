import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeTarGz, type TarEntry } from '../helpers/archives.js';
import { extractTarGz } from '../../src/archive/extract.js';
import { unsafeEntry } from '../../src/archive/limits.js';
import { BuildpackError } from '../../src/failure.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'arc-'));
const archive = async (entries: TarEntry[]): Promise<string> => writeTarGz(path.join(tmp(), 'a.tar.gz'), entries);


describe('archive extraction', () => {
  it('classifies escaping entries', () => {
    expect(unsafeEntry('python/bin/python3', 'File', undefined)).to.equal(undefined);
    expect(unsafeEntry('python/bin/python', 'SymbolicLink', 'python3.12')).to.equal(undefined);
    expect(unsafeEntry('python/lib/x', 'SymbolicLink', '../bin')).to.equal(undefined);
    // Out of the top folder and back in by its name: the layer is not named after the archive's top folder.
    expect(unsafeEntry('python/lib/x', 'SymbolicLink', '../../python/bin')).to.match(/outside/);
    expect(unsafeEntry('/etc/passwd', 'File', undefined)).to.match(/absolute/);
    expect(unsafeEntry('python/../../x', 'File', undefined)).to.match(/leaves/);
    expect(unsafeEntry('python/link', 'SymbolicLink', '/etc')).to.match(/absolute/);
    expect(unsafeEntry('python/link', 'SymbolicLink', '../../etc')).to.match(/outside/);
    expect(unsafeEntry('python/hard', 'Link', '../x')).to.match(/outside/);
  });

  it('unpacks the single top folder into place', async () => {
    const a = await archive([{ path: 'python/', type: 'Directory' }, { path: 'python/bin/', type: 'Directory' }, { path: 'python/bin/python3.12', body: '#!/bin/sh\n' }, { path: 'python/bin/python3', type: 'SymbolicLink', linkpath: 'python3.12' }]);
    const dest = path.join(tmp(), 'python');
    await extractTarGz(a, dest);
    expect(fs.readlinkSync(path.join(dest, 'bin', 'python3'))).to.equal('python3.12');
    expect(fs.readdirSync(path.dirname(dest))).to.deep.equal(['python']);
  });

  for (const [name, entries] of [
    ['a ../ path', [{ path: 'python/', type: 'Directory' as const }, { path: 'python/../../evil', body: 'x' }]],
    ['an absolute path', [{ path: '/tmp/evil-abs', body: 'x' }]],
    ['a symlink pointing out', [{ path: 'python/', type: 'Directory' as const }, { path: 'python/etc', type: 'SymbolicLink' as const, linkpath: '../../../etc' }]],
    ['an absolute symlink', [{ path: 'python/', type: 'Directory' as const }, { path: 'python/etc', type: 'SymbolicLink' as const, linkpath: '/etc' }]],
  ] as const) {
    it(`refuses ${name} and leaves nothing behind`, async () => {
      const a = await archive([...entries]);
      const parent = tmp();
      const dest = path.join(parent, 'python');
      const err = await extractTarGz(a, dest).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(BuildpackError);
      expect((err as BuildpackError).cause.type).to.equal('archive-unsafe-entry');
      expect(fs.readdirSync(parent)).to.deep.equal([]);
      expect(fs.existsSync('/tmp/evil-abs')).to.equal(false);
    });
  }

  it('refuses archives past the size limit and truncated archives', async () => {
    const a = await archive([{ path: 'python/', type: 'Directory' }, { path: 'python/big', body: 'x'.repeat(5000) }]);
    const err = await extractTarGz(a, path.join(tmp(), 'p'), { maxUnpackedBytes: 1000, maxEntries: 100 }).then(() => undefined, (e: unknown) => e);
    expect((err as BuildpackError).cause).to.deep.equal({ type: 'archive-too-large', limit: { kind: 'unpacked-size', bytes: 1000 } });
    const full = fs.readFileSync(a);
    const cut = path.join(tmp(), 'cut.tar.gz');
    fs.writeFileSync(cut, full.subarray(0, Math.floor(full.length / 2)));
    const parent = tmp();
    const err2 = await extractTarGz(cut, path.join(parent, 'p')).then(() => undefined, (e: unknown) => e);
    expect(err2).to.be.instanceOf(BuildpackError);
    expect(fs.readdirSync(parent)).to.deep.equal([]);
  });
});
