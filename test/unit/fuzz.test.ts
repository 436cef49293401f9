/**
 * Property tests over every parser of user input: each input ends in a result or in a BuildpackError (the one
 * user error type), never in another exception. The number of cases run is printed for the record.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BuildpackError } from '../../src/failure.js';
import { renderCause } from '../../src/messages.js';
import { parsePythonVersionFile, parseRuntimeTxt, readVersionRequest, toSpecifier } from '../../src/python/version-request.js';
import { parseManifest, resolveDistribution, type Distribution } from '../../src/python/distributions.js';
import { parseS2iEnvironment } from '../../src/s2i/environment.js';
import { collectRequirementInputs, hashInputs } from '../../src/python/requirements.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 5000);
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

const dists: Distribution[] = ['2.7.18', '3.6.15', '3.11.7', '3.12.14', '3.13.15', '3.14.7'].map((version) => ({
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
        if (spec !== undefined) resolveDistribution({ written: text, specifier: spec, source: 'BP_PYTHON_VERSION' }, dists, 'amd64');
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

  it('requirement files with includes and local paths', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-req-'));
    fs.writeFileSync(path.join(dir, 'base.txt'), 'flask\n-r requirements.txt\n');
    const line = fc.oneof(fc.string(), fc.constantFrom('-r base.txt', '-r missing.txt', '-c base.txt', '--requirement=base.txt', '-e .', './lib', '../outside', '-e', '-r', 'flask==1.0 \\', 'file:./x', '/abs/path', '-r ../../../../etc/passwd'));
    fc.assert(fc.property(fc.array(line, { maxLength: 6 }), (lines) => {
      fs.writeFileSync(path.join(dir, 'requirements.txt'), lines.join('\n'));
      userErrorOrResult('requirements', () => hashInputs(dir, collectRequirementInputs(dir, ['requirements.txt'])));
    }), { numRuns: Math.min(RUNS, 1000) });
  });
});
