/**
 * Running bin/detect and bin/build the way the lifecycle does (buildpack.md §Detection and §Build): argv, cwd, stdin,
 * merged output, the exact environment, and the detect result handling of buildpack.md §Build Plan (TOML).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { apiAtLeast, targetEnv, targetSatisfied } from './descriptor.js';
import type { BuildpackDescriptor } from './descriptor.js';
import { resolvePlan } from './detect.js';
import { filterBuildBaseEnv, withOverrides } from './env-files.js';
import { IS_ROOT, OutputCapture, makeDir, treeDigest, writeFileExact } from './fsutil.js';
import type { EnvMap, EnvOverrides, PlanEntry, TargetSpec, TomlTable, UserSpec } from './types.js';

export const DEFAULT_BUILD_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Everything a phase needs to know about the build "container". */
export interface PhaseContext {
  descriptor: BuildpackDescriptor;
  /** `/cnb/buildpacks/<escaped-id>/<version>` (CNB_BUILDPACK_DIR). */
  buildpackDir: string;
  appDir: string;
  platformDir: string;
  buildConfigDir: string | undefined;
  /** The lifecycle's temp dir (plan files). */
  tmpDir: string;
  /** HOME of the build user. */
  homeDir: string;
  buildUser: UserSpec;
  target: TargetSpec;
  /** The lifecycle's own environment (only include-listed variables reach the buildpack). */
  baseEnv: EnvOverrides;
  execEnv: string | undefined;
  /** See PhaseOptions.hideNode. */
  hideNode: boolean;
  timeoutMs: number;
  /** Where the merged output files go. */
  logDir: string;
}

export interface BinaryRun {
  /** Exit code; null when killed by a signal or when it could not be started. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the binary could not be started (ENOENT, EACCES…). */
  spawnError?: string;
  /** Set when an Interrupt killed the run: when (ms after the start) and why. */
  interrupted?: { atMs: number; reason: string };
  output: string;
  durationMs: number;
}

/** What an Interrupt's `when` sees at each poll. */
export interface InterruptProbe {
  /** CNB_LAYERS_DIR of the running build. */
  layersDir: string;
  /** Milliseconds since bin/build was started. */
  elapsedMs: number;
}

/**
 * A crash injected into bin/build: its whole process group (bin/build and every tool it started, as when
 * a container is killed) gets SIGKILL. Give `afterMs` alone (kill that long after the start), `when` alone
 * (kill as soon as it returns true), or both (kill `afterMs` after `when` first returned true).
 */
export interface Interrupt {
  afterMs?: number;
  /** Polled every `pollMs` while bin/build runs; a throwing or rejecting `when` counts as false. */
  when?: (probe: InterruptProbe) => boolean | Promise<boolean>;
  /** Poll interval for `when` (default 5 ms). */
  pollMs?: number;
}

