/**
 * The message catalogue: every text a user reads when a build stops, rendered from a cause (src/causes.ts,
 * src/cnb/error.ts) in one exhaustive switch, so a cause without a message is a type error. A message is a
 * short title (a finding, printed as `[Error: title]`) and a body that says what happened and what to do,
 * with numbered steps. Text the user supplied is shown with control characters escaped; URLs arrive masked.
 */
import type { ArchiveCause, BuildWarning, Cause, DownloadCause, EnvOrigin, ManifestProblem, UnreachableIndex } from './causes.js';
import { CnbError, type CnbCause } from './cnb/error.js';
import { BuildpackError } from './failure.js';
import type { Logger } from './logger.js';
import { escapeControl } from './escape-control.js';
import { MAX_DOWNLOAD_TIMEOUT_SECONDS } from './settings.js';
import type { LockTool } from './lock/model.js';

export interface Message {
  title: string;
  body: string;
  /** Internal: no user input explains it (a bug or a broken build environment). */
  internal: boolean;
}

const DOCS = 'https://github.com/ausnimbus/python#configuration';
const ISSUES = 'https://github.com/ausnimbus/python/issues';

export const INTERNAL_ERROR_MESSAGE =
  `This could be caused by a bug in the buildpack or by the build environment.\n` +
  `Try building again; if it keeps failing, build with BP_LOG_LEVEL=DEBUG and file a bug report at ${ISSUES}.`;

const SEE_LOG = 'See the log output above for more information.';

/** What each tool's lockfile is called in a message, and the command that writes it again. */
const LOCK_FORMAT: Record<LockTool, string> = { pylock: 'pylock.toml file (PEP 751)', uv: 'uv.lock file', poetry: 'poetry.lock file', pipenv: 'Pipfile.lock file' };
const RELOCK: Record<LockTool, string> = { pylock: 'the tool that wrote it (for example pip lock or uv export --format pylock.toml)', uv: 'uv lock', poetry: 'poetry lock', pipenv: 'pipenv lock' };
/** The build variable that names the dependency file to install (src/settings.ts). */
const DEPENDENCY_FILE_SETTING = 'BP_PYTHON_DEPENDENCY_FILE';

const VERSION_FORMS = 'a version such as 3.12 or 3.12.7, or a PEP 440 specifier such as ~=3.11 or >=3.10,<3.13';

function steps(...lines: string[]): string {
  return lines.map((l, i) => `  ${i + 1}. ${l}`).join('\n');
}

/** User-supplied text, quoted in a message: control characters escaped, long values cut. */
function shown(text: string, max = 200): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return escapeControl(cut);
}

const user = (title: string, body: string): Message => ({ title, body, internal: false });
const internal = (title: string, body: string): Message => ({ title, body, internal: true });

/** The message for any error that reaches the top: a known cause, or an internal error. */
export function messageFor(err: unknown): Message {
  if (err instanceof BuildpackError) return renderCause(err.cause);
  if (err instanceof CnbError) return renderCnbCause(err.cause);
  return renderCause({ type: 'internal', what: 'An unexpected error occurred', detail: err instanceof Error ? err.message : String(err) });
}

export function renderCnbCause(c: CnbCause): Message {
  switch (c.type) {
    case 'unknown-executable':
      return internal('Unknown executable name', `This program was called as '${shown(c.name)}'; it must be called as bin/detect or bin/build.`);
    case 'api-mismatch':
      return internal(
        'Unsupported Buildpack API',
        `buildpack.toml declares api = "${shown(c.found)}", but this buildpack implements API ${c.expected}.\n` +
          `Reinstall the buildpack from an official release; its buildpack.toml and executables must match.`,
      );
    case 'missing-lifecycle-variable':
      return internal('Not run by a CNB lifecycle', `${c.name} is not set: bin/detect and bin/build must be run by a Cloud Native Buildpacks lifecycle.\n\n${INTERNAL_ERROR_MESSAGE}`);
  }
}

