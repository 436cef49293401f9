/**
 * Writes tiny POSIX-sh buildpacks for platform self-tests (and for any test that needs a
 * deliberately broken or minimal buildpack).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';

export interface ShBuildpackSpec {
  id?: string;
  version?: string;
  api?: string;
  /** Body of bin/detect (after `#!/bin/sh` and `set -eu`). Default: `exit 0`. */
  detect?: string;
  /** Body of bin/build. */
  build: string;
  sbomFormats?: string[];
  clearEnv?: boolean;
  /** Extra TOML appended to buildpack.toml. */
  extraToml?: string;
}

/** Creates `dir` with buildpack.toml, bin/detect and bin/build; returns `dir`. */
export async function writeShBuildpack(dir: string, spec: ShBuildpackSpec): Promise<string> {
  await fsp.mkdir(path.join(dir, 'bin'), { recursive: true });
  const lines = [
    `api = "${spec.api ?? '0.10'}"`,
    '',
    '[buildpack]',
    `id = "${spec.id ?? 'test/sh'}"`,
    `version = "${spec.version ?? '0.0.1'}"`,
    `name = "sh test buildpack"`,
  ];
  if (spec.clearEnv) lines.push('clear-env = true');
  if (spec.sbomFormats) lines.push(`sbom-formats = [${spec.sbomFormats.map((f) => JSON.stringify(f)).join(', ')}]`);
  lines.push('', '[[targets]]', 'os = "linux"', '');
  if (spec.extraToml) lines.push(spec.extraToml);
  await fsp.writeFile(path.join(dir, 'buildpack.toml'), `${lines.join('\n')}\n`);
  const script = (body: string): string => `#!/bin/sh\nset -eu\n${body}\n`;
  await fsp.writeFile(path.join(dir, 'bin', 'detect'), script(spec.detect ?? 'exit 0'), { mode: 0o755 });
  await fsp.writeFile(path.join(dir, 'bin', 'build'), script(spec.build), { mode: 0o755 });
  return dir;
}
