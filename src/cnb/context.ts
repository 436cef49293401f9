/**
 * The detect and build contexts (buildpack.md §Detection and §Build, buildpack.md §Environment): CNB_* variables with the deprecated positional-argument
 * fallback, the target, the buildpack descriptor, and the user's variables.
 */
import fs from 'node:fs';
import path from 'node:path';
import { CnbError } from './error.js';
import { isTable, parseToml, type TomlTable } from './toml.js';
import { UserEnv } from './user-env.js';
import { Layers } from './layers.js';

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
  buildpack: BuildpackDescriptor;
  userEnv: UserEnv;
  /** The process environment as the lifecycle composed it. */
  env: NodeJS.ProcessEnv;
}

export interface DetectContext extends CommonContext {
  buildPlanPath: string;
}

export interface BuildContext extends CommonContext {
  layers: Layers;
}

function required(name: string, value: string | undefined): string {
  if (!value) throw new CnbError({ type: 'missing-lifecycle-variable', name });
  return value;
}

/** The buildpack directory: CNB_BUILDPACK_DIR, else the parent of bin/ holding this executable. */
function buildpackDirOf(env: NodeJS.ProcessEnv, argv0: string): string {
  return env.CNB_BUILDPACK_DIR || path.dirname(path.dirname(path.resolve(argv0)));
}

/**
 * buildpack.toml. `withMetadata: false` parses only what comes before the `[metadata]` tables: detect needs
 * the api alone, and parsing the 20 KB dependency list costs more than the rest of detect together.
 */
export function readDescriptor(buildpackDir: string, withMetadata = true): BuildpackDescriptor {
  let text = fs.readFileSync(path.join(buildpackDir, 'buildpack.toml'), 'utf8');
  if (!withMetadata) text = text.split(/^\[\[?metadata\b/m)[0] ?? text;
  const doc = parseToml(text);
  const bp = isTable(doc.buildpack) ? doc.buildpack : {};
  return {
    api: String(doc.api ?? ''),
    id: String(bp.id ?? ''),
    version: String(bp.version ?? ''),
    metadata: isTable(doc.metadata) ? doc.metadata : {},
  };
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

function common(env: NodeJS.ProcessEnv, argv0: string, platformDir: string, withMetadata: boolean): CommonContext {
  const buildpackDir = buildpackDirOf(env, argv0);
  return {
    appDir: process.cwd(),
    buildpackDir,
    platformDir,
    target: readTarget(env),
    buildpack: readDescriptor(buildpackDir, withMetadata),
    userEnv: UserEnv.read(platformDir, env),
    env,
  };
}

/** argv: the positional arguments after argv0 (`<platform> <plan>`, deprecated but still passed). */
export function detectContext(env: NodeJS.ProcessEnv, argv0: string, args: string[]): DetectContext {
  const platformDir = required('CNB_PLATFORM_DIR', env.CNB_PLATFORM_DIR || args[0]);
  return {
    ...common(env, argv0, platformDir, false),
    buildPlanPath: required('CNB_BUILD_PLAN_PATH', env.CNB_BUILD_PLAN_PATH || args[1]),
  };
}

/** argv: `<layers> <platform> <plan>` after argv0. */
export function buildContext(env: NodeJS.ProcessEnv, argv0: string, args: string[]): BuildContext {
  const layersDir = required('CNB_LAYERS_DIR', env.CNB_LAYERS_DIR || args[0]);
  const platformDir = required('CNB_PLATFORM_DIR', env.CNB_PLATFORM_DIR || args[1]);
  return {
    ...common(env, argv0, platformDir, true),
    layers: new Layers(layersDir),
  };
}
