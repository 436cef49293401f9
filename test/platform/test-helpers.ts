/** Helpers for the platform's own tests (sh buildpacks in temp dirs, rejection assertions). */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { LocalPlatform } from './lifecycle.js';
import type { PlatformOptions } from './lifecycle.js';
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
