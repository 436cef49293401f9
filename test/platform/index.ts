/** Public entry point of the local CNB platform used by the end-to-end tests. See README.md. */
export { LocalPlatform, AppSession, hostileBaseEnv } from './lifecycle.js';
export type { PlatformOptions, PhaseOptions, AppFile, AppFiles } from './lifecycle.js';
export type { BuildOptions, BuildResult, LayerReport, InterruptedBuild } from './build.js';
export type { DetectResult, Interrupt, InterruptProbe } from './phases.js';
export type { LaunchOptions } from './launcher.js';
export { LaunchedProcess } from './process-handle.js';
export type { ExitInfo, StopResult, HttpResult, ProcessDetails } from './process-handle.js';
export type { Image, ImageLayer, Cache, RestoredLayer } from './store.js';
export { PlatformError, PlatformValidationError, LaunchError, BuildFailedError } from './errors.js';
export { treeDigest } from './fsutil.js';
export { writeShBuildpack } from './sh-buildpack.js';
export type { ShBuildpackSpec } from './sh-buildpack.js';
export { freePort } from './net.js';
export type * from './types.js';
