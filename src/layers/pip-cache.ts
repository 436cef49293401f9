/**
 * The `pip-cache` layer (cache only): pip's download and wheel cache, kept between builds so that a changed
 * requirements file reinstalls from local wheels. Never exported into the app image.
 * https://pip.pypa.io/en/stable/topics/caching/
 */
import type { BuildContext } from '../cnb/context.js';
import type { TomlTable } from '../cnb/toml.js';
import type { Logger } from '../logger.js';

export interface PipCacheLayerMetadata {
  /** How this buildpack lays the cache out; a new layout discards caches in the old one. */
  layout: number;
}

const LAYOUT = 1;

/** Every field says how it invalidates the cache: adding a field without a comparator is a type error. */
const COMPARATORS: { [K in keyof PipCacheLayerMetadata]: (cached: PipCacheLayerMetadata[K], next: PipCacheLayerMetadata[K]) => string | undefined } = {
  layout: (a, b) => (a === b ? undefined : `The layout of the cache has changed from ${a} to ${b}`),
};

export function cacheInvalidationReasons(cached: PipCacheLayerMetadata, next: PipCacheLayerMetadata): string[] {
  return (Object.keys(COMPARATORS) as Array<keyof PipCacheLayerMetadata>)
    .map((k) => COMPARATORS[k](cached[k], next[k]))
    .filter((r): r is string => r !== undefined);
}

function parseMetadata(raw: TomlTable): PipCacheLayerMetadata | undefined {
  return typeof raw.layout === 'number' ? { layout: raw.layout } : undefined;
}

export async function preparePipCache(ctx: BuildContext, log: Logger): Promise<string> {
  const next: PipCacheLayerMetadata = { layout: LAYOUT };
  const layer = await ctx.layers.cachedLayer('pip-cache', {
    build: false,
    launch: false,
    parseMetadata,
    onRestored: (cached) => {
      const reasons = cacheInvalidationReasons(cached, next);
      return reasons.length === 0 ? { action: 'keep', cause: reasons } : { action: 'delete', cause: reasons };
    },
  });
  const state = layer.state;
  if (state.kind !== 'restored') {
    // A discarded cache makes this install slower: say why, as for the other layers.
    if (state.cause.kind === 'rejected') {
      log.info('Discarding cached pip download/wheel cache since:');
      for (const r of state.cause.cause) log.detail(`- ${r}`);
    } else if (state.cause.kind === 'invalid-metadata') {
      log.info("Discarding cached pip download/wheel cache since its layer metadata can't be parsed");
    }
    await layer.writeMetadata(next);
  }
  return layer.path;
}
