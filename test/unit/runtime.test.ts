import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ExitCode, phaseOf, run, type Buildpack } from '../../src/cnb/runtime.js';
import { BuildpackError } from '../../src/errors.js';
import { readBuildpackPlan, writeBuildPlan, writeBuildToml } from '../../src/cnb/plan.js';
import { parseToml } from '../../src/cnb/toml.js';

function buildpackDir(api = '0.10'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-'));
  fs.writeFileSync(path.join(dir, 'buildpack.toml'), `api = "${api}"\n[buildpack]\nid = "t/x"\nversion = "1.0.0"\n[metadata]\nbig = 1\n`);
  return dir;
}

/** Captures stdout while `fn` runs. */
async function captured(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const write = process.stdout.write.bind(process.stdout);
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  }) as typeof process.stdout.write;
  try {
    return { code: await fn(), out };
  } finally {
    process.stdout.write = write;
  }
}

describe('runtime', () => {
  const platform = fs.mkdtempSync(path.join(os.tmpdir(), 'plat-'));
  const env = (bp: string, extra: Record<string, string> = {}) => ({ CNB_BUILDPACK_DIR: bp, CNB_PLATFORM_DIR: platform, CNB_BUILD_PLAN_PATH: path.join(platform, 'plan'), CNB_LAYERS_DIR: platform, NO_COLOR: '1', ...extra });
  const failing: Buildpack = {
    detect: async () => ({ pass: false }),
    build: async () => {
      throw new BuildpackError('Something the user can fix', 'Do this.');
    },
  };

  it('chooses the phase from the name it was called by', () => {
    expect(phaseOf('/cnb/buildpacks/x/1/bin/detect', ['/platform', '/plan']).phase).to.equal('detect');
    expect(phaseOf('/x/bin/build', []).phase).to.equal('build');
    expect(phaseOf('/x/bin/ausnimbus-python', ['s2i-assemble'], ['s2i-assemble']).phase).to.deep.equal({ subcommand: 's2i-assemble' });
    expect(phaseOf('/x/bin/other', []).phase).to.equal(undefined);
  });

  it('maps results and errors to exit codes, printing a user error once without a stack', async () => {
    const bp = buildpackDir();
    expect((await captured(() => run(failing, '/x/bin/detect', [], env(bp)))).code).to.equal(ExitCode.detectFail);
    const { code, out } = await captured(() => run(failing, '/x/bin/build', [], env(bp)));
    expect(code).to.equal(1);
    expect(out).to.equal('\n[Error: Something the user can fix]\nDo this.\n');
    const debug = await captured(() => run(failing, '/x/bin/build', [], env(bp, { BP_LOG_LEVEL: 'DEBUG' })));
    expect(debug.out).to.match(/at .*runtime\.test\.ts/);
    expect((await captured(() => run(failing, '/x/bin/other', [], env(bp)))).code).to.equal(ExitCode.unknownExecutable);
  });

  it('refuses a buildpack.toml whose api is not the one implemented, and reports internal errors as such', async () => {
    const { code, out } = await captured(() => run(failing, '/x/bin/detect', [], env(buildpackDir('0.9'))));
    expect(code).to.equal(ExitCode.apiMismatch);
    expect(out).to.contain('Unsupported Buildpack API');
    const crash: Buildpack = { detect: async () => { throw new TypeError('boom'); }, build: async () => undefined };
    const internal = await captured(() => run(crash, '/x/bin/detect', [], env(buildpackDir())));
    expect(internal.code).to.equal(1);
    expect(internal.out).to.contain('[Error: Internal buildpack error]').and.contain('boom').and.contain('file a bug report');
    expect(internal.out).to.not.match(/\n\s+at /);
  });

  it('writes a plan without a top-level version, reads an empty buildpack plan, and checks build.toml names', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-'));
    await writeBuildPlan(path.join(dir, 'plan.toml'), { provides: [{ name: 'python' }], requires: [{ name: 'python', metadata: { version: '3.12' } }] });
    const plan = parseToml(fs.readFileSync(path.join(dir, 'plan.toml'), 'utf8')) as { requires: Array<Record<string, unknown>> };
    expect(plan.requires[0]).to.deep.equal({ name: 'python', metadata: { version: '3.12' } });
    fs.writeFileSync(path.join(dir, 'empty.toml'), '');
    expect(await readBuildpackPlan(path.join(dir, 'empty.toml'))).to.deep.equal([]);
    await writeBuildToml(dir, ['python'], [{ name: 'python', metadata: {} }]);
    expect(fs.readFileSync(path.join(dir, 'build.toml'), 'utf8')).to.contain('[[unmet]]');
    await writeBuildToml(dir, ['node'], [{ name: 'python', metadata: {} }]).then(() => expect.fail('accepted'), (e: Error) => expect(e.message).to.contain('node'));
  });
});
