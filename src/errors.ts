/**
 * Every message a user can see when a build stops. Modules raise errors through these functions, so the
 * text lives here and nowhere else. A BuildpackError is printed once as `[Error: title]` and a body that
 * says what happened and what to do; the stack is shown only with BP_LOG_LEVEL=DEBUG.
 */
export type ErrorKind = 'user' | 'internal';

export class BuildpackError extends Error {
  /** The process exit code when not the generic 1 (the runtime's named codes). */
  readonly exitCode: number | undefined;
  constructor(
    readonly title: string,
    readonly body: string,
    readonly kind: ErrorKind = 'user',
    options?: { cause?: unknown; exitCode?: number },
  ) {
    super(`${title}: ${body}`, options);
    this.exitCode = options?.exitCode;
    this.name = 'BuildpackError';
  }
}

const DOCS = 'https://github.com/ausnimbus/python#configuration';
const ISSUES = 'https://github.com/ausnimbus/python/issues';

export const INTERNAL_ERROR_MESSAGE =
  `This could be caused by a bug in the buildpack or by the build environment.\n` +
  `Try building again; if it keeps failing, build with BP_LOG_LEVEL=DEBUG and file a bug report at ${ISSUES}.`;

const SEE_LOG = 'See the log output above for more information.';

function steps(...lines: string[]): string {
  return lines.map((l, i) => `  ${i + 1}. ${l}`).join('\n');
}

export function internalError(what: string, cause: unknown): BuildpackError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new BuildpackError('Internal buildpack error', `${what}: ${detail}\n\n${INTERNAL_ERROR_MESSAGE}`, 'internal', { cause });
}

// ---- runtime ---------------------------------------------------------------------------------------------

export const runtimeErrors = {
  unknownExecutable: (name: string) =>
    new BuildpackError('Unknown executable name', `This program was called as '${name}'; it must be called as bin/detect or bin/build.`, 'internal', { exitCode: 255 }),
  apiMismatch: (found: string, expected: string) =>
    new BuildpackError(
      'Unsupported Buildpack API',
      `buildpack.toml declares api = "${found}", but this buildpack implements API ${expected}.\n` +
        `Reinstall the buildpack from an official release; its buildpack.toml and executables must match.`,
      'internal',
      { exitCode: 254 },
    ),
};

// ---- settings --------------------------------------------------------------------------------------------

export const settingsErrors = {
  forbiddenVariable: (name: string, why: string) =>
    new BuildpackError(
      `${name} is not supported`,
      `The variable ${name} is set, but ${why}\n\n` +
        `Unset ${name} (in the platform env, .s2i/environment or the build env) and build again.\n` +
        `Dependencies are installed into the buildpack's own pip-deps layer; see ${DOCS}.`,
    ),
};

// ---- Python version --------------------------------------------------------------------------------------

const VERSION_FORMS = 'a version such as 3.12 or 3.12.7, or a PEP 440 specifier such as ~=3.11 or >=3.10,<3.13';

