/**
 * Environment: a plain map (Env) and LayerEnv, the pure delta a layer contributes through its env files
 * (buildpack.md §Environment Variable Modification Rules). Shaped like libcnb.rs's layer_env.rs: apply() is pure, so each layer's env is unit-tested.
 */
import fs from 'node:fs';
import path from 'node:path';
import { envName, type ProcessType } from './names.js';
import { isNotFound } from './toml-write.js';

export type Env = Record<string, string>;

/**
 * An empty Env with no prototype: every POSIX name is an own key, so `constructor` or `toString` are never
 * taken for set variables, and `__proto__` is kept as a variable instead of being swallowed by the setter.
 */
export function emptyEnv(): Env {
  return Object.create(null) as Env;
}

/** Where a modification applies: env/ (all), env.build/, env.launch/, or env.launch/<type>/. */
export type Scope = { kind: 'all' } | { kind: 'build' } | { kind: 'launch' } | { kind: 'process'; type: ProcessType };
export const Scope = {
  all: { kind: 'all' } as Scope,
  build: { kind: 'build' } as Scope,
  launch: { kind: 'launch' } as Scope,
  process: (type: ProcessType): Scope => ({ kind: 'process', type }),
};

export type Modification = 'override' | 'default' | 'prepend' | 'append';

interface Entry {
  scope: Scope;
  mod: Modification;
  name: string;
  value: string;
  delim?: string;
}

function scopeDir(scope: Scope): string {
  switch (scope.kind) {
    case 'all': return 'env';
    case 'build': return 'env.build';
    case 'launch': return 'env.launch';
    case 'process': return path.join('env.launch', scope.type);
  }
}

/** The order the lifecycle applies a layer's directories for a phase (buildpack.md §Environment Variable Modification Rules). */
function appliesTo(entryScope: Scope, target: 'build' | 'launch', processType?: string): boolean {
  switch (entryScope.kind) {
    case 'all': return true;
    case 'build': return target === 'build';
    case 'launch': return target === 'launch';
    case 'process': return target === 'launch' && entryScope.type === processType;
  }
}
const SCOPE_RANK: Record<Scope['kind'], number> = { all: 0, build: 1, launch: 1, process: 2 };

export class LayerEnv {
  private readonly entries: Entry[] = [];

  /** Sets NAME (file NAME.override). */
  override(scope: Scope, name: string, value: string): this {
    return this.add({ scope, mod: 'override', name, value });
  }
  /** Sets NAME only when it is empty or unset: the right choice for anything a user may set (file NAME.default). */
  default(scope: Scope, name: string, value: string): this {
    return this.add({ scope, mod: 'default', name, value });
  }
  prepend(scope: Scope, name: string, value: string, delim = path.delimiter): this {
    return this.add({ scope, mod: 'prepend', name, value, delim });
  }
  append(scope: Scope, name: string, value: string, delim = path.delimiter): this {
    return this.add({ scope, mod: 'append', name, value, delim });
  }

  private add(entry: Entry): this {
    envName(entry.name);
    this.entries.push(entry);
    return this;
  }

  /** Applies the delta to a copy of `base`, as the lifecycle would for `target`. Pure. */
  apply(target: 'build' | 'launch', base: Env, processType?: string): Env {
    const env: Env = { ...base };
    const ordered = this.entries
      .filter((e) => appliesTo(e.scope, target, processType))
      .sort((a, b) => SCOPE_RANK[a.scope.kind] - SCOPE_RANK[b.scope.kind]);
    for (const e of ordered) {
      const old = env[e.name];
      switch (e.mod) {
        case 'override': env[e.name] = e.value; break;
        case 'default': if (old === undefined || old === '') env[e.name] = e.value; break;
        case 'prepend': env[e.name] = old ? e.value + (e.delim ?? '') + old : e.value; break;
        case 'append': env[e.name] = old ? old + (e.delim ?? '') + e.value : e.value; break;
      }
    }
    return env;
  }

  /** Writes the env files into a layer directory: verbatim contents, no trailing newline, a .delim beside each prepend/append. */
  async writeTo(layerDir: string): Promise<void> {
    for (const e of this.entries) {
      const dir = path.join(layerDir, scopeDir(e.scope));
      await fs.promises.mkdir(dir, { recursive: true });
      await fs.promises.writeFile(path.join(dir, `${e.name}.${e.mod}`), e.value);
      if (e.delim !== undefined) await fs.promises.writeFile(path.join(dir, `${e.name}.delim`), e.delim);
    }
  }

  /** A delta holding the entries of each argument, in order. */
  static concat(...envs: LayerEnv[]): LayerEnv {
    const out = new LayerEnv();
    for (const e of envs) out.entries.push(...e.entries);
    return out;
  }

  /**
   * The env a layer gives at build including the implicit entries the lifecycle adds for build layers
   * (bin -> PATH, lib -> LD_LIBRARY_PATH and LIBRARY_PATH, buildpack.md §Environment), for the buildpack's own later steps.
   */
  static async implicitBuildEntries(layerDir: string): Promise<LayerEnv> {
    const env = new LayerEnv();
    if (await isDir(path.join(layerDir, 'bin'))) env.prepend(Scope.build, 'PATH', path.join(layerDir, 'bin'));
    if (await isDir(path.join(layerDir, 'lib'))) {
      env.prepend(Scope.build, 'LD_LIBRARY_PATH', path.join(layerDir, 'lib'));
      env.prepend(Scope.build, 'LIBRARY_PATH', path.join(layerDir, 'lib'));
    }
    return env;
  }
}

async function isDir(p: string): Promise<boolean> {
  try {
    return (await fs.promises.stat(p)).isDirectory();
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
