/**
 * Shared types of the local CNB platform (test infrastructure).
 * See test/platform/README.md for the overall picture.
 */

/** A decoded TOML table. Values are TOML values (string, number, boolean, Date, arrays, tables). */
export type TomlTable = { [key: string]: unknown };

/** A numeric user/group pair. No /etc/passwd entry is needed. */
export interface UserSpec {
  uid: number;
  gid: number;
}

/** Environment as a plain map. `undefined` values mean "unset" where accepted. */
export type EnvMap = Record<string, string>;
export type EnvOverrides = Record<string, string | undefined>;

export interface LayerTypes {
  launch: boolean;
  build: boolean;
  cache: boolean;
}

/** One `[[processes]]` entry of launch.toml, after validation. */
export interface ProcessSpec {
  type: string;
  command: string[];
  args: string[];
  default: boolean;
  workingDir?: string;
  execEnv?: string[];
}

export interface LabelSpec {
  key: string;
  value: string;
}

/** One Buildpack Plan entry (`[[entries]]` of $CNB_BP_PLAN_PATH). */
export interface PlanEntry {
  name: string;
  metadata?: TomlTable;
}

/** Layer metadata as the lifecycle keeps it in the image label / cache metadata. */
export interface StoredLayerMeta {
  /** Content digest (see `treeDigest`): stands in for the lifecycle's layer SHA. */
  digest: string;
  types: LayerTypes;
  /** The `[metadata]` table; undefined when the `<layer>.toml` had none. */
  metadata?: TomlTable;
}

/** Target of the build (the `CNB_TARGET_*` variables). */
export interface TargetSpec {
  os: string;
  arch: string;
  archVariant?: string;
  distroName?: string;
  distroVersion?: string;
}