export function renderCause(c: Cause): Message {
  switch (c.type) {
    // ---- settings -------------------------------------------------------------------------------------------
    case 'forbidden-variable':
      return user(
        `${c.name} is not supported`,
        `The variable ${c.name} is set, but ${c.why}\n\n` +
          `Unset ${c.name} (in the platform env, .s2i/environment or the build env) and build again.\n` +
          `Dependencies are installed into the buildpack's own pip-deps layer; see ${DOCS}.`,
      );
    case 'bad-env-value':
      return renderBadEnvValue(c);
    case 'env-too-large':
      return user(
        'Environment too large',
        `The variables the build starts pip and Python with take ${c.bytes.toLocaleString('en')} bytes, over the limit of ${c.limit.toLocaleString('en')} bytes ` +
          `(${kib(c.limit)}): Linux refuses to start a program whose environment and arguments together exceed ARG_MAX (2 MiB with the usual 8 MiB stack).\n` +
          `The largest:\n${c.largest.map((v) => `  ${shown(v.name, 80)}: ${v.bytes.toLocaleString('en')} bytes, from ${envOrigin(v.origin)}`).join('\n')}\n\n` +
          steps('Keep large data in a file in the app (or a file the platform mounts) and set the variable to its path.', 'Remove variables the build does not need.'),
      );
    case 'invalid-download-timeout':
      return user(
        'Invalid BP_DOWNLOAD_TIMEOUT',
        `BP_DOWNLOAD_TIMEOUT is ${c.value === '' ? 'set but empty' : `'${shown(c.value)}'`}, which is not a number of seconds above 0 and at most ${c.max}.\n` +
          `It is how long a download waits for a response, or for more data, before the attempt counts as failed.\n\n` +
          steps(`Set BP_DOWNLOAD_TIMEOUT to a number of seconds above 0 and at most ${c.max}, such as 60 or 2.5 (the default is 30), or unset it.`),
      );
    case 'invalid-unpinned-max-age':
      return user(
        'Invalid BP_PIP_UNPINNED_MAX_AGE',
        `BP_PIP_UNPINNED_MAX_AGE is ${c.value === '' ? 'set but empty' : `'${shown(c.value)}'`}, which is not a duration with its unit.\n` +
          `It is how long dependencies installed from requirements that pin no exact version are reused before pip resolves them again.\n\n` +
          steps('Set BP_PIP_UNPINNED_MAX_AGE to a number and a unit: s, m, h or d (such as 24h, 90m or 7d; the default is 24h), or 0 to resolve them at every build, or unset it.'),
      );

    // ---- Python version -------------------------------------------------------------------------------------
    case 'conflicting-app-module':
      return user(
        'APP_MODULE and GUNICORN_APP_MODULE disagree',
        `GUNICORN_APP_MODULE is '${shown(c.gunicornAppModule)}' and APP_MODULE is '${shown(c.appModule)}'. Both name the module Gunicorn serves ` +
          `(APP_MODULE is the name OpenShift's s2i Python builder reads), so the build cannot tell which one you mean.\n\n` +
          steps('Unset one of them (or set both to the same module).'),
      );
    case 'conflicting-dependency-settings': {
      const [a, b] = c.names;
      const why = a === 'ENABLE_PIPENV'
        ? "Both ask OpenShift's s2i Python builder for a different tool (it stops the same way); the buildpack installs Pipfile.lock for either."
        : `Both name the files to install (${b} is the older name, for requirement files only), so the build cannot tell which one you mean.`;
      const step = `Unset one of them${a === 'ENABLE_PIPENV' ? '' : ` (${a} takes requirement files too, space separated)`}.`;
      return user(`${a} and ${b} are both set`, `${why}\n\n${steps(step)}`);
    }
    case 'bad-python-version-file':
      return user(
        'Invalid .python-version file',
        `The first line of .python-version is '${shown(c.line)}', which is not a Python version.\n\n` +
          steps('Write a version such as 3.12 or 3.12.7 on the first line of .python-version.', 'Or delete the file to use the default version.'),
      );
    case 'bad-runtime-txt':
      return user(
        'Invalid runtime.txt file',
        `runtime.txt holds '${shown(c.text, 80)}', which is not a Python version.\n\n` +
          steps('Write the version as python-3.12.7 (or python-3.12) in runtime.txt.', 'Or delete runtime.txt and set BP_PYTHON_VERSION instead.'),
      );
    case 'bad-pyproject-toml':
      return user(
        'Invalid pyproject.toml file',
        `pyproject.toml could not be read as TOML, so its requires-python cannot be checked:\n${shown(c.detail, 500)}\n\n` +
          steps('Fix the TOML syntax of pyproject.toml.', 'Or set BP_PYTHON_VERSION to choose the Python version.'),
      );
    case 'invalid-version-request':
      return user(
        'Invalid Python version request',
        `The Python version '${shown(c.written)}' (from ${c.source}) is not ${VERSION_FORMS}.\n\n${steps(`Change ${c.source} to ${VERSION_FORMS}.`)}`,
      );
    case 'no-matching-python':
      return user(
        'Requested Python version is not available',
        `No Python for ${c.arch} satisfies '${shown(c.written)}' (from ${c.source}).\n` +
          `Available for ${c.arch}: ${c.available.length > 0 ? c.available.join(', ') : 'none'}.\n\n` +
          steps(
            `Request one of the available versions in ${c.source}.`,
            `Or supply your own build of Python: set BP_PYTHON_DISTRIBUTIONS to a manifest (a path in the app, or an http(s) or file URL) listing\n` +
              `     {version, uri, sha256, arch} entries under "distributions". This is how 2.7, 3.6 and in-house builds are used.`,
          ),
      );
    case 'bad-manifest':
      return user(
        'Invalid Python distributions manifest',
        `The manifest named by BP_PYTHON_DISTRIBUTIONS (${shown(c.where)}) cannot be used: ${manifestProblem(c.problem)}\n\n` +
          steps(
            'Make it a JSON object or TOML document whose list "distributions" holds entries with version (e.g. 3.6.15),\n' +
              '     uri (http, https or file), sha256 (64 hex digits) and arch (amd64 or arm64).',
          ),
      );
    case 'manifest-unreadable':
      return user(
        'Python distributions manifest unreadable',
        `The manifest named by BP_PYTHON_DISTRIBUTIONS (${shown(c.where)}) could not be read: ` +
          `${c.reason.type === 'io' ? shown(c.reason.detail) : firstLine(renderCause(c.reason).body)}\n\n` +
          manifestSteps(c.reason),
      );
    case 'bad-mirror':
      return user(
        'Invalid BP_DEPENDENCY_MIRROR',
        `BP_DEPENDENCY_MIRROR is '${shown(c.value)}', which is not an http, https or file URL.\n\n` +
          steps('Set BP_DEPENDENCY_MIRROR to a base URL such as https://mirror.example.com/python or file:///mirror, or unset it.'),
      );

    // ---- downloads and archives -----------------------------------------------------------------------------
    case 'download-bad-url':
    case 'download-not-found':
    case 'download-server-error':
    case 'download-http-status':
    case 'download-network':
    case 'download-stalled':
    case 'download-truncated':
    case 'download-too-large':
    case 'checksum-mismatch':
    case 'bundled-checksum-mismatch':
    case 'download-file-unreadable':
      return renderDownload(c);
    case 'archive-unsafe-entry':
    case 'archive-too-large':
    case 'archive-bad-layout':
    case 'archive-corrupt':
    case 'archive-no-interpreter':
      return renderArchive(c);

    // ---- pip ------------------------------------------------------------------------------------------------
    case 'missing-requirement-file':
      return user(
        'Requirements file not found',
        `${c.from ? `${shown(c.from)} includes '${shown(c.file)}'` : `'${shown(c.file)}' is named as a requirements file`}, but the file is not in the app.\n\n` +
          steps(`Add ${shown(c.file)} to the app, or remove the reference${c.from ? ` from ${shown(c.from)}` : ' (BP_PIP_REQUIREMENT)'}.`),
      );
    case 'pip-install-failed':
      return user(
        'Unable to install dependencies using pip',
        `'${shown(c.command, 500)}' failed (exit status ${c.status}).\n` +
          unreachableLine(c.unreachable) +
          pipReported(c.errorLines) +
          `\n${SEE_LOG}\n\n` +
          steps(
            'Check the requirement named above: its name, its version and that it exists for this Python version.',
            'If the packages come from your own index (PIP_INDEX_URL), check that the build can reach it and that its credentials are valid.',
            ...(c.lockCredentials === undefined
              ? []
              : [
                  `If the lock's index needs credentials (pip shows an index that answers 401 as no matching distribution), set ${andList(c.lockCredentials.variables.map((v) => shown(v)))} for the build, as ${c.lockCredentials.tool} reads them, or give them in a .netrc.`,
                ]),
            'Nothing from this install was kept; build again after the fix.',
          ),
      );
    case 'pip-upgrade-failed':
      return user(
        'Unable to upgrade pip',
        `PIP_UPGRADE is set, but upgrading pip, setuptools and wheel failed (exit status ${c.status}).\n` +
          unreachableLine(c.unreachable) +
          pipReported(c.errorLines) +
          `\n${SEE_LOG}\n\n` +
          steps('Check that the package index is reachable and serves pip, setuptools and wheel.', 'Or unset PIP_UPGRADE to use the pip that comes with Python.'),
      );
    case 'pip-command-io':
      return internal('Unable to run pip', `'${c.program}' could not be started: ${c.message}\n\n${INTERNAL_ERROR_MESSAGE}`);
    case 'nothing-to-install':
      return user(
        'No dependencies to install',
        `BP_PIP_REQUIREMENT is set but names no file.\n\n${steps('Set BP_PIP_REQUIREMENT to one or more requirement files, separated by spaces, or unset it.')}`,
      );
    case 'requirement-include-cycle': {
      const [first, last] = [shown(c.files[0] ?? ''), shown(c.files[c.files.length - 2] ?? '')];
      const line = `line ${c.line} ('${shown(c.text)}')`;
      const why = "pip would read the files again and again until Python gives up, and report only 'ERROR: Exception:' (a RecursionError).";
      return c.files.length <= 2
        ? user('Requirements file includes itself', `${first} includes itself on ${line}.\n${why}\n\n${steps(`Remove line ${c.line} of ${first}.`, 'Build again.')}`)
        : user(
          'Requirement files include each other',
          `The -r and -c includes go round in a loop: ${c.files.map((f) => shown(f)).join(' → ')}; ${last} includes ${first} on ${line}.\n${why}\n\n` +
            steps(`Remove the include on line ${c.line} of ${last}, or move the requirements both files need into a file that includes neither.`, 'Build again.'),
        );
    }
    case 'requirement-file-not-decodable': {
      const byte = `the byte 0x${c.byte.toString(16).toUpperCase().padStart(2, '0')} on line ${c.line}`;
      const stops = "pip would stop at it with only 'ERROR: Exception:' (a UnicodeDecodeError).";
      if (c.declared === undefined) {
        return user(
          'Requirements file is not UTF-8',
          `${shown(c.file)} has ${byte}, which is not valid UTF-8. pip reads requirement files as UTF-8 unless they start with a byte order mark or name their encoding in a comment on one of their first two lines (PEP 263); ${stops}\n\n` +
            steps(
              `Save ${shown(c.file)} as UTF-8 (most editors have a 'Save with Encoding' command).`,
              'Or, if the file is meant to be in another encoding, name it on its first line, for example: # -*- coding: latin-1 -*-',
            ),
        );
      }
      const declared = c.declared.by === 'bom'
        ? `${shown(c.file)} starts with a ${shown(c.declared.name)} byte order mark`
        : `${shown(c.file)} names its encoding, ${shown(c.declared.name)}, in a coding comment (PEP 263)`;
      return user(
        'Requirements file does not match its encoding',
        `${declared}, but ${byte} is not valid ${shown(c.declared.name)}; ${stops}\n\n` +
          steps(
            c.declared.by === 'bom'
              ? `Save ${shown(c.file)} again in one encoding; UTF-8 without a byte order mark is what pip expects.`
              : `Save ${shown(c.file)} in the encoding it names, or correct the coding comment (or remove it and save the file as UTF-8).`,
          ),
      );
    }
    case 'unreadable-requirement-file':
      return renderUnreadableRequirement(c);

    // ---- starting the app -----------------------------------------------------------------------------------
    case 'dont-know-how-to-run':
      return user(
        "don't know how to run your application",
        `The buildpack looks for, in order: APP_RUN, a Procfile with a web type, .s2i/bin/run, APP_SCRIPT, APP_FILE, a WSGI module for Gunicorn${c.hasGunicorn ? '' : ' (when gunicorn is in your requirements)'}, app.py, for Gunicorn the wsgi_app of your Gunicorn config, a WSGI app in main.py for Gunicorn or an ASGI app in main.py for uvicorn, a Django project's WSGI module for Gunicorn, an ASGI app in asgi.py for uvicorn, app.sh, and a Django project (manage.py) for its development server.\n` +
          (c.asgiApp
            ? `${shown(c.asgiApp)} is an ASGI app, but uvicorn, which would serve it, is not in your requirements.\n`
            : `None of them was found${c.home ? ` in APP_HOME (${shown(c.home)}), where the processes start; the Procfile, .s2i/bin/run and setup.py are looked for at the app's top` : ''}.\n`) +
          `\n` +
          steps(
            ...(c.asgiApp ? ['Add uvicorn to your requirements: the buildpack then serves the app with uvicorn (under Gunicorn when gunicorn is there too).'] : []),
            "Set APP_RUN to your start command, for example APP_RUN='python server.py', or add a Procfile with a line 'web: python server.py'.",
            'Or add gunicorn to your requirements and set GUNICORN_APP_MODULE (for example myproject.wsgi:application), or add a wsgi.py file.',
            'Or add an app.py file that starts your app.',
          ),
      );
    case 'missing-gunicorn-config':
      return user(
        'Gunicorn config not found',
        `${c.name} names '${shown(c.value)}', which is not a file in the app${c.home ? ` (relative to APP_HOME, ${shown(c.home)})` : ''}.\n\n` +
          steps(`Point ${c.name} at your Gunicorn config file (a path relative to ${c.home ? 'APP_HOME' : 'the app'}), or unset it to use the buildpack's config.`),
      );
    case 'gunicorn-config-outside-app': {
      const what = c.name ? `${c.name} names '${shown(c.value)}'` : `The app's ${shown(c.value)} is a link`;
      return user(
        'Gunicorn config outside the app',
        `${what}, which leads to ${shown(c.resolved)}, outside the app.\n` +
          `Only the app's files are in the image, so the config Gunicorn reads must be a file in the app.\n\n` +
          steps(
            c.name
              ? `Set ${c.name} to a config file inside the app, as a path relative to the app (for example ${c.name}=gunicorn.conf.py), or unset it to use the buildpack's config.`
              : `Replace the link ${shown(c.value)} with the config file itself, or remove it to use the buildpack's config.`,
            'If the path is a symbolic link, make it point to a file inside the app, or copy the file into the app.',
          ),
      );
    }
    case 'gunicorn-module-not-found': {
      const where = c.lookedIn.length > 0 ? ` in ${c.lookedIn.map((d) => shown(d)).join(', ')}` : '';
      const fromVariable = c.source === 'GUNICORN_APP_MODULE' || c.source === 'APP_MODULE';
      const given = fromVariable ? `${c.source} is '${shown(c.value)}'` : `Gunicorn would serve '${shown(c.value)}' (from ${c.source})`;
      return user(
        'Gunicorn app module not found',
        `${given}, but the module '${shown(c.missing)}' cannot be imported: ${noneExists(c.files.map((f) => shown(f)))}${where}.\n` +
          `Gunicorn would fail to load the app at every start.\n\n` +
          steps(
            ...(/\.py(:|$)/.test(c.value) ? ['Write the module as a dotted Python name without .py (wsgi, or myproject.wsgi), not as a file name.'] : []),
            fromVariable
              ? `Set ${c.source} to MODULE or MODULE:CALLABLE, the module as you would import it from the app's top folder (for example myproject.wsgi:application).`
              : 'Set GUNICORN_APP_MODULE to the module that holds your WSGI app (for example myproject.wsgi:application).',
            'A module in a src/ folder is importable only when the app is installed as a project (setup.py or pyproject.toml); otherwise name it from the top folder.',
            "Or set APP_RUN to your app's start command.",
          ),
      );
    }
    case 'procfile-malformed':
      return user(
        'Invalid Procfile',
        (c.problem === 'duplicate-type'
          ? `Line ${c.line} of the Procfile defines a process type that an earlier line already defines: '${shown(c.text, 120)}'.\n\n`
          : `Line ${c.line} of the Procfile is not 'type: command': '${shown(c.text, 120)}'.\n` +
            `A process type is made of letters, digits, _ and -, followed by a colon and the command.\n\n`) +
          steps(
            c.problem === 'duplicate-type'
              ? `Keep one line for each process type: remove or rename line ${c.line}.`
              : `Write line ${c.line} as 'type: command' (for example 'web: gunicorn app:app'), or make it a comment starting with #.`,
          ),
      );
    case 'start-file-unusable': {
      const what = c.name === 'APP_SCRIPT' ? 'a script' : 'a Python file';
      return user(
        c.problem.kind === 'missing' ? `${c.name} file not found` : `${c.name} file outside the app`,
        (c.problem.kind === 'missing'
          ? `${c.name} names '${shown(c.value)}', which is not a file in the app${c.home ? ` (relative to APP_HOME, ${shown(c.home)})` : ''}.\n`
          : `${c.name} names '${shown(c.value)}', which leads to ${shown(c.problem.resolved)}, outside the app.\nOnly the app's files are in the image.\n`) +
          `${c.name} chooses the web process: ${what} of the app to run, so the app could not start.\n\n` +
          steps(
            `Set ${c.name} to ${what} in the app, as a path relative to ${c.home ? 'APP_HOME' : "the app's top folder"} (for example ${c.name}=${c.name === 'APP_SCRIPT' ? 'start.sh' : 'server.py'}), or unset it.`,
          ),
      );
    }
    case 'app-home-unusable': {
      const found =
        c.problem.kind === 'missing'
          ? 'which is not a folder in the app'
          : c.problem.kind === 'not-a-folder'
            ? 'which is a file, not a folder'
            : `which leads to ${shown(c.problem.resolved)}, outside the app`;
      return user(
        c.problem.kind === 'outside' ? 'APP_HOME outside the app' : 'APP_HOME folder not found',
        `APP_HOME names '${shown(c.value)}', ${found}.\n` +
          'APP_HOME is the folder of the app the processes start in (as with the s2i builder), so the app could not start.\n\n' +
          steps(
            "Set APP_HOME to the folder of the app that holds your wsgi.py or manage.py, as a path relative to the app's top folder (for example APP_HOME=project).",
            "Or unset it to start from the app's top folder.",
          ),
      );
    }

    // ---- s2i compatibility ----------------------------------------------------------------------------------
    case 's2i-environment-malformed':
      return user(
        'Invalid .s2i/environment file',
        `Line ${c.line} of .s2i/environment is not KEY=VALUE: '${shown(c.text, 80)}'.\n\n` +
          steps(`Write line ${c.line} as NAME=value (a name of letters, digits and _), or make it a comment starting with #.`),
      );
    case 's2i-environment-reserved':
      return user(
        'Invalid .s2i/environment file',
        `Line ${c.line} of .s2i/environment sets ${c.key}; names starting with CNB_ are reserved for the platform.\n\n${steps(`Remove line ${c.line}.`)}`,
      );
    case 's2i-assemble-failed':
      return user(
        "The app's .s2i/bin/assemble failed",
        `.s2i/bin/assemble ${c.outcome.kind === 'exit' ? `exited with status ${c.outcome.status}` : `could not be run: ${c.outcome.message}`}.\n\n${SEE_LOG}\n\n` +
          steps('Fix the script (it runs with python and pip on PATH, in the app directory).', 'Make sure it starts with a #! line for a shell the build image has.'),
      );
    case 's2i-script-crlf':
      return user(
        `.s2i/bin/${c.script} has Windows line endings`,
        `The #! line of .s2i/bin/${c.script} ends with a carriage return (CRLF line endings), so the system looks for an interpreter\n` +
          `whose name ends in that character and cannot run the script.\n\n` +
          steps(
            `Convert the file to Unix (LF) line endings, for example with dos2unix .s2i/bin/${c.script}, and commit it.`,
            `To keep Git from converting it back on Windows, add '.s2i/bin/* text eol=lf' to .gitattributes, or set git config core.autocrlf input.`,
          ),
      );
    case 's2i-script-interpreter-missing':
      return user(
        `.s2i/bin/${c.script} needs ${shown(c.interpreter)}`,
        `The #! line of .s2i/bin/${c.script} names the interpreter ${shown(c.interpreter)}, which the build image does not have.\n\n` +
          steps(
            `Start the script with an interpreter the image has, such as #!/bin/bash or #!/bin/sh.`,
            `Or, for a program found on PATH, use #!/usr/bin/env followed by its name.`,
          ),
      );

    // ---- Lockfiles ------------------------------------------------------------------------------------------
    case 'lock-malformed':
      return user(
        `${shown(c.file)} cannot be read`,
        `${shown(c.file)}${c.entry === undefined ? '' : `, at ${shown(c.entry)},`} is not a valid ${LOCK_FORMAT[c.tool]}: ${shown(c.detail, 500)}.\n\n` +
          steps(`Write the lock again with ${RELOCK[c.tool]} and commit it.`, `Or name another dependency file in ${DEPENDENCY_FILE_SETTING}.`),
      );
    case 'lock-version-unsupported':
      return user(
        `${shown(c.file)} has a format this buildpack does not read`,
        `${shown(c.file)} is a ${LOCK_FORMAT[c.tool]} of format version ${shown(c.found)}; this buildpack reads ${c.supported}.\n\n` +
          steps(`Write the lock with a version of the tool that writes a supported format (${RELOCK[c.tool]}), and commit it.`, `Or, if the buildpack is older than your tool, use a newer buildpack.`),
      );
    case 'lock-stale':
      return user(
        `${shown(c.file)} is out of date`,
        `${shown(c.file)} no longer matches ${shown(c.manifest)}: ${shown(c.detail, 500)}.\nInstalling it would not install what ${shown(c.manifest)} asks for.\n\n` +
          steps(`Run ${c.command} and commit the updated ${shown(c.file)}.`),
      );
    case 'lock-index-variable-unset': {
      const names = c.variables.map((v) => shown(v));
      const source = c.source === undefined ? 'A source' : `The source "${shown(c.source)}"`;
      const them = names.length === 1 ? 'it' : 'them';
      return user(
        `${shown(c.file)} needs ${andList(names)}`,
        `${source} in ${shown(c.file)} has ${andList(names.map((n) => `$${n}`))} in its URL. Pipenv fills ${them} in from the environment when it installs (they are often credentials), but the build environment does not set ${them}.\n\n` +
          steps(
            `Set ${andList(names)} for the build: \`pack build --env ${names[0]}=...\`, or the platform's build environment (a kpack Image's spec.build.env, a Tekton param). Keep credentials out of the app's files (.s2i/environment, project.toml): they are committed with it.`,
            "Or set PIP_INDEX_URL to the index to use instead of the lock's.",
          ),
      );
    }
    case 'lock-index-url-invalid': {
      const names = andList(c.variables.map((v) => `$${shown(v)}`));
      const source = c.source === undefined ? 'A source' : `The source "${shown(c.source)}"`;
      return user(
        `${shown(c.file)} has a source URL the build environment breaks`,
        `${source} in ${shown(c.file)} is not a valid URL once ${names} ${c.variables.length === 1 ? 'is' : 'are'} filled in from the build environment. (The values are not shown: they are often credentials.)\n\n` +
          steps('Check the values: a host must not be empty nor hold a space, and a value in the path or the query must be percent-encoded (a user name and a password are encoded for you, as Pipenv does).', "Or set PIP_INDEX_URL to the index to use instead of the lock's."),
      );
    }
    case 'lockfiles-ambiguous':
      return user(
        'More than one lockfile',
        `The app has lockfiles of different tools: ${c.files.map((f) => shown(f)).join(', ')}. The build cannot tell which one you deploy with.\n\n` +
          steps(`Delete the lockfiles you do not use, or set ${c.setting} to the one to install (for example ${c.setting}=${shown(c.files[0] ?? 'uv.lock')}).`),
      );
    case 'lock-missing-hash':
      return user(
        `${shown(c.file)} has no hash for ${shown(c.package)}`,
        `${shown(c.file)} gives no hash for ${shown(c.package)}. The buildpack installs locked packages with pip's hash-checking mode, which refuses a file it cannot check.\n\n` +
          steps('Lock again with the tool that wrote the file, from an index that serves hashes, and commit the file.'),
      );
    case 'lock-no-artifact':
      return user(
        `${shown(c.file)} has no file of ${shown(c.package)} for this image`,
        `None of the files ${shown(c.file)} lists for ${shown(c.package)} installs on ${c.target}.\n\n` +
          steps(`Lock again so that the lock covers ${c.target} (the tool's settings for target platforms and Python versions), and commit the file.`, 'Or choose a Python version the lock covers (BP_PYTHON_VERSION or .python-version).'),
      );
    case 'lock-python-mismatch':
      return user(
        `${shown(c.file)} was locked for other Python versions`,
        `The build chose Python ${c.python} (from ${c.source}), but ${shown(c.file)} was made for Python ${shown(c.requiresPython)}.\n\n` +
          steps(`Choose a Python version in ${shown(c.requiresPython)} (BP_PYTHON_VERSION or .python-version).`, `Or lock again for Python ${c.python} and commit the file.`),
      );
    case 'pipfile-without-lock':
      return user(
        'Pipfile without Pipfile.lock',
        `The app has a Pipfile but no Pipfile.lock. The buildpack installs Pipenv projects from their lock, so that the image has exactly what you tested.\n\n` +
          steps('Run pipenv lock and commit Pipfile.lock.', `Or, to install from requirement files instead, name them in ${DEPENDENCY_FILE_SETTING}.`),
      );
    case 'lock-unknown-selection': {
      const what = c.kind === 'group' ? 'dependency group' : 'extra';
      const setting = c.kind === 'group' ? 'BP_PYTHON_DEPENDENCY_GROUPS' : 'BP_PYTHON_EXTRAS';
      const listed = c.known.slice(0, 20).map((k) => shown(k));
      const known = c.known.length === 0 ? `It has no ${what}s.` : `Its ${what}s: ${listed.join(', ')}${c.known.length > listed.length ? ` and ${c.known.length - listed.length} more` : ''}.`;
      return user(
        `${shown(c.file)} has no ${what} ${shown(c.name)}`,
        `${setting} asks for the ${what} ${shown(c.name)}, but ${shown(c.file)} locks no ${what} of that name. ${known}\n\n` +
          steps(`Correct or remove ${shown(c.name)} in ${setting}.`, `Or, if the project should have it, declare the ${what} in the project, lock again and commit the lock.`),
      );
    }
    case 'lock-environment-mismatch':
      return user(
        `${shown(c.file)} was locked for other environments`,
        `The image runs ${c.target}, but ${shown(c.file)} was made only for the environments ${c.environments.map((e) => shown(e)).join(', ')} (its environments list, PEP 751).\n\n` +
          steps(`Lock again for Linux on this architecture and Python (for example, run the locking tool on Linux, or name the target in its settings), and commit the file.`, 'Or choose a Python version the lock covers (BP_PYTHON_VERSION or .python-version).'),
      );
    case 'dependency-file-unusable':
      return user(
        c.problem === 'missing' ? `${shown(c.file)} is not in the app` : `${DEPENDENCY_FILE_SETTING} names a lockfile beside other files`,
        (c.problem === 'missing'
          ? `${DEPENDENCY_FILE_SETTING} is '${shown(c.value)}', but the app has no ${shown(c.file)}.\n\n`
          : `${DEPENDENCY_FILE_SETTING} is '${shown(c.value)}': a lockfile (${shown(c.file)}) is the whole list of what to install, and cannot be combined with other files.\n\n`) +
          steps(c.problem === 'missing' ? `Commit ${shown(c.file)}, or set ${DEPENDENCY_FILE_SETTING} to a file the app has.` : `Set ${DEPENDENCY_FILE_SETTING} to the lockfile alone, or to requirement files alone.`),
      );
    case 'lock-hash-mismatch':
      return user(
        `A file of ${shown(c.package)} does not match ${shown(c.file)}`,
        `pip downloaded a file of ${shown(c.package)} whose sha256 is ${shown(c.got)}, but ${shown(c.file)} allows only ${c.expected.map((h) => shown(h)).join(', ')}.\n` +
          `The file on the index is not the one that was locked: it was replaced, or the lock was edited.\n\n` +
          steps(`If you changed ${shown(c.file)} by hand, restore it (or lock again with the tool) and commit it.`, 'If not, check the package index: a file that changes after release is a warning sign.'),
      );

    // ---- Django ---------------------------------------------------------------------------------------------
    case 'collectstatic-failed':
      return user(
        'Unable to generate Django static files',
        `'python ${shown(c.managePy)} collectstatic --noinput' failed. Django said:\n\n${c.output.split('\n').map((l) => `  ${escapeControl(l)}`).join('\n')}\n\n` +
          steps(
            'Fix the settings named above; collectstatic needs STATIC_ROOT to be set, and settings that import without a database or secrets at build time.',
            'Run it locally to check: python manage.py collectstatic --noinput',
            'Or, if the app does not need static files collected at build, set DISABLE_COLLECTSTATIC=TRUE.',
          ),
      );

    case 'internal':
      return internal('Internal buildpack error', `${c.what}: ${escapeControl(c.detail)}\n\n${INTERNAL_ERROR_MESSAGE}`);
  }
}

/** Why a requirements file named by BP_PIP_REQUIREMENT or an -r include could not be read. */
function renderUnreadableRequirement(c: Extract<Cause, { type: 'unreadable-requirement-file' }>): Message {
  const where = c.from ? `${shown(c.from)} includes '${shown(c.file)}' on line ${c.line ?? '?'}` : `The build installs from '${shown(c.file)}'`;
  const instead = c.from ? `Or remove the include from line ${c.line ?? '?'} of ${shown(c.from)}.` : 'Or name another requirements file in BP_PIP_REQUIREMENT.';
  switch (c.problem) {
    case 'folder':
      return user(
        'Requirements file is a folder',
        `${where}, but that is a folder, not a file.\n\n` +
          steps(c.from ? `Name a file inside it instead, for example: -r ${shown(c.file)}/base.txt` : `Name a file inside it instead, for example BP_PIP_REQUIREMENT=${shown(c.file)}/base.txt.`, instead),
      );
    case 'permission-denied':
      return user(
        'Requirements file cannot be read',
        `${where}, but the build cannot read it: permission denied. The build does not run as root, and the file's mode does not let other users read it.\n\n` +
          steps(`Make it readable by everyone (chmod a+r ${shown(c.file)}) where the app's files are prepared for the build, and build again.`, instead),
      );
    case 'io':
      return user(
        'Requirements file cannot be read',
        `${where}, but reading it failed (${shown(c.detail)}).\n\n${steps(`Check that ${shown(c.file)} is a regular file the build can read, and build again.`, instead)}`,
      );
  }
}

/** Where a variable was set, as the user knows it; `name` gives the platform env file's path. */
function envOrigin(o: EnvOrigin, name?: string): string {
  switch (o.kind) {
    case 'platform-env-file':
      return name === undefined ? 'the platform env' : `the platform env ($CNB_PLATFORM_DIR/env/${name})`;
    case 's2i-environment':
      return o.line === undefined ? '.s2i/environment' : `line ${o.line} of .s2i/environment`;
    case 'build-env':
      return 'the build environment';
  }
}

function renderBadEnvValue(c: Extract<Cause, { type: 'bad-env-value' }>): Message {
  const name = shown(c.name, 80);
  const where = envOrigin(c.origin, name);
  const fixIn = c.origin.kind === 's2i-environment' ? `Fix ${where}` : `Change ${name} where you set it for the build (pack build --env, or your platform's build env)`;
  switch (c.problem.kind) {
    case 'nul':
      return user(
        `${name} contains a NUL byte`,
        `The value of ${name}, set in ${where}, has a NUL byte (byte ${c.problem.offset + 1} of the value).\n` +
          `Environment variables are NUL-terminated strings (POSIX), so no program can be started with this value; nothing was installed.\n\n` +
          steps(`${fixIn}: remove the NUL byte from the value.`, 'To pass binary data, encode it (base64, for example) and decode it in the app.'),
      );
    case 'not-utf8':
      return user(
        `${name} is not UTF-8 text`,
        `The value of ${name}, set in ${where}, has bytes that are not UTF-8 (the first at byte ${c.problem.offset + 1} of the value).\n` +
          `The buildpack passes variables to pip, Python and the app as UTF-8 text and does not change a value behind your back; nothing was installed.\n\n` +
          steps(`${fixIn}: write the value as UTF-8${c.origin.kind === 's2i-environment' ? ' (save the file as UTF-8)' : ''}.`, 'To pass binary data, encode it (base64, for example) and decode it in the app.'),
      );
    case 'too-long':
      return user(
        `${name} is too long`,
        `${name}, set in ${where}, is ${c.problem.bytes.toLocaleString('en')} bytes long as NAME=value; the limit is ${c.problem.limit.toLocaleString('en')} bytes.\n` +
          `Linux refuses to start a program with a longer variable (MAX_ARG_STRLEN, 128 KiB with the terminating NUL), so pip, Python and the app could not be started with it; nothing was installed.\n\n` +
          steps(`${fixIn}: keep large data in a file in the app (or a file the platform mounts) and set ${name} to its path.`),
      );
  }
}

/** The warning for platform env files whose names are not variable names (src/checks.ts checkPlatformEnv). */
export function ignoredPlatformEnvFiles(files: string[]): { title: string; body: string } {
  return {
    title: 'Platform env files not read',
    body:
      `These files in the platform env ($CNB_PLATFORM_DIR/env/) do not have variable names, so no setting is read from them: ` +
      `${files.map((f) => `'${shown(f, 80)}'`).join(', ')}.\n` +
      `A variable name is made of letters, digits and _, and does not start with a digit (BP_PYTHON_VERSION, not BP-PYTHON-VERSION).`,
  };
}

function kib(bytes: number): string {
  return `${Math.round(bytes / 1024)} KiB`;
}

function manifestProblem(p: ManifestProblem): string {
  switch (p.kind) {
    case 'not-json-or-toml':
      return `it is neither JSON nor TOML (${shown(p.detail)}).`;
    case 'no-distributions-list':
      return 'it has no list named "distributions".';
    case 'entry-not-object':
      return `entry ${p.entry} is not an object.`;
    case 'bad-version':
      return `entry ${p.entry} has version '${shown(p.version)}'; write a full version such as 3.6.15.`;
    case 'bad-sha256':
      return `entry ${p.entry} (${shown(p.version)}) has no valid sha256.`;
    case 'bad-arch':
      return `entry ${p.entry} (${shown(p.version)}) has arch '${shown(p.arch)}'; use amd64 or arm64.`;
    case 'bad-uri':
      return `entry ${p.entry} (${shown(p.version)}) has uri '${shown(p.uri)}'; use an http, https or file URL.`;
  }
}

/** What to do when the manifest cannot be read: the limit that was hit and its setting, or where to look. */
function manifestSteps(reason: DownloadCause | { type: 'io'; detail: string }): string {
  switch (reason.type) {
    case 'download-stalled':
      return steps(
        'Check that the server sends the whole manifest: a server that stops part-way through causes this.',
        `On a slow network, raise BP_DOWNLOAD_TIMEOUT (now ${reason.seconds} seconds; at most ${MAX_DOWNLOAD_TIMEOUT_SECONDS}).`,
      );
    case 'download-too-large':
      return steps(
        'Check that BP_PYTHON_DISTRIBUTIONS names the manifest itself, not an archive or an endless stream.',
        `A manifest may be at most ${megabytes(reason.maxBytes)}: it only lists archives, a few hundred bytes each. This limit has no setting.`,
      );
    case 'download-file-unreadable':
      return fileUnreadableSteps(reason);
    default:
      return steps('Check that BP_PYTHON_DISTRIBUTIONS names a file in the app, or an http(s) or file URL the build can read.');
  }
}

function fileUnreadableSteps(c: Extract<DownloadCause, { type: 'download-file-unreadable' }>): string {
  const file = shown(c.file, 500);
  switch (c.reason) {
    case 'permission-denied':
      return steps(
        `Make the file readable by the build user${c.uid === undefined ? '' : ` (uid ${c.uid})`}: for example 'chmod a+r ${file}', and 'chmod a+x' on each directory above it.`,
        'Or serve the file over http(s) instead of a file: URL.',
      );
    case 'not-a-file':
      return steps('Point the URL at a regular file, not a directory, device or FIFO.');
    case 'other':
      return steps('Check that the file exists and can be read on the build host, or serve it over http(s) instead.');
  }
}

const DOWNLOAD_FIX = steps(
  'Check that the URL is right and that the build can reach it (proxy settings, firewall).',
  'If you use BP_DEPENDENCY_MIRROR, check that the mirror holds the file under the same path.',
  'Build again; the download is verified and nothing partial is kept.',
);

function renderDownload(c: DownloadCause): Message {
  const url = shown(c.type === 'bundled-checksum-mismatch' ? c.file : c.url, 500);
  switch (c.type) {
    case 'download-bad-url':
      return user('Invalid download URL', `'${url}' is not an http, https or file URL.\n\n${DOWNLOAD_FIX}`);
    case 'download-not-found':
      return user('Download not found', `${url} was not found (${c.detail}).\n\n${DOWNLOAD_FIX}`);
    case 'download-server-error':
      return user('Download failed', `The server answered HTTP ${c.status} for ${url}, after several attempts.\n\n${DOWNLOAD_FIX}`);
    case 'download-http-status':
      return user('Download failed', `The server answered HTTP ${c.status} for ${url}.\n\n${DOWNLOAD_FIX}`);
    case 'download-network':
      return user('Download failed', `${url} could not be downloaded, after several attempts: ${shown(c.detail)}.\n\n${DOWNLOAD_FIX}`);
    case 'download-stalled':
      return user(
        'Download timed out',
        `No data arrived from ${url} for ${c.seconds} seconds, after several attempts.\n\n` +
          steps('Check the network path to the server or mirror.', 'On a slow network, raise BP_DOWNLOAD_TIMEOUT (seconds, default 30).'),
      );
    case 'download-truncated':
      return user('Download incomplete', `${url} ended after ${c.got} of ${c.expected} bytes, after several attempts.\n\n${DOWNLOAD_FIX}`);
    case 'download-too-large':
      return user('Download too large', `${url} is larger than the limit of ${megabytes(c.maxBytes)} and was refused.\n\n${DOWNLOAD_FIX}`);
    case 'checksum-mismatch':
      return user(
        'Checksum mismatch',
        `The file downloaded from ${url} has sha256 ${c.actual}, but ${c.expected} was expected.\n` +
          `The file was discarded. A mirror serving a different file, or a tampered download, causes this.\n\n` +
          steps('Check that the mirror or manifest serves exactly the file its sha256 describes.', 'Correct the sha256 in your distributions manifest if you built the archive yourself.'),
      );
    case 'bundled-checksum-mismatch':
      return user(
        'Checksum mismatch',
        `The Python archive bundled in the buildpack (${url}) has sha256 ${c.actual}, but ${c.expected} was expected.\n` +
          `Nothing from it was installed. A damaged or altered buildpack package causes this.\n\n` +
          steps('Get the offline buildpack package again and compare its sha256 with the published one.', 'Or build with the online package, which downloads and verifies the archive.'),
      );
    case 'download-file-unreadable': {
      const file = shown(c.file, 500);
      const what =
        c.reason === 'permission-denied'
          ? `cannot be read by the build user${c.uid === undefined ? '' : ` (uid ${c.uid})`}: permission denied`
          : c.reason === 'not-a-file'
            ? `is ${shown(c.detail)}, not a regular file`
            : `could not be read: ${shown(c.detail)}`;
      return user(
        c.reason === 'not-a-file' ? 'Not a file' : 'File not readable',
        `The file ${file} ${what}. Retrying would not change that, so the build stops here.\n\n${fileUnreadableSteps(c)}`,
      );
    }
  }
}

function renderArchive(c: ArchiveCause): Message {
  switch (c.type) {
    case 'archive-unsafe-entry':
      return user(
        'Unsafe archive refused',
        `The Python archive contains '${shown(c.entry)}', ${shown(c.why)}. Nothing from it was installed.\n\n` +
          steps('Use a python-build-standalone archive, or repack yours so that every entry stays inside its top folder python/.'),
      );
    case 'archive-too-large': {
      const what = c.limit.kind === 'entries' ? `number of entries (${c.limit.count})` : `unpacked size (${megabytes(c.limit.bytes)})`;
      return user(
        'Archive too large',
        `The Python archive exceeds the limit on its ${what} and was refused.\n\n` +
          steps('Use a python-build-standalone install_only archive; they unpack to well under this limit.'),
      );
    }
    case 'archive-bad-layout':
      return user(
        'Unexpected archive layout',
        `The Python archive should hold a single top folder (python/ with bin/ and lib/ inside); it holds: ${shown(c.top.slice(0, 5).join(', ')) || 'nothing'}.\n\n` +
          steps('Repack the archive with the layout of python-build-standalone install_only archives.'),
      );
    case 'archive-corrupt':
      return user(
        'Corrupt archive',
        `The Python archive could not be unpacked: ${shown(c.detail)}.\n\n${steps('Check that the archive is a complete .tar.gz; build again to download it afresh.')}`,
      );
    case 'archive-no-interpreter': {
      const bin = c.binEntries.length > 0 ? `${shown(c.binEntries.slice(0, 8).join(', '))}${c.binEntries.length > 8 ? ', …' : ''}` : 'nothing';
      return user(
        'No Python interpreter in the archive',
        `The archive for Python ${shown(c.version)} unpacked, but it has no bin/python, nor ${shown(c.versioned)} from which bin/python is made; ` +
          `${shown(c.libDir)} ${c.hasLibDir ? 'is there' : 'is missing too'}. Its bin/ holds: ${bin}.\n` +
          `Nothing from it was installed.\n\n` +
          steps(
            `Check that the archive holds Python ${shown(c.version)}, the version its entry in your distributions manifest (BP_PYTHON_DISTRIBUTIONS) gives.`,
            `Repack it with the layout of python-build-standalone install_only archives (python/${shown(c.versioned)} or python/bin/python, and python/${shown(c.libDir)}), then update its sha256 in the manifest.`,
          ),
      );
    }
  }
}

// pip ends with "No matching distribution found" even when it never reached the index: say what happened first.
function unreachableLine(u: UnreachableIndex | undefined): string {
  return u ? `pip could not connect to the package index ${shown(u.index)} (${shown(u.reason)}), so it found no versions to install.\n` : '';
}

function pipReported(lines: string[]): string {
  return lines.length > 0 ? `pip reported:\n${lines.map((l) => `  ${shown(l, 500)}`).join('\n')}\n` : '';
}

function megabytes(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MB`;
}

/** "A", "A and B", "A, B and C". */
function andList(items: string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** "neither A nor B exists", or "none of A, B, C exists". */
function noneExists(files: string[]): string {
  if (files.length === 1) return `${files[0]} does not exist`;
  if (files.length === 2) return `neither ${files[0]} nor ${files[1]} exists`;
  return `none of ${files.join(', ')} exists`;
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/** The text of a warning: a title (printed as `[Warning: title]`) and a body saying what to do. */
export function renderWarning(w: BuildWarning): { title: string; body: string } {
  switch (w.type) {
    case 'asgi-app-under-sync-worker': {
      const target = w.module.includes(':') ? w.module : `${w.module}:application`;
      return {
        title: 'ASGI app served by a WSGI worker',
        body:
          `Gunicorn will serve '${shown(w.module)}', which looks like an ASGI app (it ${shown(w.evidence)}).\n` +
          `${w.config ? `Your Gunicorn config ${shown(w.config)} names no uvicorn worker_class` : "The buildpack's Gunicorn config names no worker class"}, ` +
          `so Gunicorn runs its sync worker, which calls the app as WSGI: every request would fail.\n` +
          `The build continues.\n\n` +
          steps(
            `Run an ASGI server instead: add uvicorn to your requirements and set APP_RUN='uvicorn ${shown(target)} --host 0.0.0.0 --port $PORT'.`,
            "Or keep Gunicorn with uvicorn's worker: add uvicorn to your requirements, and worker_class = 'uvicorn.workers.UvicornWorker' to a\n" +
              "     config of your own (GUNICORN_CONFIG), or GUNICORN_CMD_ARGS='-k uvicorn.workers.UvicornWorker' to .s2i/environment.",
            'If the app is WSGI after all, ignore this warning.',
          ),
      };
    }
    case 'asgi-app-without-server':
      return {
        title: `${shown(w.file)} defines an ASGI app that nothing serves`,
        body:
          `${shown(w.file)} defines an ASGI app (${shown(w.found)}) and has no if __name__ == '__main__': block, so 'python ${shown(w.file)}' defines the app and exits at once.\n` +
          `uvicorn, which the buildpack would serve it with, is not in your requirements. The build continues.\n\n` +
          steps(
            `Add uvicorn to your requirements: web then serves the app with uvicorn${w.hasGunicorn ? " (as Gunicorn's worker, since gunicorn is there too)" : ''}.`,
            `Or, for another ASGI server (Hypercorn, say), add it to your requirements and set APP_RUN to its command, for example APP_RUN='hypercorn ${shown(w.file.replace(/\.py$/, ''))}:${shown(w.callable)} --bind 0.0.0.0:$PORT'.`,
          ),
      };
    case 's2i-run-interpreter-missing':
      return {
        title: `.s2i/bin/run needs ${shown(w.interpreter)}`,
        body:
          `The #! line of .s2i/bin/run names the interpreter ${shown(w.interpreter)}, which the build image does not have.\n` +
          `The script runs on the run image; unless that image has ${shown(w.interpreter)}, the web process fails to start. The build continues.\n\n` +
          steps('Start the script with an interpreter the image has, such as #!/bin/bash or #!/bin/sh.'),
      };
    case 'gunicorn-too-old-for-wsgi-app':
      return {
        title: 'Gunicorn too old for wsgi_app',
        body:
          `${shown(w.config)} sets wsgi_app, which Gunicorn reads from version 20.1 on, but Gunicorn ${shown(w.version)} is installed:\n` +
          `it would start with no app to serve. The buildpack goes on to its other rules to choose the web process.\n\n` +
          steps(
            'Require gunicorn>=20.1 in your requirements, so that Gunicorn serves what wsgi_app names.',
            'Or set GUNICORN_APP_MODULE to the module wsgi_app names (for example myproject.wsgi:application).',
          ),
      };
    case 'lock-index-credentials-written': {
      const instead: Record<LockTool, string> = {
        pipenv: `In the Pipfile, write the source URL with variables, https://\${PYPI_USER}:\${PYPI_PASSWORD}@host/simple, run pipenv lock, and set the variables for the build (Pipenv fills them in the same way).`,
        poetry: 'Take them out of the [[tool.poetry.source]] URL in pyproject.toml, run poetry lock, and set POETRY_HTTP_BASIC_<SOURCE>_USERNAME and _PASSWORD for the build instead.',
        uv: 'Take them out of the index URL and set UV_INDEX_<NAME>_USERNAME and _PASSWORD for the build instead.',
        pylock: 'Lock again from an index URL without them, and give pip the credentials for the build in PIP_INDEX_URL instead.',
      };
      return {
        title: `${shown(w.file)} holds index credentials`,
        body:
          `${shown(w.file)} names the package index ${shown(w.url)} with a password or token written into its URL. It is committed with the app, and the app's files are in the image too: anyone who can read either can read it.\n` +
          'The build uses it, and keeps it out of the log and of the layers it writes. The build continues.\n\n' +
          steps(instead[w.tool], 'Then change that password or token: it has been in your repository.'),
      };
    }
    case 'django-runserver':
      return {
        title: "Django's development server serves the app",
        body:
          `web runs 'python manage.py runserver 0.0.0.0:$PORT'${w.managePy === 'manage.py' ? '' : ` in APP_HOME (${shown(w.managePy.replace(/\/manage\.py$/, ''))})`}, as the s2i builder does when nothing else can serve a Django project:\n` +
          `${w.gunicorn ? 'Gunicorn is installed, but no WSGI module was found for it.' : 'Gunicorn is not installed.'} ` +
          "Django's development server is not meant for production (https://docs.djangoproject.com/en/stable/ref/django-admin/#runserver).\n" +
          'The build continues.\n\n' +
          steps(
            ...(w.gunicorn
              ? ['Set GUNICORN_APP_MODULE to your project\'s WSGI module (for example myproject.wsgi), or add a wsgi.py file.']
              : ['Add gunicorn to your requirements: Gunicorn then serves the project\'s WSGI module (found from DJANGO_SETTINGS_MODULE in manage.py).']),
          ),
      };
  }
}

/** Logs a warning from the catalogue. */
export function warn(log: Logger, w: BuildWarning): void {
  const { title, body } = renderWarning(w);
  log.warning(title, body);
}
