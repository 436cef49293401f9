/**
 * The platform must REJECT buildpacks that break the Buildpack API (cnb-spec.md §15): each case is a
 * tiny sh buildpack with exactly one mistake.
 */
import { expect } from 'chai';
import { LaunchError, PlatformValidationError } from './errors.js';
import { SLEEP_WEB, cleanupPlatforms, expectRejection, shPlatform } from './test-helpers.js';

const L = '"$CNB_LAYERS_DIR"';

/** A launch layer `foo` with the given extra shell lines. */
const fooLayer = (extra: string): string => `mkdir -p ${L}/foo
printf '[types]\\nlaunch = true\\n' > ${L}/foo.toml
${extra}`;

describe('platform: rejects broken buildpacks', function () {
  this.timeout(60_000);
  afterEach(cleanupPlatforms);

  it('accepts the minimal valid buildpack (control case)', async () => {
    const platform = await shPlatform({ id: 'test/ok', build: SLEEP_WEB });
    const res = await platform.buildOk(await platform.app({ 'app.txt': 'hi' }));
    expect(res.violations).to.deep.equal([]);
    expect(res.image?.defaultProcess).to.equal('web');
  });

  it('rejects launch.toml with a string command', async () => {
    const platform = await shPlatform({
      id: 'test/broken',
      build: `printf '[[processes]]\\ntype = "web"\\ncommand = "sleep 60"\\n' > ${L}/launch.toml`,
    });
    const err = await expectRejection(platform.build(await platform.app({})), PlatformValidationError, /command must be an array of strings/);
    expect(err.phase).to.equal('build');
  });

  it('rejects a <layer>.toml with a top-level launch = true', async () => {
    const platform = await shPlatform({
      id: 'test/broken',
      build: `${SLEEP_WEB}
mkdir -p ${L}/foo
printf 'launch = true\\n' > ${L}/foo.toml`,
    });
    const err = await expectRejection(platform.build(await platform.app({})), PlatformValidationError, /flags should be in the types table/);
    expect(err.violations.join('\n')).to.match(/foo\.toml: no \[types\] table/);
  });

  it('rejects an env file with a trailing newline', async () => {
    const platform = await shPlatform({
      id: 'test/broken',
      build: `${SLEEP_WEB}
${fooLayer(`mkdir -p ${L}/foo/env.launch && echo bar > ${L}/foo/env.launch/FOO`)}`,
    });
    await expectRejection(platform.build(await platform.app({})), PlatformValidationError, /foo\/env\.launch\/FOO: value ends with a newline/);
  });

  it('fails the launch when exec.d prints a number (WEB_CONCURRENCY = 4)', async () => {
    const platform = await shPlatform({
      id: 'test/broken',
      build: `${SLEEP_WEB}
${fooLayer(`mkdir -p ${L}/foo/exec.d
printf '#!/bin/sh\\necho "exec.d ran"\\nprintf "WEB_CONCURRENCY = 4\\\\n" >&3\\n' > ${L}/foo/exec.d/concurrency
chmod 755 ${L}/foo/exec.d/concurrency`)}`,
    });
    const res = await platform.buildOk(await platform.app({}));
    const err = await expectRejection(platform.launch(res), LaunchError, /failed to decode output from exec\.d file .*concurrency.*WEB_CONCURRENCY is a number/s);
    expect(err.exitCode).to.equal(82);
    expect(err.output).to.include('exec.d ran');
  });

  it('fails the launch when an exec.d program exits non-zero', async () => {
    const platform = await shPlatform({
      id: 'test/broken',
      build: `${SLEEP_WEB}
${fooLayer(`mkdir -p ${L}/foo/exec.d && printf '#!/bin/sh\\nexit 3\\n' > ${L}/foo/exec.d/x && chmod 755 ${L}/foo/exec.d/x`)}`,
    });
    const res = await platform.buildOk(await platform.app({}));
    await expectRejection(platform.launch(res), LaunchError, /failed to execute exec\.d file .*: exit status 3/);
  });

  it('rejects launch.toml without a web process (Tekton CNB_PROCESS_TYPE=web)', async () => {
    const platform = await shPlatform({
      id: 'test/broken',
      build: `printf '[[processes]]\\ntype = "worker"\\ncommand = ["sleep", "1"]\\ndefault = true\\n' > ${L}/launch.toml`,
    });
    const app = await platform.app({});
    const err = await expectRejection(platform.build(app), PlatformValidationError, /tried to set web to default but it doesn't exist/);
    expect(err.phase).to.equal('export');
    // the check is an option: pack without --default-process accepts it
    const res = await platform.buildOk(app, { defaultProcess: null });
    expect(res.image?.defaultProcess).to.equal('worker');
  });

  const cases: Array<[string, string, RegExp]> = [
    ['.prepend without .delim', fooLayer(`mkdir -p ${L}/foo/env && printf '/x' > ${L}/foo/env/PATHX.prepend`), /\.prepend without PATHX\.delim/],
    ['an env file with an unknown suffix', fooLayer(`mkdir -p ${L}/foo/env && printf 'x' > ${L}/foo/env/FOO.prefix`), /unknown suffix "\.prefix"/],
    ['a CNB_* variable', fooLayer(`mkdir -p ${L}/foo/env.launch && printf 'x' > ${L}/foo/env.launch/CNB_FOO.default`), /CNB_ prefix is reserved/],
    ['a layer name with a dot', `mkdir -p ${L}/py.3 && printf '[types]\\nlaunch = true\\n' > ${L}/py.3.toml`, /layer name 'py\.3' contains a dot/],
    ['a reserved layer name', `mkdir -p ${L}/store && printf '[types]\\n' > ${L}/store.toml`, /names build, launch and store are reserved/],
    ['launch+cache layer without contents', `printf '[types]\\nlaunch = true\\ncache = true\\n' > ${L}/foo.toml`, /layer 'test\/broken:foo' is cache=true but has no contents/],
    ['cache-only layer without a directory', `printf '[types]\\ncache = true\\n' > ${L}/foo.toml`, /is cache=true but has no directory/],
    ['launch-only layer without dir and no previous image', `printf '[types]\\nlaunch = true\\n' > ${L}/foo.toml`, /cannot reuse 'test\/broken:foo', previous image has no metadata/],
    ['a [[unmet]] name not in the plan', `printf '[[unmet]]\\nname = "nodejs"\\n' > ${L}/build.toml`, /unmet\.name 'nodejs' must match a requested dependency/],
    ['an undeclared SBOM media type', fooLayer(`printf '{}' > ${L}/foo.sbom.spdx.json`), /undeclared SBOM media type: 'application\/spdx\+json'/],
    ['an unsupported SBOM extension', fooLayer(`printf '{}' > ${L}/foo.sbom.xml.json`), /unsupported SBOM file format/],
    ['a non-executable exec.d file', fooLayer(`mkdir -p ${L}/foo/exec.d && printf '#!/bin/sh\\n' > ${L}/foo/exec.d/x && chmod 644 ${L}/foo/exec.d/x`), /exec\.d file is not executable/],
  ];
  for (const [what, script, pattern] of cases) {
    it(`rejects ${what}`, async () => {
      const platform = await shPlatform({ id: 'test/broken', sbomFormats: ['application/vnd.cyclonedx+json'], build: `${SLEEP_WEB}\n${script}` });
      await expectRejection(platform.build(await platform.app({})), PlatformValidationError, pattern);
    });
  }

  const launchTomlCases: Array<[string, string, RegExp]> = [
    ['two default processes', 'type = "web"\ncommand = ["a"]\ndefault = true\n[[processes]]\ntype = "b"\ncommand = ["b"]\ndefault = true', /multiple default process types/],
    ['a direct key', 'type = "web"\ncommand = ["a"]\ndirect = true', /process\.direct is not supported/],
    ['a bad process type', 'type = "web"\ncommand = ["a"]\n[[processes]]\ntype = "my worker"\ncommand = ["b"]', /type must match/],
    ['$VAR in argv without a shell', 'type = "web"\ncommand = ["gunicorn", "--bind", "0.0.0.0:$PORT"]', /argv contains a \$VARIABLE/],
  ];
  for (const [what, body, pattern] of launchTomlCases) {
    it(`rejects launch.toml with ${what}`, async () => {
      const platform = await shPlatform({ id: 'test/broken', build: `cat > ${L}/launch.toml <<'EOF'\n[[processes]]\n${body}\nEOF` });
      await expectRejection(platform.build(await platform.app({})), PlatformValidationError, pattern);
    });
  }

  it('rejects a detect that writes into the app dir', async () => {
    const platform = await shPlatform({ id: 'test/broken', detect: 'touch detected.txt', build: SLEEP_WEB });
    const err = await expectRejection(platform.detect(await platform.app({})), PlatformValidationError, /bin\/detect modified the app dir/);
    expect(err.phase).to.equal('detect');
  });

  it('rejects a plan that provides something nobody requires', async () => {
    const platform = await shPlatform({
      id: 'test/broken',
      detect: `printf '[[provides]]\\nname = "python"\\n' > "$CNB_BUILD_PLAN_PATH"`,
      build: SLEEP_WEB,
    });
    const app = await platform.app({});
    await expectRejection(platform.build(app), PlatformValidationError, /provides "python" but nothing requires it/);
    const det = await platform.detect(app, { strict: false });
    expect(det.status).to.equal('fail');
    expect(det.lifecycleExitCode).to.equal(20);
  });

  it('rejects a top-level version in requires', async () => {
    const platform = await shPlatform({
      id: 'test/broken',
      detect: `printf '[[provides]]\\nname = "python"\\n[[requires]]\\nname = "python"\\nversion = "3.12"\\n' > "$CNB_BUILD_PLAN_PATH"`,
      build: SLEEP_WEB,
    });
    await expectRejection(platform.detect(await platform.app({})), PlatformValidationError, /"version" key .* not supported/);
  });

  it('reports detect exit codes other than 0/100 as errors (not violations)', async () => {
    const platform = await shPlatform({ id: 'test/broken', detect: 'echo boom; exit 3', build: SLEEP_WEB });
    const det = await platform.detect(await platform.app({}));
    expect(det).to.include({ status: 'error', code: 3, lifecycleExitCode: 21 });
    expect(det.output).to.equal('boom\n');
  });

  it('reports a failing bin/build as an unsuccessful result', async () => {
    const platform = await shPlatform({ id: 'test/broken', build: 'echo "no python for you" >&2; exit 7' });
    const res = await platform.build(await platform.app({}));
    expect(res).to.include({ success: false, code: 7, lifecycleExitCode: 51 });
    expect(res.output).to.include('no python for you');
    expect(res.image).to.equal(undefined);
  });

  it('rejects an unsupported buildpack API', async () => {
    await expectRejection(shPlatform({ id: 'test/broken', api: '0.13', build: SLEEP_WEB }), PlatformValidationError, /api "0\.13" is not supported/);
  });
});