export const versionErrors = {
  badPythonVersionFile: (line: string) =>
    new BuildpackError(
      'Invalid .python-version file',
      `The first line of .python-version is '${line}', which is not a Python version.\n\n` +
        steps(`Write a version such as 3.12 or 3.12.7 on the first line of .python-version.`, `Or delete the file to use the default version.`),
    ),
  badRuntimeTxt: (text: string) =>
    new BuildpackError(
      'Invalid runtime.txt file',
      `runtime.txt holds '${text.slice(0, 80)}', which is not a Python version.\n\n` +
        steps(`Write the version as python-3.12.7 (or python-3.12) in runtime.txt.`, `Or delete runtime.txt and set BP_PYTHON_VERSION instead.`),
    ),
  badPyprojectToml: (detail: string) =>
    new BuildpackError(
      'Invalid pyproject.toml file',
      `pyproject.toml could not be read as TOML, so its requires-python cannot be checked:\n${detail}\n\n` +
        steps('Fix the TOML syntax of pyproject.toml.', 'Or set BP_PYTHON_VERSION to choose the Python version.'),
    ),
  invalidRequest: (written: string, source: string) =>
    new BuildpackError(
      'Invalid Python version request',
      `The Python version '${written}' (from ${source}) is not ${VERSION_FORMS}.\n\n` +
        steps(`Change ${source} to ${VERSION_FORMS}.`),
    ),
  noMatch: (written: string, source: string, arch: string, available: string[]) =>
    new BuildpackError(
      'Requested Python version is not available',
      `No Python for ${arch} satisfies '${written}' (from ${source}).\n` +
        `Available for ${arch}: ${available.length > 0 ? available.join(', ') : 'none'}.\n\n` +
        steps(
          `Request one of the available versions in ${source}.`,
          `Or supply your own build of Python: set BP_PYTHON_DISTRIBUTIONS to a manifest (a path in the app, or an http(s) or file URL) listing\n` +
            `     {version, uri, sha256, arch} entries under "distributions". This is how 2.7, 3.6 and in-house builds are used.`,
        ),
    ),
  badManifest: (where: string, detail: string) =>
    new BuildpackError(
      'Invalid Python distributions manifest',
      `The manifest named by BP_PYTHON_DISTRIBUTIONS (${where}) cannot be used: ${detail}\n\n` +
        steps(
          'Make it a JSON object or TOML document whose list "distributions" holds entries with version (e.g. 3.6.15),\n' +
            '     uri (http, https or file), sha256 (64 hex digits) and arch (amd64 or arm64).',
        ),
    ),
  badMirror: (value: string) =>
    new BuildpackError(
      'Invalid BP_DEPENDENCY_MIRROR',
      `BP_DEPENDENCY_MIRROR is '${value}', which is not an http, https or file URL.\n\n` +
        steps('Set BP_DEPENDENCY_MIRROR to a base URL such as https://mirror.example.com/python or file:///mirror, or unset it.'),
    ),
};

// ---- downloads and archives ------------------------------------------------------------------------------

const DOWNLOAD_FIX =
  steps(
    'Check that the URL is right and that the build can reach it (proxy settings, firewall).',
    'If you use BP_DEPENDENCY_MIRROR, check that the mirror holds the file under the same path.',
    'Build again; the download is verified and nothing partial is kept.',
  );

export const downloadErrors = {
  badUrl: (url: string) => new BuildpackError('Invalid download URL', `'${url}' is not an http, https or file URL.\n\n${DOWNLOAD_FIX}`),
  notFound: (url: string, detail: string) =>
    new BuildpackError('Download not found', `${url} was not found (${detail}).\n\n${DOWNLOAD_FIX}`),
  serverError: (url: string, status: number) =>
    new BuildpackError('Download failed', `The server answered HTTP ${status} for ${url}, after several attempts.\n\n${DOWNLOAD_FIX}`),
  httpStatus: (url: string, status: number) =>
    new BuildpackError('Download failed', `The server answered HTTP ${status} for ${url}.\n\n${DOWNLOAD_FIX}`),
  network: (url: string, cause: unknown) =>
    new BuildpackError(
      'Download failed',
      `${url} could not be downloaded, after several attempts: ${cause instanceof Error ? cause.message : String(cause)}.\n\n${DOWNLOAD_FIX}`,
    ),
  stalled: (url: string, seconds: number) =>
    new BuildpackError(
      'Download timed out',
      `No data arrived from ${url} for ${seconds} seconds, after several attempts.\n\n` +
        steps('Check the network path to the server or mirror.', 'On a slow network, raise BP_DOWNLOAD_TIMEOUT (seconds, default 30).'),
    ),
  truncated: (url: string, got: number, expected: number) =>
    new BuildpackError('Download incomplete', `${url} ended after ${got} of ${expected} bytes, after several attempts.\n\n${DOWNLOAD_FIX}`),
  tooLarge: (url: string, max: number) =>
    new BuildpackError('Download too large', `${url} is larger than the limit of ${Math.round(max / 1024 / 1024)} MB and was refused.\n\n${DOWNLOAD_FIX}`),
  checksumMismatch: (url: string, expected: string, actual: string) =>
    new BuildpackError(
      'Checksum mismatch',
      `The file downloaded from ${url} has sha256 ${actual}, but ${expected} was expected.\n` +
        `The file was discarded. A mirror serving a different file, or a tampered download, causes this.\n\n` +
        steps('Check that the mirror or manifest serves exactly the file its sha256 describes.', 'Correct the sha256 in your distributions manifest if you built the archive yourself.'),
    ),
  bundledChecksumMismatch: (file: string, expected: string, actual: string) =>
    new BuildpackError(
      'Checksum mismatch',
      `The Python archive bundled in the buildpack (${file}) has sha256 ${actual}, but ${expected} was expected.\n` +
        `Nothing from it was installed. A damaged or altered buildpack package causes this.\n\n` +
        steps('Get the offline buildpack package again and compare its sha256 with the published one.', 'Or build with the online package, which downloads and verifies the archive.'),
    ),
};

