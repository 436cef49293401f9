/**
 * LocalPlatform: a faithful local stand-in for the CNB lifecycle (detector, restorer, builder,
 * exporter, launcher) used by the end-to-end tests. See test/platform/README.md.
 *
 *   const platform = await LocalPlatform.create({ buildpackDir });
 *   const app = await platform.app('test/fixtures/flask');
 *   const res = await platform.buildOk(app, { platformEnv: { BP_PYTHON_VERSION: '3.12' } });
 *   const web = await platform.launch(res, { env: { PORT: '8080' } });
 *   await web.waitForHttp('http://127.0.0.1:8080/');
 *   await web.stop();
 *   await platform.cleanup();
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { LIFECYCLE_BUILDPACK_APIS, hostTarget, readDescriptor } from './descriptor.js';
import type { BuildpackDescriptor } from './descriptor.js';
import { BuildFailedError, PlatformError, PlatformValidationError } from './errors.js';
import { IS_ROOT, chmodTree, chownTree, copyTree, makeDir, removeTree, writeFileExact } from './fsutil.js';
import { launchImage } from './launcher.js';
import type { LaunchOptions } from './launcher.js';
import { DEFAULT_BUILD_PATH, detectPhase } from './phases.js';
import type { DetectResult, PhaseContext } from './phases.js';
import { killAll, trackRunning, type LaunchedProcess } from './process-handle.js';
import { materializeImage } from './store.js';
import type { Cache, Image } from './store.js';
import type { EnvOverrides, TargetSpec, UserSpec } from './types.js';
import { runBuild } from './build.js';
import type { BuildOptions, BuildResult } from './build.js';

export interface PlatformOptions {
  /** Directory holding buildpack.toml and bin/detect, bin/build. Copied (read-only) into the platform. */
  buildpackDir: string;
  /** Where everything goes (default: a fresh directory under the OS temp dir). */
  root?: string;
  /** uid/gid running detect and build (default 1000:1000 as root, else the current user). */
  buildUser?: UserSpec;
  /** uid/gid running the app (default 1001:1001 as root, else the current user). */
  launchUser?: UserSpec;
  /** Buildpack APIs accepted (exact match). Default: lifecycle 0.21.x's list. */
  supportedApis?: string[];
  /** Platform API emulated: < 0.10 appends user args, >= 0.14 restores launch+cache layers without an image. Default "0.13" (Tekton). */
  platformApi?: string;
  /** Overrides of the detected target (linux, amd64/arm64, /etc/os-release). */
  target?: Partial<TargetSpec>;
  /** Top-level names in buildpackDir not copied. Default ['.git', 'node_modules']. */
  exclude?: string[];
  /** Keep the files after cleanup() (also with KEEP_PLATFORM=1). */
  keepFiles?: boolean;
  /**
   * The lifecycle's own env for every detect and build, under each call's `baseEnv` (e.g. `hostileBaseEnv()`
   * to run a whole suite on a hostile build host). Merged over the PATH/HOME/HOSTNAME defaults.
   */
  baseEnv?: EnvOverrides;
  /** Variables every launch sets on the container (`docker run -e`), under each launch's own `env`. */
  launchEnv?: Record<string, string>;
}

/** File contents for `platform.app()`: text/bytes, with a mode, or a symlink. */
export type AppFile = string | Buffer | { content: string | Buffer; mode?: number } | { symlink: string };
export type AppFiles = Record<string, AppFile>;

/** Options shared by detect and build. */
export interface PhaseOptions {
  /**
   * User variables, written to `<platform>/env/<NAME>` without a trailing newline. A Buffer is written byte for
   * byte (a value that is not UTF-8); the process env then gets it decoded as UTF-8, as Node can only pass text.
   */
  platformEnv?: Record<string, string | Buffer>;
  /** Extra files under the platform dir (path relative to it, e.g. `bindings/x/type`). */
  platformFiles?: Record<string, string>;
  /** Operator variables: files in `<build-config>/env/` (names may carry suffixes). */
  buildConfigEnv?: Record<string, string>;
  /** The lifecycle's own env (merged over PATH/HOME/HOSTNAME defaults; `undefined` unsets). Only include-listed variables reach the buildpack. */
  baseEnv?: EnvOverrides;
  /** Throw PlatformValidationError on violations (default true); otherwise report them in the result. */
  strict?: boolean;
  /** Kill bin/detect or bin/build after this long (default 15 min; the lifecycle has no limit). */
  timeoutMs?: number;
  /** CNB_EXEC_ENV for Buildpack API >= 0.12. */
  execEnv?: string;
  /**
   * Run bin/detect and bin/build with Node.js out of reach, as on a build image without it: in a private
   * mount namespace with /dev/null bound over every `node` on the build PATH (root only).
   */
  hideNode?: boolean;
}

