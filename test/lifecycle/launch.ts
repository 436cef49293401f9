/**
 * Starting a process of a built image through the real launcher (platform.md §launcher; buildpack.md §launch.toml (TOML), buildpack.md §Exec.d):
 * `cnb/process/<type>` (a link to the launcher, which takes the process type from its argv0) with user args,
 * or `launcher -- <command>` for a user command. The launcher gets CNB_LAYERS_DIR, CNB_APP_DIR and
 * CNB_PLATFORM_API as an image's config sets them, runs as the launch user with the app dir as its working
 * directory, and applies the layers' env and exec.d itself before it execs the process. As root the launcher
 * is PID 1 of a PID namespace of its own (`unshare --pid --fork`), so the app it execs is PID 1, as in a
 * container.
 */
import { spawn } from 'node:child_process';
import { IS_ROOT, OutputCapture } from '../platform/fsutil.js';
import { DEFAULT_RUN_PATH, PID1_AVAILABLE, namespaceInitPid, type LaunchOptions } from '../platform/launcher.js';
import { LaunchedProcess } from '../platform/process-handle.js';
import type { EnvMap, EnvOverrides, UserSpec } from '../platform/types.js';
import { processEntrypoint } from './layout.js';
import type { CnbLayout } from './layout.js';

/** The Platform API the phases and the launcher are run with. */
export const PLATFORM_API = '0.15';

/**
 * What a test can ask of a launch: the same options as the local platform's launcher, less what only an
 * emulator can choose (the real launcher is always PID 1 here, and runs exec.d as it sees fit).
 */
export type RealLaunchOptions = Omit<LaunchOptions, 'pid1' | 'execdTimeoutMs'>;

export interface LaunchTarget {
  layout: CnbLayout;
  appDir: string;
  /** The layers root, as the image holds it (`<layers>/config/metadata.toml`, `<layers>/<id>/…`). */
  layersDir: string;
  user: UserSpec;
  home: string;
  outputFile: string;
  defaultProcess: string | undefined;
}

export async function launchWithLauncher(t: LaunchTarget, o: RealLaunchOptions = {}): Promise<LaunchedProcess> {
  if (o.command && o.processType) throw new Error('give either processType or command, not both');
  const type = o.command ? undefined : (o.processType ?? t.defaultProcess);
  const argv = o.command
    ? [t.layout.launcher, '--', ...o.command]
    : [type ? await processEntrypoint(t.layout, type) : t.layout.launcher, ...(o.args ?? [])];
  const env: EnvMap = {};
  const merged: EnvOverrides = {
    PATH: DEFAULT_RUN_PATH,
    HOME: t.home,
    CNB_LAYERS_DIR: t.layersDir,
    CNB_APP_DIR: t.appDir,
    CNB_PLATFORM_API: PLATFORM_API,
    ...o.runEnv,
    ...o.env,
  };
  for (const [k, v] of Object.entries(merged)) if (v !== undefined) env[k] = v;
  const user = o.user ?? t.user;
  const capture = new OutputCapture(t.outputFile, `launcher ${type ?? (o.command ? 'cmd' : '')}`);
  const stdio: ['ignore', number, number] = ['ignore', capture.fd, capture.fd];
  const startedAt = Date.now();
  const [entry = '', ...rest] = argv;
  const child = PID1_AVAILABLE
    ? spawn('/usr/bin/unshare', ['--pid', '--fork', '--kill-child', '--', '/usr/bin/setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', '--', ...argv], {
        cwd: t.appDir,
        env,
        stdio,
        detached: true,
      })
    : spawn(entry, rest, { cwd: t.appDir, env, stdio, detached: true, ...(IS_ROOT ? { uid: user.uid, gid: user.gid } : {}) });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
  } catch (err) {
    capture.finish();
    throw new Error(`could not start the launcher ${entry}: ${(err as Error).message}`);
  }
  const appPid = PID1_AVAILABLE ? await namespaceInitPid(child.pid ?? 0) : (child.pid ?? 0);
  capture.closeFd();
  // `env` is the container's env as given to the launcher; the launcher adds the layers' env and exec.d values.
  return new LaunchedProcess(child, appPid, { processType: type ?? '', argv, cwd: t.appDir, env, pid1: PID1_AVAILABLE }, capture, startedAt);
}
