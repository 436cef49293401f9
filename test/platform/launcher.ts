/**
 * The launcher (buildpack.md §Environment Variable Modification Rules, buildpack.md §launch.toml (TOML), buildpack.md §Exec.d; lifecycle `launch/launcher.go`, `launch/exec_d.go`,
 * `launch/process.go`): picks the process, builds the launch env from the image's layers,
 * runs exec.d programs with fd 3, changes to the working dir and starts the command directly
 * (no shell) as the launch user, optionally as PID 1 of its own PID namespace.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { BuildpackDescriptor } from './descriptor.js';
import { EnvVars, LAUNCH_ENV_EXCLUDELIST, POSIX_LAUNCH_ROOT_DIRS, addRootDir, applyEnvDir } from './env-files.js';
import type { FileReader } from './env-files.js';
import { IS_ROOT, OutputCapture, accessProblem, parseToml, readDirSorted } from './fsutil.js';
import { LaunchError } from './errors.js';
import { LaunchedProcess } from './process-handle.js';
import type { Image } from './store.js';
import type { EnvMap, EnvOverrides, ProcessSpec, UserSpec } from './types.js';

export const DEFAULT_RUN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface LaunchOptions {
  /** Start this process type, as if the container ran `/cnb/process/<type>`. Default: the image's default process. */
  processType?: string;
  /** A user-provided command run directly (`launcher -- cmd args…`); no process type applies. */
  command?: string[];
  /** User args (`docker run image ARGS`): replace the process's `args` (Platform API >= 0.10). */
  args?: string[];
  /** Variables set on the container (`docker run -e`). Applied over `runEnv`, before the layers' env. */
  env?: EnvMap;
  /** The run image's own env. Default: PATH=/usr/local/sbin:…:/bin and HOME=<fresh writable dir>. `undefined` unsets. */
  runEnv?: EnvOverrides;
  /** Run as this uid/gid (default: the platform's launch user). */
  user?: UserSpec;
  /** Run the app as PID 1 of a new PID namespace (default: true when root and unshare/setpriv exist). */
  pid1?: boolean;
  /** Max time for each exec.d program to exit and close fd 3 (lifecycle: unlimited). Default 30 s. */
  execdTimeoutMs?: number;
}

export interface LaunchContext {
  image: Image;
  descriptor: BuildpackDescriptor;
  appDir: string;
  layersDir: string;
  user: UserSpec;
  home: string;
  outputFile: string;
  platformApi: string;
}

export const PID1_AVAILABLE = IS_ROOT && fs.existsSync('/usr/bin/unshare') && fs.existsSync('/usr/bin/setpriv');

const userOpts = (u: UserSpec): { uid?: number; gid?: number } => (IS_ROOT ? { uid: u.uid, gid: u.gid } : {});

function selectProcess(ctx: LaunchContext, o: LaunchOptions): { type: string; command: string[]; args: string[] } {
  if (o.command) {
    if (o.processType) throw new LaunchError('give either processType or command, not both');
    const [cmd, ...rest] = o.command;
    if (!cmd) throw new LaunchError('when there is no default process a command is required');
    return { type: '', command: [cmd], args: rest };
  }
  const type = o.processType ?? ctx.image.defaultProcess;
  if (!type) throw new LaunchError('determine start command: when there is no default process a command is required');
  const proc: ProcessSpec | undefined = ctx.image.processes.find((p) => p.type === type);
  if (!proc) throw new LaunchError(`determine start command: process type ${type} was not found`);
  const user = o.args ?? [];
  const [cmd = '', ...always] = proc.command;
  if (Number(ctx.platformApi.split('.')[1]) < 10) {
    return { type, command: [cmd], args: [...always, ...proc.args, ...user] }; // Platform API < 0.10 appends
  }
  return { type, command: [cmd], args: [...always, ...(user.length > 0 ? user : proc.args)] };
}

