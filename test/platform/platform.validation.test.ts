/**
 * The platform must REJECT buildpacks that break the Buildpack API (the Buildpack API spec): each case is a
 * tiny sh buildpack with exactly one mistake. Every case also runs through the real lifecycle's detector,
 * builder and launcher (test/lifecycle/), and the two must agree: the exit code the real lifecycle ends
 * the build with is the one this platform predicts (`lifecycleExitCode` with strict=false). Where the
 * real lifecycle accepts what this platform refuses, the refusal must come from spec-only rules only
 * (`stricterThanLifecycle`); those cases say so in their names.
 */
import { expect } from 'chai';
import { LaunchError, PlatformValidationError } from './errors.js';
import type { ShBuildpackSpec } from './sh-buildpack.js';
import { SLEEP_WEB, cleanupPlatforms, expectRejection, expectSameVerdict, shPlatform, shRealLifecycle } from './test-helpers.js';

const L = '"$CNB_LAYERS_DIR"';

/** A launch layer `foo` with the given extra shell lines. */
const fooLayer = (extra: string): string => `mkdir -p ${L}/foo
printf '[types]\\nlaunch = true\\n' > ${L}/foo.toml
${extra}`;

/** The lifecycle accepts the build (exit 0); this platform refuses it for spec-only rules only. */
async function expectOnlyStricter(spec: ShBuildpackSpec): Promise<void> {
  const { emulator } = await expectSameVerdict(spec, 0);
  expect(emulator.violations).to.not.be.empty;
  expect(emulator.stricterThanLifecycle).to.deep.equal(emulator.violations);
}