/** baseEnv that puts bogus entries into every path-like variable (hostile build hosts). */
export function hostileBaseEnv(): EnvOverrides {
  return {
    PATH: `/invalid/bin:${DEFAULT_BUILD_PATH}:/invalid`,
    LD_LIBRARY_PATH: '/invalid/lib:/invalid',
    LIBRARY_PATH: '/invalid/lib',
    CPATH: '/invalid/include',
    PKG_CONFIG_PATH: '/invalid/pkgconfig',
  };
}

/**
 * One app and its build history, on any platform (this emulator or the real lifecycle's driver): its source,
 * the container paths, the current image and cache, the processes running from it.
 */
export class AppState<B> {
  /** Pristine source; every detect/build starts from a fresh copy of it. Edit it with writeFile(). */
  readonly sourceDir: string;
  /** CNB_APP_DIR: the workspace during builds and the app dir of the running image. */
  readonly appDir: string;
  /** The layers root (`<layers>`); `<layers>/<escaped-id>` is CNB_LAYERS_DIR. */
  readonly layersDir: string;
  readonly platformDir: string;
  /** @internal */ image_: Image | undefined;
  /** @internal */ cache_: Cache | undefined;
  /** @internal */ generation = 0;
  /** @internal */ materialized: number | undefined;
  /** @internal */ readonly running = new Set<LaunchedProcess>();
  readonly builds: B[] = [];

  constructor(readonly root: string) {
    this.sourceDir = path.join(root, 'source');
    this.appDir = path.join(root, 'workspace');
    this.layersDir = path.join(root, 'layers');
    this.platformDir = path.join(root, 'platform');
  }

  /** The image of the last successful build (the "previous image" for the next build). */
  get image(): Image | undefined {
    return this.image_;
  }

  /** The build cache after the last successful build. */
  get cache(): Cache | undefined {
    return this.cache_;
  }

  /** Writes a file into the source (e.g. to change requirements.txt before a rebuild). */
  async writeFile(rel: string, content: AppFile): Promise<void> {
    await writeAppFile(this.sourceDir, rel, content);
  }

  async removeFile(rel: string): Promise<void> {
    await fsp.rm(path.join(this.sourceDir, rel), { recursive: true, force: true });
  }

  /** A fresh HOME (owned by the launch user) and a log file for the n-th launch from this app. */
  async launchPaths(n: number, user: UserSpec): Promise<{ home: string; outputFile: string }> {
    const home = path.join(this.root, 'launch-home', String(n));
    await makeDir(home, 0o700, user);
    await makeDir(path.join(this.root, 'logs'), 0o755);
    return { home, outputFile: path.join(this.root, 'logs', `launch-${n}.log`) };
  }
}

/** One app on the local platform. */
export class AppSession extends AppState<BuildResult> {
  constructor(
    readonly platform: LocalPlatform,
    root: string,
  ) {
    super(root);
  }

  /** Forget the previous image (the next build behaves like a build to a new image name). */
  dropImage(): void {
    this.image_ = undefined;
  }

  /** Lose the cache (like a new cache volume). */
  dropCache(): void {
    this.cache_ = undefined;
  }

  /**
   * Lays the image out at appDir/layersDir as the running container sees it (done automatically by
   * launch()) and returns the paths, for inspecting exported files.
   */
  async materialize(image = this.image_): Promise<{ appDir: string; layersDir: string; bpLayersDir: string }> {
    if (!image) throw new PlatformError('no image: the app has not been built successfully');
    if (this.materialized !== image.generation) {
      if ([...this.running].some((p) => p.running)) throw new PlatformError('stop the running processes of this app before switching images');
      await materializeImage(image, { appDir: this.appDir, layersDir: this.layersDir }, this.platform.descriptor, this.platform.buildUser);
      this.materialized = image.generation;
    }
    return { appDir: this.appDir, layersDir: this.layersDir, bpLayersDir: path.join(this.layersDir, this.platform.descriptor.escapedId) };
  }
}

