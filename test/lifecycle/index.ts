/** Public entry point of the real-lifecycle driver (the reference detector, builder and launcher). See real-lifecycle.ts. */
export { RealLifecycle, RealApp } from './real-lifecycle.js';
export type { RealLifecycleOptions, RealPhaseOptions, RealBuildOptions, RealBuildResult, RealDetectResult } from './real-lifecycle.js';
export type { RealLaunchOptions } from './launch.js';
export { PLATFORM_API } from './launch.js';
export { LIFECYCLE_DIR_VAR, LifecycleMissingError, findLifecycle, lifecycleDir } from './binaries.js';
export type { LifecycleBinaries } from './binaries.js';
export type { PhaseRun } from './run-phase.js';
