/**
 * The build half of the lifecycle: detector → restorer → builder → exporter, with validation of
 * everything the buildpack wrote (platform.md §Operations, buildpack.md §Detection and §Build, buildpack.md §Build Plan (TOML), buildpack.md §Layers, the Buildpack API spec).
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { buildpackPlanToml } from './detect.js';
import { PlatformError, PlatformValidationError } from './errors.js';
import { exists, makeDir, readDirSorted, removeTree, treeDigest, writeFileExact } from './fsutil.js';
import type { AppSession, LocalPlatform, PhaseOptions } from './lifecycle.js';
import { detectPhase, phaseEnv, runBinary } from './phases.js';
import type { DetectResult, Interrupt, PhaseContext } from './phases.js';
import { exportImage, exportProblems, nextExport, restoreFromLayersDir, restoreLayers } from './store.js';
import type { Cache, Image, ImageLayer, RestoredLayer } from './store.js';
import { readBuildOutputs } from './validate.js';
import type { LabelSpec, LayerTypes, ProcessSpec, TomlTable } from './types.js';

export interface BuildOptions extends PhaseOptions {
  /** pack --clear-cache: no layer metadata/contents restored, the cache starts empty (store.toml still restored). */
  clearCache?: boolean;
  /**
   * The default process the platform asks for (CNB_PROCESS_TYPE / -process-type / --default-process).
   * Default 'web' like Tekton, which makes export fail without a web process. null: use the
   * buildpack's `default = true` process, like pack without --default-process.
   */
  defaultProcess?: string | null;
  /**
   * Crash injection: SIGKILL bin/build, with every process it started, at the point described (see
   * Interrupt). Like a killed lifecycle, the build then exports nothing (lifecycleExitCode 137), and
   * `result.interrupted.layersDir` keeps what it left in CNB_LAYERS_DIR.
   */
  interrupt?: Interrupt;
  /**
   * The harsh crash model: restore the layers from this directory (what an interrupted build left,
   * `result.interrupted.layersDir`) instead of from the image and cache, as if it had been exported and
   * cached as is, under the buildpack.md §Layers rules (see `restoreFromLayersDir` in store.ts). store.toml still comes from
   * the image. Not with clearCache.
   */
  restoreFrom?: string;
}

/** How an interrupted build ended (BuildOptions.interrupt). */
export interface InterruptedBuild {
  /** Milliseconds after bin/build started when the SIGKILL was sent. */
  atMs: number;
  reason: string;
  /** A copy of CNB_LAYERS_DIR exactly as the killed build left it (kept until cleanup()). */
  layersDir: string;
}

/** What happened to one layer of the build. */
export interface LayerReport {
  types: LayerTypes;
  metadata?: TomlTable;
  /** `<layer>/` existed after bin/build. */
  hasDir: boolean;
  /** Content digest of `<layer>/` (exported/cached layers with a directory). */
  digest?: string;
  /** For launch layers: how the exporter got it (see ImageLayer.source). */
  exported?: ImageLayer['source'];
  cached: boolean;
}

export interface BuildResult {
  app: AppSession;
  /** Detect passed, bin/build exited 0, and the export succeeded. */
  success: boolean;
  /**
   * What the lifecycle exits with for this build: 0, 20/21 (detect), 51 (bin/build failed), 52 (the builder
   * refuses the output files), 62 (the export fails), 137 (interrupted). 52 and 62 only with strict=false.
   * Violations of spec-only rules the lifecycle does not enforce (`stricterThanLifecycle`) leave it at 0.
   */
  lifecycleExitCode: number;
  detect: DetectResult;
  /** bin/build's exit code (null: not run). */
  code: number | null;
  /** Detect output followed by build output. */
  output: string;
  buildOutput: string;
  /** What the restorer left in CNB_LAYERS_DIR before bin/build ran, per layer. */
  restored: Record<string, RestoredLayer>;
  /** With `restoreFrom`: what that directory held but the buildpack.md §Layers rules did not restore (layer or dir name → why). */
  notRestored?: Record<string, string>;
  /** Set when `interrupt` killed bin/build. */
  interrupted?: InterruptedBuild;
  /** Every regular file bin/build left at the top of CNB_LAYERS_DIR (layer tomls, launch.toml, SBOMs…), by name. */
  files: Record<string, string>;
  layers: Record<string, LayerReport>;
  /** Launch layers the exporter reused (same digest as the previous image, or kept from it). */
  reused: string[];
  processes: ProcessSpec[];
  labels: LabelSpec[];
  /** The exported image (success only). */
  image?: Image;
  cache?: Cache;
  /** Every rule broken (strict mode throws on any). */
  violations: string[];
  /** The part of `violations` the lifecycle does not enforce (spec-only rules): it would accept the build. */
  stricterThanLifecycle: string[];
  warnings: string[];
  durationMs: number;
}