export const archiveErrors = {
  unsafeEntry: (entry: string, why: string) =>
    new BuildpackError(
      'Unsafe archive refused',
      `The Python archive contains '${entry}', ${why}. Nothing from it was installed.\n\n` +
        steps('Use a python-build-standalone archive, or repack yours so that every entry stays inside its top folder python/.'),
    ),
  tooLarge: (what: string, limit: number) =>
    new BuildpackError(
      'Archive too large',
      `The Python archive exceeds the limit on its ${what} (${what === 'number of entries' ? limit : `${Math.round(limit / 1024 / 1024)} MB`}) and was refused.\n\n` +
        steps('Use a python-build-standalone install_only archive; they unpack to well under this limit.'),
    ),
  badLayout: (top: string[]) =>
    new BuildpackError(
      'Unexpected archive layout',
      `The Python archive should hold a single top folder (python/ with bin/ and lib/ inside); it holds: ${top.slice(0, 5).join(', ') || 'nothing'}.\n\n` +
        steps('Repack the archive with the layout of python-build-standalone install_only archives.'),
    ),
  corrupt: (cause: unknown) =>
    new BuildpackError(
      'Corrupt archive',
      `The Python archive could not be unpacked: ${cause instanceof Error ? cause.message : String(cause)}.\n\n` +
        steps('Check that the archive is a complete .tar.gz; build again to download it afresh.'),
    ),
};

// ---- pip -------------------------------------------------------------------------------------------------

/** pip could not connect to its package index: which index (credentials masked) and the connection error. */
export interface UnreachableIndex {
  index: string;
  reason: string;
}

// pip ends with "No matching distribution found" even when it never reached the index: say what happened first.
function unreachableLine(u: UnreachableIndex | undefined): string {
  return u ? `pip could not connect to the package index ${u.index} (${u.reason}), so it found no versions to install.\n` : '';
}

export const pipErrors = {
  missingRequirementFile: (file: string, from: string | undefined) =>
    new BuildpackError(
      'Requirements file not found',
      `${from ? `${from} includes '${file}'` : `'${file}' is named as a requirements file`}, but the file is not in the app.\n\n` +
        steps(`Add ${file} to the app, or remove the reference${from ? ` from ${from}` : ' (BP_PIP_REQUIREMENT)'}.`),
    ),
  installFailed: (command: string, errorLines: string[], status: number, unreachable?: UnreachableIndex) =>
    new BuildpackError(
      'Unable to install dependencies using pip',
      `'${command}' failed (exit status ${status}).\n` +
        unreachableLine(unreachable) +
        (errorLines.length > 0 ? `pip reported:\n${errorLines.map((l) => `  ${l}`).join('\n')}\n` : '') +
        `\n${SEE_LOG}\n\n` +
        steps(
          'Check the requirement named above: its name, its version and that it exists for this Python version.',
          'If the packages come from your own index (PIP_INDEX_URL), check that the build can reach it and that its credentials are valid.',
          'Nothing from this install was kept; build again after the fix.',
        ),
    ),
  upgradeFailed: (errorLines: string[], status: number, unreachable?: UnreachableIndex) =>
    new BuildpackError(
      'Unable to upgrade pip',
      `PIP_UPGRADE is set, but upgrading pip, setuptools and wheel failed (exit status ${status}).\n` +
        unreachableLine(unreachable) +
        (errorLines.length > 0 ? `pip reported:\n${errorLines.map((l) => `  ${l}`).join('\n')}\n` : '') +
        `\n${SEE_LOG}\n\n` +
        steps('Check that the package index is reachable and serves pip, setuptools and wheel.', 'Or unset PIP_UPGRADE to use the pip that comes with Python.'),
    ),
  commandIo: (program: string, message: string) =>
    new BuildpackError('Unable to run pip', `'${program}' could not be started: ${message}\n\n${INTERNAL_ERROR_MESSAGE}`, 'internal'),
  nothingToInstall: () =>
    new BuildpackError('No dependencies to install', 'BP_PIP_REQUIREMENT is set but names no file.\n\n' + steps('Set BP_PIP_REQUIREMENT to one or more requirement files, separated by spaces, or unset it.')),
};

