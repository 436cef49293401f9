/**
 * Property tests over every parser of user input: each input ends in a result or in a BuildpackError (the one
 * user error type), never in another exception. The number of cases run is printed for the record.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BuildContext } from '../../src/cnb/context.js';
import { BuildpackError } from '../../src/failure.js';
import { renderCause } from '../../src/messages.js';
import { parsePythonVersionFile, parseRuntimeTxt, readVersionRequest, toSpecifier } from '../../src/python/version-request.js';
import { parseManifest, resolveArchive, type PythonArchive } from '../../src/python/archives.js';
import { parseS2iEnvironment, readS2iEnvironment } from '../../src/s2i/environment.js';
import { analyse } from '../../src/analysis.js';
import { checkPlatformEnv } from '../../src/checks.js';
import { MAX_ENV_ENTRY_BYTES } from '../../src/cnb/env-value.js';
import { Layers } from '../../src/cnb/layers.js';
import { UserEnv } from '../../src/cnb/user-env.js';
import { collectRequirementInputs, hashRequirementFiles } from '../../src/python/requirements.js';
import { localInputsKey } from '../../src/python/local-inputs.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 5000);

/** A build context over `root`/app and `root`/platform, for the readers analyse() runs before any layer. */
function fuzzContext(root: string): BuildContext {
  const appDir = path.join(root, 'app');
  const platformDir = path.join(root, 'platform');
  fs.mkdirSync(appDir, { recursive: true });
  return {
    appDir, buildpackDir: root, platformDir, target: { os: 'linux', arch: 'amd64' },
    buildpack: { api: '0.10', id: 'ausnimbus/python', version: '0.1.0', metadata: {} },
    userEnv: UserEnv.read(platformDir, {}), env: { PATH: '/usr/bin:/bin' }, layers: new Layers(path.join(root, 'layers')),
  };
}
const counts: Record<string, number> = {};

/** Runs `fn`; anything thrown must be a BuildpackError whose cause renders as a user error with a title and a body. */
function userErrorOrResult(name: string, fn: () => unknown): void {
  counts[name] = (counts[name] ?? 0) + 1;
  try {
    fn();
  } catch (err) {
    if (!(err instanceof BuildpackError)) throw new Error(`${name}: unexpected ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`);
    const m = renderCause(err.cause);
    expect(m.internal, `${name}: ${err.cause.type} is internal`).to.equal(false);
    expect(m.title).to.be.a('string').and.not.equal('');
    expect(m.body).to.be.a('string').and.not.equal('');
  }
}

/** Strings that look like what users write, mixed with noise. */
const versionish = fc.oneof(
  fc.string(),
  fc.stringMatching(/^(python-)?\d{1,2}(\.\d{1,2}){0,2}(\.\*)?$/),
  fc.stringMatching(/^(~=|==|>=|<=|!=|<|>)\d(\.\d{1,2}){0,2}(,\s*(<|>|<=|!=)\d(\.\d{1,2}){0,2})?$/),
  fc.constantFrom('3', '3.12', '3.12.7', '3.12.*', '~=3.11', '>=3.10,<3.13', 'python-3.6.15', '3.x', '', ' ', '\n', '3..1', '>=', '==3.*.1'),
);

const dists: PythonArchive[] = ['2.7.18', '3.6.15', '3.11.7', '3.12.14', '3.13.15', '3.14.7'].map((version) => ({
  version, arch: 'amd64', origin: 'buildpack', uri: `https://example.com/${version}.tgz`, sha256: 'a'.repeat(64),
}));

