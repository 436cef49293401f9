/**
 * The detect and build contexts (buildpack.md §Detection and §Build, buildpack.md §Environment): CNB_* variables with the deprecated positional-argument
 * fallback, the target, the buildpack descriptor, and the user's variables.
 */
import { CnbError } from './error.js';
import { inDir, readText } from './files.js';
import type { TomlTable } from './toml-write.js';
import type { UserEnv } from './user-env.js';
import type { Layers } from './layers.js';

/** Where the build runs (CNB_TARGET_*, always set by the lifecycle for API >= 0.10). */
export interface Target {
  os: string;
  /** OCI arch name: amd64 or arm64. */
  arch: string;
  archVariant?: string;
  distroName?: string;
  distroVersion?: string;
}

export interface BuildpackDescriptor {
  api: string;
  id: string;
  version: string;
  /** buildpack.toml [metadata], free-form. */
  metadata: TomlTable;
}

interface CommonContext {
  appDir: string;
  buildpackDir: string;
  platformDir: string;
  target: Target;
  /** The process environment as the lifecycle composed it. */
  env: NodeJS.ProcessEnv;
}

export interface DetectContext extends CommonContext {
  /** Detect gets the api alone: the rest of buildpack.toml is read by build. */
  buildpack: Pick<BuildpackDescriptor, 'api'>;
  buildPlanPath: string;
}

export interface BuildContext extends CommonContext {
  /** Read by build only: detect decides from the app's files alone. */
  userEnv: UserEnv;
  buildpack: BuildpackDescriptor;
  layers: Layers;
}

function required(name: string, value: string | undefined): string {
  if (!value) throw new CnbError({ type: 'missing-lifecycle-variable', name });
  return value;
}

/** The buildpack directory: CNB_BUILDPACK_DIR, else the parent of bin/ holding this executable. */
async function buildpackDirOf(env: NodeJS.ProcessEnv, argv0: string): Promise<string> {
  if (env.CNB_BUILDPACK_DIR) return env.CNB_BUILDPACK_DIR;
  const path = await import('node:path');
  return path.dirname(path.dirname(path.resolve(argv0)));
}

/** buildpack.toml, parsed whole (build needs [metadata]: the default versions and the dependency list). */
export async function readDescriptor(buildpackDir: string): Promise<BuildpackDescriptor> {
  const text = await readText(inDir(buildpackDir, 'buildpack.toml'));
  // Loaded here, not at start: the parser evaluates node:util at load, and detect does not need it.
  const { isTable, parseToml } = await import('./toml.js');
  const doc = parseToml(text);
  const bp = isTable(doc.buildpack) ? doc.buildpack : {};
  return {
    api: String(doc.api ?? ''),
    id: String(bp.id ?? ''),
    version: String(bp.version ?? ''),
    metadata: isTable(doc.metadata) ? doc.metadata : {},
  };
}

/**
 * The api of buildpack.toml, for detect, which runs for every build of every app on a builder. The root
 * table is every key/value pair before the first table header (TOML v1.0.0, "Table"); when each of its lines
 * is blank, a comment or `api = "<basic string without escapes>"`, that string is the api exactly. Any other
 * form (another root key, escapes, a multi-line value, a duplicate) goes to the full parser.
 */
export async function readApi(buildpackDir: string): Promise<string> {
  const text = await readText(inDir(buildpackDir, 'buildpack.toml'));
  return rootApi(text) ?? (await import('./toml.js').then(({ parseToml }) => String(parseToml(text).api ?? '')));
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: TOML v1.0.0 forbids control characters but tab in comments
const BLANK_OR_COMMENT = /^[ \t]*(#[^\x00-\x08\x0a-\x1f\x7f]*)?$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: and in basic strings (a line holding one is left to the parser)
const API_LINE = /^[ \t]*api[ \t]*=[ \t]*"([^"\\\x00-\x1f\x7f]*)"[ \t]*(#[^\x00-\x08\x0a-\x1f\x7f]*)?$/;

/** The api from the root table's lines when they take only the forms above; undefined otherwise. */
export function rootApi(text: string): string | undefined {
  let api: string | undefined;
  // Only the lines before the first header are read: buildpack.toml is mostly [metadata], and splitting all of
  // it took detect half a millisecond.
  const header = /(^|\n)[ \t]*\[/.exec(text);
  const root = header ? text.slice(0, header.index).replace(/\r$/, '') : text;
  for (const line of root.split(/\r?\n/)) {
    if (BLANK_OR_COMMENT.test(line)) continue;
    const m = API_LINE.exec(line);
    if (!m || api !== undefined) return undefined;
    api = m[1];
  }
  return api;
}

export function readTarget(env: NodeJS.ProcessEnv): Target {
  const nodeArch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  return {
    os: env.CNB_TARGET_OS || 'linux',
    arch: env.CNB_TARGET_ARCH || nodeArch,
    archVariant: env.CNB_TARGET_ARCH_VARIANT || undefined,
    distroName: env.CNB_TARGET_DISTRO_NAME || undefined,
    distroVersion: env.CNB_TARGET_DISTRO_VERSION || undefined,
  };
}

function common(env: NodeJS.ProcessEnv, buildpackDir: string, platformDir: string): CommonContext {
  return { appDir: process.cwd(), buildpackDir, platformDir, target: readTarget(env), env };
}

/** argv: the positional arguments after argv0 (`<platform> <plan>`, deprecated but still passed). */
export async function detectContext(env: NodeJS.ProcessEnv, argv0: string, args: string[]): Promise<DetectContext> {
  const platformDir = required('CNB_PLATFORM_DIR', env.CNB_PLATFORM_DIR || args[0]);
  const buildpackDir = await buildpackDirOf(env, argv0);
  return {
    ...common(env, buildpackDir, platformDir),
    buildpack: { api: await readApi(buildpackDir) },
    buildPlanPath: required('CNB_BUILD_PLAN_PATH', env.CNB_BUILD_PLAN_PATH || args[1]),
  };
}

/** argv: `<layers> <platform> <plan>` after argv0. */
export async function buildContext(env: NodeJS.ProcessEnv, argv0: string, args: string[]): Promise<BuildContext> {
  const layersDir = required('CNB_LAYERS_DIR', env.CNB_LAYERS_DIR || args[0]);
  const platformDir = required('CNB_PLATFORM_DIR', env.CNB_PLATFORM_DIR || args[1]);
  const buildpackDir = await buildpackDirOf(env, argv0);
  // Loaded here, not at start: both use node:fs, which detect does not load (files.ts).
  const { Layers } = await import('./layers.js');
  const { UserEnv } = await import('./user-env.js');
  return {
    ...common(env, buildpackDir, platformDir),
    userEnv: UserEnv.read(platformDir, env),
    buildpack: await readDescriptor(buildpackDir),
    layers: new Layers(layersDir),
  };
}
