/**
 * The `pip-cache` layer (cache only): pip's download and wheel cache, kept between builds so that a changed
 * requirements file reinstalls from local wheels. Never exported into the app image.
 */
import type { BuildContext } from '../cnb/context.js';

const LAYOUT = 1;

export async function preparePipCache(ctx: BuildContext): Promise<string> {
  const layer = await ctx.layers.cachedLayer('pip-cache', {
    build: false,
    launch: false,
    parseMetadata: (raw) => (raw.layout === LAYOUT ? { layout: LAYOUT } : undefined),
    onRestored: () => ({ action: 'keep', cause: undefined }),
  });
  if (layer.state.kind !== 'restored') await layer.writeMetadata({ layout: LAYOUT });
  return layer.path;
}
