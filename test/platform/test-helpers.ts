/**
 * Helpers for the platform's own tests: sh buildpacks in temp dirs, for this platform and for the real
 * lifecycle (to compare their verdicts), and rejection assertions.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { RealLifecycle } from '../lifecycle/index.js';
import type { RealBuildResult } from '../lifecycle/index.js';
import type { BuildResult } from './build.js';
import { IS_ROOT } from './fsutil.js';
import { PID1_AVAILABLE } from './launcher.js';
import { LocalPlatform } from './lifecycle.js';
import type { PhaseOptions, PlatformOptions } from './lifecycle.js';
import { writeShBuildpack } from './sh-buildpack.js';
import type { ShBuildpackSpec } from './sh-buildpack.js';

const cleanups: Array<() => Promise<unknown>> = [];

/** A LocalPlatform for a freshly written sh buildpack; cleaned up by `cleanupPlatforms()`. */
export async function shPlatform(spec: ShBuildpackSpec, opts: Omit<PlatformOptions, 'buildpackDir'> = {}): Promise<LocalPlatform> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sh-buildpack-'));
  cleanups.push(() => fsp.rm(dir, { recursive: true, force: true }));
  await writeShBuildpack(dir, spec);
  const platform = await LocalPlatform.create({ buildpackDir: dir, ...opts });
  cleanups.push(() => platform.cleanup());
  return platform;
}

/** The same kind of sh buildpack installed for the real lifecycle (test/lifecycle/); cleaned up by `cleanupPlatforms()`. */
export async function shRealLifecycle(spec: ShBuildpackSpec): Promise<RealLifecycle> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'sh-buildpack-'));
  cleanups.push(() => fsp.rm(dir, { recursive: true, force: true }));
  await writeShBuildpack(dir, spec);
  const lifecycle = await RealLifecycle.create({ buildpackDir: dir });
  cleanups.push(() => lifecycle.cleanup());
  return lifecycle;
}

/**
 * Builds `files` with the sh buildpack twice: through this platform with strict=false (its result says what
 * it predicts the lifecycle does: `lifecycleExitCode`) and through the real detector and builder.
 */
export async function buildBoth(
  spec: ShBuildpackSpec,
  files: Record<string, string> = {},
  o: Pick<PhaseOptions, 'platformEnv'> = {},
): Promise<{ emulator: BuildResult; real: RealBuildResult }> {
  const platform = await shPlatform(spec);
  const emulator = await platform.build(await platform.app(files), { ...o, strict: false });
  const lifecycle = await shRealLifecycle(spec);
  const real = await lifecycle.build(await lifecycle.app(files), o);
  return { emulator, real };
}

/**
 * Asserts that the real lifecycle ends the build with `exitCode` (its detector's or builder's, or 62 when
 * the export refuses what the builder accepted) and that this platform predicts the same code.
 */
export async function expectSameVerdict(spec: ShBuildpackSpec, exitCode: number, files: Record<string, string> = {}): Promise<{ emulator: BuildResult; real: RealBuildResult }> {
  const both = await buildBoth(spec, files);
  expect(both.real.exitCode, `the real lifecycle's exit code\n${both.real.output}`).to.equal(exitCode);
  expect(both.emulator.lifecycleExitCode, `this platform's prediction (violations: ${both.emulator.violations.join('; ')})`).to.equal(exitCode);
  return both;
}

/**
 * Fails the calling test, never skips it, when it checks what the platform does only as root (a build user
 * and a launch user of their own, root-owned buildpacks): the tests run as root (README, "On a fresh machine").
 */
export function requireRoot(what: string): void {
  if (!IS_ROOT) throw new Error(`${what} needs root (uid ${process.getuid?.()} here): run the tests as root, as the README says`);
}

/** As requireRoot, for a test of the app as PID 1 of its own PID namespace (unshare and setpriv, util-linux). */
export function requirePid1(what: string): void {
  requireRoot(what);
  if (!PID1_AVAILABLE) throw new Error(`${what} needs /usr/bin/unshare and /usr/bin/setpriv: apt-get install util-linux`);
}

export async function cleanupPlatforms(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) await fn();
}

/** Asserts that `p` rejects with an instance of `type` whose message matches `pattern`; returns the error. */
export async function expectRejection<E extends Error>(
  p: Promise<unknown>,
  type: new (...args: never[]) => E,
  pattern: RegExp,
): Promise<E> {
  let caught: unknown;
  try {
    await p;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a ${type.name}`).to.be.instanceOf(type);
  const err = caught as E;
  expect(err.message).to.match(pattern);
  return err;
}

/** A launch.toml with a web process that sleeps (enough for build-only tests). */
export const SLEEP_WEB = `cat > "$CNB_LAYERS_DIR/launch.toml" <<'EOF'
[[processes]]
type = "web"
command = ["sleep", "60"]
default = true
EOF`;
