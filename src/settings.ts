/**
 * Every user setting the buildpack reads at build, in one place: name, meaning and default. Values come from
 * the user's variables: platform env files first, then the app's .s2i/environment, then the build's process
 * env (src/cnb/user-env.ts withAppSource).
 */
import type { UserEnv } from './cnb/user-env.js';
import { DEFAULT_DOWNLOAD_OPTIONS, type DownloadOptions } from './download.js';
import { BuildpackError } from './failure.js';

/**
 * BP_DOWNLOAD_TIMEOUT's upper bound, in seconds (any positive number up to it is accepted, 2.5 as well as 30).
 * The timeout applies between two reads, and a stalled download is tried 4 times, so 600 s already lets one
 * stall hold a build for 40 minutes: within the one hour a Tekton TaskRun gets by default, and longer than any
 * working server pauses mid-body.
 */
export const MAX_DOWNLOAD_TIMEOUT_SECONDS = 600;

export interface Settings {
  /** BP_PYTHON_VERSION: the Python version request, before .python-version, runtime.txt and pyproject.toml. */
  pythonVersion: string | undefined;
  /** BP_PYTHON_DISTRIBUTIONS: a manifest of extra Python archives (path in the app, or http(s)/file URL). */
  pythonDistributions: string | undefined;
  /** BP_DEPENDENCY_MIRROR: base URL replacing the scheme and host of every download. */
  dependencyMirror: string | undefined;
  /** BP_DOWNLOAD_TIMEOUT: seconds to wait for a response or for more data (default 30; above 0, at most 600). */
  download: DownloadOptions;
  /**
   * BP_PYTHON_KEEP_ALL=TRUE (true, 1): the whole Python goes into the image. Off, pip, setuptools, wheel, the C
   * headers and the stdlib parts no server imports stay in the build-only build-tools layer.
   */
  keepWholePython: boolean;
  /**
   * PIP_UPGRADE=TRUE (true, 1), or UPGRADE_PIP_TO_LATEST (OpenShift s2i) set to any value: upgrade pip,
   * setuptools and wheel before installing.
   */
  pipUpgrade: boolean;
  /** BP_PIP_REQUIREMENT: requirement files to install instead of requirements.txt, space separated. */
  pipRequirements: string[] | undefined;
  /**
   * BP_PIP_UNPINNED_MAX_AGE, in seconds: how long a pip-deps layer installed from requirements that pin nothing
   * exactly (src/python/pinning.ts) is reused before pip resolves them again (default 24 hours; 0: every build).
   */
  unpinnedMaxAgeSeconds: number;
  /**
   * BP_PYTHON_DEPENDENCY_FILE: the dependency input, named explicitly: one lockfile (pylock.toml, uv.lock,
   * poetry.lock, Pipfile.lock) or requirement files, space separated (src/lock/input.ts reads it).
   */
  dependencyFile: string[] | undefined;
  /** BP_PYTHON_DEPENDENCY_GROUPS: the lock's dependency groups to install beside the production set (comma or space separated). */
  dependencyGroups: string[];
  /** BP_PYTHON_EXTRAS: extras of the app's own package to install from the lock (comma or space separated). */
  extras: string[];
  /**
   * ENABLE_PIPENV or ENABLE_MICROPIPENV (OpenShift s2i's assemble; set = non-empty, as there): install
   * Pipfile.lock even beside a requirements.txt. Both set stops the build, as s2i does.
   */
  pipenvAlias: 'ENABLE_PIPENV' | 'ENABLE_MICROPIPENV' | undefined;
  /**
   * A user variable by name, for the credentials each lock's tool reads for its indexes
   * (src/lock/index-credentials.ts): POETRY_HTTP_BASIC_<SOURCE>_USERNAME and _PASSWORD, UV_INDEX_<NAME>_USERNAME
   * and _PASSWORD, and whatever a Pipfile.lock source URL names ($NAME, ${NAME}). A file's final newline is dropped.
   */
  lockIndexVariable: (name: string) => string | undefined;
  /** Every PIP_* variable: passed to pip, and part of the pip-deps cache key. */
  pipVariables: Record<string, string>;
  /** APP_RUN: the start command, run through /bin/sh; overrides everything else. */
  appRun: string | undefined;
  /**
   * GUNICORN_APP_MODULE, or APP_MODULE (its name in OpenShift's s2i Python builder, whose run script reads it):
   * the WSGI callable, MODULE:VARIABLE. Both set to different values stops the build.
   */
  gunicornAppModule: { name: 'GUNICORN_APP_MODULE' | 'APP_MODULE'; value: string } | undefined;
  /** APP_SCRIPT (OpenShift s2i): a script in the app that web runs directly, `./` prepended when relative. */
  appScript: string | undefined;
  /** APP_FILE (OpenShift s2i): a Python file in the app that web runs with the app's Python. */
  appFile: string | undefined;
  /** GUNICORN_CONFIG (or the seed code's APP_CONFIG): the app's own Gunicorn config file. */
  gunicornConfig: { name: 'GUNICORN_CONFIG' | 'APP_CONFIG'; value: string } | undefined;
  /** DISABLE_COLLECTSTATIC=TRUE (true, 1): skip Django's collectstatic. */
  disableCollectstatic: boolean;
  /**
   * GUNICORN_CMD_ARGS as the build sees it (Gunicorn reads it at start; .s2i/environment puts it in the image):
   * only looked at to tell which worker class Gunicorn will use (src/start/asgi.ts).
   */
  gunicornCmdArgs: string | undefined;
  /** The variable that turned pipUpgrade on, named in the log: PIP_UPGRADE, else UPGRADE_PIP_TO_LATEST. */
  pipUpgradeVariable: 'PIP_UPGRADE' | 'UPGRADE_PIP_TO_LATEST' | undefined;
  /**
   * DISABLE_SETUP_PY_PROCESSING (OpenShift s2i) set to any value: an app with setup.py or setup.cfg is not
   * installed itself (src/layers/pip-deps.ts planInstall).
   */
  disableSetupPyProcessing: boolean;
  /** DISABLE_PYPROJECT_TOML_PROCESSING (OpenShift s2i) set to any value: an app's pyproject.toml is not installed. */
  disablePyprojectTomlProcessing: boolean;
  /**
   * APP_HOME (OpenShift s2i): the folder of the app the processes start in, relative to the app; the start
   * files (wsgi.py, app.py, main.py, app.sh, manage.py, gunicorn.conf.py) and APP_SCRIPT, APP_FILE and
   * GUNICORN_CONFIG are looked for there (src/start/app-home.ts).
   */
  appHome: string | undefined;
  /**
   * BP_DJANGO_MIGRATE_AT_START=TRUE (true, 1): web runs `manage.py migrate --noinput` before serving a Django
   * project, as OpenShift's s2i run script does unless DISABLE_MIGRATE is set. Off by default here (see
   * docs/migrating-from-s2i.md); a BP_ variable since it is read at build, where it shapes the web command.
   */
  migrateAtStart: boolean;
  /** DISABLE_MIGRATE (OpenShift s2i), any non-empty value as there: turns BP_DJANGO_MIGRATE_AT_START off. */
  disableMigrate: boolean;
  /** ENABLE_INIT_WRAPPER (OpenShift s2i), any non-empty value as there: accepted; nothing to do (the log says why). */
  enableInitWrapper: boolean;
}

