/**
 * The peak memory of bin/build, measured by the kernel: a staged buildpack whose bin/build runs the real
 * executable under GNU time (`%M`, the maximum resident set size of the process, from wait4(2)'s rusage), so
 * the figure is exact whenever the growth happens, unlike sampling /proc/<pid>/status. The executable is
 * called as `ausnimbus-python build …`, which it treats as bin/build (src/cnb/runtime.ts phaseOf).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stageBuildpack } from '../../scripts/buildpack-files.js';

export const GNU_TIME = '/usr/bin/time';

export interface MeasuredBuildpack {
  /** The staged buildpack directory, for LocalPlatform.create({ buildpackDir }). */
  dir: string;
  /** bin/build's peak resident set size in KiB, for every build so far (oldest first). */
  peaksKiB(): number[];
  /** Removes the staged buildpack and the record. */
  remove(): void;
}

export function stageMeasuredBuildpack(repo: string): MeasuredBuildpack {
  if (!fs.existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} (GNU time, Debian package 'time') is needed to measure bin/build's peak memory`);
  const dir = stageBuildpack(repo, fs.mkdtempSync(path.join(os.tmpdir(), 'bp-measured-')));
  // Written by the build user (another uid): a directory anyone can create files in.
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'bp-peak-'));
  fs.chmodSync(out, 0o777);
  const record = path.join(out, 'maxrss');
  const build = path.join(dir, 'bin', 'build');
  fs.rmSync(build);
  // -a: one line per build. GNU time also writes "Command exited with non-zero status N" before it.
  fs.writeFileSync(build, `#!/bin/sh\nexec ${GNU_TIME} -a -o ${record} -f 'maxrss-kib %M' "$(dirname "$0")/ausnimbus-python" build "$@"\n`, { mode: 0o755 });
  return {
    dir,
    peaksKiB: () => {
      const text = fs.existsSync(record) ? fs.readFileSync(record, 'utf8') : '';
      return [...text.matchAll(/^maxrss-kib (\d+)$/gm)].map((m) => Number(m[1]));
    },
    remove: () => {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(out, { recursive: true, force: true });
    },
  };
}
