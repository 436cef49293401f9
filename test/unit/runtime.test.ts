import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { phaseOf, run, type Buildpack } from '../../src/cnb/runtime.js';
import { CnbError, ExitCode } from '../../src/cnb/error.js';
import { BuildpackError } from '../../src/failure.js';
import { Logger } from '../../src/logger.js';
import { reportError } from '../../src/report-error.js';
import fc from 'fast-check';
import { planToml, writeBuildPlan, type BuildPlan } from '../../src/cnb/plan.js';
import { parseToml } from '../../src/cnb/toml.js';

function buildpackDir(api = '0.10'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-'));
  fs.writeFileSync(path.join(dir, 'buildpack.toml'), `api = "${api}"\n[buildpack]\nid = "t/x"\nversion = "1.0.0"\n[metadata]\nbig = 1\n`);
  return dir;
}

/** A buildpack whose phases are given, recording what reaches onError. */
function buildpack(phases: Partial<Pick<Buildpack, 'detect' | 'build'>>): Buildpack & { errors: unknown[] } {
  const errors: unknown[] = [];
  return {
    detect: phases.detect ?? (async () => ({ pass: false })),
    build: phases.build ?? (async () => undefined),
    onError: (err) => void errors.push(err),
    errors,
  };
}

/** A logger writing to two strings: the log (stdout) and the error sink (stderr). */
function capturingLog(debug = false): { log: Logger; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const log = new Logger({ write: (t) => { out += t; } }, undefined, false, debug, { write: (t) => { err += t; } });
  return { log, out: () => out, err: () => err };
}

describe('runtime', () => {
  const platform = fs.mkdtempSync(path.join(os.tmpdir(), 'plat-'));
  const env = (bp: string, extra: Record<string, string> = {}) => ({ CNB_BUILDPACK_DIR: bp, CNB_PLATFORM_DIR: platform, CNB_BUILD_PLAN_PATH: path.join(platform, 'plan'), CNB_LAYERS_DIR: platform, NO_COLOR: '1', ...extra });
  const userError = new BuildpackError({ type: 'nothing-to-install' });

  it('chooses the phase from the name it was called by', () => {
    expect(phaseOf('/cnb/buildpacks/x/1/bin/detect', ['/platform', '/plan']).phase).to.equal('detect');
    expect(phaseOf('/x/bin/build', []).phase).to.equal('build');
    expect(phaseOf('/x/bin/ausnimbus-python', ['s2i-assemble'], ['s2i-assemble']).phase).to.deep.equal({ subcommand: 's2i-assemble' });
    expect(phaseOf('/x/bin/other', []).phase).to.equal(undefined);
  });

  it('maps results and errors to exit codes, handing each failure to onError once', async () => {
    const bp = buildpackDir();
    const failing = buildpack({ build: async () => { throw userError; } });
    expect(await run(failing, '/x/bin/detect', [], env(bp))).to.equal(ExitCode.detectFail);
    expect(await run(failing, '/x/bin/build', [], env(bp))).to.equal(ExitCode.error);
    expect(failing.errors).to.deep.equal([userError]);
    expect(await run(failing, '/x/bin/other', [], env(bp))).to.equal(ExitCode.unknownExecutable);
    expect((failing.errors[1] as CnbError).cause).to.deep.equal({ type: 'unknown-executable', name: 'other' });
    const noLifecycle = buildpack({});
    expect(await run(noLifecycle, '/x/bin/build', [], { CNB_BUILDPACK_DIR: bp })).to.equal(ExitCode.error);
    expect((noLifecycle.errors[0] as CnbError).cause).to.deep.equal({ type: 'missing-lifecycle-variable', name: 'CNB_LAYERS_DIR' });
  });

  it('refuses a buildpack.toml whose api is not the one implemented', async () => {
    const bp = buildpack({});
    expect(await run(bp, '/x/bin/detect', [], env(buildpackDir('0.9')))).to.equal(ExitCode.apiMismatch);
    expect((bp.errors[0] as CnbError).cause).to.deep.equal({ type: 'api-mismatch', found: '0.9', expected: '0.10' });
  });
});

describe('reporting an error', () => {
  it('prints a user error once on stderr, with no stack unless BP_LOG_LEVEL=DEBUG', () => {
    const plain = capturingLog();
    reportError(new BuildpackError({ type: 'nothing-to-install' }), plain.log);
    expect(plain.out()).to.equal('');
    expect(plain.err()).to.match(/^\n\[Error: No dependencies to install\]\nBP_PIP_REQUIREMENT is set but names no file\./);
    expect(plain.err()).to.not.match(/\n\s+at /);
    const debug = capturingLog(true);
    reportError(new BuildpackError({ type: 'nothing-to-install' }), debug.log);
    expect(debug.out()).to.match(/at .*runtime\.test\.ts/);
  });

  it('reports anything else as an internal error that asks for a bug report, and framework errors by their cause', () => {
    const c = capturingLog();
    reportError(new TypeError('boom'), c.log);
    expect(c.err()).to.contain('[Error: Internal buildpack error]').and.contain('boom').and.contain('file a bug report');
    reportError(new CnbError({ type: 'api-mismatch', found: '0.9', expected: '0.10' }), c.log);
    expect(c.err()).to.contain('[Error: Unsupported Buildpack API]').and.contain('api = "0.9"');
  });

  it('masks credentials in what it prints', () => {
    const c = capturingLog();
    reportError(new BuildpackError({ type: 'download-not-found', url: 'https://u:hunter2@example.com/p.tgz', detail: 'HTTP 404' }), c.log);
    expect(c.err()).to.contain('https://****@example.com/p.tgz').and.not.contain('hunter2');
  });
});

describe('build plan files', () => {
  it('writes a plan without a top-level version', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-'));
    await writeBuildPlan(path.join(dir, 'plan.toml'), { provides: [{ name: 'python' }], requires: [{ name: 'python', metadata: { version: '3.12' } }] });
    const plan = parseToml(fs.readFileSync(path.join(dir, 'plan.toml'), 'utf8')) as { requires: Array<Record<string, unknown>> };
    expect(plan.requires[0]).to.deep.equal({ name: 'python', metadata: { version: '3.12' } });
  });

  it('writes TOML that the parser reads back as the same plan, for any names, keys and values', () => {
    const text = fc.string({ unit: 'binary' });
    const plans: fc.Arbitrary<BuildPlan> = fc.record({
      provides: fc.array(fc.record({ name: text }), { maxLength: 3 }),
      requires: fc.array(
        fc.record({ name: text, metadata: fc.option(fc.dictionary(text, fc.oneof(text, fc.boolean()), { maxKeys: 4 }), { nil: undefined }) }, { requiredKeys: ['name'] }),
        { maxLength: 3 },
      ),
    });
    fc.assert(
      fc.property(plans, (plan) => {
        const read = parseToml(planToml(plan)) as Record<string, unknown>;
        const expected: Record<string, unknown> = {};
        if (plan.provides.length > 0) expected.provides = plan.provides;
        if (plan.requires.length > 0) expected.requires = plan.requires.map((r) => (r.metadata ? { name: r.name, metadata: r.metadata } : { name: r.name }));
        expect(JSON.parse(JSON.stringify(read))).to.deep.equal(expected);
      }),
      { numRuns: 300 },
    );
  });
});
