/**
 * Issue 13 (items 1, 10a, 10b), end to end through the local platform: a local wheel replaced under the same
 * name reinstalls (named by path, or found in a find-links folder), and requirement files that would end in
 * pip's bare `ERROR: Exception:` (an include cycle, a byte that is not UTF-8) or in a wrong "not found" (an
 * include that is a folder or cannot be read) stop the build before pip runs, with the file and the line.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { E2E, plainLog } from './support.js';
import { buildWheel } from '../helpers/servers.js';
import type { AppFiles, BuildResult } from '../platform/index.js';
import type { Cause } from '../../src/causes.js';
import { renderCause } from '../../src/messages.js';

const errorLine = (c: Cause): string => `[Error: ${renderCause(c).title}]`;
const NOT_RUN = 'Using cached dependencies: requirements, Python and pip settings are unchanged (pip was not run)';
const WHEEL = 'local_greeter-1.0-py2.py3-none-any.whl';

/** A web app that answers with the message of the local_greeter package it imports. */
const APP_PY = `import os
from http.server import BaseHTTPRequestHandler, HTTPServer
import local_greeter


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        body = local_greeter.MESSAGE.encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


HTTPServer(('0.0.0.0', int(os.environ['PORT'])), Handler).serve_forever()
`;

describe('e2e: local inputs of the pip-deps layer', function () {
  this.timeout(900_000);
  let e2e: E2E;
  let tmp: string;
  before(async () => {
    e2e = await E2E.start();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'local-inputs-'));
  });
  after(async () => {
    await e2e?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  /** local-greeter 1.0 whose module says `message`: same file name whatever the message. */
  async function greeterWheel(message: string): Promise<Buffer> {
    const w = await buildWheel({ name: 'local-greeter', version: '1.0', outDir: fs.mkdtempSync(path.join(tmp, 'w-')), modules: { 'local_greeter.py': `MESSAGE = '${message}'\n` } });
    expect(w.filename).to.equal(WHEEL);
    return fs.readFileSync(w.path);
  }

  async function served(res: BuildResult): Promise<string> {
    const s = await e2e.serve(res);
    await s.proc.stop('SIGKILL', 5000);
    expect(s.status).to.equal(200);
    return s.body;
  }

  for (const [form, requirements, reason] of [
    ['named by its path', `./wheels/${WHEEL}\n`, `- The local wheel wheels/${WHEEL} has changed`],
    ['found in a --find-links folder', '--find-links ./wheels\nlocal-greeter==1.0\n', '- The find-links folder wheels (its files) has changed'],
  ] as const) {
    it(`a local wheel ${form}, replaced under the same name: the rebuild says so, reinstalls, and the app serves the new code`, async () => {
      const env = await e2e.env();
      const app = await e2e.app({ 'requirements.txt': requirements, 'app.py': APP_PY, [`wheels/${WHEEL}`]: await greeterWheel('first wheel') });
      const first = await e2e.platform.buildOk(app, { platformEnv: env });
      expect(plainLog(first.output)).to.match(/Successfully installed local-greeter-1\.0/);
      expect(await served(first)).to.equal('first wheel');

      const same = await e2e.platform.buildOk(app, { platformEnv: env });
      expect(plainLog(same.output), 'unchanged wheel: reused').to.contain(NOT_RUN);

      await app.writeFile(`wheels/${WHEEL}`, await greeterWheel('second wheel'));
      const second = await e2e.platform.buildOk(app, { platformEnv: env });
      const log = plainLog(second.output);
      expect(log).to.contain(`Discarding cached dependencies since:\n  ${reason}`);
      expect(log).not.to.contain('The requirements (or the files they include) have changed');
      expect(log).to.match(/Successfully installed local-greeter-1\.0/);
      expect(await served(second)).to.equal('second wheel');
    });
  }

  it('a UTF-8 requirements file with non-ASCII text installs on Python 3.6 too (pip there reads the locale\'s encoding)', async () => {
    const overlay = fs.mkdtempSync(path.join(tmp, 'overlay-'));
    await buildWheel({ name: 'tiny-greeter', version: '1.0', outDir: overlay });
    e2e.index.addOverlayDir(overlay);
    const app = await e2e.app({ 'requirements.txt': '# Grüße, café ☕\ntiny-greeter==1.0  # für die Begrüßung\n', 'app.py': 'print("hi")\n' });
    const res = await e2e.platform.buildOk(app, { platformEnv: await e2e.env('3.6') });
    expect(plainLog(res.output)).to.match(/Successfully installed tiny-greeter-1\.0/);
  });

  describe('requirement files pip could not read', () => {
    async function failing(files: AppFiles): Promise<string> {
      const res = await e2e.platform.build(await e2e.app({ 'app.py': 'print("never run")\n', ...files }), { platformEnv: await e2e.env() });
      const log = plainLog(res.output);
      expect(res.success, log).to.equal(false);
      expect(res.lifecycleExitCode).to.equal(51);
      expect(log, 'stopped before pip').not.to.contain("Running 'python -m pip");
      expect(log, "no pip traceback").not.to.match(/^\s*ERROR: Exception:$/m);
      expect(res.files).not.to.have.property('pip-deps.toml');
      return log;
    }

    it('two requirement files that include each other: the files in the loop and the line', async () => {
      const log = await failing({ 'requirements.txt': 'six\n-r base.txt\n', 'base.txt': 'blinker\n\n-r requirements.txt\n' });
      expect(log).to.contain(errorLine({ type: 'requirement-include-cycle', files: ['a', 'b', 'a'], line: 0, text: '' }));
      expect(log).to.contain("requirements.txt → base.txt → requirements.txt; base.txt includes requirements.txt on line 3 ('-r requirements.txt')");
    });

    it('a requirements file that includes itself', async () => {
      const log = await failing({ 'requirements.txt': 'six\n-r ./requirements.txt\n' });
      expect(log).to.contain(errorLine({ type: 'requirement-include-cycle', files: ['a', 'a'], line: 0, text: '' }));
      expect(log).to.contain("requirements.txt includes itself on line 2 ('-r ./requirements.txt')");
    });

    it('a requirements file that is not UTF-8: the file, the line and the byte', async () => {
      const log = await failing({ 'requirements.txt': Buffer.from('six\n# caf\xe9 au lait\nblinker\n', 'latin1') });
      expect(log).to.contain(errorLine({ type: 'requirement-file-not-decodable', file: '', line: 0, byte: 0, declared: undefined }));
      expect(log).to.contain('requirements.txt has the byte 0xE9 on line 2, which is not valid UTF-8');
      expect(log).to.contain('# -*- coding: latin-1 -*-');
    });

    it('an include the build user cannot read says permission denied and what to do, not "not found"', async () => {
      const log = await failing({ 'requirements.txt': 'six\n-r secret.txt\n', 'secret.txt': { content: 'blinker\n', mode: 0o000 } });
      expect(log).to.contain("requirements.txt includes 'secret.txt' on line 2, but the build cannot read it: permission denied");
      expect(log).to.contain(errorLine({ type: 'unreadable-requirement-file', file: '', from: undefined, line: 0, problem: 'permission-denied', detail: '' }));
      expect(log).to.contain('chmod a+r secret.txt');
      expect(log).not.to.contain('not found');
    });

    it('an include that is a folder says so and names a file to use instead', async () => {
      const log = await failing({ 'requirements.txt': '-r requirements\n', 'requirements/base.txt': 'six\n' });
      expect(log).to.contain("requirements.txt includes 'requirements' on line 1, but that is a folder, not a file");
      expect(log).to.contain(errorLine({ type: 'unreadable-requirement-file', file: '', from: undefined, line: 0, problem: 'folder', detail: '' }));
      expect(log).to.contain('-r requirements/base.txt');
    });
  });
});