describe('fuzz: parsers of user input', () => {
  after(() => {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    console.log(`      fuzz cases run: ${JSON.stringify(counts)} (total ${total})`);
  });

  it('version requests: specifier conversion and resolution', () => {
    fc.assert(fc.property(versionish, (text) => {
      userErrorOrResult('version-request', () => {
        const spec = toSpecifier(text);
        if (spec !== undefined) resolveArchive({ written: text, specifier: spec, source: 'BP_PYTHON_VERSION' }, dists, 'amd64');
      });
    }), { numRuns: RUNS });
  });

  it('.python-version, runtime.txt and pyproject.toml through the whole request reader', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-vr-'));
    const files = ['.python-version', 'runtime.txt', 'pyproject.toml'];
    const tomlish = fc.oneof(fc.string(), versionish.map((v) => `[project]\nrequires-python = ${JSON.stringify(v)}\n`), fc.constant('[project\n'), fc.constant('[project]\nrequires-python = 3\n'));
    fc.assert(fc.property(fc.constantFrom(...files), fc.oneof(versionish, tomlish, fc.string({ unit: 'binary' })), (file, content) => {
      for (const f of files) fs.rmSync(path.join(dir, f), { force: true });
      fs.writeFileSync(path.join(dir, file), content);
      userErrorOrResult(file, () => {
        parsePythonVersionFile(content);
        parseRuntimeTxt(content);
        readVersionRequest(dir, undefined, '3.14');
      });
    }), { numRuns: RUNS });
  });

  it('BP_PYTHON_DISTRIBUTIONS manifests (JSON and TOML)', () => {
    const entry = fc.record({
      version: fc.oneof(versionish, fc.integer().map(String), fc.constant(undefined)),
      uri: fc.oneof(fc.webUrl(), fc.string(), fc.constant('file:///x.tgz'), fc.constant(undefined)),
      sha256: fc.oneof(fc.stringMatching(/^[0-9a-f]{64}$/), fc.string(), fc.constant(undefined)),
      arch: fc.oneof(fc.constantFrom('amd64', 'arm64', 'x86_64'), fc.string(), fc.constant(undefined)),
    }, { requiredKeys: [] });
    const manifest = fc.oneof(
      fc.array(entry).map((d) => JSON.stringify({ distributions: d })),
      fc.array(entry).map((d) => d.map((e) => `[[distributions]]\n${Object.entries(e).filter(([, v]) => v !== undefined).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join('\n')}\n`).join('\n')),
      fc.json(),
      fc.string(),
    );
    fc.assert(fc.property(manifest, (text) => {
      userErrorOrResult('manifest', () => parseManifest(text, 'fuzz.json'));
    }), { numRuns: RUNS });
  });

  it('.s2i/environment', () => {
    const line = fc.oneof(fc.string(), fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,10}=.{0,20}$/), fc.constant('# comment'), fc.constant(''), fc.constant('CNB_X=1'), fc.constant('=v'));
    fc.assert(fc.property(fc.array(line, { maxLength: 8 }), (lines) => {
      userErrorOrResult('s2i-environment', () => parseS2iEnvironment(lines.join(fc.sample(fc.constantFrom('\n', '\r\n'), 1)[0] ?? '\n')));
    }), { numRuns: RUNS });
  });

  /** `n` bytes of `byte`, printed short in a counterexample. */
  const filler = (n: number, byte: number): Buffer => Object.assign(Buffer.alloc(n, byte), { [fc.toStringMethod]: () => `Buffer.alloc(${n}, ${byte})` });
  /** Bytes of a variable's value: text, NUL, CR, invalid UTF-8, and lengths around the 128 KiB limit. */
  const valueBytes = fc.oneof(
    { weight: 4, arbitrary: fc.uint8Array({ maxLength: 24 }) },
    { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }).map((t) => Buffer.from(t)) },
    { weight: 2, arbitrary: fc.constantFrom(...['a\0b', '\r', 'x\r\n', '\0', 'caf\xe9', '\xff\xfe', '\xed\xa0\x80', '\xc0\x80'].map((t) => Buffer.from(t, 'latin1'))) },
    { weight: 1, arbitrary: fc.integer({ min: MAX_ENV_ENTRY_BYTES - 40, max: MAX_ENV_ENTRY_BYTES + 8 }).map((n) => filler(n, 0x61)) },
    { weight: 1, arbitrary: fc.constant(filler(300_000, 0x7a)) },
  );
  /** Variable names: valid ones, and what else a file or a line may start with. */
  const nameText = fc.oneof(
    fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,12}$/),
    fc.constantFrom('BP-PYTHON-VERSION', '1ST', '.gitkeep', '..data', 'A B', 'CNB_X', 'PIP_INDEX_URL', 'A=B', 'é', ' A', '__proto__', 'constructor', 'toString'),
    fc.string({ minLength: 1, maxLength: 8 }),
  );
  /** Every value returned is one a program can be started with. */
  const startable = (values: Record<string, string>): void => {
    for (const [k, v] of Object.entries(values)) {
      expect(v, k).to.not.include('\0');
      expect(Buffer.byteLength(`${k}=${v}`), k).to.be.at.most(MAX_ENV_ENTRY_BYTES);
      expect(v, k).to.not.include('\ufffd');
    }
  };

  it('.s2i/environment as bytes (NUL, CR, invalid UTF-8, very long values, odd names), read from the file and through analyse', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-s2i-env-'));
    const ctx = fuzzContext(root);
    fs.mkdirSync(path.join(ctx.appDir, '.s2i'));
    const line = fc.oneof(
      fc.tuple(nameText, valueBytes).map(([n, v]) => Buffer.concat([Buffer.from(`${n}=`), v])),
      fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b)),
      fc.constantFrom('# comment \xff\0', '', '  ', '=v', 'export A=1').map((t) => Buffer.from(t, 'latin1')),
    );
    fc.assert(fc.property(fc.array(line, { maxLength: 6 }), fc.constantFrom('\n', '\r\n'), (lines, eol) => {
      const bytes = Buffer.concat(lines.flatMap((l) => [l, Buffer.from(eol)]));
      fs.writeFileSync(path.join(ctx.appDir, '.s2i', 'environment'), bytes);
      userErrorOrResult('s2i-environment-bytes', () => {
        startable(readS2iEnvironment(ctx.appDir));
        startable(parseS2iEnvironment(bytes));
        analyse(ctx);
      });
    }), { numRuns: Math.min(RUNS, 1000) });
  });

  it('platform env files as bytes (NUL, CR, invalid UTF-8, very long values, odd and non-UTF-8 names), through the reader and analyse', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-platform-env-'));
    const envDir = path.join(root, 'platform', 'env');
    const fileName = fc.oneof(
      nameText.filter((n) => n !== '.' && n !== '..' && !n.includes('/') && !n.includes('\0')).map((n) => Buffer.from(n)),
      fc.uint8Array({ minLength: 1, maxLength: 6 }).map((b) => Buffer.from(b.map((c) => (c === 0 || c === 0x2f ? 0x41 : c)))).filter((b) => !['.', '..'].includes(b.toString('latin1'))),
    );
    fc.assert(fc.property(fc.array(fc.tuple(fileName, valueBytes), { maxLength: 5 }), (files) => {
      fs.rmSync(envDir, { recursive: true, force: true });
      fs.mkdirSync(envDir, { recursive: true });
      for (const [name, value] of files) fs.writeFileSync(Buffer.concat([Buffer.from(`${envDir}/`), name]), value);
      userErrorOrResult('platform-env', () => {
        const userEnv = UserEnv.read(path.join(root, 'platform'), {});
        const platformValues: Record<string, string> = {};
        for (const [name, value] of files) {
          const v = userEnv.raw(name.toString('utf8'));
          if (v !== undefined) platformValues[name.toString('utf8')] = v;
          if (v !== undefined) expect(Buffer.from(v).equals(fs.readFileSync(Buffer.concat([Buffer.from(`${envDir}/`), name]))), 'byte for byte').to.equal(true);
          void value;
        }
        startable(platformValues);
        checkPlatformEnv(userEnv);
        analyse({ ...fuzzContext(root), userEnv });
      });
    }), { numRuns: Math.min(RUNS, 1000) });
  });

  it('requirement files with includes and local paths', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-req-'));
    fs.writeFileSync(path.join(dir, 'base.txt'), 'flask\n-r requirements.txt\n');
    const line = fc.oneof(fc.string(), fc.constantFrom('-r base.txt', '-r missing.txt', '-c base.txt', '--requirement=base.txt', '-e .', './lib', '../outside', '-e', '-r', 'flask==1.0 \\', 'file:./x', '/abs/path', '-r ../../../../etc/passwd'));
    fc.assert(fc.property(fc.array(line, { maxLength: 6 }), (lines) => {
      fs.writeFileSync(path.join(dir, 'requirements.txt'), lines.join('\n'));
      userErrorOrResult('requirements', () => {
        const inputs = collectRequirementInputs(dir, ['requirements.txt']);
        return [hashRequirementFiles(dir, inputs.files), localInputsKey(dir, inputs.local)];
      });
    }), { numRuns: Math.min(RUNS, 1000) });
  });
});