/**
 * OpenShift's s2i Python builder (sclorg/s2i-python-container, s2i/bin/assemble) reads these at build and tests
 * each with `[[ -n ... ]]` / `[[ -z ... ]]`: any value turns it on, `false` and `0` too. They keep that meaning
 * here, so an app built there builds the same; unlike PIP_UPGRADE and DISABLE_COLLECTSTATIC, the AusNimbus
 * builder's flags, which only TRUE, true, 1 and yes turn on.
 */
const OPENSHIFT_BUILD_SETTINGS = ['UPGRADE_PIP_TO_LATEST', 'DISABLE_SETUP_PY_PROCESSING', 'DISABLE_PYPROJECT_TOML_PROCESSING'] as const;

/**
 * Variables only the build reads: the buildpack's BP_* settings (the CNB convention for build-time
 * configuration), pip's PIP_* settings (PIP_UPGRADE among them), Poetry's and uv's index credentials
 * (POETRY_HTTP_BASIC_*, UV_INDEX_*), DISABLE_COLLECTSTATIC and OpenShift's build
 * settings above (and s2i's ENABLE_PIPENV and ENABLE_MICROPIPENV): every setting in
 * Settings above but the start settings. Set in .s2i/environment, they configure the build and stay out of the
 * image (src/s2i/launch-defaults.ts): nothing at launch reads them, and PIP_INDEX_URL and its kin often carry
 * an index token. The start settings (APP_RUN, GUNICORN_APP_MODULE, APP_MODULE, APP_SCRIPT, APP_FILE,
 * GUNICORN_CONFIG, APP_CONFIG, APP_HOME, DISABLE_MIGRATE, ENABLE_INIT_WRAPPER) are read at build too but stay
 * in the image, as in s2i images, where run scripts read them at start. BP_DJANGO_MIGRATE_AT_START also shapes
 * the start, but only through the web command written at build: like every BP_ variable it stays out.
 */
