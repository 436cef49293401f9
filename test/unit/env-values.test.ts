/**
 * Variables no program could be started with (a NUL byte, a value over Linux's MAX_ARG_STRLEN, bytes that are
 * not UTF-8, an env over the total budget) stop the build with a user error naming the variable and where it
 * was set, before any layer is touched; platform env files without a variable name are not read.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { analyse } from '../../src/analysis.js';
import type { Cause } from '../../src/causes.js';
import type { BuildContext } from '../../src/cnb/context.js';
import { decodeEnvValue, firstInvalidUtf8, MAX_ENV_ENTRY_BYTES, MAX_ENV_TOTAL_BYTES } from '../../src/cnb/env-value.js';
import { Layers } from '../../src/cnb/layers.js';
import { UserEnv } from '../../src/cnb/user-env.js';
import { ignoredPlatformEnvFiles, renderCause } from '../../src/messages.js';
import { parseS2iEnvironment } from '../../src/s2i/environment.js';
import { thrownCause } from '../fakes/thrown.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'env-values-'));

/** An app dir with `.s2i/environment` holding `s2i` (if given) and a platform dir with `platform` env files. */
function contextWith(opts: { s2i?: string | Buffer; platform?: Record<string, string | Buffer>; env?: Record<string, string> }): BuildContext {
  const root = tmp();
  const appDir = path.join(root, 'app');
  const platformDir = path.join(root, 'platform');
  fs.mkdirSync(path.join(appDir, '.s2i'), { recursive: true });
  fs.mkdirSync(path.join(platformDir, 'env'), { recursive: true });
  if (opts.s2i !== undefined) fs.writeFileSync(path.join(appDir, '.s2i', 'environment'), opts.s2i);
  for (const [name, value] of Object.entries(opts.platform ?? {})) fs.writeFileSync(path.join(platformDir, 'env', name), value);
  const env = { PATH: '/usr/bin:/bin', ...opts.env };
  return {
    appDir,
    buildpackDir: root,
    platformDir,
    target: { os: 'linux', arch: 'amd64' },
    buildpack: { api: '0.10', id: 'ausnimbus/python', version: '0.1.0', metadata: {} },
    userEnv: UserEnv.read(platformDir, env),
    env,
    layers: new Layers(path.join(root, 'layers')),
  };
}

const big = (n: number): string => 'x'.repeat(n);

