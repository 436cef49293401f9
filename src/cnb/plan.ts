/** The build plan written by detect (Buildpack API, Build Plan: detect's [[provides]] and [[requires]]). */
import fs from 'node:fs';
import { stringifyToml, type TomlTable } from './toml-write.js';

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
  // Synchronous: a few hundred bytes, and node:fs/promises would cost detect more to load than the write.
  fs.writeFileSync(planPath, stringifyToml(doc));
}
