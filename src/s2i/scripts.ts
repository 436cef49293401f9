/**
 * s2i's extension scripts: `.s2i/bin/assemble` replaces the default build steps and `.s2i/bin/run` becomes the
 * web process. Scripts that "extend, then run the default" reach the default steps through
 * $STI_SCRIPTS_PATH/assemble and /run, as s2i scripts expect. A literal /usr/libexec/s2i path (the seed's
 * README example) cannot exist in a buildpack build, so such scripts run as a copy with that path replaced.
 */
import fs from 'node:fs';
import path from 'node:path';

export const SEED_SCRIPTS_PATH = '/usr/libexec/s2i';

/** The app's script when present and executable. */
export function appScript(appDir: string, name: 'assemble' | 'run'): string | undefined {
  const p = path.join(appDir, '.s2i', 'bin', name);
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile() ? p : undefined;
  } catch {
    return undefined;
  }
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