/** Writes one AppFile at `dir/rel` (parents created, anything there replaced). */
export async function writeAppFile(dir: string, rel: string, f: AppFile): Promise<void> {
  const p = path.join(dir, rel);
  await fsp.mkdir(path.dirname(p), { recursive: true });
  await fsp.rm(p, { force: true, recursive: true });
  if (typeof f === 'object' && 'symlink' in f) return fsp.symlink(f.symlink, p);
  const content = typeof f === 'string' || Buffer.isBuffer(f) ? f : f.content;
  const mode = typeof f === 'string' || Buffer.isBuffer(f) ? 0o644 : (f.mode ?? 0o644);
  await writeFileExact(p, content, mode);
}

export class LocalPlatform {
  private apps = 0;
  private launches = 0;
  private readonly allApps: AppSession[] = [];

  private constructor(
    readonly root: string,
    /** The installed buildpack: `<root>/cnb/buildpacks/<escaped-id>/<version>`. */
    readonly buildpackDir: string,
    readonly descriptor: BuildpackDescriptor,
    readonly buildUser: UserSpec,
    readonly launchUser: UserSpec,
    readonly target: TargetSpec,
    readonly platformApi: string,
    private readonly keepFiles: boolean,
    /** PlatformOptions.baseEnv. */
    readonly baseEnv: EnvOverrides = {},
    /** PlatformOptions.launchEnv. */
    readonly launchEnv: Record<string, string> = {},
  ) {}

