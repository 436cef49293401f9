/**
 * s2i's extension scripts: `.s2i/bin/assemble` replaces the default build steps and `.s2i/bin/run` becomes the
 * web process. Scripts that "extend, then run the default" reach the default steps through
 * $STI_SCRIPTS_PATH/assemble and /run, as s2i scripts expect. A literal /usr/libexec/s2i path (the seed's
 * README example) cannot exist in a buildpack build, so such scripts run as a copy with that path replaced.
 */
import fs from 'node:fs';
import path from 'node:path';
import { BuildpackError } from '../failure.js';
import type { Logger } from '../logger.js';
import { warn } from '../messages.js';
import { interpreterAvailable, readShebang } from './shebang.js';

export const SEED_SCRIPTS_PATH = '/usr/libexec/s2i';

/** An app's .s2i/bin script. */
export interface AppScript {
  path: string;
  /** Whether it has an execute bit for the build user; it runs either way (see appScript). */
  executable: boolean;
}

/**
 * The app's .s2i/bin/<name>, when it is a file, executable or not. s2i uses a script from the source's
 * .s2i/bin when the file exists and makes it executable itself (source-to-image pkg/scripts/install.go,
 * SourceScriptHandler: Get checks only that the file exists, Install chmods it 0755), so an app whose script
 * lost its mode (committed from Windows, or without `chmod +x`) built and ran with s2i. The buildpack runs a
 * copy written 0755, so such a script runs here too.
 */
export function appScript(appDir: string, name: 'assemble' | 'run'): AppScript | undefined {
  const p = path.join(appDir, '.s2i', 'bin', name);
  try {
    if (!fs.statSync(p).isFile()) return undefined;
  } catch {
    return undefined;
  }
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return { path: p, executable: true };
  } catch {
    return { path: p, executable: false };
  }
}

export interface S2iScripts {
  assemble: string | undefined;
  /** Undefined when APP_RUN is set: APP_RUN replaces .s2i/bin/run. */
  run: string | undefined;
}

/**
 * The app's .s2i/bin/assemble and .s2i/bin/run, checked before anything is built, since both are run
 * through their #! line (src/s2i/shebang.ts): Windows line endings there stop the build for either;
 * an interpreter missing from the build image stops it for assemble, which runs on the build image, and is
 * a warning for run, which runs on the run image the build cannot see.
 */
export function findS2iScripts(appDir: string, appRun: string | undefined, log: Logger): S2iScripts {
  const found = { assemble: appScript(appDir, 'assemble'), run: appRun ? undefined : appScript(appDir, 'run') };
  for (const name of ['assemble', 'run'] as const) {
    const script = found[name];
    if (!script) continue;
    if (!script.executable) {
      log.info(`.s2i/bin/${name} is not executable; running it anyway, as s2i does (it makes .s2i/bin scripts executable)`);
    }
    const shebang = readShebang(script.path);
    if (shebang.kind === 'crlf') throw new BuildpackError({ type: 's2i-script-crlf', script: name });
    if (shebang.kind === 'interpreter' && !interpreterAvailable(shebang.interpreter)) {
      if (name === 'assemble') throw new BuildpackError({ type: 's2i-script-interpreter-missing', script: name, interpreter: shebang.interpreter });
      warn(log, { type: 's2i-run-interpreter-missing', interpreter: shebang.interpreter });
    }
  }
  return { assemble: found.assemble?.path, run: found.run?.path };
}

/** The script text with /usr/libexec/s2i replaced by `scriptsPath`; `replaced` says whether it occurred. */
export function mapSeedScriptsPath(text: string, scriptsPath: string): { text: string; replaced: boolean } {
  const replaced = text.includes(SEED_SCRIPTS_PATH);
  return { text: text.split(SEED_SCRIPTS_PATH).join(scriptsPath), replaced };
}

/**
 * A POSIX sh shim safe to source (`. $STI_SCRIPTS_PATH/assemble`) as well as to run: it never uses `exec`
 * (which would end the sourcing script), and it stops the script when the default steps fail. With `cwd`, the
 * command runs there (in a subshell, leaving the caller's directory alone), wherever the script has cd'd to.
 */
export function shim(argv: string[], cwd?: string): string {
  const q = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
  const command = argv.map(q).join(' ');
  return cwd === undefined ? `#!/bin/sh\n${command} || exit $?\n` : `#!/bin/sh\n(cd ${q(cwd)} && ${command}) || exit $?\n`;
}

/** Writes `name` into `dir`: the user's script, with the seed's path mapped. */
export function writeMappedScript(source: string, target: string, scriptsPath: string): boolean {
  const { text, replaced } = mapSeedScriptsPath(fs.readFileSync(source, 'utf8'), scriptsPath);
  fs.writeFileSync(target, text, { mode: 0o755 });
  fs.chmodSync(target, 0o755);
  return replaced;
}