/** Go `exec.LookPath` with the launch PATH, relative names resolved against the app dir. */
async function lookPath(cmd: string, pathVar: string, appDir: string): Promise<string> {
  const isExec = async (p: string): Promise<boolean> => {
    const st = await fsp.stat(path.resolve(appDir, p)).catch(() => undefined);
    return !!st && !st.isDirectory() && (st.mode & 0o111) !== 0;
  };
  if (cmd.includes('/')) {
    if (await isExec(cmd)) return cmd;
    throw new LaunchError(`path lookup: exec: "${cmd}": not an executable file`);
  }
  for (const dir of pathVar.split(':')) {
    const p = path.join(dir || '.', cmd);
    if (!(await isExec(p))) continue;
    if (!path.isAbsolute(p)) throw new LaunchError(`path lookup: exec: "${cmd}": cannot run executable found relative to current directory`);
    return p;
  }
  throw new LaunchError(`path lookup: exec: "${cmd}": executable file not found in $PATH`);
}

async function requireAccess(p: string, user: UserSpec, want: 'r' | 'x' | 'rx', what: string): Promise<void> {
  const problem = IS_ROOT ? await accessProblem(p, user, want) : undefined;
  if (problem) throw new LaunchError(`${what}: ${problem}`);
}

/** Runs one exec.d program and applies its fd 3 output (strictly `KEY = "string"` pairs). */
async function runExecD(file: string, env: EnvVars, ctx: LaunchContext, capture: OutputCapture, timeoutMs: number): Promise<void> {
  const child = spawn(file, [], {
    argv0: file,
    cwd: ctx.appDir,
    env: env.toObject(),
    stdio: ['ignore', capture.fd, capture.fd, 'pipe'],
    ...userOpts(ctx.user),
  });
  const chunks: Buffer[] = [];
  const result = await new Promise<{ code: number | null; signal: string | null } | { error: string }>((resolve) => {
    let exit: { code: number | null; signal: string | null } | undefined;
    let eof = false;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ error: `did not ${exit ? 'close fd 3' : 'exit'} within ${timeoutMs}ms (a background child holding fd 3 hangs the launcher)` });
    }, timeoutMs);
    const finish = (): void => {
      if (exit && eof) {
        clearTimeout(timer);
        resolve(exit);
      }
    };
    child.once('error', (err) => {
      clearTimeout(timer);
      resolve({ error: err.message });
    });
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      finish();
    });
    const fd3 = child.stdio[3];
    if (!fd3) return resolve({ error: 'no fd 3 pipe' });
    fd3.on('data', (c: Buffer) => chunks.push(c));
    fd3.once('close', () => {
      eof = true;
      finish();
    });
  });
  const where = `exec.d: failed to execute exec.d file at path '${file}'`;
  if ('error' in result) throw new LaunchError(`${where}: ${result.error}`, capture.text());
  if (result.code !== 0) {
    throw new LaunchError(`${where}: ${result.signal ? `signal: ${result.signal}` : `exit status ${result.code}`}`, capture.text());
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const parsed = parseToml(text);
  const decodeErr = `exec.d: failed to decode output from exec.d file at path '${file}'`;
  if (!parsed.ok) throw new LaunchError(`${decodeErr}: ${parsed.error}\n--- fd 3 ---\n${text}`, capture.text());
  for (const [k, v] of Object.entries(parsed.value)) {
    if (typeof v !== 'string') {
      throw new LaunchError(`${decodeErr}: ${k} is a ${Array.isArray(v) ? 'array' : typeof v}, only "string" values are allowed\n--- fd 3 ---\n${text}`, capture.text());
    }
  }
  for (const [k, v] of Object.entries(parsed.value)) env.set(k, v as string);
}

