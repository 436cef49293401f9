/**
 * Why a build stops, as data: one discriminated union per area of the buildpack, with no prose. Modules
 * throw a BuildpackError carrying one of these (src/failure.ts); src/messages.ts renders each of them, in an
 * exhaustive switch, into the text the user reads. A new cause without a message is a type error there.
 *
 * Fields hold what the user supplied or what was found, verbatim: the catalogue escapes control characters
 * and masks credentials when it renders them.
 */

import type { EnvValueProblem } from './cnb/env-value.js';
import type { LockTool } from './lock/model.js';

/** User settings that cannot be used as given. */
export type SettingsCause =
  /** A variable that would move installs out of the image or swap the interpreter (src/checks.ts). */
  | { type: 'forbidden-variable'; name: string; why: string }
  /** A variable's value that no program could be started with (src/cnb/env-value.ts says why each is refused). */
  | { type: 'bad-env-value'; name: string; origin: EnvOrigin; problem: EnvValueProblem }
  /** The env the build starts its tools with is larger than `limit` bytes; `largest` are its biggest variables. */
  | { type: 'env-too-large'; bytes: number; limit: number; largest: Array<{ name: string; origin: EnvOrigin; bytes: number }> }
  /** BP_DOWNLOAD_TIMEOUT is not a number of seconds above 0 and at most `max` (src/settings.ts); `value` trimmed. */
  | { type: 'invalid-download-timeout'; value: string; max: number }
  /** GUNICORN_APP_MODULE and its alias APP_MODULE are both set, to different modules (src/settings.ts). */
  | { type: 'conflicting-app-module'; gunicornAppModule: string; appModule: string }
  /** BP_PIP_UNPINNED_MAX_AGE is not a duration with a unit (`24h`, `90m`) or 0 (src/settings.ts); `value` trimmed. */
  | { type: 'invalid-unpinned-max-age'; value: string }
  /**
   * Two settings that each choose what gets installed are both set: BP_PYTHON_DEPENDENCY_FILE and
   * BP_PIP_REQUIREMENT, or s2i's ENABLE_PIPENV and ENABLE_MICROPIPENV (src/settings.ts).
   */
  | { type: 'conflicting-dependency-settings'; names: [string, string] };

/** Where a variable was set. */
export type EnvOrigin = { kind: 'platform-env-file' } | { kind: 's2i-environment'; line: number | undefined } | { kind: 'build-env' };

/** Choosing the Python version and archive. */
export type VersionCause =
  | { type: 'bad-python-version-file'; line: string }
  | { type: 'bad-runtime-txt'; text: string }
  | { type: 'bad-pyproject-toml'; detail: string }
  | { type: 'invalid-version-request'; written: string; source: string }
  | { type: 'no-matching-python'; written: string; source: string; arch: string; available: string[] }
  /** BP_PYTHON_DISTRIBUTIONS was read but its content is wrong. */
  | { type: 'bad-manifest'; where: string; problem: ManifestProblem }
  /** BP_PYTHON_DISTRIBUTIONS could not be read at all. */
  | { type: 'manifest-unreadable'; where: string; reason: DownloadCause | { type: 'io'; detail: string } }
  | { type: 'bad-mirror'; value: string };

/** What is wrong inside a distributions manifest; `entry` counts from 1. */
export type ManifestProblem =
  | { kind: 'not-json-or-toml'; detail: string }
  | { kind: 'no-distributions-list' }
  | { kind: 'entry-not-object'; entry: number }
  | { kind: 'bad-version'; entry: number; version: string }
  | { kind: 'bad-sha256'; entry: number; version: string }
  | { kind: 'bad-arch'; entry: number; version: string; arch: string }
  | { kind: 'bad-uri'; entry: number; version: string; uri: string };

