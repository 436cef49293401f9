/**
 * bin/detect and bin/build get exactly what the lifecycle gives them (buildpack.md §Detection and §Build, buildpack.md §Environment, buildpack.md §Build Plan (TOML)):
 * argv, cwd, stdin, uid, the filtered environment, platform env files and the plans. The same dump, made
 * by the real lifecycle's detector and builder (test/lifecycle/), must match this platform's line for line.
 */
import * as fsp from 'node:fs/promises';
import { expect } from 'chai';
import { hostileBaseEnv } from './lifecycle.js';
import type { LocalPlatform } from './lifecycle.js';
import { SLEEP_WEB, cleanupPlatforms, requireRoot, shPlatform, shRealLifecycle } from './test-helpers.js';

const DUMP = `echo "ARGV0=$0"
echo "ARGS=$*"
echo "CWD=$(pwd)"
echo "UID=$(id -u):$(id -g)"
echo "STDIN=$(readlink /proc/self/fd/0)"
echo "--- env"
env | sort
echo "--- end"`;

const DETECT = `${DUMP}
echo "PLANMODE=$(stat -c %a "$CNB_BUILD_PLAN_PATH") PLANSIZE=$(stat -c %s "$CNB_BUILD_PLAN_PATH")"
cat > "$CNB_BUILD_PLAN_PATH" <<'EOF'
[[provides]]
name = "python"
[[requires]]
name = "python"
[requires.metadata]
version = "3.12"
[[requires]]
name = "python"
EOF`;

const BUILD = `${DUMP}
echo "--- plan"
cat "$CNB_BP_PLAN_PATH"
echo "--- platform"
ls -ld "$CNB_PLATFORM_DIR/env" | cut -c1-10
printf '%s' "$(cat "$CNB_PLATFORM_DIR/env/BP_FOO" 2>/dev/null)" | od -c | head -1
touch "$CNB_PLATFORM_DIR/x" 2>/dev/null && echo "PLATFORM WRITABLE" || echo "platform read-only"
touch "$CNB_BUILDPACK_DIR/x" 2>/dev/null && echo "BUILDPACK WRITABLE" || echo "buildpack read-only"
echo "LAYERSMODE=$(stat -c %a "$CNB_LAYERS_DIR")"
${SLEEP_WEB}`;