async function topLevelFiles(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const e of await readDirSorted(dir)) if (e.isFile()) files[e.name] = await fsp.readFile(path.join(dir, e.name), 'utf8');
  return files;
}

export async function runBuild(platform: LocalPlatform, app: AppSession, ctx: PhaseContext, o: BuildOptions): Promise<BuildResult> {
  const t0 = Date.now();
  const strict = o.strict ?? true;
  const descriptor = platform.descriptor;
  const detect = await detectPhase(ctx);
  const result: BuildResult = {
    app,
    success: false,
    lifecycleExitCode: detect.lifecycleExitCode,
    detect,
    code: null,
    output: detect.output,
    buildOutput: '',
    restored: {},
    files: {},
    layers: {},
    reused: [],
    processes: [],
    labels: [],
    violations: [...detect.violations],
    stricterThanLifecycle: [...detect.stricterThanLifecycle],
    warnings: [],
    durationMs: 0,
  };
  const done = (): BuildResult => ({ ...result, durationMs: Date.now() - t0 });
  if (detect.violations.length > 0 && strict) throw new PlatformValidationError('detect', detect.violations, detect.output, detect.stricterThanLifecycle);
  if (detect.status !== 'pass') return done();

  // restorer
  const bpLayersDir = path.join(app.layersDir, descriptor.escapedId);
  const skipLayers = o.clearCache === true;
  if (skipLayers && o.restoreFrom !== undefined) throw new PlatformError('give either clearCache or restoreFrom, not both');
  if (skipLayers) app.cache_ = undefined;
  result.restored = await restoreLayers({
    bpLayersDir,
    descriptor,
    image: app.image,
    cache: app.cache,
    skipLayers: skipLayers || o.restoreFrom !== undefined,
    platformApi14: Number(platform.platformApi.split('.')[1]) >= 14,
    buildUser: platform.buildUser,
  });
  if (o.restoreFrom !== undefined) {
    const r = await restoreFromLayersDir({ from: o.restoreFrom, bpLayersDir, buildUser: platform.buildUser });
    result.restored = r.restored;
    result.notRestored = r.notRestored;
  }

  // builder
  // the builder's os.MkdirAll(dir, 0777) under the usual umask 022 (the real builder's folder is 0755)
  await makeDir(bpLayersDir, 0o755, platform.buildUser);
  const planDir = await fsp.mkdtemp(path.join(ctx.tmpDir, `${descriptor.escapedId}-`));
  await makeDir(planDir, 0o700, platform.buildUser);
  await makeDir(path.join(planDir, descriptor.escapedId), 0o755, platform.buildUser);
  const planPath = path.join(planDir, descriptor.escapedId, 'plan.toml');
  await writeFileExact(planPath, buildpackPlanToml(detect.entries), 0o644, platform.buildUser);
  const env = await phaseEnv(ctx, { CNB_PLATFORM_DIR: ctx.platformDir, CNB_BP_PLAN_PATH: planPath, CNB_LAYERS_DIR: bpLayersDir });
  const bpBefore = await treeDigest(ctx.buildpackDir);
  const run = await runBinary(ctx, 'build', [bpLayersDir, ctx.platformDir, planPath], env, o.interrupt);
  result.code = run.code;
  result.buildOutput = run.output;
  result.output = detect.output + run.output;
  if ((await treeDigest(ctx.buildpackDir)) !== bpBefore) {
    const msg = `bin/build modified the buildpack dir (${ctx.buildpackDir})`;
    result.violations.push(msg);
    result.stricterThanLifecycle.push(msg);
  }
  if (run.interrupted) {
    // the lifecycle dies with it: nothing is exported or cached; keep the layers dir for inspection and restoreFrom
    const kept = path.join(app.root, 'interrupted', String(app.builds.length + 1));
    await removeTree(kept);
    await makeDir(path.dirname(kept), 0o755);
    await fsp.rename(bpLayersDir, kept);
    result.interrupted = { ...run.interrupted, layersDir: kept };
    result.lifecycleExitCode = 137;
    result.output += `\n[platform] ${run.interrupted.reason}`;
    return done();
  }
  if (run.code !== 0) {
    result.lifecycleExitCode = 51;
    if (run.spawnError) result.output += `\n[platform] bin/build: ${run.spawnError}`;
    if (result.violations.length > 0 && strict) throw new PlatformValidationError('build', result.violations, result.output, result.stricterThanLifecycle);
    return done();
  }

  // outputs + validation
  const outputs = await readBuildOutputs(bpLayersDir, descriptor, detect.entries);
  result.files = await topLevelFiles(bpLayersDir);
  result.processes = outputs.processes;
  result.labels = outputs.labels;
  result.warnings.push(...outputs.warnings);
  result.violations.push(...outputs.violations, ...outputs.conformance);
  result.stricterThanLifecycle.push(...outputs.conformance);
  for (const l of outputs.layers.values()) {
    const report: LayerReport = { types: l.types, hasDir: l.hasDir, cached: false };
    if (l.metadata) report.metadata = l.metadata;
    result.layers[l.name] = report;
    // builder: layers with no types are renamed <layer>.ignore and never exported or cached
    if (!l.types.launch && !l.types.build && !l.types.cache && l.hasDir) {
      await fsp.rename(path.join(bpLayersDir, l.name), path.join(bpLayersDir, `${l.name}.ignore`));
      l.hasDir = false;
    }
  }
  const exportOpts = nextExport(app, { bpLayersDir, descriptor, outputs, defaultProcess: o.defaultProcess, buildUser: platform.buildUser });
  const { generation } = exportOpts;
  const problems = exportProblems(exportOpts);
  result.violations.push(...problems);
  if (result.violations.length > 0 && strict) {
    const phase = problems.length > 0 && result.violations.length === problems.length ? 'export' : 'build';
    throw new PlatformValidationError(phase, result.violations, result.output, result.stricterThanLifecycle);
  }
  // The lifecycle: the builder exits 52 on output files it refuses, else the exporter fails (62) on problems.
  // Only spec-only rules broken (strict=false): the lifecycle would export, and so do we.
  const refused = outputs.violations.length > 0 ? 52 : problems.length > 0 ? 62 : 0;
  if (refused !== 0) {
    result.lifecycleExitCode = refused;
    return done();
  }

  // exporter
  const { image, cache, warnings } = await exportImage(exportOpts);
  result.warnings.push(...warnings);
  const oldCache = app.cache;
  app.generation = generation;
  app.image_ = image;
  app.cache_ = cache;
  if (oldCache && (await exists(oldCache.dir))) await removeTree(oldCache.dir);
  for (const [name, report] of Object.entries(result.layers)) {
    const il = image.layers[name];
    const cl = cache.layers[name];
    if (il) {
      report.exported = il.source;
      report.digest = il.digest;
      if (il.source !== 'new') result.reused.push(name);
    }
    if (cl) {
      report.cached = true;
      report.digest = cl.digest;
    }
  }
  result.image = image;
  result.cache = cache;
  result.success = true;
  result.lifecycleExitCode = 0;
  return done();
}