const BUILD_ONLY_PREFIXES = ['BP_', 'PIP_', 'POETRY_HTTP_BASIC_', 'UV_INDEX_'];
const BUILD_ONLY_NAMES = new Set(['DISABLE_COLLECTSTATIC', 'ENABLE_PIPENV', 'ENABLE_MICROPIPENV', ...OPENSHIFT_BUILD_SETTINGS]);

export function isBuildOnly(name: string): boolean {
  return BUILD_ONLY_NAMES.has(name) || BUILD_ONLY_PREFIXES.some((p) => name.startsWith(p));
}

export function readSettings(env: UserEnv): Settings {
  return {
    pythonVersion: env.get('BP_PYTHON_VERSION'),
    pythonDistributions: env.get('BP_PYTHON_DISTRIBUTIONS'),
    dependencyMirror: env.get('BP_DEPENDENCY_MIRROR'),
    download: { ...DEFAULT_DOWNLOAD_OPTIONS, timeoutSeconds: downloadTimeout(env) },
    keepWholePython: env.flag('BP_PYTHON_KEEP_ALL'),
    pipUpgrade: env.flag('PIP_UPGRADE') || env.get('UPGRADE_PIP_TO_LATEST') !== undefined,
    pipRequirements: env.get('BP_PIP_REQUIREMENT')?.split(/\s+/).filter((f) => f !== ''),
    unpinnedMaxAgeSeconds: unpinnedMaxAge(env),
    dependencyFile: dependencyFile(env),
    dependencyGroups: nameList(env.get('BP_PYTHON_DEPENDENCY_GROUPS')),
    extras: nameList(env.get('BP_PYTHON_EXTRAS')),
    pipenvAlias: pipenvAlias(env),
    lockIndexVariable: (name) => env.raw(name)?.replace(/\r?\n$/, ''),
    pipVariables: Object.fromEntries(
      Object.entries(env.entries())
        .filter(([k]) => k.startsWith('PIP_') && k !== 'PIP_UPGRADE')
        .map(([k, v]) => [k, v.replace(/\r?\n$/, '')]),
    ),
    appRun: env.get('APP_RUN'),
    gunicornAppModule: gunicornAppModule(env),
    appScript: env.get('APP_SCRIPT'),
    appFile: env.get('APP_FILE'),
    gunicornConfig: gunicornConfig(env),
    disableCollectstatic: env.flag('DISABLE_COLLECTSTATIC'),
    gunicornCmdArgs: env.get('GUNICORN_CMD_ARGS'),
    pipUpgradeVariable: env.flag('PIP_UPGRADE') ? 'PIP_UPGRADE' : env.get('UPGRADE_PIP_TO_LATEST') !== undefined ? 'UPGRADE_PIP_TO_LATEST' : undefined,
    disableSetupPyProcessing: env.get('DISABLE_SETUP_PY_PROCESSING') !== undefined,
    disablePyprojectTomlProcessing: env.get('DISABLE_PYPROJECT_TOML_PROCESSING') !== undefined,
    appHome: env.get('APP_HOME'),
    migrateAtStart: env.flag('BP_DJANGO_MIGRATE_AT_START'),
    disableMigrate: env.get('DISABLE_MIGRATE') !== undefined,
    enableInitWrapper: env.get('ENABLE_INIT_WRAPPER') !== undefined,
  };
}

/**
 * BP_DOWNLOAD_TIMEOUT, or the default when unset. Set but empty, or anything but a plain decimal number of
 * seconds above 0 and at most the bound (no sign, exponent, hex or unit), stops the build.
 */