/** Process groups of phases still running: SIGKILLed if the test process exits first. */
const liveGroups = new Set<number>();
process.once('exit', () => {
  for (const g of liveGroups) killGroup(g);
});

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Whether any process of the group is still alive (zombies, which can write nothing, do not count). */
function groupAlive(pgid: number): boolean {
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

/** After a group kill: waits (up to 5 s) until no process of the group can write any more. */
async function waitGroupGone(pgid: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (groupAlive(pgid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

/** The env for bin/detect or bin/build: base include list, platform/operator vars, then CNB_*. */
export async function phaseEnv(ctx: PhaseContext, cnb: EnvMap): Promise<EnvMap> {
  const base = filterBuildBaseEnv(ctx.baseEnv);
  const vars = await withOverrides(base, ctx.descriptor.clearEnv ? undefined : ctx.platformDir, ctx.buildConfigDir);
  const env = vars.toObject();
  const api = ctx.descriptor.api;
  env.CNB_BUILDPACK_DIR = ctx.buildpackDir;
  if (apiAtLeast(api, '0.8')) Object.assign(env, cnb);
  if (apiAtLeast(api, '0.10')) Object.assign(env, targetEnv(ctx.target));
  if (apiAtLeast(api, '0.12') && ctx.execEnv) env.CNB_EXEC_ENV = ctx.execEnv;
  return env;
}

/**
 * unshare -m, bind /dev/null over each node binary, then drop to the build user and exec the binary with
 * argv0 = its path (`exec "$0" "$@"`). Returns [command, args, spawnAsBuildUser].
 */
function withoutNode(bin: string, args: string[], user: UserSpec): [string, string[], boolean] {
  if (!IS_ROOT) throw new Error('hideNode needs root (a private mount namespace)');
  const nodes = ['/usr/bin/node', '/usr/local/bin/node', '/bin/node'].filter((n) => fs.existsSync(n));
  const script = [
    ...nodes.map((n) => `mount --bind /dev/null ${n}`),
    `exec setpriv --reuid=${user.uid} --regid=${user.gid} --clear-groups -- "$0" "$@"`,
  ].join(' && ');
  return ['/usr/bin/unshare', ['-m', '--propagation', 'private', '--', '/bin/sh', '-c', script, bin, ...args], false];
}

/**
 * Runs `<buildpack>/bin/<name>` with argv0 = its absolute path, stdin /dev/null, stdout+stderr merged, in a
 * process group of its own: the platform timeout and an `interrupt` SIGKILL the whole group, so no tool the
 * phase started (pip, a compiler) outlives it and keeps writing into the layers dir.
 */
export async function runBinary(ctx: PhaseContext, name: 'detect' | 'build', args: string[], env: EnvMap, interrupt?: Interrupt): Promise<BinaryRun> {
  const bin = path.join(ctx.buildpackDir, 'bin', name);
  const capture = new OutputCapture(`${await fsp.mkdtemp(path.join(ctx.logDir, `${name}-`))}/output.log`, name);
  const t0 = Date.now();
  let pgid: number | undefined;
  try {
    const run = await new Promise<Omit<BinaryRun, 'output'>>((resolve) => {
      const [command, argv, asUser] = ctx.hideNode ? withoutNode(bin, args, ctx.buildUser) : [bin, args, IS_ROOT];
      const child = spawn(command, argv, {
        argv0: command,
        cwd: ctx.appDir,
        env,
        stdio: ['ignore', capture.fd, capture.fd],
        detached: true, // a process group of its own, killed as a whole
        ...(asUser ? { uid: ctx.buildUser.uid, gid: ctx.buildUser.gid } : {}),
      });
      pgid = child.pid;
      if (pgid !== undefined) liveGroups.add(pgid);
      let exited = false;
      let timedOut = false;
      let interrupted: BinaryRun['interrupted'];
      const timers: NodeJS.Timeout[] = [];
      const stopped = (): boolean => exited || timedOut || interrupted !== undefined;
      const kill = (): void => {
        if (pgid !== undefined) killGroup(pgid);
      };
      timers.push(setTimeout(() => {
        if (stopped()) return;
        timedOut = true;
        kill();
      }, ctx.timeoutMs));
      if (interrupt) {
        armInterrupt(interrupt, { layersDir: env.CNB_LAYERS_DIR ?? '', t0, timers, stopped }, (reason) => {
          if (stopped()) return;
          interrupted = { atMs: Date.now() - t0, reason };
          kill();
        });
      }
      const finish = (r: Omit<BinaryRun, 'output'>): void => {
        exited = true;
        for (const t of timers) clearTimeout(t);
        resolve(r);
      };
      child.once('error', (err) => finish({ code: null, signal: null, spawnError: err.message, durationMs: Date.now() - t0 }));
      child.once('exit', (code, signal) => {
        const r: Omit<BinaryRun, 'output'> = { code, signal, durationMs: Date.now() - t0 };
        if (interrupted) r.interrupted = interrupted;
        if (timedOut) r.spawnError = `killed after the platform timeout of ${ctx.timeoutMs}ms`;
        finish(r);
      });
    });
    if (pgid !== undefined) {
      // A phase that was killed, or exited leaving tools behind: nothing it started may write on (a container dies whole).
      killGroup(pgid);
      await waitGroupGone(pgid);
      liveGroups.delete(pgid);
    }
    return { ...run, output: capture.text() };
  } finally {
    capture.finish();
  }
}

/** Schedules an Interrupt; `fire` is called at most once (it checks `stopped` itself too). */
function armInterrupt(
  it: Interrupt,
  s: { layersDir: string; t0: number; timers: NodeJS.Timeout[]; stopped: () => boolean },
  fire: (reason: string) => void,
): void {
  const after = it.afterMs ?? 0;
  const later = (reason: string): void => {
    if (after <= 0) {
      fire(reason);
      return;
    }
    s.timers.push(setTimeout(() => fire(reason), after));
  };
  if (!it.when) {
    later(`interrupt: SIGKILL ${after} ms after the start`);
    return;
  }
  const when = it.when;
  const poll = async (): Promise<void> => {
    if (s.stopped()) return;
    const elapsedMs = Date.now() - s.t0;
    let hit = false;
    try {
      hit = await when({ layersDir: s.layersDir, elapsedMs });
    } catch {
      hit = false;
    }
    if (s.stopped()) return;
    if (hit) {
      later(after > 0 ? `interrupt: SIGKILL ${after} ms after the condition held (at ${elapsedMs} ms)` : `interrupt: SIGKILL when the condition held (at ${elapsedMs} ms)`);
      return;
    }
    s.timers.push(setTimeout(() => void poll(), it.pollMs ?? 5));
  };
  void poll();
}

export interface DetectResult {
  /** pass: exit 0 and a resolvable plan; fail: exit 100 (or no plan trial passed); error: anything else. */
  status: 'pass' | 'fail' | 'error';
  /** bin/detect's exit code (null: not run, killed or not startable). */
  code: number | null;
  /** What the lifecycle's detector would exit with: 0, 20 (fail), 21 (buildpack error). */
  lifecycleExitCode: 0 | 20 | 21;
  output: string;
  /** The plan file exactly as bin/detect left it. */
  planText: string;
  /** The decoded plan (when it parsed). */
  plan?: TomlTable;
  /** The Buildpack Plan entries bin/build will receive (empty unless pass). */
  entries: PlanEntry[];
  /** Explanation for fail/error beyond the exit code. */
  error?: string;
  /** Every rule broken (strict mode throws on any). */
  violations: string[];
  /** The part of `violations` the lifecycle does not enforce (the Buildpack API spec): it does not change `lifecycleExitCode`. */
  stricterThanLifecycle: string[];
  durationMs: number;
}

/** Runs bin/detect in a prepared container and interprets the result (buildpack.md §Detection and §Build, buildpack.md §Build Plan (TOML), the Buildpack API spec). */
export async function detectPhase(ctx: PhaseContext): Promise<DetectResult> {
  const t0 = Date.now();
  const base = { planText: '', entries: [] as PlanEntry[], violations: [] as string[], stricterThanLifecycle: [] as string[] };
  if (!targetSatisfied(ctx.descriptor, ctx.target)) {
    const t = ctx.target;
    const error = `unable to satisfy target os/arch constraints (${t.os}/${t.arch} ${t.distroName ?? ''} ${t.distroVersion ?? ''})`;
    return { ...base, status: 'fail', code: null, lifecycleExitCode: 20, output: error, error, durationMs: 0 };
  }
  const planDir = await fsp.mkdtemp(path.join(ctx.tmpDir, 'plan.'));
  await makeDir(planDir, 0o700, ctx.buildUser);
  const planPath = path.join(planDir, 'plan.toml');
  await writeFileExact(planPath, '', 0o600, ctx.buildUser);
  const env = await phaseEnv(ctx, {
    CNB_PLATFORM_DIR: ctx.platformDir,
    CNB_BUILD_PLAN_PATH: planPath,
  });
  // detect must not write into the app dir, the buildpack dir or $HOME (the Buildpack API spec)
  const watched: Array<[string, string]> = [['app dir', ctx.appDir], ['buildpack dir', ctx.buildpackDir]];
  if (env.HOME === ctx.homeDir) watched.push(['$HOME', ctx.homeDir]);
  const before = await Promise.all(watched.map(([, d]) => treeDigest(d)));
  const run = await runBinary(ctx, 'detect', [ctx.platformDir, planPath], env);
  const after = await Promise.all(watched.map(([, d]) => treeDigest(d)));
  const violations: string[] = [];
  const stricterThanLifecycle: string[] = [];
  watched.forEach(([what, dir], i) => {
    if (before[i] === after[i]) return;
    // spec only; the lifecycle's detector does not check it
    const msg = `bin/detect modified the ${what} (${dir}); detect must not write there`;
    violations.push(msg);
    stricterThanLifecycle.push(msg);
  });
  const planText = await fsp.readFile(planPath, 'utf8').catch(() => '');
  const common = { output: run.output, planText, violations, stricterThanLifecycle, durationMs: Date.now() - t0 };
  if (run.code === 100) return { ...common, status: 'fail', code: 100, lifecycleExitCode: 20, entries: [] };
  if (run.code !== 0) {
    const error = run.spawnError ?? (run.signal ? `killed by ${run.signal}` : `exit code ${run.code} (only 0 and 100 are valid)`);
    return { ...common, status: 'error', code: run.code, lifecycleExitCode: 21, entries: [], error };
  }
  const res = resolvePlan(planText);
  if (res.ok) return { ...common, status: 'pass', code: 0, lifecycleExitCode: 0, entries: res.entries, plan: res.plan };
  violations.push(`build plan: ${res.message}`);
  if (res.kind === 'error') return { ...common, status: 'error', code: 0, lifecycleExitCode: 21, entries: [], error: res.message };
  return { ...common, status: 'fail', code: 0, lifecycleExitCode: 20, entries: [], error: res.message, plan: res.plan };
}
