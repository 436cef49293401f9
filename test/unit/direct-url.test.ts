/**
 * src/python/direct-url.ts: URL credentials in PEP 610 direct_url.json files are masked in place, and each
 * file's RECORD line (PEP 376) keeps matching it. On dist-info folders written here as pip writes them, then
 * with the real pip (pyenv's 3.11) installing from a signed URL on a loopback server.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { firstCsvField, maskDirectUrls, maskedDirectUrl } from '../../src/python/direct-url.js';
import { FileServer, buildWheel } from '../helpers/servers.js';
import { pyenvPython } from '../helpers/pyenv.js';

const made: string[] = [];
const tmp = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'direct-url-'));
  made.push(dir);
  return dir;
};
after(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** RECORD's hash of some bytes: sha256, urlsafe base64 without padding (the wheel spec, PEP 376). */
const recordHash = (bytes: Buffer | string): string => `sha256=${crypto.createHash('sha256').update(bytes).digest('base64url')}`;

/** Python's json.dumps(d, sort_keys=True) of pip's DirectUrl.to_dict() for an archive. */
const pipJson = (url: string): string =>
  `{"archive_info": {"hash": "sha256=${'a'.repeat(64)}", "hashes": {"sha256": "${'a'.repeat(64)}"}}, "url": "${url}"}`;

const SIGNED = 'https://bucket.s3.amazonaws.com/pkg-1.0-py3-none-any.whl?X-Amz-Credential=AKIAEXAMPLE%2F20250101&X-Amz-Signature=0123abcdSECRET';
const MASKED = 'https://bucket.s3.amazonaws.com/pkg-1.0-py3-none-any.whl?X-Amz-Credential=****&X-Amz-Signature=****';

/** A `.dist-info` as pip's wheel installer leaves it: files, then RECORD listing each (CRLF, as Python's csv writes). */
function distInfo(site: string, name: string, files: Record<string, string>): { dir: string; record: string } {
  const dir = path.join(site, `${name}.dist-info`);
  fs.mkdirSync(dir, { recursive: true });
  const rows = [`${name.split('-')[0]}.py,${recordHash('X = 1\n')},6`];
  fs.writeFileSync(path.join(site, `${name.split('-')[0]}.py`), 'X = 1\n');
  for (const [f, text] of Object.entries(files)) {
    fs.writeFileSync(path.join(dir, f), text);
    rows.push(`${name}.dist-info/${f},${recordHash(text)},${Buffer.byteLength(text)}`);
  }
  rows.push(`${name}.dist-info/RECORD,,`);
  const record = rows.sort().map((r) => `${r}\r\n`).join('');
  fs.writeFileSync(path.join(dir, 'RECORD'), record);
  return { dir, record };
}

/** Each RECORD line's path → [hash, size]. */
function recordRows(text: string): Map<string, [string, string]> {
  return new Map(text.split('\r\n').filter(Boolean).map((l) => {
    const [p, h, s] = l.split(',');
    return [p as string, [h as string, s as string]];
  }));
}

