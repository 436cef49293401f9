/**
 * The user's variables (buildpack.md §Environment): `$CNB_PLATFORM_DIR/env/<NAME>` files, whose contents are the value byte
 * for byte, over the process env (which lacks them when clear-env is true). Further sources (such as the
 * app's .s2i/environment) can be layered under the user's own values with withAppSource().
 *
 * A file whose name is not a variable name, or whose value no program could be started with (env-value.ts),
 * is not used as a variable: it is recorded in platformIssues() for the buildpack to report.
 */
import fs from 'node:fs';
import path from 'node:path';
import { emptyEnv } from './env.js';
import { decodeEnvValue, firstInvalidUtf8, PORTABLE_ENV_NAME, type EnvValueProblem } from './env-value.js';

export type EnvSource = { name: string; values: Record<string, string> };

/** A platform env file the buildpack does not use as a variable. */
export type PlatformEnvIssue =
  /**
   * The file name is not a portable variable name (letters, digits and _, not starting with a digit; see
   * env-value.ts), so no setting can be read from it. `file` is the name as read (invalid UTF-8 replaced).
   */
  | { kind: 'not-a-name'; file: string }
  /** The value cannot be passed to any program as it is. */
  | { kind: 'bad-value'; name: string; problem: EnvValueProblem };

export class UserEnv {
  private constructor(
    private readonly sources: EnvSource[],
    private readonly issues: readonly PlatformEnvIssue[] = [],
  ) {}

  static read(platformDir: string, processEnv: NodeJS.ProcessEnv): UserEnv {
    const platform = readPlatformEnv(platformDir);
    return new UserEnv(
      [
        { name: 'platform', values: platform.values },
        { name: 'environment', values: definedOnly(processEnv) },
      ],
      platform.issues,
    );
  }

  /** A new UserEnv that consults `source` right after the user's platform values (before the build env). */
  withAppSource(source: EnvSource): UserEnv {
    const [first, ...rest] = this.sources;
    return new UserEnv(first?.name === 'platform' ? [first, source, ...rest] : [source, ...this.sources], this.issues);
  }

  /** Platform env files left out (names sorted as the lifecycle reads them). */
  platformIssues(): readonly PlatformEnvIssue[] {
    return this.issues;
  }

  /** Whether the user set the variable on the platform (their own value, which wins over the app's files). */
  setOnPlatform(name: string): boolean {
    return this.sources[0]?.name === 'platform' && own(this.sources[0].values, name) !== undefined;
  }

  /** The value verbatim, as the user wrote it (a file may end with a newline). */
  raw(name: string): string | undefined {
    for (const s of this.sources) {
      const v = own(s.values, name);
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
    const out = emptyEnv();
    for (const s of [...this.sources].reverse()) Object.assign(out, s.values);
    return out;
  }
}

/** A variable's own value: names such as `constructor` are variables, not Object.prototype's members. */
function own(values: Record<string, string>, name: string): string | undefined {
  return Object.hasOwn(values, name) ? values[name] : undefined;
}

/** Reads every file of `<platform>/env/` as raw bytes, in name order (lifecycle `eachEnvFile`). */
function readPlatformEnv(platformDir: string): { values: Record<string, string>; issues: PlatformEnvIssue[] } {
  const dir = Buffer.from(path.join(platformDir, 'env') + path.sep);
  const values = emptyEnv();
  const issues: PlatformEnvIssue[] = [];
  let names: Buffer[];
  try {
    names = fs.readdirSync(dir, { encoding: 'buffer' }).sort(Buffer.compare);
  } catch {
    return { values, issues };
  }
  for (const rawName of names) {
    let raw: Buffer;
    try {
      // a directory (such as a Kubernetes volume's ..data) or an unreadable entry is not a variable
      raw = fs.readFileSync(Buffer.concat([dir, rawName]));
    } catch {
      continue;
    }
    const name = rawName.toString('utf8');
    if (firstInvalidUtf8(rawName) >= 0 || !PORTABLE_ENV_NAME.test(name)) {
      issues.push({ kind: 'not-a-name', file: name });
      continue;
    }
    const decoded = decodeEnvValue(name, raw);
    if (decoded.ok) values[name] = decoded.value;
    else issues.push({ kind: 'bad-value', name, problem: decoded.problem });
  }
  return { values, issues };
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
  const out = emptyEnv();
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}
