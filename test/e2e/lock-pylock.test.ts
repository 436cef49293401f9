/**
 * Issue 14, end to end through the local platform: pylock.toml (PEP 751), written at test time by the real
 * `pip lock` (pip 26, test/helpers/lock-tools.ts) against the loopback index, so the lock names the index's file
 * URLs. The builds take the lock's own URLs (no PIP_INDEX_URL), so the index server's requests show what pip
 * fetched.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { e2eForFile, WHEELHOUSE_PYTHON, plainLog } from './support.js';
import { NOT_RUN, appFiles, errorLine } from './lock-support.js';
import { pipLock } from '../helpers/lock-tools.js';
import type { AppFiles } from '../platform/index.js';

const flaskApp = (extra: AppFiles): AppFiles => appFiles('lock-flask', extra);

describe('e2e: locked installs (issue 14): pylock.toml', function () {
  this.timeout(900_000);
  const e2e = e2eForFile();

  /** The platform env of a locked build: our Python, and no PIP_INDEX_URL, so pip fetches what the lock names. */
  async function lockEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
    const env = await e2e.env(WHEELHOUSE_PYTHON, extra);
    delete env.PIP_INDEX_URL;
    return env;
  }

  describe('pylock.toml, written by pip lock', () => {
    let pylock: string;
    before(async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pip-lock-app-'));
      pylock = await pipLock(dir, WHEELHOUSE_PYTHON, e2e.index.indexUrl(), ['flask==3.1.3', 'gunicorn']);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('a Flask app serves HTTP 200; the lock wins over requirements.txt and the log says so; the SBOM carries the locked hashes; a rebuild runs no pip (the index sees no request)', async () => {
      // requirements.txt names a package the index does not have: installing it would fail the build.
      const app = await e2e.app(flaskApp({ 'pylock.toml': pylock, 'requirements.txt': 'no-such-package-anywhere==1.0\n' }));
      const env = await lockEnv();
      e2e.index.clearRequests();
      const first = await e2e.platform.buildOk(app, { platformEnv: env });
      const log = plainLog(first.output);
      expect(log).to.contain('Installing pylock.toml');
      expect(log).to.contain('requirements.txt is not installed: pylock.toml is (set BP_PYTHON_DEPENDENCY_FILE=requirements.txt to install requirements.txt instead)');
      expect(log).to.match(/Selected \d+ locked packages for CPython 3\.11 on linux\/amd64/);
      expect(log).to.match(/Running 'python -m pip install --user --require-hashes .*-r \S+locked-requirements\.txt'/);
      expect(log).to.match(/Installed \d+ locked packages, hash-checked/);
      expect(e2e.index.requests.map((r) => r.path)).to.include('/files/flask-3.1.3-py3-none-any.whl');

      const { proc, status, body } = await e2e.serve(first);
      await proc.stop();
      expect(status).to.equal(200);
      expect(body).to.equal('Hello from a locked Flask');

      const sbom = JSON.parse(first.files['pip-deps.sbom.cdx.json'] ?? '{}') as { components: Array<{ name: string; hashes?: Array<{ content: string }>; externalReferences?: Array<{ url: string }>; properties?: Array<{ name: string; value: string }> }> };
      const flask = sbom.components.find((c) => c.name === 'flask');
      const lockedHash = /name = "flask-3\.1\.3-py3-none-any\.whl"[\s\S]*?sha256 = "([0-9a-f]{64})"/.exec(pylock)?.[1];
      expect(flask?.hashes?.[0]?.content).to.equal(lockedHash);
      expect(flask?.externalReferences?.[0]?.url).to.equal(`${e2e.index.origin}/files/flask-3.1.3-py3-none-any.whl`);
      expect(flask?.properties).to.deep.include({ name: 'ausnimbus:lockfile', value: 'pylock.toml' });

      e2e.index.clearRequests();
      const again = await e2e.platform.buildOk(app, { platformEnv: env });
      const againLog = plainLog(again.output);
      expect(e2e.index.requests.map((r) => r.path)).to.deep.equal([]);
      expect(againLog).to.contain(NOT_RUN);
      expect(againLog).not.to.contain("Running 'python -m pip");
      expect(again.layers['pip-deps']?.digest).to.equal(first.layers['pip-deps']?.digest);
    });

    it('a file on the index that is not the locked one fails the build naming the package, and nothing is kept', async () => {
      const app = await e2e.app(flaskApp({ 'pylock.toml': pylock }));
      e2e.index.setFault('/files/flask-3.1.3-py3-none-any.whl', { kind: 'corrupt' });
      try {
        const res = await e2e.platform.build(app, { platformEnv: await lockEnv() });
        const log = plainLog(res.output);
        expect(res.success).to.equal(false);
        expect(log).to.contain(errorLine({ type: 'lock-hash-mismatch', file: 'pylock.toml', package: 'flask==3.1.3', expected: [], got: '' }));
        expect(log).to.match(/pip downloaded a file of flask==3\.1\.3 whose sha256 is [0-9a-f]{64}, but pylock\.toml allows only [0-9a-f]{64}/);
        expect(res.layers['pip-deps']).to.equal(undefined);
      } finally {
        e2e.index.clearFaults();
      }
    });

    it('a hash edited in the lock fails the build naming the package', async () => {
      const lockedHash = /name = "flask-3\.1\.3-py3-none-any\.whl"[\s\S]*?sha256 = "([0-9a-f]{64})"/.exec(pylock)?.[1] as string;
      const tampered = pylock.replace(lockedHash, '0'.repeat(64));
      const res = await e2e.platform.build(await e2e.app(flaskApp({ 'pylock.toml': tampered })), { platformEnv: await lockEnv() });
      const log = plainLog(res.output);
      expect(res.success).to.equal(false);
      expect(log).to.contain('[Error: A file of flask==3.1.3 does not match pylock.toml]');
      expect(log).to.contain(`whose sha256 is ${lockedHash}, but pylock.toml allows only ${'0'.repeat(64)}`);
    });
  });
});