function envOf(output: string): Record<string, string> {
  const block = output.split('--- env\n')[1]?.split('--- end')[0] ?? '';
  return Object.fromEntries(block.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

const ALLOWED = new Set(['PATH', 'HOME', 'HOSTNAME', 'PWD', 'SHLVL', '_']);

describe('platform: the detect/build contract', function () {
  this.timeout(60_000);
  let platform: LocalPlatform;
  after(cleanupPlatforms);
  before(async () => {
    platform = await shPlatform({ id: 'test/env', detect: DETECT, build: BUILD });
  });

  it('runs bin/detect with the lifecycle argv, cwd, stdin, uid and env only', async () => {
    const app = await platform.app({ 'app.py': 'print(1)' });
    const det = await platform.detect(app, { platformEnv: { BP_FOO: 'bar' }, baseEnv: { LANG: 'C.UTF-8', TMPDIR: '/tmp', http_proxy: 'http://proxy:3128' } });
    expect(det.status).to.equal('pass');
    const out = det.output;
    expect(out).to.include(`ARGV0=${platform.buildpackDir}/bin/detect\n`);
    expect(out).to.include(`ARGS=${app.platformDir} `);
    expect(out).to.include(`CWD=${app.appDir}\n`).and.include(`UID=${platform.buildUser.uid}:${platform.buildUser.gid}\n`);
    expect(out).to.include('STDIN=/dev/null').and.include('PLANMODE=600 PLANSIZE=0');
    const env = envOf(out);
    const cnb = Object.keys(env).filter((k) => k.startsWith('CNB_')).sort();
    expect(cnb).to.include.members(['CNB_BUILDPACK_DIR', 'CNB_BUILD_PLAN_PATH', 'CNB_PLATFORM_DIR', 'CNB_TARGET_ARCH', 'CNB_TARGET_OS']);
    expect(cnb.filter((k) => !k.startsWith('CNB_TARGET_'))).to.deep.equal(['CNB_BUILDPACK_DIR', 'CNB_BUILD_PLAN_PATH', 'CNB_PLATFORM_DIR']);
    const others = Object.keys(env).filter((k) => !k.startsWith('CNB_') && !ALLOWED.has(k));
    expect(others.sort()).to.deep.equal(['BP_FOO', 'http_proxy']); // no LANG, no TMPDIR
    expect(env.CNB_TARGET_OS).to.equal('linux');
    expect(env.CNB_TARGET_ARCH).to.be.oneOf(['amd64', 'arm64']);
    expect(env.PATH).to.equal('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(det.entries).to.deep.equal([{ name: 'python', metadata: { version: '3.12' } }, { name: 'python' }]);
  });

  it('runs bin/build with the layers dir, read-only platform and buildpack dirs, and the Buildpack Plan', async () => {
    const app = await platform.app({});
    const res = await platform.buildOk(app, { platformEnv: { BP_FOO: 'bar', PATH: '/user/bin' } });
    const out = res.buildOutput;
    const bpLayers = `${app.layersDir}/test_env`;
    expect(out).to.include(`ARGV0=${platform.buildpackDir}/bin/build\n`);
    expect(out).to.match(new RegExp(`ARGS=${bpLayers} ${app.platformDir} /\\S+/test_env/plan\\.toml\\n`));
    const env = envOf(out);
    expect(env.CNB_LAYERS_DIR).to.equal(bpLayers);
    expect(env.CNB_BP_PLAN_PATH).to.match(/\/test_env\/plan\.toml$/);
    expect(env).to.not.have.property('CNB_BUILD_PLAN_PATH');
    expect(env.PATH).to.equal('/user/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(env.BP_FOO).to.equal('bar');
    expect(out).to.include('0000000   b   a   r\n'); // no trailing newline in the env file
    expect(out).to.include('platform read-only').and.include('buildpack read-only').and.include('LAYERSMODE=755');
    const plan = out.split('--- plan\n')[1]?.split('--- platform')[0] ?? '';
    expect(plan).to.match(/\[\[entries\]\]\s+name = "python"\s+\[entries\.metadata\]\s+version = "3\.12"\s+\[\[entries\]\]\s+name = "python"\s*$/);
  });

  it('passes hostile path variables through (only include-listed ones)', async () => {
    const app = await platform.app({});
    const res = await platform.buildOk(app, { baseEnv: { ...hostileBaseEnv(), PYTHONPATH: '/invalid' } });
    const env = envOf(res.buildOutput);
    for (const k of ['CPATH', 'LD_LIBRARY_PATH', 'LIBRARY_PATH', 'PKG_CONFIG_PATH']) expect(env[k]).to.match(/\/invalid/);
    expect(env.PATH).to.match(/^\/invalid\/bin:/);
    expect(env).to.not.have.property('PYTHONPATH');
  });

  it('applies a platform-wide baseEnv to every build, under each call\'s baseEnv', async () => {
    const p2 = await shPlatform({ id: 'test/envwide', build: BUILD }, { baseEnv: { ...hostileBaseEnv(), HOME: '/nonexistent' } });
    const env = envOf((await p2.buildOk(await p2.app({}))).buildOutput);
    expect(env.PATH).to.match(/^\/invalid\/bin:/);
    expect(env.HOME).to.equal('/nonexistent');
    const env2 = envOf((await p2.buildOk(await p2.app({}), { baseEnv: { HOME: '/elsewhere' } })).buildOutput);
    expect(env2.HOME).to.equal('/elsewhere');
    expect(env2.CPATH).to.equal('/invalid/include');
  });

  it('does not export user variables with clear-env = true (the files stay readable)', async () => {
    const p2 = await shPlatform({ id: 'test/clear', clearEnv: true, build: BUILD });
    const res = await p2.buildOk(await p2.app({}), { platformEnv: { BP_FOO: 'bar' } });
    expect(envOf(res.buildOutput)).to.not.have.property('BP_FOO');
    expect(res.buildOutput).to.include('0000000   b   a   r\n');
  });

  it('applies operator build-config env files after the user env (unsuffixed = default)', async () => {
    const app = await platform.app({});
    const res = await platform.buildOk(app, {
      platformEnv: { BP_FOO: 'user' },
      buildConfigEnv: { BP_FOO: 'operator', 'BP_BAR.override': 'forced' },
    });
    const env = envOf(res.buildOutput);
    expect(env.BP_FOO).to.equal('user');
    expect(env.BP_BAR).to.equal('forced');
  });

  it('installs the buildpack at cnb/buildpacks/<escaped id>/<version> owned by root', async () => {
    requireRoot('a root-owned buildpack dir');
    expect(platform.buildpackDir).to.match(/\/cnb\/buildpacks\/test_env\/0\.0\.1$/);
    const st = await fsp.stat(platform.buildpackDir);
    expect(st.mode & 0o777).to.equal(0o755);
    expect(st.uid).to.equal(0);
  });

  it('fails detection when the buildpack targets do not match', async () => {
    const p2 = await shPlatform({ id: 'test/target', build: SLEEP_WEB }, { target: { os: 'windows' } });
    const det = await p2.detect(await p2.app({}));
    expect(det).to.include({ status: 'fail', code: null, lifecycleExitCode: 20 });
    expect(det.error).to.match(/unable to satisfy target os\/arch constraints/);
  });
});

describe('platform: the detect/build contract is the real lifecycle\'s', function () {
  this.timeout(60_000);
  after(cleanupPlatforms);

  /** `text` with the paths of one build replaced by placeholders (and the random parts of temp dir names). */
  function normalized(text: string, paths: Record<string, string>): string {
    let out = text;
    for (const [name, p] of Object.entries(paths).sort((a, b) => b[1].length - a[1].length)) out = out.split(p).join(`<${name}>`);
    out = out.replace(/\/plan\.\w+\//g, '/plan.*/').replace(/\/test_env-\w+\//g, '/test_env-*/');
    // TOML layout (the Buildpack Plan): Go's encoder indents tables, ours does not
    return out.split('\n').map((l) => l.trimStart()).filter((l) => l !== '').join('\n');
  }

  /** The dump the scripts print (from ARGV0= to the line matching `last`), normalised. */
  function dump(output: string, last: RegExp, paths: Record<string, string>): string {
    const start = output.indexOf('ARGV0=');
    const end = start < 0 ? null : last.exec(output.slice(start));
    if (!end) throw new Error(`no dump in:\n${output}`);
    return normalized(output.slice(start, start + end.index + end[0].length), paths);
  }

  async function both(): Promise<{ platform: LocalPlatform; lifecycle: Awaited<ReturnType<typeof shRealLifecycle>> }> {
    const spec = { id: 'test/env', detect: DETECT, build: BUILD };
    return { platform: await shPlatform(spec), lifecycle: await shRealLifecycle(spec) };
  }

  it('bin/detect: same argv, cwd, uid, stdin, environment and plan file as under the real detector', async () => {
    const { platform, lifecycle } = await both();
    const baseEnv = { LANG: 'C.UTF-8', http_proxy: 'http://proxy:3128' };
    const emuApp = await platform.app({ 'app.py': 'print(1)' });
    const emu = await platform.detect(emuApp, { platformEnv: { BP_FOO: 'bar' }, baseEnv });
    const realApp = await lifecycle.app({ 'app.py': 'print(1)' });
    const real = await lifecycle.detect(realApp, { platformEnv: { BP_FOO: 'bar' }, baseEnv, logLevel: 'debug' });
    expect(real.exitCode, real.output).to.equal(0);
    const last = /^PLANMODE=.*$/m;
    const emuDump = dump(emu.output, last, { app: emuApp.appDir, platform: emuApp.platformDir, bp: platform.buildpackDir, home: `${emuApp.root}/home`, tmp: `${emuApp.root}/tmp` });
    const realDump = dump(real.output, last, { app: realApp.appDir, platform: realApp.platformDir, bp: lifecycle.buildpackDir, home: `${realApp.root}/home`, tmp: `${realApp.root}/tmp` });
    expect(emuDump).to.contain('CNB_BUILD_PLAN_PATH=<tmp>/plan.*/plan.toml');
    expect(emuDump).to.equal(realDump);
  });

  it('bin/build: same argv, cwd, uid, environment, Buildpack Plan and directory modes as under the real builder', async () => {
    const { platform, lifecycle } = await both();
    const platformEnv = { BP_FOO: 'bar', PATH: '/user/bin' };
    const emuApp = await platform.app({});
    const emu = await platform.buildOk(emuApp, { platformEnv });
    const realApp = await lifecycle.app({});
    const real = await lifecycle.buildOk(realApp, { platformEnv });
    const last = /^LAYERSMODE=.*$/m;
    const emuDump = dump(emu.buildOutput, last, { layers: emuApp.layersDir, platform: emuApp.platformDir, bp: platform.buildpackDir, home: `${emuApp.root}/home`, app: emuApp.appDir, tmp: `${emuApp.root}/tmp` });
    const realDump = dump(real.output, last, { layers: realApp.layersDir, platform: realApp.platformDir, bp: lifecycle.buildpackDir, home: `${realApp.root}/home`, app: realApp.appDir, tmp: `${realApp.root}/tmp` });
    expect(emuDump).to.contain('PATH=/user/bin:').and.contain('[[entries]]');
    expect(emuDump).to.equal(realDump);
  });
});
