/**
 * The major.minor of a Python version, read as PEP 440 (so `3.13.0rc1` and `3.12.7+local` parse): it names
 * lib/pythonX.Y and bin/pythonX.Y, and decides what a Python of that line can do.
 */
import { explain } from '@renovatebot/pep440';

/** `3.12` for `3.12.7`, `3.13` for `3.13.0rc1`; undefined when the version is not PEP 440. */
export function minorVersion(version: string): string | undefined {
  const release = explain(version)?.release;
  return release === undefined ? undefined : `${release[0]}.${release[1] ?? 0}`;
}

/** Whether the version's major.minor line is `major.minor` or later (pre-releases of a line count as the line). */
export function lineAtLeast(version: string, major: number, minor: number): boolean {
  const release = explain(version)?.release;
  if (release === undefined) return false;
  const [x = 0, y = 0] = release;
  return x > major || (x === major && y >= minor);
}