describe('platform: rejects broken buildpacks, as the real lifecycle does', function () {
  this.timeout(60_000);
  afterEach(cleanupPlatforms);

  it('accepts the minimal valid buildpack (control case); so does the lifecycle', async () => {
    const spec = { id: 'test/ok', build: SLEEP_WEB };
    const platform = await shPlatform(spec);
    const res = await platform.buildOk(await platform.app({ 'app.txt': 'hi' }));
    expect(res.violations).to.deep.equal([]);
    expect(res.image?.defaultProcess).to.equal('web');
    const { real } = await expectSameVerdict(spec, 0);
    expect(real.image?.defaultProcess).to.equal('web');
  });

  it('rejects launch.toml with a string command (builder exit 52)', async () => {
    const spec = { id: 'test/broken', build: `printf '[[processes]]\\ntype = "web"\\ncommand = "sleep 60"\\n' > ${L}/launch.toml` };
    const platform = await shPlatform(spec);
    const err = await expectRejection(platform.build(await platform.app({})), PlatformValidationError, /command must be an array of strings/);
    expect(err.phase).to.equal('build');
    const { real } = await expectSameVerdict(spec, 52);
    expect(real.output).to.match(/ERROR: failed to build: .*"processes\.command".*destination has type slice/);
  });

  it('rejects a <layer>.toml with a top-level launch = true (builder exit 52)', async () => {
    const spec = { id: 'test/broken', build: `${SLEEP_WEB}\nmkdir -p ${L}/foo\nprintf 'launch = true\\n' > ${L}/foo.toml` };
    const platform = await shPlatform(spec);
    const err = await expectRejection(platform.build(await platform.app({})), PlatformValidationError, /flags should be in the types table/);
    expect(err.violations.join('\n')).to.match(/foo\.toml: no \[types\] table/);
    const { real } = await expectSameVerdict(spec, 52);
    expect(real.output).to.contain('the launch, cache and build flags should be in the types table');
  });

  it('rejects an env file with a trailing newline (spec only; the lifecycle accepts it and the value keeps the newline)', async () => {
    const spec = { id: 'test/broken', build: `${SLEEP_WEB}\n${fooLayer(`mkdir -p ${L}/foo/env.launch && echo bar > ${L}/foo/env.launch/FOO`)}` };
    const platform = await shPlatform(spec);
    await expectRejection(platform.build(await platform.app({})), PlatformValidationError, /foo\/env\.launch\/FOO: value ends with a newline/);
    await expectOnlyStricter(spec);
    const lifecycle = await shRealLifecycle(spec);
    const res = await lifecycle.buildOk(await lifecycle.app({}));
    const proc = await lifecycle.launch(res, { command: ['sh', '-c', 'printf "[%s]" "$FOO"'] });
    await proc.waitForExit(10_000);
    expect(proc.output()).to.equal('[bar\n]');
  });

  it('fails the launch when exec.d prints a number (WEB_CONCURRENCY = 4), with exit 82 like the launcher', async () => {
    const spec = {
      id: 'test/broken',
      build: `${SLEEP_WEB}
${fooLayer(`mkdir -p ${L}/foo/exec.d
printf '#!/bin/sh\\necho "exec.d ran"\\nprintf "WEB_CONCURRENCY = 4\\\\n" >&3\\n' > ${L}/foo/exec.d/concurrency
chmod 755 ${L}/foo/exec.d/concurrency`)}`,
    };
    const platform = await shPlatform(spec);
    const res = await platform.buildOk(await platform.app({}));
    const err = await expectRejection(platform.launch(res), LaunchError, /failed to decode output from exec\.d file .*concurrency.*WEB_CONCURRENCY is a number/s);
    expect(err.exitCode).to.equal(82);
    expect(err.output).to.include('exec.d ran');

    const lifecycle = await shRealLifecycle(spec);
    const proc = await lifecycle.launch(await lifecycle.buildOk(await lifecycle.app({})));
    expect((await proc.waitForExit(10_000)).code).to.equal(82);
    expect(proc.output()).to.include('exec.d ran').and.match(/failed to decode output from exec\.d file .*concurrency.*WEB_CONCURRENCY/s);
  });

  it('fails the launch when an exec.d program exits non-zero, with exit 82 like the launcher', async () => {
    const spec = {
      id: 'test/broken',
      build: `${SLEEP_WEB}\n${fooLayer(`mkdir -p ${L}/foo/exec.d && printf '#!/bin/sh\\nexit 3\\n' > ${L}/foo/exec.d/x && chmod 755 ${L}/foo/exec.d/x`)}`,
    };
    const platform = await shPlatform(spec);
    const res = await platform.buildOk(await platform.app({}));
    await expectRejection(platform.launch(res), LaunchError, /failed to execute exec\.d file .*: exit status 3/);

    const lifecycle = await shRealLifecycle(spec);
    const proc = await lifecycle.launch(await lifecycle.buildOk(await lifecycle.app({})));
    expect((await proc.waitForExit(10_000)).code).to.equal(82);
    expect(proc.output()).to.match(/failed to execute exec\.d file .*: exit status 3/);
  });

  it('rejects launch.toml without a web process (Tekton CNB_PROCESS_TYPE=web): the builder accepts it, the export fails', async () => {
    const spec = {
      id: 'test/broken',
      build: `printf '[[processes]]\\ntype = "worker"\\ncommand = ["sleep", "1"]\\ndefault = true\\n' > ${L}/launch.toml`,
    };
    const platform = await shPlatform(spec);
    const app = await platform.app({});
    const err = await expectRejection(platform.build(app), PlatformValidationError, /tried to set web to default but it doesn't exist/);
    expect(err.phase).to.equal('export');
    // the check is an option: pack without --default-process accepts it
    const res = await platform.buildOk(app, { defaultProcess: null });
    expect(res.image?.defaultProcess).to.equal('worker');

    const { real } = await expectSameVerdict(spec, 62);
    expect(real.failedPhase).to.equal('exporter');
    const lifecycle = await shRealLifecycle(spec);
    const pack = await lifecycle.buildOk(await lifecycle.app({}), { defaultProcess: null });
    expect(pack.image?.defaultProcess).to.equal('worker');
  });

  /** [what, bin/build lines, the platform's message, the lifecycle's exit code] */
  const cases: Array<[string, string, RegExp, 0 | 52 | 62]> = [
    ['.prepend without .delim', fooLayer(`mkdir -p ${L}/foo/env && printf '/x' > ${L}/foo/env/PATHX.prepend`), /\.prepend without PATHX\.delim/, 0],
    ['an env file with an unknown suffix', fooLayer(`mkdir -p ${L}/foo/env && printf 'x' > ${L}/foo/env/FOO.prefix`), /unknown suffix "\.prefix"/, 0],
    ['a CNB_* variable', fooLayer(`mkdir -p ${L}/foo/env.launch && printf 'x' > ${L}/foo/env.launch/CNB_FOO.default`), /CNB_ prefix is reserved/, 0],
    ['a layer name with a dot', `mkdir -p ${L}/py.3 && printf '[types]\\nlaunch = true\\n' > ${L}/py.3.toml`, /layer name 'py\.3' contains a dot/, 0],
    ['a reserved layer name', `mkdir -p ${L}/store && printf '[types]\\n' > ${L}/store.toml`, /names build, launch and store are reserved/, 0],
    ['launch+cache layer without contents', `printf '[types]\\nlaunch = true\\ncache = true\\n' > ${L}/foo.toml`, /layer 'test\/broken:foo' is cache=true but has no contents/, 62],
    ['cache-only layer without a directory', `printf '[types]\\ncache = true\\n' > ${L}/foo.toml`, /is cache=true but has no directory/, 0],
    ['launch-only layer without dir and no previous image', `printf '[types]\\nlaunch = true\\n' > ${L}/foo.toml`, /cannot reuse 'test\/broken:foo', previous image has no metadata/, 62],
    ['a [[unmet]] name not in the plan', `printf '[[unmet]]\\nname = "nodejs"\\n' > ${L}/build.toml`, /unmet\.name 'nodejs' must match a requested dependency/, 52],
    ['an undeclared SBOM media type', fooLayer(`printf '{}' > ${L}/foo.sbom.spdx.json`), /undeclared SBOM media type: 'application\/spdx\+json'/, 52],
    ['an unsupported SBOM extension', fooLayer(`printf '{}' > ${L}/foo.sbom.xml.json`), /unsupported SBOM file format/, 52],
    ['a non-executable exec.d file', fooLayer(`mkdir -p ${L}/foo/exec.d && printf '#!/bin/sh\\n' > ${L}/foo/exec.d/x && chmod 644 ${L}/foo/exec.d/x`), /exec\.d file is not executable/, 0],
  ];
  const verdict = (exit: number): string => (exit === 52 ? 'builder exit 52' : exit === 62 ? 'the builder accepts it, the export fails' : 'spec only; the lifecycle accepts it');
  for (const [what, script, pattern, exit] of cases) {
    it(`rejects ${what} (${verdict(exit)})`, async () => {
      const spec = { id: 'test/broken', sbomFormats: ['application/vnd.cyclonedx+json'], build: `${SLEEP_WEB}\n${script}` };
      const platform = await shPlatform(spec);
      const err = await expectRejection(platform.build(await platform.app({})), PlatformValidationError, pattern);
      expect(err.phase).to.equal(exit === 62 ? 'export' : 'build');
      if (exit === 0) await expectOnlyStricter(spec);
      else await expectSameVerdict(spec, exit);
    });
  }

  it('the lifecycle accepts a non-executable exec.d file at build, and its launcher then fails with exit 82', async () => {
    const lifecycle = await shRealLifecycle({
      id: 'test/broken',
      build: `${SLEEP_WEB}\n${fooLayer(`mkdir -p ${L}/foo/exec.d && printf '#!/bin/sh\\n' > ${L}/foo/exec.d/x && chmod 644 ${L}/foo/exec.d/x`)}`,
    });
    const proc = await lifecycle.launch(await lifecycle.buildOk(await lifecycle.app({})));
    expect((await proc.waitForExit(10_000)).code).to.equal(82);
    expect(proc.output()).to.match(/failed to execute exec\.d file .*\/x': fork\/exec .*: permission denied/);
  });

  const launchTomlCases: Array<[string, string, RegExp, 0 | 52]> = [
    ['two default processes', 'type = "web"\ncommand = ["a"]\ndefault = true\n[[processes]]\ntype = "b"\ncommand = ["b"]\ndefault = true', /multiple default process types/, 52],
    ['a direct key', 'type = "web"\ncommand = ["a"]\ndirect = true', /process\.direct is not supported/, 52],
    ['a bad process type', 'type = "web"\ncommand = ["a"]\n[[processes]]\ntype = "my worker"\ncommand = ["b"]', /type must match/, 0],
    ['$VAR in argv without a shell', 'type = "web"\ncommand = ["gunicorn", "--bind", "0.0.0.0:$PORT"]', /argv contains a \$VARIABLE/, 0],
  ];
  for (const [what, body, pattern, exit] of launchTomlCases) {
    it(`rejects launch.toml with ${what} (${verdict(exit)})`, async () => {
      const spec = { id: 'test/broken', build: `cat > ${L}/launch.toml <<'EOF'\n[[processes]]\n${body}\nEOF` };
      const platform = await shPlatform(spec);
      await expectRejection(platform.build(await platform.app({})), PlatformValidationError, pattern);
      if (exit === 0) await expectOnlyStricter(spec);
      else await expectSameVerdict(spec, exit);
    });
  }

  /**
   * More outputs, each broken in one way: the platform refuses every one (strict), and predicts the real
   * lifecycle's exit code. [what, bin/build lines, the lifecycle's exit code]
   */
  const launchToml = (body: string): string => `cat > ${L}/launch.toml <<'EOF'\n${body}\nEOF`;
  const web = (extra: string): string => launchToml(`[[processes]]\ntype = "web"\ncommand = ["a"]\n${extra}`);
  const outputCases: Array<[string, string, 0 | 52]> = [
    ['a <layer>.toml that does not parse', `${SLEEP_WEB}\nmkdir -p ${L}/foo; printf '[types\\n' > ${L}/foo.toml`, 52],
    ['[types] that is not a table', `${SLEEP_WEB}\nmkdir -p ${L}/foo; printf 'types = "x"\\n' > ${L}/foo.toml`, 52],
    ['a types flag that is not a boolean', `${SLEEP_WEB}\nmkdir -p ${L}/foo; printf '[types]\\nlaunch = "yes"\\n' > ${L}/foo.toml`, 52],
    ['a launch.toml that does not parse', `printf '[[processes]\\n' > ${L}/launch.toml`, 52],
    ['processes that are not an array of tables', launchToml('processes = "x"'), 52],
    ['a command of numbers', launchToml('[[processes]]\ntype = "web"\ncommand = [1]'), 52],
    ['args that are not an array', web('args = "x"'), 52],
    ['a default that is not a boolean', web('default = "yes"'), 52],
    ['a working-dir that is not a string', web('working-dir = 3'), 52],
    ['an exec-env that is not an array', web('exec-env = "x"'), 52],
    ['a label whose key is not a string', web('[[labels]]\nkey = 1\nvalue = "x"'), 52],
    ['slices whose paths are not an array', web('[[slices]]\npaths = "x"'), 52],
    ['a build.toml that does not parse', `${SLEEP_WEB}\nprintf '[[unmet]\\n' > ${L}/build.toml`, 52],
    ['an [[unmet]] without a name', `${SLEEP_WEB}\nprintf '[[unmet]]\\n' > ${L}/build.toml`, 52],
    ['a store.toml that does not parse', `${SLEEP_WEB}\nprintf '[metadata\\n' > ${L}/store.toml`, 52],
    ['a <layer>.toml without [types]', `${SLEEP_WEB}\nmkdir -p ${L}/foo; printf '[metadata]\\nx = "1"\\n' > ${L}/foo.toml`, 0],
    ['a [metadata] that is not a table', `${SLEEP_WEB}\nmkdir -p ${L}/foo; printf 'metadata = 3\\n[types]\\nlaunch = true\\n' > ${L}/foo.toml`, 0],
    ['a store.toml [metadata] that is not a table', `${SLEEP_WEB}\nprintf 'metadata = 1\\n' > ${L}/store.toml`, 0],
    ['two processes of one type', launchToml('[[processes]]\ntype = "web"\ncommand = ["a"]\n[[processes]]\ntype = "web"\ncommand = ["b"]'), 0],
    ['an empty command', launchToml('[[processes]]\ntype = "web"\ncommand = []'), 0],
    ['an SBOM file that is not JSON', `${SLEEP_WEB}\n${fooLayer(`printf x > ${L}/foo.sbom.cdx.xml`)}`, 0],
    ['a dangling env file', `${SLEEP_WEB}\n${fooLayer(`mkdir -p ${L}/foo/env.launch && ln -s missing-target ${L}/foo/env.launch/X`)}`, 0],
    ['an env file with an empty suffix', `${SLEEP_WEB}\n${fooLayer(`mkdir -p ${L}/foo/env.launch && printf x > ${L}/foo/env.launch/X.`)}`, 0],
    ['a build layer env file with a trailing newline', `${SLEEP_WEB}\nmkdir -p ${L}/b/env; echo x > ${L}/b/env/FOO; printf '[types]\\nbuild = true\\n' > ${L}/b.toml`, 0],
    ['a dangling exec.d file', `${SLEEP_WEB}\n${fooLayer(`mkdir -p ${L}/foo/exec.d && ln -s missing-target ${L}/foo/exec.d/x`)}`, 0],
  ];
  for (const [what, script, exit] of outputCases) {
    it(`rejects ${what} (${verdict(exit)})`, async () => {
      const spec = { id: 'test/broken', sbomFormats: ['application/vnd.cyclonedx+json'], build: script };
      const platform = await shPlatform(spec);
      await expectRejection(platform.build(await platform.app({})), PlatformValidationError, /./);
      if (exit === 0) await expectOnlyStricter(spec);
      else await expectSameVerdict(spec, exit);
    });
  }

  it('rejects a detect that writes into the app dir (spec only; the lifecycle accepts it)', async () => {
    const spec = { id: 'test/broken', detect: 'touch detected.txt', build: SLEEP_WEB };
    const platform = await shPlatform(spec);
    const err = await expectRejection(platform.detect(await platform.app({})), PlatformValidationError, /bin\/detect modified the app dir/);
    expect(err.phase).to.equal('detect');
    expect(err.stricterThanLifecycle).to.deep.equal(err.violations);
    await expectOnlyStricter(spec);
  });

  it('rejects a plan that provides something nobody requires (the detector fails it: exit 20)', async () => {
    const spec = {
      id: 'test/broken',
      detect: `printf '[[provides]]\\nname = "python"\\n' > "$CNB_BUILD_PLAN_PATH"`,
      build: SLEEP_WEB,
    };
    const platform = await shPlatform(spec);
    const app = await platform.app({});
    await expectRejection(platform.build(app), PlatformValidationError, /provides "python" but nothing requires it/);
    const det = await platform.detect(app, { strict: false });
    expect(det.status).to.equal('fail');
    expect(det.lifecycleExitCode).to.equal(20);
    const { real } = await expectSameVerdict(spec, 20);
    expect(real.output).to.contain('provides unused python');
  });

  it('rejects a top-level version in requires (the detector errors: exit 21)', async () => {
    const spec = {
      id: 'test/broken',
      detect: `printf '[[provides]]\\nname = "python"\\n[[requires]]\\nname = "python"\\nversion = "3.12"\\n' > "$CNB_BUILD_PLAN_PATH"`,
      build: SLEEP_WEB,
    };
    const platform = await shPlatform(spec);
    await expectRejection(platform.detect(await platform.app({})), PlatformValidationError, /"version" key .* not supported/);
    const { real } = await expectSameVerdict(spec, 21);
    expect(real.output).to.match(/has a "version" key which is not supported/);
  });

  it('reports detect exit codes other than 0/100 as errors (not violations), as the detector does (exit 21)', async () => {
    const spec = { id: 'test/broken', detect: 'echo boom; exit 3', build: SLEEP_WEB };
    const platform = await shPlatform(spec);
    const det = await platform.detect(await platform.app({}));
    expect(det).to.include({ status: 'error', code: 3, lifecycleExitCode: 21 });
    expect(det.output).to.equal('boom\n');
    const { real } = await expectSameVerdict(spec, 21);
    expect(real.output).to.match(/======== Output: test\/broken@0\.0\.1 ========\nboom\n/);
  });

  it('reports a failing bin/build as an unsuccessful result, as the builder does (exit 51)', async () => {
    const spec = { id: 'test/broken', build: 'echo "no python for you" >&2; exit 7' };
    const platform = await shPlatform(spec);
    const res = await platform.build(await platform.app({}));
    expect(res).to.include({ success: false, code: 7, lifecycleExitCode: 51 });
    expect(res.output).to.include('no python for you');
    expect(res.image).to.equal(undefined);
    const { real } = await expectSameVerdict(spec, 51);
    expect(real.output).to.include('no python for you').and.include('ERROR: failed to build: exit status 7');
  });

  it('rejects an unsupported buildpack API, as the detector does (exit 12)', async () => {
    const spec = { id: 'test/broken', api: '0.13', build: SLEEP_WEB };
    await expectRejection(shPlatform(spec), PlatformValidationError, /api "0\.13" is not supported/);
    const lifecycle = await shRealLifecycle(spec);
    const real = await lifecycle.build(await lifecycle.app({}));
    expect(real.exitCode, real.output).to.equal(12);
    expect(real.output).to.contain("buildpack API version '0.13' is incompatible with the lifecycle");
  });
});
