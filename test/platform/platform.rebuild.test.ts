/**
 * Rebuilds follow the buildpack.md §Layers restore table: what the buildpack finds at the start of the
 * next build depends on the layer types of the previous build. The same two builds through the real
 * lifecycle's builder (test/lifecycle/, which restores and exports with this platform's store.ts) must
 * find, export, cache and reuse the same layers.
 */
import * as fsp from 'node:fs/promises';
import { expect } from 'chai';
import type { RealBuildResult, RealLifecycle } from '../lifecycle/index.js';
import type { BuildResult, LocalPlatform } from './lifecycle.js';
import { cleanupPlatforms, shPlatform, shRealLifecycle } from './test-helpers.js';

/**
 * Five layers, one per row of the table. Layers are (re)created only when not restored, with a
 * nanosecond timestamp so a rebuilt layer gets a new digest. `launchonly` is re-declared without a
 * directory when its metadata was restored (the exporter then keeps the previous image's layer).
 */
const BUILD = `L="$CNB_LAYERS_DIR"
echo "found: $(cd "$L" && ls -A | tr '\\n' ' ')"
stamp() { date +%s%N; }
if [ -f "$L/cacheonly.toml" ] && [ -f "$L/cacheonly/data" ]; then echo "cacheonly: contents restored"; else rm -rf "$L/cacheonly"; mkdir -p "$L/cacheonly"; stamp > "$L/cacheonly/data"; fi
printf '[types]\\ncache = true\\n[metadata]\\nv = "1"\\n' > "$L/cacheonly.toml"
if [ -f "$L/launchonly.toml" ]; then echo "launchonly: metadata restored, keeping it"; else mkdir -p "$L/launchonly"; stamp > "$L/launchonly/data"; fi
printf '[types]\\nlaunch = true\\n[metadata]\\nv = "1"\\n' > "$L/launchonly.toml"
if [ -f "$L/launchcache/data" ]; then echo "launchcache: contents restored"; else mkdir -p "$L/launchcache"; stamp > "$L/launchcache/data"; fi
printf '[types]\\nlaunch = true\\ncache = true\\n[metadata]\\nv = "1"\\n' > "$L/launchcache.toml"
printf '{"bomFormat":"CycloneDX"}' > "$L/launchcache.sbom.cdx.json"
mkdir -p "$L/buildonly"; stamp > "$L/buildonly/data"; printf '[types]\\nbuild = true\\n' > "$L/buildonly.toml"
mkdir -p "$L/launchbuild"; stamp > "$L/launchbuild/data"; printf '[types]\\nlaunch = true\\nbuild = true\\n' > "$L/launchbuild.toml"
printf '[metadata]\\nruns = "%s"\\n' "$(( $(sed -n 's/^runs = "\\(.*\\)"/\\1/p' "$L/store.toml" 2>/dev/null || echo 0) + 1 ))" > "$L/store.toml"
cat > "$L/launch.toml" <<EOF
[[processes]]
type = "web"
command = ["cat", "$L/launchonly/data", "$L/launchcache/data"]
default = true
EOF
`;

