/** Issue 13, item 7: an unpacked Python layer must have bin/python; else the cause names what the archive lacks. */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { checkInterpreter } from '../../src/layers/python.js';
import { rejectedCause } from '../fakes/thrown.js';

const made: string[] = [];

function layer(files: Record<string, string | { link: string }>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'python-layer-'));
  made.push(dir);
  for (const [rel, content] of Object.entries(files)) {
    const p = path.join(dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (typeof content === 'string') fs.writeFileSync(p, content, { mode: 0o755 });
    else fs.symlinkSync(content.link, p);
  }
  return dir;
}

describe('python layer: the interpreter check', () => {
  after(() => {
    for (const d of made) fs.rmSync(d, { recursive: true, force: true });
  });

  it('passes with bin/python, a file or a link to the versioned interpreter', async () => {
    await checkInterpreter(layer({ 'bin/python': '#!/bin/sh\n' }), '3.11.9');
    await checkInterpreter(layer({ 'bin/python3.11': '#!/bin/sh\n', 'bin/python': { link: 'python3.11' } }), '3.11.9');
  });

  it('names bin/python, the bin/pythonX.Y it is made from, what bin/ holds and whether lib/pythonX.Y exists', async () => {
    expect(await rejectedCause(checkInterpreter(layer({ 'bin/pip3.11': '', 'lib/python3.11/os.py': '' }), '3.11.9'))).to.deep.equal({
      type: 'archive-no-interpreter', version: '3.11.9', versioned: 'bin/python3.11', binEntries: ['pip3.11'], libDir: 'lib/python3.11', hasLibDir: true,
    });
    // an archive of another version than its manifest entry says
    expect(await rejectedCause(checkInterpreter(layer({ 'bin/python3.10': '', 'lib/python3.10/os.py': '' }), '2.7.18'))).to.deep.equal({
      type: 'archive-no-interpreter', version: '2.7.18', versioned: 'bin/python2.7', binEntries: ['python3.10'], libDir: 'lib/python2.7', hasLibDir: false,
    });
    expect(await rejectedCause(checkInterpreter(layer({ 'include/x.h': '' }), '3.12.1'))).to.include({ hasLibDir: false }).and.deep.include({ binEntries: [] });
  });

  it('counts a bin/python link to nothing as missing', async () => {
    expect(await rejectedCause(checkInterpreter(layer({ 'bin/python': { link: 'python3.11' } }), '3.11.9'))).to.deep.include({ binEntries: ['python'], hasLibDir: false });
  });
});
