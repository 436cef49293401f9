/**
 * Where the reference CNB lifecycle's binaries are, and the check that they are there.
 *
 * `$REAL_LIFECYCLE_DIR` (a path, relative ones resolved against the repository root) or, by default,
 * `<repo>/../shared/lifecycle/linux-amd64`. It must hold `lifecycle` (upstream `cmd/lifecycle`, which picks
 * its phase from the name it is called by: `detector`, `builder`) and `launcher` (upstream `cmd/launcher`).
 * A missing folder or binary is an error that says what is missing and where it was looked for: tests that
 * need the real lifecycle fail without it, they never skip.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The variable naming the folder that holds the lifecycle binaries. */
export const LIFECYCLE_DIR_VAR = 'REAL_LIFECYCLE_DIR';

/** The repository root (relative values of REAL_LIFECYCLE_DIR are resolved against it). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The binaries the tests need, with absolute paths. */
export interface LifecycleBinaries {
  dir: string;
  /** The multi-call phase binary: called as `detector` or `builder` (by argv0) it runs that phase. */
  lifecycle: string;
  launcher: string;
}

export class LifecycleMissingError extends Error {
  override name = 'LifecycleMissingError';
}

/** The folder the binaries are looked for in (see the module comment). */
export function lifecycleDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env[LIFECYCLE_DIR_VAR];
  return configured ? path.resolve(REPO_ROOT, configured) : path.resolve(REPO_ROOT, '..', 'shared', 'lifecycle', 'linux-amd64');
}

function executableFile(p: string): 'ok' | 'missing' | 'not a file' | 'not executable' {
  let st: fs.Stats;
  try {
    st = fs.statSync(p); // follows symlinks: a link to the binary is fine
  } catch {
    return 'missing';
  }
  if (!st.isFile()) return 'not a file';
  return (st.mode & 0o111) === 0 ? 'not executable' : 'ok';
}

/**
 * Checks that `dir` holds an executable `lifecycle` and `launcher`; throws LifecycleMissingError naming
 * each missing one and the folder otherwise.
 */
export function findLifecycle(dir: string = lifecycleDir()): LifecycleBinaries {
  const how =
    `Set ${LIFECYCLE_DIR_VAR} to the folder holding the reference lifecycle (buildpacks/lifecycle v0.21.x, linux/amd64): ` +
    "its 'lifecycle' binary (cmd/lifecycle, run as detector and builder) and 'launcher' (cmd/launcher). " +
    `Without ${LIFECYCLE_DIR_VAR} the folder is <repo>/../shared/lifecycle/linux-amd64.`;
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch {
    st = undefined;
  }
  if (!st?.isDirectory()) {
    throw new LifecycleMissingError(`The real CNB lifecycle is missing: the folder ${dir} does not exist${st ? ' (it is not a directory)' : ''}. ${how}`);
  }
  const problems: string[] = [];
  const bins = { lifecycle: path.join(dir, 'lifecycle'), launcher: path.join(dir, 'launcher') };
  for (const [name, p] of Object.entries(bins)) {
    const state = executableFile(p);
    if (state !== 'ok') problems.push(`'${name}' (${p}) is ${state}`);
  }
  if (problems.length > 0) {
    throw new LifecycleMissingError(`The real CNB lifecycle is incomplete in ${dir}: ${problems.join('; ')}. ${how}`);
  }
  return { dir, ...bins };
}