describe('platform: rebuilds follow the buildpack.md §Layers restore table', function () {
  this.timeout(60_000);
  let platform: LocalPlatform;
  after(cleanupPlatforms);
  before(async () => {
    platform = await shPlatform({ id: 'test/layers', build: BUILD, sbomFormats: ['application/vnd.cyclonedx+json'] });
  });

  const launchOutput = async (res: BuildResult): Promise<string> => {
    const proc = await platform.launch(res);
    await proc.waitForExit(10_000);
    return proc.output();
  };

  it('restores metadata and contents per layer type, and reuses unchanged launch layers', async () => {
    const app = await platform.app({ 'main.txt': 'x' });
    const first = await platform.buildOk(app);
    expect(first.restored).to.deep.equal({});
    expect(first.reused).to.deep.equal([]);
    expect(first.layers.launchonly?.exported).to.equal('new');
    expect(first.layers.buildonly?.cached).to.equal(false);
    expect(first.layers.buildonly?.exported).to.equal(undefined);
    expect(Object.keys(first.image?.layers ?? {}).sort()).to.deep.equal(['launchbuild', 'launchcache', 'launchonly']);
    expect(Object.keys(first.cache?.layers ?? {}).sort()).to.deep.equal(['cacheonly', 'launchcache']);
    expect(first.image?.sbom).to.deep.equal(['test_layers/launchcache/sbom.cdx.json']);
    const firstOut = await launchOutput(first);

    const second = await platform.buildOk(app);
    const r = second.restored;
    // cache only: metadata and contents from the cache
    expect(r.cacheonly).to.deep.equal({ toml: '[metadata]\nv = "1"\n', contents: true, from: 'cache' });
    // launch only: metadata from the image, no directory
    expect(r.launchonly).to.deep.equal({ toml: '[metadata]\nv = "1"\n', contents: false, from: 'image' });
    // launch + cache: metadata from the image, contents from the cache
    expect(r.launchcache).to.deep.equal({ toml: '[metadata]\nv = "1"\n', contents: true, from: 'image' });
    // build without cache (with or without launch): nothing
    expect(r).to.not.have.any.keys('buildonly', 'launchbuild');
    expect(second.buildOutput).to.match(/found: .*launchcache\.sbom\.cdx\.json/);
    expect(second.buildOutput).to.match(/found: .*store\.toml/);
    expect(second.buildOutput).to.include('cacheonly: contents restored').and.include('launchonly: metadata restored');
    // the exporter kept launchonly from the previous image and found launchcache unchanged
    expect(second.layers.launchonly?.exported).to.equal('reused-from-image');
    expect(second.layers.launchcache?.exported).to.equal('unchanged');
    expect(second.layers.launchbuild?.exported).to.equal('new');
    expect(second.reused.sort()).to.deep.equal(['launchcache', 'launchonly']);
    expect(second.layers.launchonly?.digest).to.equal(first.layers.launchonly?.digest);
    expect(second.layers.cacheonly?.digest).to.equal(first.layers.cacheonly?.digest);
    expect(second.image?.store).to.deep.equal({ metadata: { runs: '2' } });
    expect(await launchOutput(second)).to.equal(firstOut);
  });

  it('exports only launch layers, owned by the build user, with mtimes normalised to 1980', async () => {
    const app = await platform.app({ 'main.txt': 'x' });
    const res = await platform.buildOk(app);
    const { appDir, layersDir, bpLayersDir } = await app.materialize(res.image);
    expect((await fsp.readdir(bpLayersDir)).sort()).to.deep.equal(['launchbuild', 'launchcache', 'launchonly']);
    expect(await fsp.readdir(`${layersDir}/sbom/launch/test_layers/launchcache`)).to.deep.equal(['sbom.cdx.json']);
    expect(await fsp.readFile(`${layersDir}/config/metadata.toml`, 'utf8')).to.match(/\[\[processes\]\]\s+type = "web"/);
    for (const f of [`${appDir}/main.txt`, `${bpLayersDir}/launchonly/data`]) {
      const st = await fsp.stat(f);
      expect(st.mtime.toISOString()).to.equal('1980-01-01T00:00:01.000Z');
      expect(st.uid).to.equal(platform.buildUser.uid);
    }
  });

  it('restores no layers with clearCache (store.toml still comes from the image)', async () => {
    const app = await platform.app({});
    await platform.buildOk(app);
    const res = await platform.buildOk(app, { clearCache: true });
    expect(res.restored).to.deep.equal({});
    expect(res.buildOutput).to.match(/found: store\.toml\s*$/m);
    expect(res.reused).to.deep.equal([]);
  });

  it('without a previous image (Platform API 0.13) restores only cache-only layers', async () => {
    const app = await platform.app({});
    await platform.buildOk(app);
    app.dropImage();
    const res = await platform.buildOk(app);
    expect(Object.keys(res.restored)).to.deep.equal(['cacheonly']);
  });

  it('with a lost cache, launch+cache layers are not restored and launch-only metadata still is', async () => {
    const app = await platform.app({});
    await platform.buildOk(app);
    app.dropCache();
    const res = await platform.buildOk(app);
    expect(Object.keys(res.restored)).to.deep.equal(['launchonly']);
    expect(res.layers.launchcache?.exported).to.equal('new');
  });
});

describe('platform: rebuilds through the real builder find and keep the same layers', function () {
  this.timeout(60_000);
  after(cleanupPlatforms);

  /** The `found:` line, what was restored, and what the export made of each build. */
  function summary(res: BuildResult | RealBuildResult, output: string): unknown {
    return {
      found: /^found: .*$/m.exec(output)?.[0],
      restored: res.restored,
      image: Object.keys(res.image?.layers ?? {}).sort(),
      cache: Object.keys(res.cache?.layers ?? {}).sort(),
      exported: Object.fromEntries(Object.entries(res.layers).map(([k, l]) => [k, [l.exported, l.cached]])),
      reused: [...res.reused].sort(),
      sbom: res.image?.sbom,
      store: res.image?.store,
    };
  }

  it('two builds: the same layers dir found, the same layers exported, cached and reused, and the image runs the same', async () => {
    const platform = await shPlatform({ id: 'test/layers', build: BUILD, sbomFormats: ['application/vnd.cyclonedx+json'] });
    const lifecycle: RealLifecycle = await shRealLifecycle({ id: 'test/layers', build: BUILD, sbomFormats: ['application/vnd.cyclonedx+json'] });
    const app = await platform.app({ 'main.txt': 'x' });
    const realApp = await lifecycle.app({ 'main.txt': 'x' });
    const outputs: string[] = [];
    for (const build of [1, 2]) {
      const emu = await platform.buildOk(app);
      const real = await lifecycle.buildOk(realApp);
      expect(summary(real, real.output), `build ${build}`).to.deep.equal(summary(emu, emu.buildOutput));
      const proc = await lifecycle.launch(real);
      await proc.waitForExit(10_000);
      outputs.push(proc.output());
    }
    // the second image holds the first build's launchonly and launchcache contents, whoever ran the builder
    expect(outputs[1]).to.match(/^\d+\n\d+\n$/).and.equal(outputs[0]);
  });
});
