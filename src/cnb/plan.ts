/**
 * The build plan written by detect (Buildpack API, Build Plan: detect's [[provides]] and [[requires]]).
 *
 * Written here rather than by @iarna/toml's stringify: loading that CommonJS module and its interop cost detect
 * about 1.5 ms of a 7 ms start (bun --cpu-prof), and a plan takes three TOML forms only (array-of-tables headers,
 * a table header, `key = value` with a string or boolean). test/unit/runtime.test.ts reads what this writes back
 * with the TOML parser, for generated plans.
 */
import { writeText } from './files.js';

/** Free-form values handed to the provider's bin/build. */
export type PlanMetadata = Record<string, string | boolean>;

export interface PlanRequire {
  name: string;
  /** Never a top-level `version` key (the lifecycle rejects it). */
  metadata?: PlanMetadata;
}
export interface BuildPlan {
  provides: Array<{ name: string }>;
  requires: PlanRequire[];
}

export async function writeBuildPlan(planPath: string, plan: BuildPlan): Promise<void> {
  await writeText(planPath, planToml(plan));
}

export function planToml(plan: BuildPlan): string {
  const out: string[] = [];
  for (const p of plan.provides) out.push('[[provides]]', pair('name', p.name), '');
  for (const r of plan.requires) {
    out.push('[[requires]]', pair('name', r.name), '');
    if (r.metadata) out.push('[requires.metadata]', ...Object.entries(r.metadata).map(([k, v]) => pair(k, v)), '');
  }
  return out.join('\n');
}

const pair = (key: string, value: string | boolean): string => `${tomlKey(key)} = ${typeof value === 'boolean' ? String(value) : tomlString(value)}`;

/** A bare key when TOML allows one (TOML v1.0.0, "Keys"), else a quoted one. */
const tomlKey = (key: string): string => (/^[A-Za-z0-9_-]+$/.test(key) ? key : tomlString(key));

const SHORT_ESCAPES: Record<string, string> = { '"': '\\"', '\\': '\\\\', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\f': '\\f', '\r': '\\r' };

/** A TOML basic string: `"` and `\` escaped, and every control character (TOML v1.0.0, "String"). */
function tomlString(s: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is escaped
  return `"${s.replace(/["\\\x00-\x1f\x7f]/g, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
}