/** Starts a process of the (already materialised) image. */
export async function launchImage(ctx: LaunchContext, o: LaunchOptions = {}): Promise<LaunchedProcess> {
  const capture = new OutputCapture(ctx.outputFile, `launch ${o.processType ?? (o.command ? 'cmd' : ctx.image.defaultProcess ?? '')}`);
  try {
    const proc = selectProcess(ctx, o);
    const user = ctx.user;
    // container env, minus what the launcher strips
    const env = new EnvVars({ PATH: DEFAULT_RUN_PATH, HOME: ctx.home, ...o.runEnv, ...o.env });
    for (const k of LAUNCH_ENV_EXCLUDELIST) env.delete(k);
    env.set('PATH', env.get('PATH').split(':').filter((p) => p !== '/cnb/process' && p !== '/cnb/lifecycle').join(':'));

    await requireAccess(ctx.appDir, user, 'x', 'change to app directory');
    const bpDir = path.join(ctx.layersDir, ctx.descriptor.escapedId);
    const layers = (await readDirSorted(bpDir)).filter((e) => e.isDirectory()).map((e) => path.join(bpDir, e.name));
    if (layers.length > 0) await requireAccess(bpDir, user, 'rx', 'modify env');
    const reader: FileReader = async (p) => {
      await requireAccess(p, user, 'r', 'modify env');
      return fsp.readFile(p);
    };
    for (const layer of layers) await addRootDir(env, layer, POSIX_LAUNCH_ROOT_DIRS);
    for (const layer of layers) {
      const dirs = [path.join(layer, 'env'), path.join(layer, 'env.launch')];
      if (proc.type) dirs.push(path.join(layer, 'env.launch', proc.type));
      for (const d of dirs) await applyEnvDir(env, d, 'override', reader);
    }
    for (const layer of layers) {
      const dirs = [path.join(layer, 'exec.d')];
      if (proc.type) dirs.push(path.join(layer, 'exec.d', proc.type));
      for (const d of dirs) {
        for (const e of await readDirSorted(d)) {
          if (!e.isDirectory()) await runExecD(path.join(d, e.name), env, ctx, capture, o.execdTimeoutMs ?? 30_000);
        }
      }
    }

    const cwd = proc.type ? path.resolve(ctx.appDir, ctx.image.processes.find((p) => p.type === proc.type)?.workingDir ?? '.') : ctx.appDir;
    const cmd = proc.command[0] ?? '';
    if (!cmd) throw new LaunchError(`no command provided for process type "${proc.type}"`);
    const found = await lookPath(cmd, env.get('PATH'), ctx.appDir);
    await requireAccess(cwd, user, 'x', 'change directory');
    const binary = path.resolve(cwd, found);
    await requireAccess(binary, user, 'x', 'direct exec');
    const argv = [cmd, ...proc.args];
    const finalEnv = env.toObject();
    const pid1 = (o.pid1 ?? true) && PID1_AVAILABLE;
    const stdio: ['ignore', number, number] = ['ignore', capture.fd, capture.fd];
    const startedAt = Date.now();
    const child = pid1
      ? spawn(
          '/usr/bin/unshare',
          ['--pid', '--fork', '--kill-child', '--', '/usr/bin/setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', cmd, ...proc.args],
          { cwd, env: finalEnv, stdio, detached: true },
        )
      : spawn(binary, proc.args, { argv0: cmd, cwd, env: finalEnv, stdio, detached: true, ...userOpts(user) });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', (err) => reject(new LaunchError(`direct exec: ${err.message}`, capture.text())));
    });
    let appPid = child.pid ?? 0;
    if (pid1) appPid = await namespaceInitPid(appPid);
    capture.closeFd();
    return new LaunchedProcess(child, appPid, { processType: proc.type, argv, cwd, env: finalEnv, pid1 }, capture, startedAt);
  } catch (err) {
    capture.finish();
    if (err instanceof LaunchError && !err.output) throw new LaunchError(err.reason, capture.text());
    throw err;
  }
}

/** The host pid of unshare's forked child (PID 1 inside the namespace). */
export async function namespaceInitPid(unsharePid: number): Promise<number> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const children = await fsp.readFile(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').catch(() => undefined);
    if (children === undefined) return unsharePid; // already gone
    const pid = Number(children.trim().split(/\s+/)[0]);
    if (pid > 0) return pid;
    await new Promise((r) => setTimeout(r, 10));
  }
  return unsharePid;
}
