/**
 * RealLifecycle: runs a buildpack through the reference CNB lifecycle's own binaries (detector, builder,
 * launcher; see binaries.ts), with this driver as the platform around them.
 *
 *   const lc = await RealLifecycle.create({ buildpackDir });      // buildpack.toml, bin/, … as packaged
 *   const app = await lc.app('test/fixtures/flask-wsgi');         // or a map of files
 *   const res = await lc.build(app, { platformEnv: { BP_PYTHON_VERSION: '3.11' } });
 *   const web = await lc.launch(res, { env: { PORT: '8080' } });  // cnb/process/web, the real launcher
 *   await web.waitForHttp('http://127.0.0.1:8080/');
 *   await lc.cleanup();
 *
 * A build is what a platform does at Platform API 0.15 (platform.md §Operations; platform.md §Operations): a fresh
 * workspace, an empty layers dir owned by the build user and `platform/env/` (one file per variable); then
 * `detector`; then the restore; then `builder`; then the export. The analyzer, restorer and exporter need a
 * registry or a daemon and are not among the binaries, so restore and export are this driver's, the same
 * code as the local platform's (test/platform/store.ts): the previous build's layer metadata and its
 * `cache = true` layers are restored per the buildpack.md §Layers table, launch layers and the app dir are exported into an
 * image, cache layers into a cache. Everything else (which buildpacks pass, the env bin/detect and bin/build
 * get, what the builder accepts, config/metadata.toml, the launch env, exec.d) is the lifecycle's own.
 */
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LayerReport } from '../platform/build.js';
import type { BuildpackDescriptor } from '../platform/descriptor.js';
import { IS_ROOT, chmodTree, chownTree, copyTree, exists, isTable, makeDir, parseToml, removeTree, writeFileExact } from '../platform/fsutil.js';
import { AppState, writeAppFile } from '../platform/lifecycle.js';
import type { AppFiles } from '../platform/lifecycle.js';
import { DEFAULT_BUILD_PATH } from '../platform/phases.js';
import { killAll, trackRunning, type LaunchedProcess } from '../platform/process-handle.js';
import { exportImage, exportProblems, materializeImage, nextExport, restoreLayers } from '../platform/store.js';
import type { Cache, Image, RestoredLayer } from '../platform/store.js';
import type { EnvMap, EnvOverrides, ProcessSpec, UserSpec } from '../platform/types.js';
import { readBuildOutputs } from '../platform/validate.js';
import { findLifecycle, lifecycleDir } from './binaries.js';
import { installCnb } from './layout.js';
import type { CnbLayout } from './layout.js';
import { PLATFORM_API, launchWithLauncher } from './launch.js';
import type { RealLaunchOptions } from './launch.js';
import { runPhase } from './run-phase.js';
import type { PhaseRun } from './run-phase.js';

export interface RealLifecycleOptions {
  /** The buildpack as packaged: buildpack.toml, bin/detect, bin/build, …; copied into cnb/buildpacks. */
  buildpackDir: string;
  /** Where everything goes (default: a fresh folder under the OS temp dir). */
  root?: string;
  /** The folder holding `lifecycle` and `launcher` (default: $REAL_LIFECYCLE_DIR or <repo>/../shared/lifecycle/linux-amd64). */
  lifecycleDir?: string;
  /** uid/gid running detector and builder (default 1000:1000 as root, else the current user). */
  buildUser?: UserSpec;
  /** uid/gid running the launcher (default 1001:1001 as root, else the current user). */
  launchUser?: UserSpec;
  /** Top-level names in buildpackDir not copied. Default ['.git', 'node_modules']. */
  exclude?: string[];
  /** Keep the files after cleanup() (also with KEEP_PLATFORM=1). */
  keepFiles?: boolean;
}

export interface RealPhaseOptions {
  /** User variables: `platform/env/<NAME>`, the value byte for byte (no trailing newline added). */
  platformEnv?: Record<string, string | Buffer>;
  /** The phase's own env (merged over PATH/HOME/HOSTNAME defaults; `undefined` unsets). */
  baseEnv?: EnvOverrides;
  /** The phases' `-log-level` (default info; `debug` also shows the output of a passing bin/detect). */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Kill the phase after this long (default 15 min; the lifecycle has no limit). */
  timeoutMs?: number;
}

export interface RealBuildOptions extends RealPhaseOptions {
  /** pack --clear-cache: restore no layers (store.toml still comes from the image). */
  clearCache?: boolean;
  /**
   * The exporter's `-process-type`. Default 'web', as Tekton passes it (export fails without a web process,
   * as with the local platform); null: the buildpack's `default = true` process, as pack without
   * --default-process.
   */
  defaultProcess?: string | null;
}