// ---- starting the app ------------------------------------------------------------------------------------

export const startErrors = {
  dontKnowHowToRun: (hasGunicorn: boolean) =>
    new BuildpackError(
      "don't know how to run your application",
      `The buildpack looks for, in order: APP_RUN, .s2i/bin/run, a WSGI module for Gunicorn${hasGunicorn ? '' : ' (when gunicorn is in your requirements)'}, and app.py.\n` +
        `None of them was found.\n\n` +
        steps(
          "Set APP_RUN to your start command, for example APP_RUN='python server.py'.",
          'Or add gunicorn to your requirements and set GUNICORN_APP_MODULE (for example myproject.wsgi:application), or add a wsgi.py file.',
          'Or add an app.py file that starts your app.',
        ),
    ),
  missingGunicornConfig: (name: string, value: string) =>
    new BuildpackError(
      'Gunicorn config not found',
      `${name} names '${value}', which is not a file in the app.\n\n` + steps(`Point ${name} at your Gunicorn config file (a path relative to the app), or unset it to use the buildpack's config.`),
    ),
};

// ---- s2i compatibility -----------------------------------------------------------------------------------

export const s2iErrors = {
  malformedEnvironment: (line: number, text: string) =>
    new BuildpackError(
      'Invalid .s2i/environment file',
      `Line ${line} of .s2i/environment is not KEY=VALUE: '${text.slice(0, 80)}'.\n\n` +
        steps(`Write line ${line} as NAME=value (a name of letters, digits and _), or make it a comment starting with #.`),
    ),
  assembleFailed: (status: number | string) =>
    new BuildpackError(
      'The app\'s .s2i/bin/assemble failed',
      `.s2i/bin/assemble ${typeof status === 'number' ? `exited with status ${status}` : `could not be run: ${status}`}.\n\n${SEE_LOG}\n\n` +
        steps('Fix the script (it runs with python and pip on PATH, in the app directory).', 'Make sure it starts with a #! line for a shell the build image has, and is executable.'),
    ),
  reservedEnvironment: (line: number, key: string) =>
    new BuildpackError(
      'Invalid .s2i/environment file',
      `Line ${line} of .s2i/environment sets ${key}; names starting with CNB_ are reserved for the platform.\n\n` +
        steps(`Remove line ${line}.`),
    ),
};

// ---- Django ----------------------------------------------------------------------------------------------

export const djangoErrors = {
  collectstaticFailed: (managePy: string, output: string) =>
    new BuildpackError(
      "Unable to generate Django static files",
      `'python ${managePy} collectstatic --noinput' failed. Django said:\n\n${output.split('\n').map((l) => `  ${l}`).join('\n')}\n\n` +
        steps(
          'Fix the settings named above; collectstatic needs STATIC_ROOT to be set, and settings that import without a database or secrets at build time.',
          'Run it locally to check: python manage.py collectstatic --noinput',
          'Or, if the app does not need static files collected at build, set DISABLE_COLLECTSTATIC=TRUE.',
        ),
    ),
};