describe('direct_url.json credentials (PEP 610)', () => {
  it("masks a signed URL's credentials as pip would have written the masked URL, and RECORD's line matches the new file", () => {
    const base = tmp();
    const site = path.join(base, 'lib', 'python3.11', 'site-packages');
    const { dir, record } = distInfo(site, 'pkg-1.0', { METADATA: 'Name: pkg\nVersion: 1.0\n', 'direct_url.json': pipJson(SIGNED), INSTALLER: 'pip\n' });
    fs.chmodSync(path.join(dir, 'direct_url.json'), 0o644);

    expect(maskDirectUrls(base)).to.equal(1);

    const file = path.join(dir, 'direct_url.json');
    const written = fs.readFileSync(file);
    expect(written.toString()).to.equal(pipJson(MASKED));
    expect(written.toString()).not.to.contain('SECRET');
    expect(fs.statSync(file).mode & 0o777).to.equal(0o644);
    const after = fs.readFileSync(path.join(dir, 'RECORD'), 'utf8');
    const [before, now] = [recordRows(record), recordRows(after)];
    // Recomputed from the bytes on disk, independently of the code under test.
    expect(now.get('pkg-1.0.dist-info/direct_url.json')).to.deep.equal([recordHash(written), String(written.length)]);
    expect(now.get('pkg-1.0.dist-info/direct_url.json')).not.to.deep.equal(before.get('pkg-1.0.dist-info/direct_url.json'));
    // Every other line, and the CRLF line endings, as they were.
    expect(after.replace(/^pkg-1\.0\.dist-info\/direct_url\.json,.*$/m, '')).to.equal(record.replace(/^pkg-1\.0\.dist-info\/direct_url\.json,.*$/m, ''));
    expect(after.split('\r\n')).to.have.length(record.split('\r\n').length);
    expect(fs.readdirSync(dir).sort()).to.deep.equal(['INSTALLER', 'METADATA', 'RECORD', 'direct_url.json']);

    // A second pass finds nothing left to mask and changes nothing.
    const snapshot = [fs.readFileSync(file), fs.readFileSync(path.join(dir, 'RECORD'))];
    expect(maskDirectUrls(base)).to.equal(0);
    expect([fs.readFileSync(file), fs.readFileSync(path.join(dir, 'RECORD'))]).to.deep.equal(snapshot);
  });

  it('leaves files without a credential untouched (not even rewritten): index installs, file: URLs, VCS commits, pip hashes', () => {
    const base = tmp();
    const site = path.join(base, 'lib', 'python3.12', 'site-packages');
    const plain = [
      pipJson('https://files.example/pkg-1.0-py3-none-any.whl'),
      '{"dir_info": {"editable": true}, "url": "file:///workspace"}',
      '{"url": "https://github.com/org/repo.git", "vcs_info": {"commit_id": "3f2c1a", "requested_revision": "v1.0", "vcs": "git"}}',
    ];
    const inodes = plain.map((text, i) => {
      const { dir } = distInfo(site, `p${i}-1.0`, { 'direct_url.json': text });
      return fs.statSync(path.join(dir, 'direct_url.json')).ino;
    });
    distInfo(site, 'noorigin-1.0', { METADATA: 'Name: noorigin\n' }); // installed from an index: no direct_url.json
    expect(maskDirectUrls(base)).to.equal(0);
    plain.forEach((text, i) => {
      const file = path.join(site, `p${i}-1.0.dist-info`, 'direct_url.json');
      expect(fs.readFileSync(file, 'utf8')).to.equal(text);
      expect(fs.statSync(file).ino).to.equal(inodes[i]);
    });
  });

  it('masks every string of the file: user-info, a token in a VCS URL, a credential in any other field', () => {
    expect(maskedDirectUrl('{"url": "https://ci:t0ken@git.example/repo.git", "vcs_info": {"commit_id": "abc", "vcs": "git"}}'))
      .to.equal('{"url": "https://****@git.example/repo.git", "vcs_info": {"commit_id": "abc", "vcs": "git"}}');
    expect(maskedDirectUrl('{"archive_info": {"mirror": "https://m.example/x.whl?sig=abc"}, "url": "https://h/x.whl#sha256=00"}'))
      .to.equal('{"archive_info": {"mirror": "https://m.example/x.whl?sig=****"}, "url": "https://h/x.whl#sha256=00"}');
    // Escapes decoded before masking (a JSON writer may escape `/` or `&`), and written as Python writes them.
    expect(maskedDirectUrl('{"url":"https:\\/\\/h\\/x.whl?a=1\\u0026token=s3cr\u00e9t","z":[1,"\u00e9"]}'))
      .to.equal('{"url": "https://h/x.whl?a=1&token=****", "z": [1, "\\u00e9"]}');
    expect(maskedDirectUrl(pipJson('https://h/x.whl'))).to.equal(undefined);
  });

  it('a file that is not JSON is masked as text; a direct_url.json that is a link, and a linked dist-info, are left alone', () => {
    const base = tmp();
    const site = path.join(base, 'lib', 'python3.11', 'site-packages');
    const broken = distInfo(site, 'broken-1.0', { 'direct_url.json': '{"url": "https://h/x.whl?token=abc", ' });
    const outside = path.join(tmp(), 'elsewhere.json');
    fs.writeFileSync(outside, pipJson(SIGNED));
    const linked = distInfo(site, 'linked-1.0', {});
    fs.symlinkSync(outside, path.join(linked.dir, 'direct_url.json'));
    const outsideInfo = path.join(tmp(), 'other-1.0.dist-info');
    fs.mkdirSync(outsideInfo);
    fs.writeFileSync(path.join(outsideInfo, 'direct_url.json'), pipJson(SIGNED));
    fs.symlinkSync(outsideInfo, path.join(site, 'other-1.0.dist-info'));

    expect(maskDirectUrls(base)).to.equal(1);
    expect(fs.readFileSync(path.join(broken.dir, 'direct_url.json'), 'utf8')).to.equal('{"url": "https://h/x.whl?token=****", ');
    expect(fs.readFileSync(outside, 'utf8')).to.equal(pipJson(SIGNED));
    expect(fs.readFileSync(path.join(outsideInfo, 'direct_url.json'), 'utf8')).to.equal(pipJson(SIGNED));
  });

  it('finds the RECORD line by path: quoted, absolute or relative to site-packages; without a RECORD the file is masked all the same', () => {
    const base = tmp();
    const site = path.join(base, 'lib', 'python3.11', 'site-packages');
    const q = path.join(site, 'q-1.0.dist-info');
    const abs = path.join(site, 'abs-1.0.dist-info');
    const none = path.join(site, 'none-1.0.dist-info');
    for (const d of [q, abs, none]) {
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, 'direct_url.json'), pipJson(SIGNED));
    }
    fs.writeFileSync(path.join(q, 'RECORD'), `"q-1.0.dist-info/direct_url.json",sha256=old,1\nq-1.0.dist-info/RECORD,,\n`);
    fs.writeFileSync(path.join(abs, 'RECORD'), `${path.join(abs, 'direct_url.json')},sha256=old,1\n../other/direct_url.json,sha256=keep,2\n`);

    expect(maskDirectUrls(base)).to.equal(3);
    const expected = `${recordHash(pipJson(MASKED))},${Buffer.byteLength(pipJson(MASKED))}`;
    expect(fs.readFileSync(path.join(q, 'RECORD'), 'utf8')).to.equal(`"q-1.0.dist-info/direct_url.json",${expected}\nq-1.0.dist-info/RECORD,,\n`);
    expect(fs.readFileSync(path.join(abs, 'RECORD'), 'utf8')).to.equal(`${path.join(abs, 'direct_url.json')},${expected}\n../other/direct_url.json,sha256=keep,2\n`);
    expect(fs.readFileSync(path.join(none, 'direct_url.json'), 'utf8')).to.equal(pipJson(MASKED));
    expect(fs.readdirSync(none)).to.deep.equal(['direct_url.json']);
  });

  it('reads the first CSV field as Python\'s csv module writes it', () => {
    expect(firstCsvField('a/b.py,sha256=x,1')).to.deep.equal({ value: 'a/b.py', end: 6 });
    expect(firstCsvField('"a,""b"".py",sha256=x,1')).to.deep.equal({ value: 'a,"b".py', end: 12 });
    expect(firstCsvField('no-comma')).to.equal(undefined);
    expect(firstCsvField('"unterminated,x')).to.equal(undefined);
  });

  it('no site-packages, or no layer at all: nothing to do', () => {
    const base = tmp();
    expect(maskDirectUrls(path.join(base, 'missing'))).to.equal(0);
    fs.mkdirSync(path.join(base, 'lib', 'python3.11'), { recursive: true });
    fs.mkdirSync(path.join(base, 'lib', 'not-python'), { recursive: true });
    expect(maskDirectUrls(base)).to.equal(0);
  });

  describe('with the real pip', function () {
    this.timeout(120_000);
    let server: FileServer;
    let wheelSha: string;
    before(async () => {
      const wheel = await buildWheel({ name: 'localpkg', version: '1.0', outDir: tmp() });
      wheelSha = wheel.sha256;
      server = await FileServer.start({ files: { '/files/localpkg-1.0-py3-none-any.whl': wheel.path } });
    });
    after(async () => server?.close());

    // Asynchronous: the server answering pip runs in this process.
    it('pip writes the signature into direct_url.json; masked, pip freeze, show and list read it, and pip uninstall removes every file', async () => {
      const { python } = pyenvPython('3.11');
      const base = tmp();
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: base, PYTHONUSERBASE: base, PIP_CONFIG_FILE: '/dev/null', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_CACHE_DIR: '1', PIP_NO_INPUT: '1' };
      const run = async (args: string[]): Promise<string> => (await promisify(execFile)(python, args, { env, encoding: 'utf8' })).stdout;
      const pip = (...args: string[]): Promise<string> => run(['-m', 'pip', ...args]);
      const url = `${server.url('/files/localpkg-1.0-py3-none-any.whl')}?X-Amz-Credential=AKIA&X-Amz-Signature=S3CRETsig`;
      await pip('install', '--user', `localpkg @ ${url}`);
      const info = path.join(base, 'lib', 'python3.11', 'site-packages', 'localpkg-1.0.dist-info');
      expect(fs.readFileSync(path.join(info, 'direct_url.json'), 'utf8'), 'pip keeps the query (this test would be moot otherwise)').to.contain('S3CRETsig');

      expect(maskDirectUrls(base)).to.equal(1);
      expect(fs.readFileSync(path.join(info, 'direct_url.json'), 'utf8')).not.to.contain('S3CRETsig');
      // RECORD checked by Python: importlib.metadata reads RECORD's hash and size for each file.
      const verify = [
        'import base64, hashlib, json, importlib.metadata as md',
        'f = [f for f in md.distribution("localpkg").files if f.name == "direct_url.json"][0]',
        'data = f.read_binary()',
        'print(f.hash.value == base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode() and f.size == len(data))',
        // Written byte for byte as pip writes it (json.dumps(…, sort_keys=True)).
        'print(json.dumps(json.loads(data), sort_keys=True) == data.decode())',
      ].join('\n');
      expect((await run(['-c', verify])).trim()).to.equal('True\nTrue');
      expect(await pip('freeze', '--user')).to.equal(`localpkg @ ${server.url('/files/localpkg-1.0-py3-none-any.whl')}?X-Amz-Credential=****&X-Amz-Signature=****#sha256=${wheelSha}\n`);
      expect(await pip('show', '-f', 'localpkg')).to.contain('  localpkg-1.0.dist-info/direct_url.json\n');
      expect(await pip('list', '--user', '--format=freeze')).to.equal('localpkg==1.0\n');
      await pip('uninstall', '-y', 'localpkg');
      expect(fs.existsSync(info)).to.equal(false);
      const site = path.join(base, 'lib', 'python3.11', 'site-packages');
      expect(fs.existsSync(site) ? fs.readdirSync(site) : [], 'left in site-packages (pip removes it once empty)').to.deep.equal([]);
    });
  });
});
