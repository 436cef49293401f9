/**
 * The pip-cache layer's decisions (src/layers/pip-cache.ts) on a real layers dir with the real
 * src/cnb/layers.ts: a cache in this buildpack's layout is kept as it is, one in another layout (or with
 * metadata that cannot be read) is emptied, and the user is told why.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { preparePipCache } from '../../src/layers/pip-cache.js';
import { TempBuild } from '../fakes/context.js';
import { CapturedLog } from '../fakes/logger.js';
import { layerToml, restoreLayer, snapshot } from '../helpers/layers.js';

describe('pip-cache layer: cache decisions', () => {
  let b: TempBuild;
  let log: CapturedLog;
  const WHEEL = path.join('wheels', 'ab', 'flask-3.0.0-py3-none-any.whl');

  beforeEach(() => {
    b = new TempBuild();
    log = new CapturedLog();
  });
  afterEach(() => b.cleanup());

  /** A first build, pip's cache filled, then restored by the lifecycle. */
  async function cached(): Promise<void> {
    const dir = await preparePipCache(b.context(), new CapturedLog().logger);
    fs.mkdirSync(path.dirname(path.join(dir, WHEEL)), { recursive: true });
    fs.writeFileSync(path.join(dir, WHEEL), 'wheel');
    restoreLayer(b.layersDir, 'pip-cache');
  }

  it('a new cache is cache-only and says nothing', async () => {
    const dir = await preparePipCache(b.context(), log.logger);
    expect(dir).to.equal(b.layerPath('pip-cache'));
    expect(layerToml(b.layersDir, 'pip-cache')).to.deep.equal({ types: { build: false, launch: false, cache: true }, metadata: { layout: 1 } });
    expect(log.stdout + log.stderr).to.equal('');
  });

  it('keeps a cache in the same layout, its files untouched', async () => {
    await cached();
    const before = snapshot(b.layerPath('pip-cache'));
    await preparePipCache(b.context(), log.logger);
    expect(snapshot(b.layerPath('pip-cache'))).to.deep.equal(before);
    expect(layerToml(b.layersDir, 'pip-cache')).to.deep.equal({ types: { build: false, launch: false, cache: true }, metadata: { layout: 1 } });
    expect(log.stdout + log.stderr).to.equal('');
  });

  it('empties a cache in another layout, and says why', async () => {
    await cached();
    fs.writeFileSync(b.tomlPath('pip-cache'), '[metadata]\nlayout = 0\n');
    await preparePipCache(b.context(), log.logger);
    expect(log.lines).to.deep.equal(['- Discarding cached pip download/wheel cache since:', '  - The layout of the cache has changed from 0 to 1']);
    expect(fs.readdirSync(b.layerPath('pip-cache'))).to.deep.equal([]);
    expect(layerToml(b.layersDir, 'pip-cache')?.metadata).to.deep.equal({ layout: 1 });
  });

  for (const [what, metadata] of [['a layout that is not a number', '[metadata]\nlayout = "1"\n'], ['no [metadata] at all', '']] as const) {
    it(`empties a cache whose metadata cannot be parsed (${what}), and says so`, async () => {
      await cached();
      fs.writeFileSync(b.tomlPath('pip-cache'), metadata);
      await preparePipCache(b.context(), log.logger);
      expect(log.lines).to.deep.equal(["- Discarding cached pip download/wheel cache since its layer metadata can't be parsed"]);
      expect(fs.readdirSync(b.layerPath('pip-cache'))).to.deep.equal([]);
      expect(layerToml(b.layersDir, 'pip-cache')?.metadata).to.deep.equal({ layout: 1 });
    });
  }
});