/** Downloads (src/download.ts). `url` is already masked. `retried`: the failure outlived every attempt. */
export type DownloadCause =
  | { type: 'download-bad-url'; url: string }
  | { type: 'download-not-found'; url: string; detail: string }
  | { type: 'download-server-error'; url: string; status: number }
  | { type: 'download-http-status'; url: string; status: number }
  | { type: 'download-network'; url: string; detail: string }
  | { type: 'download-stalled'; url: string; seconds: number }
  | { type: 'download-truncated'; url: string; got: number; expected: number }
  | { type: 'download-too-large'; url: string; maxBytes: number }
  | { type: 'checksum-mismatch'; url: string; expected: string; actual: string }
  | { type: 'bundled-checksum-mismatch'; file: string; expected: string; actual: string }
  /** A file: URL whose file exists but cannot be read: no retry changes that. `uid`: the build user. */
  | { type: 'download-file-unreadable'; url: string; file: string; reason: 'permission-denied' | 'not-a-file' | 'other'; detail: string; uid: number | undefined };

/** Unpacking a Python archive (src/archive.ts). */
export type ArchiveCause =
  | { type: 'archive-unsafe-entry'; entry: string; why: string }
  | { type: 'archive-too-large'; limit: { kind: 'unpacked-size'; bytes: number } | { kind: 'entries'; count: number } }
  | { type: 'archive-bad-layout'; top: string[] }
  | { type: 'archive-corrupt'; detail: string }
  /**
   * The archive unpacked, but the layer has no interpreter: neither bin/python nor `versioned` (bin/pythonX.Y
   * for the entry's version, from which bin/python is made). What bin/ holds, and whether lib/pythonX.Y does.
   */
  | { type: 'archive-no-interpreter'; version: string; versioned: string; binEntries: string[]; libDir: string; hasLibDir: boolean };

/** pip could not connect to its package index: which index (credentials masked) and the connection error. */
export interface UnreachableIndex {
  index: string;
  reason: string;
}

/** Installing the app's packages (src/layers/pip-deps.ts, src/python/requirements.ts). */
export type PipCause =
  | { type: 'missing-requirement-file'; file: string; from: string | undefined }
  | {
    type: 'pip-install-failed';
    command: string;
    errorLines: string[];
    status: number;
    unreachable: UnreachableIndex | undefined;
    /**
     * A locked install from an index the lock's tool has a name for, with none of the variables that tool reads
     * its credentials from set: the tool, and those variables (src/lock/index-credentials.ts). pip reports an
     * index's 401 only as "no matching distribution".
     */
    lockCredentials?: { tool: string; variables: string[] };
  }
  | { type: 'pip-upgrade-failed'; errorLines: string[]; status: number; unreachable: UnreachableIndex | undefined }
  | { type: 'pip-command-io'; program: string; message: string }
  | { type: 'nothing-to-install' }
  /** -r/-c includes that lead back to a file being read: `files` from that file round to it again. */
  | { type: 'requirement-include-cycle'; files: string[]; line: number; text: string }
  /** A requirement file with a byte pip cannot decode (UTF-8 unless a BOM or a PEP 263 line says otherwise). */
  | { type: 'requirement-file-not-decodable'; file: string; line: number; byte: number; declared: { name: string; by: 'bom' | 'coding-line' } | undefined }
  /** A requirement file that exists but cannot be read: a folder, no read permission, another I/O error. */
  | { type: 'unreadable-requirement-file'; file: string; from: string | undefined; line: number | undefined; problem: 'folder' | 'permission-denied' | 'io'; detail: string };

