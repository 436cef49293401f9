/**
 * Build plan decoding and resolution for a group made of one buildpack (buildpack.md §Build Plan (TOML); lifecycle
 * `buildpack/detect.go` and `phase/detector.go`), and the Buildpack Plan file handed to bin/build.
 */
import { isTable, parseToml, stringifyToml } from './fsutil.js';
import type { PlanEntry, TomlTable } from './types.js';

interface PlanSections {
  requires: PlanEntry[];
  provides: string[];
}

export type PlanResolution =
  | { ok: true; entries: PlanEntry[]; trial: number; plan: TomlTable }
  /** `error`: the plan could not be decoded (lifecycle: detect error, exit 21). */
  | { ok: false; kind: 'error'; message: string }
  /** `fail`: no trial satisfied provides/requires (lifecycle: detection failed, exit 20). */
  | { ok: false; kind: 'fail'; message: string; plan: TomlTable };

function decodeSections(t: TomlTable, where: string): PlanSections | string {
  const requires: PlanEntry[] = [];
  const provides: string[] = [];
  if (t.requires !== undefined) {
    if (!Array.isArray(t.requires)) return `${where}requires must be an array of tables ([[requires]])`;
    for (const r of t.requires) {
      if (!isTable(r)) return `${where}requires entries must be tables`;
      if (typeof r.name !== 'string' || r.name === '') return `${where}requires entry without a name`;
      if (r.version !== undefined) {
        return `buildpack has a "version" key in [[${where}requires]] "${r.name}" which is not supported. "metadata.version" should be used instead`;
      }
      if (r.metadata !== undefined && !isTable(r.metadata)) return `${where}requires "${r.name}": metadata must be a table`;
      requires.push(r.metadata === undefined ? { name: r.name } : { name: r.name, metadata: r.metadata });
    }
  }
  if (t.provides !== undefined) {
    if (!Array.isArray(t.provides)) return `${where}provides must be an array of tables ([[provides]])`;
    for (const p of t.provides) {
      if (!isTable(p) || typeof p.name !== 'string' || p.name === '') return `${where}provides entry without a name`;
      provides.push(p.name);
    }
  }
  return { requires, provides };
}

/** Why a single-buildpack trial fails, or undefined when it passes. */
function trialProblem(s: PlanSections): string | undefined {
  const provided = new Set(s.provides);
  const required = new Set(s.requires.map((r) => r.name));
  for (const name of required) if (!provided.has(name)) return `requires "${name}" but nothing provides it`;
  for (const name of provided) if (!required.has(name)) return `provides "${name}" but nothing requires it`;
  return undefined;
}

/**
 * Decodes the plan text written by bin/detect (an empty file is an empty plan) and runs the trials:
 * the top-level pair, then each `[[or]]` alternative in order. The first passing trial's requires
 * become the Buildpack Plan entries (one entry per requires, order kept).
 */
export function resolvePlan(text: string): PlanResolution {
  const parsed = parseToml(text);
  if (!parsed.ok) return { ok: false, kind: 'error', message: `plan is not valid TOML: ${parsed.error}` };
  const plan = parsed.value;
  const options: PlanSections[] = [];
  const top = decodeSections(plan, '');
  if (typeof top === 'string') return { ok: false, kind: 'error', message: top };
  options.push(top);
  if (plan.or !== undefined) {
    if (!Array.isArray(plan.or)) return { ok: false, kind: 'error', message: '`or` must be an array of tables ([[or]])' };
    for (const [i, alt] of plan.or.entries()) {
      if (!isTable(alt)) return { ok: false, kind: 'error', message: '`or` entries must be tables' };
      const s = decodeSections(alt, `or[${i}].`);
      if (typeof s === 'string') return { ok: false, kind: 'error', message: s };
      options.push(s);
    }
  }
  const problems: string[] = [];
  for (const [i, s] of options.entries()) {
    const problem = trialProblem(s);
    if (!problem) return { ok: true, entries: s.requires, trial: i, plan };
    problems.push(`${i === 0 ? 'top-level' : `or[${i - 1}]`}: ${problem}`);
  }
  return { ok: false, kind: 'fail', message: `no plan trial passed (${problems.join('; ')})`, plan };
}

/** The Buildpack Plan TOML (`[[entries]]` with name and metadata); empty when there are no entries. */
export function buildpackPlanToml(entries: PlanEntry[]): string {
  if (entries.length === 0) return '';
  return stringifyToml({
    entries: entries.map((e) => (e.metadata === undefined ? { name: e.name } : { name: e.name, metadata: e.metadata })),
  });
}
