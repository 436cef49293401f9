/**
 * Crash injection: `interrupt` SIGKILLs bin/build with everything it started, the build exports nothing and
 * its layers dir is kept; the next build restores either from the last export (the lifecycle) or, with
 * `restoreFrom`, from the killed build's layers dir under the buildpack.md §Layers rules (the harsh model).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { expect } from 'chai';
import type { LocalPlatform } from './lifecycle.js';
import { PlatformError } from './errors.js';
import { SLEEP_WEB, cleanupPlatforms, expectRejection, shPlatform } from './test-helpers.js';

/**
 * MODE=ok: one complete cache layer `done` (metadata v = $V), toml written last. MODE=crash: layers in every
 * state a crash can leave, a `milestone` file, then a background writer (like pip) and a long sleep.
 * Every mode lists what it found first.
 */
const BUILD = `L="$CNB_LAYERS_DIR"
echo "found: $(cd "$L" && ls -A | tr '\\n' ' ')"
for f in "$L"/*.toml; do [ -f "$f" ] && { echo "== $(basename "$f")"; cat "$f"; echo; }; done
if [ "\${MODE:-ok}" = crash ]; then
  mkdir -p "$L/done"; echo crash > "$L/done/data"
  printf '[types]\\ncache = true\\n[metadata]\\nv = "crash"\\n' > "$L/done.toml"
  printf '{"bomFormat":"CycloneDX"}' > "$L/done.sbom.cdx.json"
  mkdir -p "$L/web"; echo w > "$L/web/data"; printf '[types]\\nlaunch = true\\n[metadata]\\nw = "1"\\n' > "$L/web.toml"
  mkdir -p "$L/restored"; echo r > "$L/restored/data"; printf '[metadata]\\nr = "1"\\n' > "$L/restored.toml"
  mkdir -p "$L/tool"; printf '[types]\\nbuild = true\\n' > "$L/tool.toml"
  mkdir -p "$L/torn"; printf '[types]\\ncache = true\\n[metadata]\\nv = "' > "$L/torn.toml"
  mkdir -p "$L/partial"; echo half > "$L/partial/data"
  ( while :; do date +%s%N >> "$L/partial/ticks"; sleep 0.01; done ) &
  sleep 0.1; touch "$L/milestone"
  sleep 30
fi
find "$L" -mindepth 1 -maxdepth 1 ! -name done ! -name 'done.*' -exec rm -rf {} +
mkdir -p "$L/done"; echo "\${V:-1}" > "$L/done/data"
printf '[types]\\ncache = true\\n[metadata]\\nv = "%s"\\n' "\${V:-1}" > "$L/done.toml"
${SLEEP_WEB}
`;

describe('platform: interrupted builds (crash injection)', function () {
  this.timeout(60_000);
  let platform: LocalPlatform;
  after(cleanupPlatforms);
  before(async () => {
    platform = await shPlatform({ id: 'test/crash', build: BUILD, sbomFormats: ['application/vnd.cyclonedx+json'] });
  });

  it('kills bin/build and every process it started when the condition holds, exports nothing and keeps the layers dir', async () => {
    const app = await platform.app({});
    const res = await platform.build(app, {
      platformEnv: { MODE: 'crash' },
      interrupt: { when: ({ layersDir }) => fs.existsSync(path.join(layersDir, 'milestone')) },
    });
    expect(res.success).to.equal(false);
    expect(res.lifecycleExitCode).to.equal(137);
    expect(res.image).to.equal(undefined);
    expect(app.image).to.equal(undefined);
    expect(res.durationMs).to.be.below(10_000);
    const kept = res.interrupted?.layersDir ?? '';
    expect(res.interrupted?.reason).to.match(/condition held/);
    expect((await fsp.readdir(kept)).sort()).to.include.members(['done', 'done.toml', 'milestone', 'partial', 'torn.toml']);
    // the background writer died with the build: the file stops growing
    const ticks = path.join(kept, 'partial', 'ticks');
    const before = (await fsp.readFile(ticks, 'utf8')).length;
    expect(before).to.be.above(0);
    await new Promise((r) => setTimeout(r, 200));
    expect((await fsp.readFile(ticks, 'utf8').catch(() => '')).length).to.equal(before);
  });

  it('kills at a time offset', async () => {
    const app = await platform.app({});
    const res = await platform.build(app, { platformEnv: { MODE: 'crash' }, interrupt: { afterMs: 300 } });
    // 290: the timer counts from the event loop's cached time, a few ms before the build's start is stamped
    expect(res.interrupted?.atMs).to.be.at.least(290).and.below(5000);
    expect(res.lifecycleExitCode).to.equal(137);
  });

  it('lifecycle model: the next build restores from the last successful export, not from the killed build', async () => {
    const app = await platform.app({});
    await platform.buildOk(app, { platformEnv: { V: 'first' } });
    const killed = await platform.build(app, {
      platformEnv: { MODE: 'crash' },
      interrupt: { when: ({ layersDir }) => fs.existsSync(path.join(layersDir, 'milestone')) },
    });
    expect(killed.restored.done?.toml).to.equal('[metadata]\nv = "first"\n');
    const next = await platform.buildOk(app, { platformEnv: { V: 'second' } });
    expect(next.restored).to.deep.equal({ done: { toml: '[metadata]\nv = "first"\n', contents: true, from: 'cache' } });
  });

  it('harsh model: restoreFrom restores the killed layers dir under the buildpack.md §Layers rules', async () => {
    const app = await platform.app({});
    const killed = await platform.build(app, {
      platformEnv: { MODE: 'crash' },
      interrupt: { when: ({ layersDir }) => fs.existsSync(path.join(layersDir, 'milestone')) },
    });
    const next = await platform.buildOk(app, { restoreFrom: killed.interrupted?.layersDir });
    expect(next.restored).to.deep.equal({
      done: { toml: '[metadata]\nv = "crash"\n', contents: true, from: 'layers-dir' },
      restored: { toml: '[metadata]\nr = "1"\n', contents: true, from: 'layers-dir' },
      web: { toml: '[metadata]\nw = "1"\n', contents: false, from: 'layers-dir' },
    });
    expect(Object.keys(next.notRestored ?? {}).sort()).to.deep.equal(['partial', 'tool', 'torn']);
    expect(next.notRestored?.partial).to.match(/directory without partial\.toml/);
    expect(next.notRestored?.torn).to.match(/does not parse/);
    expect(next.notRestored?.tool).to.match(/neither cache nor launch/);
    expect(next.buildOutput).to.match(/found: done done\.sbom\.cdx\.json done\.toml restored restored\.toml web\.toml\s*$/m);
    expect(next.buildOutput).to.not.match(/\[types\]/);
  });

  it('refuses clearCache with restoreFrom', async () => {
    const app = await platform.app({});
    await expectRejection(platform.build(app, { clearCache: true, restoreFrom: '/nonexistent' }), PlatformError, /either clearCache or restoreFrom/);
  });
});