function downloadTimeout(env: UserEnv): number {
  const raw = env.raw('BP_DOWNLOAD_TIMEOUT');
  if (raw === undefined) return DEFAULT_DOWNLOAD_OPTIONS.timeoutSeconds;
  const value = raw.trim();
  const seconds = /^(\d+(\.\d*)?|\.\d+)$/.test(value) ? Number(value) : NaN;
  if (!(seconds > 0 && seconds <= MAX_DOWNLOAD_TIMEOUT_SECONDS)) throw new BuildpackError({ type: 'invalid-download-timeout', value, max: MAX_DOWNLOAD_TIMEOUT_SECONDS });
  return seconds;
}

/** BP_PIP_UNPINNED_MAX_AGE's default: one day, as Google's Python buildpack expires its dependency layer. */
export const DEFAULT_UNPINNED_MAX_AGE_SECONDS = 24 * 60 * 60;

const AGE_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * BP_PIP_UNPINNED_MAX_AGE: a duration with its unit (`24h`, `90m`, `30s`, `7d`, `1.5h`) or `0`; unset, one day.
 * Anything else (a bare number, whose unit a reader would have to guess, a sign, an unknown unit) stops the build.
 */
function unpinnedMaxAge(env: UserEnv): number {
  const raw = env.raw('BP_PIP_UNPINNED_MAX_AGE');
  if (raw === undefined) return DEFAULT_UNPINNED_MAX_AGE_SECONDS;
  const value = raw.trim();
  if (value === '0') return 0;
  const m = /^(\d+(?:\.\d*)?|\.\d+)([smhd])$/.exec(value);
  if (m === null) throw new BuildpackError({ type: 'invalid-unpinned-max-age', value });
  return Number(m[1]) * (AGE_UNITS[m[2] as string] as number);
}

function gunicornAppModule(env: UserEnv): Settings['gunicornAppModule'] {
  const gunicorn = env.get('GUNICORN_APP_MODULE');
  const alias = env.get('APP_MODULE');
  if (gunicorn !== undefined && alias !== undefined && gunicorn !== alias) {
    throw new BuildpackError({ type: 'conflicting-app-module', gunicornAppModule: gunicorn, appModule: alias });
  }
  if (gunicorn !== undefined) return { name: 'GUNICORN_APP_MODULE', value: gunicorn };
  if (alias !== undefined) return { name: 'APP_MODULE', value: alias };
  return undefined;
}

function gunicornConfig(env: UserEnv): Settings['gunicornConfig'] {
  for (const name of ['GUNICORN_CONFIG', 'APP_CONFIG'] as const) {
    const value = env.get(name);
    if (value !== undefined) return { name, value };
  }
  return undefined;
}

/** A list of group or extra names, comma or space separated (`dev,test` and `dev test` alike). */
function nameList(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter((n) => n !== '');
}

/** BP_PYTHON_DEPENDENCY_FILE; beside BP_PIP_REQUIREMENT it would leave two answers to one question. */
function dependencyFile(env: UserEnv): string[] | undefined {
  const value = env.get('BP_PYTHON_DEPENDENCY_FILE');
  if (value === undefined) return undefined;
  if (env.get('BP_PIP_REQUIREMENT') !== undefined) throw new BuildpackError({ type: 'conflicting-dependency-settings', names: ['BP_PYTHON_DEPENDENCY_FILE', 'BP_PIP_REQUIREMENT'] });
  return value.split(/\s+/).filter((f) => f !== '');
}

/**
 * s2i's assemble tests `-z "$ENABLE_PIPENV"`: any non-empty value enables it, "false" too, and both enabled
 * exits with an error (sclorg/s2i-python-container, s2i/bin/assemble). The buildpack reads them the same way.
 */
function pipenvAlias(env: UserEnv): Settings['pipenvAlias'] {
  // Blank counts as unset, as for every other setting (a platform env file holding only a newline).
  const pipenv = env.get('ENABLE_PIPENV') ?? '';
  const micro = env.get('ENABLE_MICROPIPENV') ?? '';
  if (pipenv !== '' && micro !== '') throw new BuildpackError({ type: 'conflicting-dependency-settings', names: ['ENABLE_PIPENV', 'ENABLE_MICROPIPENV'] });
  if (pipenv !== '') return 'ENABLE_PIPENV';
  if (micro !== '') return 'ENABLE_MICROPIPENV';
  return undefined;
}
