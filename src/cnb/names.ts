/**
 * Validated names of the Buildpack API (buildpack.md §Layers, buildpack.md §launch.toml (TOML), buildpack.md §Exec.d), checked once at construction,
 * like libcnb.rs's newtypes. A value of these types is known to be valid.
 */
declare const brand: unique symbol;
type Brand<T, B> = T & { readonly [brand]: B };

export type LayerName = Brand<string, 'LayerName'>;
export type ProcessType = Brand<string, 'ProcessType'>;
export type EnvName = Brand<string, 'EnvName'>;

const RESERVED_LAYER_NAMES = new Set(['build', 'launch', 'store']);

/** Layer names: not build/launch/store, and no dot (the lifecycle cuts SBOM file names at the first dot). */
export function layerName(name: string): LayerName {
  if (!/^[A-Za-z0-9_-]+$/.test(name) || RESERVED_LAYER_NAMES.has(name)) {
    throw new Error(`invalid layer name '${name}'`);
  }
  return name as LayerName;
}

export function processType(name: string): ProcessType {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`invalid process type '${name}'`);
  return name as ProcessType;
}

/** Env var names for env files and exec.d output: a bare TOML key, never the reserved CNB_ prefix. */
export function envName(name: string): EnvName {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || name.startsWith('CNB_')) {
    throw new Error(`invalid environment variable name '${name}'`);
  }
  return name as EnvName;
}