  /** Installs the buildpack like a builder image (root-owned, read-only to the build user, pack's mode normalisation) and checks buildpack.toml. */
  static async create(opts: PlatformOptions): Promise<LocalPlatform> {
    const root = opts.root ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'cnb-platform-')));
    try {
      return await LocalPlatform.install(root, opts);
    } catch (err) {
      if (!opts.root) await removeTree(root);
      throw err;
    }
  }

  private static async install(root: string, opts: PlatformOptions): Promise<LocalPlatform> {
    await makeDir(root, 0o755);
    const source = path.resolve(opts.buildpackDir);
    const { descriptor: pre } = await readDescriptor(source, opts.supportedApis ?? LIFECYCLE_BUILDPACK_APIS);
    const bpDir = path.join(root, 'cnb', 'buildpacks', pre.escapedId || 'unknown', pre.version || '0.0.0');
    const exclude = new Set(opts.exclude ?? ['.git', 'node_modules']);
    await makeDir(bpDir, 0o755);
    for (const e of await fsp.readdir(source)) if (!exclude.has(e)) await copyTree(path.join(source, e), path.join(bpDir, e));
    if (IS_ROOT) await chownTree(bpDir, { uid: 0, gid: 0 });
    await chmodTree(bpDir, IS_ROOT ? 'a=rX,u+w' : 'a=rX');
    const { descriptor, violations } = await readDescriptor(bpDir, opts.supportedApis ?? LIFECYCLE_BUILDPACK_APIS);
    if (violations.length > 0) throw new PlatformValidationError('buildpack.toml', violations);
    const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    return new LocalPlatform(
      root,
      bpDir,
      descriptor,
      opts.buildUser ?? (IS_ROOT ? { uid: 1000, gid: 1000 } : me),
      opts.launchUser ?? (IS_ROOT ? { uid: 1001, gid: 1001 } : me),
      { ...hostTarget(), ...opts.target },
      opts.platformApi ?? '0.13',
      opts.keepFiles ?? process.env.KEEP_PLATFORM === '1',
      opts.baseEnv ?? {},
      opts.launchEnv ?? {},
    );
  }

  /** Creates an app session from a fixture directory (copied) or a map of files. */
  async app(source: string | AppFiles): Promise<AppSession> {
    const app = new AppSession(this, path.join(this.root, 'apps', String(++this.apps)));
    await makeDir(app.root, 0o755);
    if (typeof source === 'string') await copyTree(path.resolve(source), app.sourceDir);
    else {
      await makeDir(app.sourceDir, 0o755);
      for (const [rel, f] of Object.entries(source)) await writeAppFile(app.sourceDir, rel, f);
    }
    this.allApps.push(app);
    return app;
  }

  /** @internal Fresh "build container" for the app: workspace from source, empty layers, platform dir. */
  async prepare(app: AppSession, o: PhaseOptions): Promise<PhaseContext> {
    if ([...app.running].some((p) => p.running)) throw new PlatformError('stop the running processes of this app before building');
    app.materialized = undefined;
    const r = (...p: string[]): string => path.join(app.root, ...p);
    for (const d of [app.appDir, app.layersDir, app.platformDir, r('build-config'), r('tmp'), r('home')]) await removeTree(d);
    await copyTree(app.sourceDir, app.appDir);
    await chownTree(app.appDir, this.buildUser);
    await makeDir(app.layersDir, 0o755, this.buildUser);
    await makeDir(path.join(app.platformDir, 'env'), 0o755);
    for (const [k, v] of Object.entries(o.platformEnv ?? {})) await writeFileExact(path.join(app.platformDir, 'env', k), v, 0o644);
    for (const [k, v] of Object.entries(o.platformFiles ?? {})) await writeFileExact(path.join(app.platformDir, k), v, 0o644);
    await chmodTree(app.platformDir, 'a=rX'); // read-only for the build user (even when it is us)
    let buildConfigDir: string | undefined;
    if (o.buildConfigEnv) {
      buildConfigDir = r('build-config');
      await makeDir(path.join(buildConfigDir, 'env'), 0o755);
      for (const [k, v] of Object.entries(o.buildConfigEnv)) await writeFileExact(path.join(buildConfigDir, 'env', k), v, 0o644);
    }
    await makeDir(r('tmp'), 0o755);
    await makeDir(r('home'), 0o755, this.buildUser);
    await makeDir(r('logs'), 0o755);
    const baseEnv: EnvOverrides = { PATH: DEFAULT_BUILD_PATH, HOME: r('home'), HOSTNAME: os.hostname(), ...this.baseEnv, ...o.baseEnv };
    return {
      descriptor: this.descriptor,
      buildpackDir: this.buildpackDir,
      appDir: app.appDir,
      platformDir: app.platformDir,
      buildConfigDir,
      tmpDir: r('tmp'),
      homeDir: r('home'),
      buildUser: this.buildUser,
      target: this.target,
      baseEnv,
      execEnv: o.execEnv,
      hideNode: o.hideNode ?? false,
      timeoutMs: o.timeoutMs ?? 15 * 60_000,
      logDir: r('logs'),
    };
  }

  /** Runs bin/detect on a fresh copy of the app. Throws PlatformValidationError on violations (strict). */
  async detect(app: AppSession, o: PhaseOptions = {}): Promise<DetectResult> {
    const ctx = await this.prepare(app, o);
    const res = await detectPhase(ctx);
    if (res.violations.length > 0 && (o.strict ?? true)) throw new PlatformValidationError('detect', res.violations, res.output, res.stricterThanLifecycle);
    return res;
  }

  /**
   * detect + restore + build + export. Returns the result (success=false for a failing detect or a
   * non-zero bin/build). Throws PlatformValidationError when the buildpack breaks a rule (strict).
   */
  async build(app: AppSession, o: BuildOptions = {}): Promise<BuildResult> {
    const res = await runBuild(this, app, await this.prepare(app, o), o);
    app.builds.push(res);
    return res;
  }

  /** build(), but throws BuildFailedError (with the output) unless it succeeded. */
  async buildOk(app: AppSession, o: BuildOptions = {}): Promise<BuildResult> {
    const res = await this.build(app, o);
    if (!res.success) throw new BuildFailedError(res.lifecycleExitCode, res.output);
    return res;
  }

  /**
   * Starts a process of an image like the launcher would (the image of a build result, or the
   * app's current image). Throws LaunchError (exit 82) when the launcher fails before the app starts.
   */
  async launch(target: BuildResult | AppSession, o: LaunchOptions = {}): Promise<LaunchedProcess> {
    const app = target instanceof AppSession ? target : target.app;
    const image = target instanceof AppSession ? target.image : target.image;
    if (!image) throw new PlatformError('no image to launch: the build did not succeed');
    await app.materialize(image);
    const user = o.user ?? this.launchUser;
    const paths = await app.launchPaths(++this.launches, user);
    const proc = await launchImage(
      { image, descriptor: this.descriptor, appDir: app.appDir, layersDir: app.layersDir, user, ...paths, platformApi: this.platformApi },
      { ...o, env: { ...this.launchEnv, ...o.env } },
    );
    return trackRunning(app.running, proc);
  }

  /** Kills every launched process and removes the platform's files (unless keepFiles / KEEP_PLATFORM=1). */
  async cleanup(): Promise<void> {
    await killAll(this.allApps.flatMap((a) => [...a.running]));
    if (!this.keepFiles) await removeTree(this.root);
  }
}

export type { BuildOptions, BuildResult, DetectResult };
