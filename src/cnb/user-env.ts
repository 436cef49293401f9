/**
 * The user's variables (digest §4): `$CNB_PLATFORM_DIR/env/<NAME>` files, whose contents are the value byte
 * for byte, over the process env (which lacks them when clear-env is true). Further sources (such as the
 * app's .s2i/environment) can be layered under the user's own values with withFallback().
 */
import fs from 'node:fs';
import path from 'node:path';

export type EnvSource = { name: string; values: Record<string, string> };

export class UserEnv {
  private constructor(private readonly sources: EnvSource[]) {}

  static read(platformDir: string, processEnv: NodeJS.ProcessEnv): UserEnv {
    return new UserEnv([
      { name: 'platform', values: readPlatformEnv(platformDir) },
      { name: 'environment', values: definedOnly(processEnv) },
    ]);
  }

  /** A new UserEnv that consults `source` right after the user's platform values (before the build env). */
  withAppSource(source: EnvSource): UserEnv {
    const [first, ...rest] = this.sources;
    return new UserEnv(first?.name === 'platform' ? [first, source, ...rest] : [source, ...this.sources]);
  }

  /** Whether the user set the variable on the platform (their own value, which wins over the app's files). */
  setOnPlatform(name: string): boolean {
    return this.sources[0]?.name === 'platform' && this.sources[0].values[name] !== undefined;
  }

  /** The value verbatim, as the user wrote it (a file may end with a newline). */
  raw(name: string): string | undefined {
    for (const s of this.sources) {
      const v = s.values[name];
      if (v !== undefined) return v;
    }
    return undefined;
  }

  /** The value with surrounding whitespace removed; undefined when unset or blank. */
  get(name: string): string | undefined {
    const v = this.raw(name)?.trim();
    return v === undefined || v === '' ? undefined : v;
  }

  /** TRUE, true or 1 (the seed's flags: PIP_UPGRADE, DISABLE_COLLECTSTATIC, DEBUG). */
  flag(name: string): boolean {
    const v = this.get(name);
    return v !== undefined && ['true', '1', 'yes'].includes(v.toLowerCase());
  }

  /** Every name with a value, first source winning. */
  entries(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const s of [...this.sources].reverse()) Object.assign(out, s.values);
    return out;
  }
}

function readPlatformEnv(platformDir: string): Record<string, string> {
  const dir = path.join(platformDir, 'env');
  const out: Record<string, string> = {};
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    try {
      out[name] = fs.readFileSync(path.join(dir, name), 'utf8');
    } catch {
      // a directory or unreadable entry is not a variable
    }
  }
  return out;
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