/** Choosing how the app starts (src/start/). */
export type StartCause =
  /** `asgiApp`: an ASGI app found in main.py or asgi.py (`main.py (app = FastAPI(...))`) that no installed server can serve. */
  /** `home`: APP_HOME, app-relative, when the start files were looked for there. */
  | { type: 'dont-know-how-to-run'; hasGunicorn: boolean; asgiApp?: string; home?: string }
  /** `home`: APP_HOME, when set: the path is relative to that folder, as in s2i's run script. */
  | { type: 'missing-gunicorn-config'; name: string; value: string; home?: string }
  /**
   * The Gunicorn config resolves (symlinks followed) outside the app: GUNICORN_CONFIG or APP_CONFIG (`name`),
   * or, with `name` undefined, the app's ./gunicorn.conf.py. `resolved` is where it leads.
   */
  | { type: 'gunicorn-config-outside-app'; name: 'GUNICORN_CONFIG' | 'APP_CONFIG' | undefined; value: string; resolved: string }
  /**
   * The module Gunicorn would serve cannot be imported: `source` is where its name came from
   * (GUNICORN_APP_MODULE, wsgi.py, the name in setup.py), `value` the name as given, `missing` the first
   * dotted prefix that was not found, `files` the files looked for and `lookedIn` where (app-relative when
   * inside the app).
   */
  | { type: 'gunicorn-module-not-found'; source: string; value: string; missing: string; files: string[]; lookedIn: string[] }
  /** A line of the app's Procfile (`line` counts from 1) is not `type: command`, or repeats a process type. */
  | { type: 'procfile-malformed'; line: number; text: string; problem: 'not-type-command' | 'duplicate-type' }
  /**
   * APP_SCRIPT or APP_FILE names no file of the app: nothing there, or (symlinks followed) a path outside the
   * app, whose files alone are in the image. `resolved`: where an outside path leads.
   */
  | { type: 'start-file-unusable'; name: 'APP_SCRIPT' | 'APP_FILE'; value: string; problem: { kind: 'missing' } | { kind: 'outside'; resolved: string }; home?: string }
  /**
   * APP_HOME names no folder of the app: nothing there, a file, or (symlinks followed) a path outside the app.
   * `resolved`: where an outside path leads.
   */
  | { type: 'app-home-unusable'; value: string; problem: { kind: 'missing' } | { kind: 'not-a-folder' } | { kind: 'outside'; resolved: string } };

/** s2i compatibility (src/s2i/). */
export type S2iCause =
  | { type: 's2i-environment-malformed'; line: number; text: string }
  | { type: 's2i-environment-reserved'; line: number; key: string }
  | { type: 's2i-assemble-failed'; outcome: { kind: 'exit'; status: number } | { kind: 'io'; message: string } }
  /** The #! line of .s2i/bin/<script> ends in a carriage return (Windows line endings). */
  | { type: 's2i-script-crlf'; script: 'assemble' | 'run' }
  /** The interpreter the #! line of .s2i/bin/assemble names is not on the build image. */
  | { type: 's2i-script-interpreter-missing'; script: 'assemble'; interpreter: string };

/**
 * Lockfiles (src/lock/): `file` is app-relative, `entry` names the place in it as the user finds it
 * (`[[package]] "flask"`, `[metadata]`), `package` is `name==version` or a name.
 */
