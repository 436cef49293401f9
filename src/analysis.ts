/**
 * What the build knows before it touches a layer: the app's .s2i/environment, the user's variables, the
 * settings read from them, and the env the build's tools run with. Everything that can be wrong with the
 * inputs fails here, before any layer is touched.
 */
import type { BuildContext } from './cnb/context.js';
import { emptyEnv, type Env } from './cnb/env.js';
import type { UserEnv } from './cnb/user-env.js';
import type { EnvOrigin } from './causes.js';
import { checkEnvSize, checkForbiddenVariables, checkPlatformEnv } from './checks.js';
import { readSettings, type Settings } from './settings.js';
import { readS2iEnvironment } from './s2i/environment.js';
import { startDir } from './start/app-home.js';

export interface Analysis {
  /** .s2i/environment values. */
  appEnv: Record<string, string>;
  userEnv: UserEnv;
  settings: Settings;
  /** The env for the tools this build runs, built up as layers are added. */
  env: Env;
  /** Platform env files whose names are not variable names (not read; the build warns about them). */
  ignoredPlatformFiles: string[];
  /** The folder the processes start in: APP_HOME (checked here, before anything is installed), else the app. */
  startDir: string;
}

/** `nested`: called from the app's .s2i/bin/assemble, whose env the outer build set up and checked. */
export function analyse(ctx: BuildContext, nested = false): Analysis {
  const { ignoredFiles } = nested ? { ignoredFiles: [] } : checkPlatformEnv(ctx.userEnv);
  const appEnv = readS2iEnvironment(ctx.appDir);
  const userEnv = ctx.userEnv.withAppSource({ name: '.s2i/environment', values: appEnv });
  if (!nested) checkForbiddenVariables(userEnv);
  const env = emptyEnv();
  for (const [k, v] of Object.entries(ctx.env)) if (v !== undefined) env[k] = v;
  for (const [k, v] of Object.entries(appEnv)) if (!ctx.userEnv.setOnPlatform(k)) env[k] = v;
  const originOf = (name: string): EnvOrigin =>
    ctx.userEnv.setOnPlatform(name) ? { kind: 'platform-env-file' } : Object.hasOwn(appEnv, name) ? { kind: 's2i-environment', line: undefined } : { kind: 'build-env' };
  if (!nested) checkEnvSize(env, originOf);
  const settings = readSettings(userEnv);
  return { appEnv, userEnv, settings, env, ignoredPlatformFiles: ignoredFiles, startDir: startDir(ctx.appDir, settings.appHome) };
}
