/** The build plan written by detect and the buildpack plan read by build (digest §5). */
import fs from 'node:fs/promises';
import { isTable, parseToml, stringifyToml, type TomlTable } from './toml.js';

export interface PlanRequire {
  name: string;
  /** Free-form; handed to the provider's bin/build. Never a top-level `version` key (the lifecycle rejects it). */
  metadata?: TomlTable;
}
export interface BuildPlan {
  provides: Array<{ name: string }>;
  requires: PlanRequire[];
}

export async function writeBuildPlan(planPath: string, plan: BuildPlan): Promise<void> {
  const doc: TomlTable = {
    provides: plan.provides.map((p) => ({ name: p.name })),
    requires: plan.requires.map((r) => (r.metadata ? { name: r.name, metadata: r.metadata } : { name: r.name })),
  };
  await fs.writeFile(planPath, stringifyToml(doc));
}

export interface BuildpackPlanEntry {
  name: string;
  metadata: TomlTable;
}

/** Reads $CNB_BP_PLAN_PATH; an empty or missing file is an empty plan. */
export async function readBuildpackPlan(planPath: string | undefined): Promise<BuildpackPlanEntry[]> {
  if (!planPath) return [];
  let text: string;
  try {
    text = await fs.readFile(planPath, 'utf8');
  } catch {
    return [];
  }
  if (text.trim() === '') return [];
  const doc = parseToml(text);
  const entries = Array.isArray(doc.entries) ? doc.entries : [];
  return entries.filter(isTable).map((e) => ({
    name: String(e.name ?? ''),
    metadata: isTable(e.metadata) ? e.metadata : {},
  }));
}

/**
 * build.toml: `[[unmet]]` hands plan entries this buildpack did not meet to a later buildpack that provides
 * them. Every name must be an entry of the buildpack plan (the lifecycle fails the build otherwise).
 */
export async function writeBuildToml(layersDir: string, unmet: string[], plan: BuildpackPlanEntry[]): Promise<void> {
  const names = new Set(plan.map((e) => e.name));
  for (const n of unmet) if (!names.has(n)) throw new Error(`build.toml: '${n}' is not in the buildpack plan`);
  await fs.writeFile(`${layersDir}/build.toml`, stringifyToml({ unmet: unmet.map((name) => ({ name })) }));
}