export interface RealDetectResult {
  /** The detector's exit code: 0 (a group passed), 20 (none passed), 21 (a buildpack errored), … */
  exitCode: number | null;
  output: string;
  /** `group.toml` and `plan.toml` as the detector wrote them ('' when it wrote none). */
  groupToml: string;
  planToml: string;
  run: PhaseRun;
}

export interface RealBuildResult {
  app: RealApp;
  /** The detector and builder exited 0 and the export succeeded. */
  success: boolean;
  /** The step that stopped the build. */
  failedPhase?: 'detector' | 'builder' | 'exporter';
  /** 0, the detector's or the builder's exit code (51: bin/build failed, 52: bad output files…), or 62 (export). */
  exitCode: number | null;
  detector: RealDetectResult;
  builder?: PhaseRun;
  /** Detector output followed by builder output. */
  output: string;
  /** Why the export failed (the lifecycle exporter's messages, see store.ts exportProblems). */
  exportProblems: string[];
  /** What the restore left in CNB_LAYERS_DIR before the builder ran, per layer. */
  restored: Record<string, RestoredLayer>;
  /** Layers the buildpack declared, with how they were exported and cached. */
  layers: Record<string, LayerReport>;
  /** Launch layers the export kept from the previous image (same contents, or reused without a directory). */
  reused: string[];
  /** `[[processes]]` as the builder wrote them into config/metadata.toml (decoded from launch.toml). */
  processes: ProcessSpec[];
  /** `<layers>/config/metadata.toml` as the builder wrote it. */
  metadataToml: string;
  image?: Image;
  cache?: Cache;
  durationMs: number;
}

/** One app and its build history with the real lifecycle (`-app` is appDir, `-layers` is layersDir). */
export class RealApp extends AppState<RealBuildResult> {}

const IMAGE_METADATA = path.join('config', 'metadata.toml');

/** The `[[processes]]` of the builder's config/metadata.toml. */
function processesOf(metadataToml: string): ProcessSpec[] {
  const parsed = parseToml(metadataToml);
  if (!parsed.ok) throw new Error(`the builder wrote a config/metadata.toml that does not parse: ${parsed.error}`);
  const defaultType = parsed.value['buildpack-default-process-type'];
  const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
  const procs = Array.isArray(parsed.value.processes) ? parsed.value.processes.filter(isTable) : [];
  return procs.map((p) => {
    const spec: ProcessSpec = { type: String(p.type), command: strings(p.command), args: strings(p.args), default: p.type === defaultType };
    if (typeof p['working-dir'] === 'string') spec.workingDir = p['working-dir'];
    return spec;
  });
}

export class RealLifecycle {
  private apps = 0;
  private launches = 0;
  private readonly allApps: RealApp[] = [];

  private constructor(
    readonly root: string,
    readonly layout: CnbLayout,
    readonly descriptor: BuildpackDescriptor,
    readonly buildUser: UserSpec,
    readonly launchUser: UserSpec,
    private readonly keepFiles: boolean,
  ) {}

  /** The installed buildpack (CNB_BUILDPACK_DIR). */
  get buildpackDir(): string {
    return this.layout.buildpackDir;
  }

  /** Lays out cnb/ (buildpack, order.toml, lifecycle). Throws LifecycleMissingError when a binary is missing. */
  static async create(opts: RealLifecycleOptions): Promise<RealLifecycle> {
    const binaries = findLifecycle(opts.lifecycleDir ?? lifecycleDir());
    const root = opts.root ?? (await fsp.mkdtemp(path.join(os.tmpdir(), 'cnb-real-lifecycle-')));
    try {
      await makeDir(root, 0o755);
      const { layout, descriptor } = await installCnb(root, path.resolve(opts.buildpackDir), binaries, opts.exclude);
      const me = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
      return new RealLifecycle(
        root,
        layout,
        descriptor,
        opts.buildUser ?? (IS_ROOT ? { uid: 1000, gid: 1000 } : me),
        opts.launchUser ?? (IS_ROOT ? { uid: 1001, gid: 1001 } : me),
        opts.keepFiles ?? process.env.KEEP_PLATFORM === '1',
      );
    } catch (err) {
      if (!opts.root) await removeTree(root);
      throw err;
    }
  }

  /** An app from a fixture directory (copied) or a map of files. */
  async app(source: string | AppFiles): Promise<RealApp> {
    const app = new RealApp(path.join(this.root, 'apps', String(++this.apps)));
    await makeDir(app.root, 0o755);
    if (typeof source === 'string') await copyTree(path.resolve(source), app.sourceDir);
    else {
      await makeDir(app.sourceDir, 0o755);
      for (const [rel, f] of Object.entries(source)) await writeAppFile(app.sourceDir, rel, f);
    }
    this.allApps.push(app);
    return app;
  }