describe('env values', () => {
  describe('decodeEnvValue', () => {
    it('accepts UTF-8 text up to 128 KiB as NAME=value, and refuses NUL, longer values and other bytes with where', () => {
      expect(decodeEnvValue('A', Buffer.from('café\r\n'))).to.deep.equal({ ok: true, value: 'café\r\n' });
      expect(decodeEnvValue('A', Buffer.from(''))).to.deep.equal({ ok: true, value: '' });
      // "A=" is 2 bytes: the longest accepted value is MAX_ENV_ENTRY_BYTES - 2
      expect(decodeEnvValue('A', Buffer.from(big(MAX_ENV_ENTRY_BYTES - 2))).ok).to.equal(true);
      expect(decodeEnvValue('A', Buffer.from(big(MAX_ENV_ENTRY_BYTES - 1)))).to.deep.equal({ ok: false, problem: { kind: 'too-long', bytes: MAX_ENV_ENTRY_BYTES + 1, limit: MAX_ENV_ENTRY_BYTES } });
      expect(MAX_ENV_ENTRY_BYTES).to.equal(128 * 1024 - 1);
      expect(decodeEnvValue('A', Buffer.from('ab\0cd'))).to.deep.equal({ ok: false, problem: { kind: 'nul', offset: 2 } });
      expect(decodeEnvValue('A', Buffer.from([0x63, 0x61, 0x66, 0xe9]))).to.deep.equal({ ok: false, problem: { kind: 'not-utf8', offset: 3 } });
    });

    it('finds exactly the bytes a fatal UTF-8 decoder refuses (overlong forms, surrogates, above U+10FFFF, cut sequences)', () => {
      for (const bad of [[0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xf5], [0x80], [0xe2, 0x82]]) {
        expect(firstInvalidUtf8(Uint8Array.from([0x41, ...bad])), bad.join(',')).to.equal(1);
      }
      expect(firstInvalidUtf8(Buffer.from('€𝄞ü'))).to.equal(-1);
      const fatal = new TextDecoder('utf-8', { fatal: true });
      fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 12 }), fc.string({ unit: 'binary' }).map((s) => Buffer.from(s))), (bytes) => {
        let valid = true;
        try {
          fatal.decode(bytes);
        } catch {
          valid = false;
        }
        expect(firstInvalidUtf8(bytes) < 0).to.equal(valid);
      }), { numRuns: 5000 });
    });
  });

  describe('.s2i/environment', () => {
    it('a NUL byte in a value stops the build naming the variable and its line', () => {
      expect(thrownCause(() => parseS2iEnvironment(Buffer.from('A=1\n# note\nSECRET_KEY=ab\0cd\n')))).to.deep.equal({
        type: 'bad-env-value', name: 'SECRET_KEY', origin: { kind: 's2i-environment', line: 3 }, problem: { kind: 'nul', offset: 2 },
      });
    });

    it('a value of 300 KB stops the build with the limit', () => {
      expect(thrownCause(() => parseS2iEnvironment(`APP_RUN=python app.py\r\nBLOB=${big(300_000)}\r\n`))).to.deep.equal({
        type: 'bad-env-value', name: 'BLOB', origin: { kind: 's2i-environment', line: 2 }, problem: { kind: 'too-long', bytes: 300_005, limit: MAX_ENV_ENTRY_BYTES },
      });
    });

    it('bytes that are not UTF-8 in a value stop the build; in a comment they are ignored; CR inside a value is kept', () => {
      const latin1 = Buffer.concat([Buffer.from('# caf'), Buffer.from([0xe9]), Buffer.from('\nGREETING=caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
      expect(thrownCause(() => parseS2iEnvironment(latin1))).to.deep.equal({
        type: 'bad-env-value', name: 'GREETING', origin: { kind: 's2i-environment', line: 2 }, problem: { kind: 'not-utf8', offset: 3 },
      });
      const commentOnly = Buffer.concat([Buffer.from('# caf'), Buffer.from([0xe9, 0x00]), Buffer.from('\nGREETING=café\nCR=a\rb\r\n')]);
      expect(parseS2iEnvironment(commentOnly)).to.deep.equal({ GREETING: 'café', CR: 'a\rb' });
    });

    it('a NUL byte in the name is a malformed line, shown escaped', () => {
      const cause = thrownCause(() => parseS2iEnvironment('A\0B=1\n'));
      expect(cause).to.deep.equal({ type: 's2i-environment-malformed', line: 1, text: 'A\0B=1' });
      expect(renderCause(cause).body).to.contain('A\\x00B=1');
    });
  });

  describe('platform env files', () => {
    it('values are read byte for byte; a bad value and a file without a variable name are left out and recorded', () => {
      const ctx = contextWith({
        platform: {
          GOOD: 'line\n',
          NUL_IN_IT: 'a\0b',
          LATIN1: Buffer.from([0x63, 0x61, 0x66, 0xe9]),
          HUGE: big(300_000),
          'BP-PYTHON-VERSION': '3.12',
          '1ST': 'x',
          '.gitkeep': '',
        },
      });
      // a Kubernetes volume's ..data directory, and a file name that is not UTF-8
      fs.mkdirSync(path.join(ctx.platformDir, 'env', '..data'));
      fs.writeFileSync(Buffer.concat([Buffer.from(`${path.join(ctx.platformDir, 'env')}/`), Buffer.from([0x41, 0xff])]), 'x');
      const env = UserEnv.read(ctx.platformDir, {});
      expect(env.raw('GOOD')).to.equal('line\n');
      for (const name of ['NUL_IN_IT', 'LATIN1', 'HUGE']) expect(env.raw(name), name).to.equal(undefined);
      expect(env.platformIssues()).to.deep.equal([
        { kind: 'not-a-name', file: '.gitkeep' },
        { kind: 'not-a-name', file: '1ST' },
        { kind: 'not-a-name', file: 'A\ufffd' },
        { kind: 'not-a-name', file: 'BP-PYTHON-VERSION' },
        { kind: 'bad-value', name: 'HUGE', problem: { kind: 'too-long', bytes: 300_005, limit: MAX_ENV_ENTRY_BYTES } },
        { kind: 'bad-value', name: 'LATIN1', problem: { kind: 'not-utf8', offset: 3 } },
        { kind: 'bad-value', name: 'NUL_IN_IT', problem: { kind: 'nul', offset: 1 } },
      ]);
    });
  });

  it("names such as constructor, toString and __proto__ are variables like any other, not Object.prototype's", () => {
    const ctx = contextWith({ s2i: 'constructor=app\ntoString=yes\n__proto__=p\n', platform: Object.fromEntries([['hasOwnProperty', 'h'], ['__proto__', 'q']]) });
    const appEnv = parseS2iEnvironment('constructor=app\ntoString=yes\n__proto__=p\n');
    expect(Object.entries(appEnv)).to.deep.equal([['constructor', 'app'], ['toString', 'yes'], ['__proto__', 'p']]);
    expect(ctx.userEnv.setOnPlatform('toString')).to.equal(false);
    expect(ctx.userEnv.raw('valueOf')).to.equal(undefined);
    expect(ctx.userEnv.raw('hasOwnProperty')).to.equal('h');
    expect(ctx.userEnv.raw('__proto__')).to.equal('q');
    const a = analyse(ctx);
    expect(a.env.constructor).to.equal('app');
    expect(a.env.toString).to.equal('yes');
  });

  describe('analyse: every check before any layer', () => {
    it('a 300 KB platform env value stops the build naming the variable and the platform env', () => {
      const cause = thrownCause(() => analyse(contextWith({ platform: { CERT_BUNDLE: big(300_000) } })));
      expect(cause).to.deep.equal({ type: 'bad-env-value', name: 'CERT_BUNDLE', origin: { kind: 'platform-env-file' }, problem: { kind: 'too-long', bytes: 300_012, limit: MAX_ENV_ENTRY_BYTES } });
      const m = renderCause(cause);
      expect(m.internal).to.equal(false);
      expect(m.title).to.equal('CERT_BUNDLE is too long');
      expect(m.body).to.contain('$CNB_PLATFORM_DIR/env/CERT_BUNDLE').and.contain('131,071 bytes');
    });

    it('a NUL in .s2i/environment stops the build naming the variable and its line', () => {
      const cause = thrownCause(() => analyse(contextWith({ s2i: 'DJANGO_SETTINGS_MODULE=app.settings\nSECRET_KEY=x\0y\n' })));
      expect(cause).to.deep.equal({ type: 'bad-env-value', name: 'SECRET_KEY', origin: { kind: 's2i-environment', line: 2 }, problem: { kind: 'nul', offset: 1 } });
      expect(renderCause(cause).body).to.contain('line 2 of .s2i/environment');
    });

    it('platform env files without a variable name are not read, and are returned for a warning', () => {
      const a = analyse(contextWith({ platform: { 'BP-PYTHON-VERSION': '3.12', PIP_UPGRADE: 'TRUE' } }));
      expect(a.ignoredPlatformFiles).to.deep.equal(['BP-PYTHON-VERSION']);
      expect(a.settings.pythonVersion).to.equal(undefined);
      expect(a.settings.pipUpgrade).to.equal(true);
      const w = ignoredPlatformEnvFiles(a.ignoredPlatformFiles);
      expect(w.body).to.contain("'BP-PYTHON-VERSION'").and.contain('letters, digits and _');
    });

    it('an env over the total budget stops the build naming its largest variables and where they were set', () => {
      const s2i = Array.from({ length: 10 }, (_, i) => `BLOB_${i}=${big(100_000)}`).join('\n');
      const cause = thrownCause(() => analyse(contextWith({ s2i, platform: { CERTS: big(120_000) }, env: { CERTS: big(120_000), SMALL: 'x' } })));
      expect(cause.type).to.equal('env-too-large');
      const c = cause as Extract<Cause, { type: 'env-too-large' }>;
      expect(c.limit).to.equal(MAX_ENV_TOTAL_BYTES);
      expect(c.bytes).to.be.greaterThan(MAX_ENV_TOTAL_BYTES);
      expect(c.largest[0]).to.deep.equal({ name: 'CERTS', origin: { kind: 'platform-env-file' }, bytes: 120_007 });
      expect(c.largest[1]).to.deep.equal({ name: 'BLOB_0', origin: { kind: 's2i-environment', line: undefined }, bytes: 100_008 });
      expect(renderCause(cause).body).to.contain('CERTS: 120,007 bytes, from the platform env');
    });

    it('an env within the budget and good values pass, .s2i/environment values reaching the tools', () => {
      const a = analyse(contextWith({ s2i: 'GREETING=café\n', platform: { PIP_INDEX_URL: 'https://pypi.example/simple' }, env: { PIP_INDEX_URL: 'https://pypi.example/simple' } }));
      expect(a.env.GREETING).to.equal('café');
      expect(a.ignoredPlatformFiles).to.deep.equal([]);
    });
  });

  it('every problem renders as a user error naming the variable, with steps, and never shows the value', () => {
    for (const problem of [{ kind: 'nul', offset: 0 }, { kind: 'not-utf8', offset: 4 }, { kind: 'too-long', bytes: 300_000, limit: MAX_ENV_ENTRY_BYTES }] as const) {
      for (const origin of [{ kind: 'platform-env-file' }, { kind: 's2i-environment', line: 7 }] as const) {
        const m = renderCause({ type: 'bad-env-value', name: 'SECRET_KEY', origin, problem });
        expect(m.internal).to.equal(false);
        expect(m.title).to.match(/^SECRET_KEY /);
        expect(m.body).to.match(/\n {2}1\. /).and.not.match(/undefined|NaN/);
        expect(m.body).to.contain(origin.kind === 'platform-env-file' ? '$CNB_PLATFORM_DIR/env/SECRET_KEY' : 'line 7 of .s2i/environment');
      }
    }
  });
});
