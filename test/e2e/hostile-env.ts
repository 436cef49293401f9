/**
 * A hostile build host: used by every end-to-end build when HOSTILE=1 (`HOSTILE=1 npx mocha 'test/e2e/*.test.ts'`,
 * through support.ts), and always by hostile.test.ts.
 *  - The lifecycle's own env (what it passes on from the build image): `/invalid` entries in PATH, CPATH,
 *    LD_LIBRARY_PATH, LIBRARY_PATH and PKG_CONFIG_PATH (the platform's hostileBaseEnv()), and a HOME the build
 *    user cannot write to.
 *  - The user env: PYTHONPATH=/invalid and harmless PIP_* settings. The build must use only its own tools.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { hostileBaseEnv, type EnvOverrides } from '../platform/index.js';

export const HOSTILE = process.env.HOSTILE === '1';

/** Added to the user env (platform env files) of e2e.env() builds. */
export const HOSTILE_USER_ENV: Record<string, string> = {
  PYTHONPATH: '/invalid',
  PIP_DISABLE_PIP_VERSION_CHECK: '1',
  PIP_NO_COLOR: '1',
};

let home: string | undefined;

/** A directory owned by root (or by us when not root) with mode 0555: nobody but root can write into it. */
export function unwritableHome(): string {
  if (!home) {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'unwritable-home-'));
    fs.chmodSync(home, 0o555);
    process.once('exit', () => {
      try {
        fs.rmSync(home as string, { recursive: true, force: true });
      } catch {
        // best effort
      }
    });
  }
  return home;
}

/** The lifecycle env of a hostile build host (PlatformOptions.baseEnv or PhaseOptions.baseEnv). */
export function hostileBuildEnv(): EnvOverrides {
  return { ...hostileBaseEnv(), HOME: unwritableHome() };
}