  /** A fresh build container: the workspace from the source, an empty layers dir, the platform dir. */
  private async prepare(app: RealApp, o: RealPhaseOptions): Promise<EnvMap> {
    if ([...app.running].some((p) => p.running)) throw new Error('stop the running processes of this app before building');
    app.materialized = undefined;
    const r = (...p: string[]): string => path.join(app.root, ...p);
    for (const d of [app.appDir, app.layersDir, app.platformDir, r('tmp'), r('home')]) await removeTree(d);
    await copyTree(app.sourceDir, app.appDir);
    await chownTree(app.appDir, this.buildUser);
    await makeDir(app.layersDir, 0o755, this.buildUser);
    await makeDir(path.join(app.platformDir, 'env'), 0o755);
    for (const [k, v] of Object.entries(o.platformEnv ?? {})) await writeFileExact(path.join(app.platformDir, 'env', k), v, 0o644);
    await chmodTree(app.platformDir, 'a=rX');
    await makeDir(r('tmp'), 0o755, this.buildUser);
    await makeDir(r('home'), 0o755, this.buildUser);
    await makeDir(r('logs'), 0o755);
    const env: EnvMap = {};
    const merged: EnvOverrides = {
      PATH: DEFAULT_BUILD_PATH,
      HOME: r('home'),
      HOSTNAME: os.hostname(),
      TMPDIR: r('tmp'), // where the phases put plan files (Go's os.TempDir); not passed to buildpacks
      ...o.baseEnv,
      CNB_PLATFORM_API: PLATFORM_API,
    };
    for (const [k, v] of Object.entries(merged)) if (v !== undefined) env[k] = v;
    return env;
  }

  private phaseArgs(app: RealApp, o: RealPhaseOptions): string[] {
    const L = app.layersDir;
    return [
      '-app', app.appDir,
      '-buildpacks', this.layout.buildpacksDir,
      '-group', path.join(L, 'group.toml'),
      '-plan', path.join(L, 'plan.toml'),
      '-layers', L,
      '-platform', app.platformDir,
      '-log-level', o.logLevel ?? 'info',
      '-no-color',
    ];
  }

  private async detector(app: RealApp, env: EnvMap, o: RealPhaseOptions): Promise<RealDetectResult> {
    const run = await runPhase({
      binary: this.layout.detector,
      args: [...this.phaseArgs(app, o), '-order', this.layout.orderPath],
      env,
      user: this.buildUser,
      cwd: app.appDir,
      logDir: path.join(app.root, 'logs'),
      timeoutMs: o.timeoutMs ?? 15 * 60_000,
    });
    const read = (f: string): Promise<string> => fsp.readFile(path.join(app.layersDir, f), 'utf8').catch(() => '');
    return { exitCode: run.code, output: run.output, groupToml: await read('group.toml'), planToml: await read('plan.toml'), run };
  }

  /** Runs the detector alone on a fresh copy of the app. */
  async detect(app: RealApp, o: RealPhaseOptions = {}): Promise<RealDetectResult> {
    return this.detector(app, await this.prepare(app, o), o);
  }

  /** detector, restore, builder, export. Never throws for a failing build: see `success` and `exitCode`. */
  async build(app: RealApp, o: RealBuildOptions = {}): Promise<RealBuildResult> {
    const res = await this.runBuild(app, o);
    app.builds.push(res);
    return res;
  }

  /** build(), but throws (with the output) unless it succeeded. */
  async buildOk(app: RealApp, o: RealBuildOptions = {}): Promise<RealBuildResult> {
    const res = await this.build(app, o);
    if (!res.success) {
      const why = res.exportProblems.length > 0 ? `\nexport: ${res.exportProblems.join('; ')}` : '';
      throw new Error(`build through the real lifecycle failed (${res.failedPhase} exit ${res.exitCode})${why}\n--- output ---\n${res.output.trimEnd()}`);
    }
    return res;
  }

