/**
 * The buildpack to compare with, for the benchmarks that print "before / after" figures: BASELINE=<dir>, a
 * checkout of this repository at the commit to compare with, its bin/ built. For example, the commit a branch
 * started from:
 *
 *   git worktree add --detach ../baseline $(git merge-base HEAD main) && ln -s "$PWD/node_modules" ../baseline/ \
 *     && (cd ../baseline && npm run build)
 *   BASELINE=../baseline npx tsx bench/launch-bytes.ts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { stageBuildpack } from '../scripts/buildpack-files.js';
import { LocalPlatform } from '../test/platform/index.js';

export interface Baseline {
  /** `<commit> <subject>` of the checkout. */
  describe: string;
  /** The staged buildpack (buildpack.toml, bin/, layers/). */
  buildpackDir: string;
  platform: LocalPlatform;
  cleanup(): Promise<void>;
}

/** The baseline named by BASELINE, staged into a platform of its own; undefined when BASELINE is unset. */
export async function baselinePlatform(): Promise<Baseline | undefined> {
  const dir = process.env.BASELINE;
  if (!dir) return undefined;
  const repo = path.resolve(dir);
  const describe = execFileSync('git', ['-C', repo, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).trim();
  const staged = stageBuildpack(repo, fs.mkdtempSync(path.join(os.tmpdir(), 'bench-baseline-')));
  const platform = await LocalPlatform.create({ buildpackDir: staged });
  return {
    describe,
    buildpackDir: platform.buildpackDir,
    platform,
    cleanup: async () => {
      await platform.cleanup();
      fs.rmSync(staged, { recursive: true, force: true });
    },
  };
}