export type LockCause =
  /** The file is not what its format says: bad TOML or JSON, a missing or mistyped field, a bad marker. */
  | { type: 'lock-malformed'; file: string; tool: LockTool; entry: string | undefined; detail: string }
  /** The format version (lock-version, version/revision, pipfile-spec) is one the buildpack does not read. */
  | { type: 'lock-version-unsupported'; file: string; tool: LockTool; found: string; supported: string }
  /** The lock no longer matches `manifest` (Pipfile, pyproject.toml); `command` re-locks; `detail` says what differs. */
  | { type: 'lock-stale'; file: string; tool: LockTool; manifest: string; command: string; detail: string }
  /**
   * A Pipfile.lock source URL names variables (`$NAME`, `${NAME}`) the build environment does not set; Pipenv
   * expands them at install (src/lock/index-credentials.ts). `source`: the source's name, when it has one.
   */
  | { type: 'lock-index-variable-unset'; file: string; source: string | undefined; variables: string[] }
  /** That URL, with `variables` filled in from the build environment, is not a URL (a space or an empty host, say). */
  | { type: 'lock-index-url-invalid'; file: string; source: string | undefined; variables: string[] }
  /** Lockfiles of different tools in one app, and no setting picks one. */
  | { type: 'lockfiles-ambiguous'; files: string[]; setting: string }
  /** A selected registry or URL package the lock gives no hash for. */
  | { type: 'lock-missing-hash'; file: string; package: string }
  /** No file of a selected package fits this Python and architecture (`target`: `CPython 3.12 on linux/arm64`). */
  | { type: 'lock-no-artifact'; file: string; package: string; target: string }
  /** The chosen Python (from `source`) is outside the lock's requires-python. */
  | { type: 'lock-python-mismatch'; file: string; requiresPython: string; python: string; source: string }
  /** A Pipfile and no Pipfile.lock: the buildpack installs only locked Pipenv projects. */
  | { type: 'pipfile-without-lock' }
  /**
   * A requested dependency group (BP_PYTHON_DEPENDENCY_GROUPS) or extra (BP_PYTHON_EXTRAS) the lock does not
   * know, as the tools refuse it (`uv export --group nosuch`); `name` as requested, `known` the ones it has.
   */
  | { type: 'lock-unknown-selection'; file: string; kind: 'group' | 'extra'; name: string; known: string[] }
  /** None of the lock's `environments` markers (PEP 751) holds for `target` (`CPython 3.12.7 on linux/arm64`). */
  | { type: 'lock-environment-mismatch'; file: string; environments: string[]; target: string }
  /**
   * BP_PYTHON_DEPENDENCY_FILE names a lockfile that is not in the app (`problem: 'missing'`), or a lockfile
   * beside other files (`'not-alone'`): one lock is the whole input.
   */
  | { type: 'dependency-file-unusable'; value: string; file: string; problem: 'missing' | 'not-alone' }
  /** pip refused a downloaded file of `package` whose sha256 is not one the lock gives: the file changed since locking. */
  | { type: 'lock-hash-mismatch'; file: string; package: string; expected: string[]; got: string };

/** Django (src/django.ts). */
export type DjangoCause = { type: 'collectstatic-failed'; managePy: string; output: string };

/** A failure no user input explains: a bug, or a broken build environment. */
export type InternalCause = { type: 'internal'; what: string; detail: string };

/**
 * Findings that do not stop the build but that the user should act on, printed as `[Warning: title]`
 * (src/messages.ts renderWarning).
 */
export type BuildWarning =
  /** The module Gunicorn serves looks like an ASGI app, and no config names an ASGI (uvicorn) worker. `evidence`: what was seen. */
  | { type: 'asgi-app-under-sync-worker'; module: string; evidence: string; config: string | undefined }
  /** The interpreter in the #! line of .s2i/bin/run is not on the build image (the run image may lack it too). */
  | { type: 's2i-run-interpreter-missing'; interpreter: string }
  /**
   * The app's Gunicorn config sets wsgi_app, which Gunicorn reads from 20.1 on, but an older Gunicorn is
   * installed (`version`), so the start rules go on without it.
   */
  | { type: 'gunicorn-too-old-for-wsgi-app'; config: string; version: string }
  /**
   * A Django project is served by Django's development server (`manage.py runserver`), OpenShift s2i's last
   * resort: Gunicorn is not installed (`gunicorn: false`), or no WSGI module was found for it.
   */
  | { type: 'django-runserver'; gunicorn: boolean; managePy: string }
  /**
   * app.py defines an ASGI app (`found`, as read) and has no `__main__` block, so `python app.py` exits at once,
   * and uvicorn, which would serve it, is not installed.
   */
  | { type: 'asgi-app-without-server'; file: string; callable: string; found: string; hasGunicorn: boolean }
  /**
   * The lock names an index with a password or token written into its URL (`url`, masked): committed with the
   * app, and readable by everyone who can read it. The build uses it; the tool's variables would keep it out.
   */
  | { type: 'lock-index-credentials-written'; file: string; tool: LockTool; url: string };

export type Cause = SettingsCause | VersionCause | DownloadCause | ArchiveCause | PipCause | StartCause | S2iCause | LockCause | DjangoCause | InternalCause;
