/** launch.toml (buildpack.md §launch.toml (TOML)): processes with argv command arrays, default args, one default, working-dir. */
import path from 'node:path';
import { processType, type ProcessType } from './names.js';
import { writeTomlFile, type TomlTable } from './toml.js';

export interface Process {
  type: ProcessType;
  /** argv; exec'd directly with no shell, so no $VAR expansion happens at launch. */
  command: string[];
  /** Default arguments; arguments a user passes replace them. */
  args: string[];
  default: boolean;
  workingDir?: string;
}

export function process_(type: string, command: string[], opts: { args?: string[]; default?: boolean; workingDir?: string } = {}): Process {
  if (command.length === 0) throw new Error(`process '${type}' has an empty command`);
  return { type: processType(type), command, args: opts.args ?? [], default: opts.default ?? false, workingDir: opts.workingDir };
}

export interface Launch {
  processes: Process[];
}

/** Serialises launch.toml, leaving out default values (as libcnb.rs does). */
export function launchToml(launch: Launch): TomlTable {
  const types = new Set<string>();
  let defaults = 0;
  const processes = launch.processes.map((p) => {
    if (types.has(p.type)) throw new Error(`duplicate process type '${p.type}'`);
    types.add(p.type);
    if (p.default) defaults += 1;
    const t: TomlTable = { type: p.type, command: p.command };
    if (p.args.length > 0) t.args = p.args;
    if (p.default) t.default = true;
    if (p.workingDir !== undefined) t['working-dir'] = p.workingDir;
    return t;
  });
  if (defaults > 1) throw new Error('more than one default process');
  const doc: TomlTable = { processes };
  return doc;
}

export async function writeLaunch(layersDir: string, launch: Launch): Promise<void> {
  await writeTomlFile(path.join(layersDir, 'launch.toml'), launchToml(launch));
}