  private async runBuild(app: RealApp, o: RealBuildOptions): Promise<RealBuildResult> {
    const t0 = Date.now();
    const env = await this.prepare(app, o);
    const detector = await this.detector(app, env, o);
    const result: RealBuildResult = {
      app,
      success: false,
      exitCode: detector.exitCode,
      detector,
      output: detector.output,
      exportProblems: [],
      restored: {},
      layers: {},
      reused: [],
      processes: [],
      metadataToml: '',
      durationMs: 0,
    };
    const done = (): RealBuildResult => ({ ...result, durationMs: Date.now() - t0 });
    if (detector.exitCode !== 0) {
      result.failedPhase = 'detector';
      return done();
    }

    // restore (analyzer + restorer): the buildpack.md §Layers table, as the local platform applies it
    const bpLayersDir = path.join(app.layersDir, this.descriptor.escapedId);
    if (o.clearCache) app.cache_ = undefined;
    result.restored = await restoreLayers({
      bpLayersDir,
      descriptor: this.descriptor,
      image: app.image,
      cache: app.cache,
      skipLayers: o.clearCache === true,
      platformApi14: true,
      buildUser: this.buildUser,
    });
    // what the restore wrote belongs to the build user; without it the builder creates the folder itself
    if (await exists(bpLayersDir)) await chownTree(bpLayersDir, this.buildUser);

    const builder = await runPhase({
      binary: this.layout.builder,
      args: this.phaseArgs(app, o),
      env,
      user: this.buildUser,
      cwd: app.appDir,
      logDir: path.join(app.root, 'logs'),
      timeoutMs: o.timeoutMs ?? 15 * 60_000,
    });
    result.builder = builder;
    result.output = detector.output + builder.output;
    result.exitCode = builder.code;
    if (builder.code !== 0) {
      result.failedPhase = 'builder';
      return done();
    }
    result.metadataToml = await fsp.readFile(path.join(app.layersDir, IMAGE_METADATA), 'utf8');

    // export (exporter + cacher)
    result.processes = processesOf(result.metadataToml);
    const outputs = await readBuildOutputs(bpLayersDir, this.descriptor, []);
    const exportOpts = nextExport(app, { bpLayersDir, descriptor: this.descriptor, outputs, defaultProcess: o.defaultProcess, buildUser: this.buildUser });
    const { generation } = exportOpts;
    result.exportProblems = exportProblems(exportOpts);
    if (result.exportProblems.length > 0) {
      result.failedPhase = 'exporter';
      result.exitCode = 62;
      return done();
    }
    const { image, cache } = await exportImage(exportOpts);
    // the image keeps the builder's own config/metadata.toml: the launcher reads it
    await writeFileExact(path.join(image.dir, IMAGE_METADATA), result.metadataToml, 0o644, this.buildUser);
    const oldCache = app.cache;
    app.generation = generation;
    app.image_ = image;
    app.cache_ = cache;
    if (oldCache) await removeTree(oldCache.dir);
    for (const l of outputs.layers.values()) {
      const report: LayerReport = { types: l.types, hasDir: l.hasDir, cached: false };
      if (l.metadata) report.metadata = l.metadata;
      const il = image.layers[l.name];
      const cl = cache.layers[l.name];
      if (il) {
        report.exported = il.source;
        report.digest = il.digest;
        if (il.source !== 'new') result.reused.push(l.name);
      }
      if (cl) {
        report.cached = true;
        report.digest = cl.digest;
      }
      result.layers[l.name] = report;
    }
    result.image = image;
    result.cache = cache;
    result.success = true;
    result.exitCode = 0;
    return done();
  }

  /**
   * Lays the app's image out where it was built (the app dir and `<layers>`, with the builder's
   * config/metadata.toml), as a container of the image sees it; done by launch().
   */
  async materialize(app: RealApp, image: Image | undefined = app.image): Promise<void> {
    if (!image) throw new Error('no image: the app has not been built successfully');
    if (app.materialized === image.generation) return;
    if ([...app.running].some((p) => p.running)) throw new Error('stop the running processes of this app before switching images');
    await materializeImage(image, { appDir: app.appDir, layersDir: app.layersDir }, this.descriptor, this.buildUser);
    await copyTree(path.join(image.dir, IMAGE_METADATA), path.join(app.layersDir, IMAGE_METADATA));
    app.materialized = image.generation;
  }

  /** Starts a process of the build's image (or the app's current one) through the real launcher. */
  async launch(target: RealBuildResult | RealApp, o: RealLaunchOptions = {}): Promise<LaunchedProcess> {
    const app = target instanceof RealApp ? target : target.app;
    const image = target.image;
    if (!image) throw new Error('no image to launch: the build did not succeed');
    await this.materialize(app, image);
    const user = o.user ?? this.launchUser;
    const paths = await app.launchPaths(++this.launches, user);
    const proc = await launchWithLauncher(
      { layout: this.layout, appDir: app.appDir, layersDir: app.layersDir, user, ...paths, defaultProcess: image.defaultProcess },
      o,
    );
    return trackRunning(app.running, proc);
  }

  /** Kills every launched process and removes the files (unless keepFiles / KEEP_PLATFORM=1). */
  async cleanup(): Promise<void> {
    await killAll(this.allApps.flatMap((a) => [...a.running]));
    if (!this.keepFiles) await removeTree(this.root);
  }
}
