/**
 * The .s2i/environment values baked into the image as launch defaults, so a value set at runtime wins (as with
 * s2i), except those that must not reach the image:
 *
 * - variables only the build reads (isBuildOnly in src/settings.ts: BP_*, PIP_*, DISABLE_COLLECTSTATIC and
 *   OpenShift s2i's build settings),
 *   which nothing at launch needs and which often hold an index token (PIP_INDEX_URL=https://user:token@…);
 * - the variables the app's lock names in its index URLs for the build to fill in (Pipfile.lock's `${NAME}`,
 *   src/lock/index-credentials.ts variablesNamedBy): often a bare password, which no URL rule finds;
 * - any value holding URL credentials (user-info or a credential query parameter, as maskSecrets finds them):
 *   the image's env is readable by anyone who can pull the image, so such a value belongs in the runtime
 *   environment (a secret of the platform), not in the image.
 *
 * Variables the user set on the platform are not defaults here either: the platform's value is theirs to
 * give at launch. The log names each variable kept out and why, never its value.
 */
import { LayerEnv, Scope } from '../cnb/env.js';
import type { UserEnv } from '../cnb/user-env.js';
import type { Logger } from '../logger.js';
import { hasSecrets } from '../secrets.js';
import { isBuildOnly } from '../settings.js';

export type KeptOutReason = 'build-only' | 'lock-index' | 'credentials';

export interface LaunchDefaultsPlan {
  /** NAME → value, in the order of the file. */
  defaults: Array<{ name: string; value: string }>;
  keptOut: Array<{ name: string; reason: KeptOutReason }>;
}

export function planLaunchDefaults(appEnv: Record<string, string>, setOnPlatform: (name: string) => boolean, lockIndexNames: readonly string[] = []): LaunchDefaultsPlan {
  const plan: LaunchDefaultsPlan = { defaults: [], keptOut: [] };
  for (const [name, value] of Object.entries(appEnv)) {
    if (setOnPlatform(name)) continue;
    if (isBuildOnly(name)) plan.keptOut.push({ name, reason: 'build-only' });
    else if (lockIndexNames.includes(name)) plan.keptOut.push({ name, reason: 'lock-index' });
    else if (hasSecrets(value)) plan.keptOut.push({ name, reason: 'credentials' });
    else plan.defaults.push({ name, value });
  }
  return plan;
}

const WHY: Record<KeptOutReason, string> = {
  'build-only': 'only the build reads it',
  'lock-index': "the lock's index URL names it: only the build reads it, and it often holds a credential",
  credentials: 'its value holds credentials in a URL; set it in the runtime environment instead',
};

/** The launch defaults from .s2i/environment, as a layer env; logs one line per variable kept out of the image. */
export function launchDefaults(appEnv: Record<string, string>, userEnv: UserEnv, log: Logger, lockIndexNames: readonly string[] = []): LayerEnv {
  const plan = planLaunchDefaults(appEnv, (name) => userEnv.setOnPlatform(name), lockIndexNames);
  for (const k of plan.keptOut) log.info(`${k.name} from .s2i/environment is kept out of the image: ${WHY[k.reason]}`);
  const env = new LayerEnv();
  for (const d of plan.defaults) env.default(Scope.launch, d.name, d.value);
  return env;
}
