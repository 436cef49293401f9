/**
 * The lockfile readers, by tool: each format module (src/lock/<format>.ts) exports
 * `read<Format>Lock(appDir, file)` and is listed here once it exists. The input discovery (src/lock/input.ts)
 * considers only the formats listed, so a lockfile of a format without a reader is not mistaken for the
 * app's input.
 */
import type { Lockfile, LockTool } from './model.js';
import { readPipfileLock } from './pipfile.js';
import { readPoetryLock } from './poetry.js';
import { readPylock } from './pylock.js';
import { readUvLock } from './uv.js';

export type LockReader = (appDir: string, file: string) => Lockfile;

export const LOCK_READERS: Partial<Record<LockTool, LockReader>> = { pylock: readPylock, uv: readUvLock, poetry: readPoetryLock, pipenv: readPipfileLock };
