/**
 * The message catalogue, cause by cause: EVERY_CAUSE needs one entry per cause type (a missing or extra
 * one is a type error), each renders to a title and a body with no holes, and the rendered catalogue is
 * kept in messages.golden.txt, so every message is read once in review and every change to one shows in
 * the diff. Regenerate it with UPDATE_GOLDEN=1.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import type { BuildWarning, Cause } from '../../src/causes.js';
import type { CnbCause } from '../../src/cnb/error.js';
import { renderCause, renderCnbCause, renderWarning, type Message } from '../../src/messages.js';

type Table<C extends { type: string }> = { [T in C['type']]: Extract<C, { type: T }> };

const URL = 'https://****@files.example.com/python.tar.gz';

const EVERY_CAUSE: Table<Cause> = {
  'forbidden-variable': { type: 'forbidden-variable', name: 'PIP_TARGET', why: 'it makes pip install into that folder instead of the pip-deps layer.' },
  'bad-env-value': { type: 'bad-env-value', name: 'SECRET_KEY', origin: { kind: 's2i-environment', line: 3 }, problem: { kind: 'nul', offset: 7 } },
  'env-too-large': {
    type: 'env-too-large', bytes: 1_200_000, limit: 1024 * 1024,
    largest: [{ name: 'CERTS', origin: { kind: 'platform-env-file' }, bytes: 120_000 }, { name: 'BLOB', origin: { kind: 's2i-environment', line: undefined }, bytes: 100_000 }, { name: 'PATH', origin: { kind: 'build-env' }, bytes: 200 }],
  },
  'bad-python-version-file': { type: 'bad-python-version-file', line: 'system' },
  'bad-runtime-txt': { type: 'bad-runtime-txt', text: 'python-three\x1b]0;owned\x07' },
  'bad-pyproject-toml': { type: 'bad-pyproject-toml', detail: 'Unexpected character at row 1, col 9' },
  'invalid-version-request': { type: 'invalid-version-request', written: '3.x.y', source: 'BP_PYTHON_VERSION' },
  'no-matching-python': { type: 'no-matching-python', written: '3.9', source: '.python-version', arch: 'amd64', available: ['3.14.7', '3.13.15'] },
  'bad-manifest': { type: 'bad-manifest', where: 'pythons.json', problem: { kind: 'bad-arch', entry: 2, version: '3.6.15', arch: 'x86' } },
  'manifest-unreadable': { type: 'manifest-unreadable', where: 'https://pythons.example/m.json', reason: { type: 'download-not-found', url: 'https://pythons.example/m.json', detail: 'HTTP 404' } },
  'bad-mirror': { type: 'bad-mirror', value: 'ftp://mirror' },
  'download-bad-url': { type: 'download-bad-url', url: 'gopher://x/python.tar.gz' },
  'download-not-found': { type: 'download-not-found', url: URL, detail: 'HTTP 404' },
  'download-server-error': { type: 'download-server-error', url: URL, status: 503 },
  'download-http-status': { type: 'download-http-status', url: URL, status: 403 },
  'download-network': { type: 'download-network', url: URL, detail: 'connect ECONNREFUSED 127.0.0.1:9' },
  'download-stalled': { type: 'download-stalled', url: URL, seconds: 30 },
  'download-truncated': { type: 'download-truncated', url: URL, got: 1000, expected: 2000 },
  'download-too-large': { type: 'download-too-large', url: URL, maxBytes: 1024 ** 3 },
  'checksum-mismatch': { type: 'checksum-mismatch', url: URL, expected: 'a'.repeat(64), actual: 'b'.repeat(64) },
  'bundled-checksum-mismatch': { type: 'bundled-checksum-mismatch', file: 'dependencies/x/python.tar.gz', expected: 'a'.repeat(64), actual: 'b'.repeat(64) },
  'archive-unsafe-entry': { type: 'archive-unsafe-entry', entry: 'python/../../etc/passwd', why: 'a path that leaves the archive' },
  'archive-too-large': { type: 'archive-too-large', limit: { kind: 'entries', count: 200_000 } },
  'archive-bad-layout': { type: 'archive-bad-layout', top: ['python', 'other'] },
  'archive-corrupt': { type: 'archive-corrupt', detail: 'unexpected end of file' },
  'missing-requirement-file': { type: 'missing-requirement-file', file: 'requirements/base.txt', from: 'requirements.txt' },
  'pip-install-failed': {
    type: 'pip-install-failed', command: 'python -m pip install --user -r requirements.txt', status: 1,
    errorLines: ['ERROR: No matching distribution found for flask==99'], unreachable: { index: 'https://****@pypi.internal/simple', reason: '[Errno 111] Connection refused' },
  },
  'pip-upgrade-failed': { type: 'pip-upgrade-failed', errorLines: ['ERROR: No matching distribution found for pip'], status: 1, unreachable: undefined },
  'pip-command-io': { type: 'pip-command-io', program: '/layers/python/bin/python', message: 'spawn ENOENT' },
  'nothing-to-install': { type: 'nothing-to-install' },
  'requirement-include-cycle': { type: 'requirement-include-cycle', files: ['requirements.txt', 'requirements/base.txt', 'requirements.txt'], line: 3, text: '-r ../requirements.txt' },
  'requirement-file-not-decodable': { type: 'requirement-file-not-decodable', file: 'requirements.txt', line: 2, byte: 0xe9, declared: undefined },
  'unreadable-requirement-file': { type: 'unreadable-requirement-file', file: 'secret.txt', from: 'requirements.txt', line: 2, problem: 'permission-denied', detail: 'EACCES' },
  'dont-know-how-to-run': { type: 'dont-know-how-to-run', hasGunicorn: false },
  'missing-gunicorn-config': { type: 'missing-gunicorn-config', name: 'GUNICORN_CONFIG', value: 'conf/gunicorn.py' },
  'gunicorn-config-outside-app': { type: 'gunicorn-config-outside-app', name: 'GUNICORN_CONFIG', value: '../shared/gunicorn.py', resolved: '/shared/gunicorn.py' },
  'gunicorn-module-not-found': {
    type: 'gunicorn-module-not-found', source: 'GUNICORN_APP_MODULE', value: 'service.webapp:app', missing: 'service.webapp',
    files: ['service/webapp.py', 'service/webapp/__init__.py'], lookedIn: [],
  },
  'start-file-unusable': { type: 'start-file-unusable', name: 'APP_SCRIPT', value: 'bin/start.sh', problem: { kind: 'missing' } },
  'procfile-malformed': { type: 'procfile-malformed', line: 2, text: 'web gunicorn app:app', problem: 'not-type-command' },
  's2i-environment-malformed': { type: 's2i-environment-malformed', line: 3, text: 'export FOO' },
  's2i-environment-reserved': { type: 's2i-environment-reserved', line: 1, key: 'CNB_APP_DIR' },
  's2i-assemble-failed': { type: 's2i-assemble-failed', outcome: { kind: 'exit', status: 2 } },
  's2i-script-crlf': { type: 's2i-script-crlf', script: 'assemble' },
  's2i-script-interpreter-missing': { type: 's2i-script-interpreter-missing', script: 'assemble', interpreter: '/bin/zsh' },
  'lock-malformed': { type: 'lock-malformed', file: 'uv.lock', tool: 'uv', entry: '[[package]] "flask"', detail: 'sdist has no hash' },
  'lock-version-unsupported': { type: 'lock-version-unsupported', file: 'poetry.lock', tool: 'poetry', found: '3.0', supported: 'lock-version 1.1, 2.0 and 2.1' },
  'lock-stale': { type: 'lock-stale', file: 'Pipfile.lock', tool: 'pipenv', manifest: 'Pipfile', command: 'pipenv lock', detail: 'the Pipfile hash is 1a2b…, the lock was made from 9f8e…' },
  'lock-index-url-invalid': { type: 'lock-index-url-invalid', file: 'Pipfile.lock', source: 'private', variables: ['PYPI_HOST'] },
  'lock-index-variable-unset': { type: 'lock-index-variable-unset', file: 'Pipfile.lock', source: 'private', variables: ['PYPI_USER', 'PYPI_TOKEN'] },
  'lockfiles-ambiguous': { type: 'lockfiles-ambiguous', files: ['uv.lock', 'poetry.lock'], setting: 'BP_PYTHON_DEPENDENCY_FILE' },
  'lock-missing-hash': { type: 'lock-missing-hash', file: 'pylock.toml', package: 'flask==3.1.0' },
  'lock-no-artifact': { type: 'lock-no-artifact', file: 'uv.lock', package: 'numpy==2.3.0', target: 'CPython 3.14 on linux/arm64' },
  'lock-python-mismatch': { type: 'lock-python-mismatch', file: 'uv.lock', requiresPython: '>=3.12', python: '3.11.9', source: '.python-version' },
  'pipfile-without-lock': { type: 'pipfile-without-lock' },
  'lock-unknown-selection': { type: 'lock-unknown-selection', file: 'uv.lock', kind: 'group', name: 'tests', known: ['dev', 'docs'] },
  'lock-environment-mismatch': { type: 'lock-environment-mismatch', file: 'pylock.toml', environments: ["sys_platform == 'darwin'", "sys_platform == 'win32'"], target: 'CPython 3.12.7 on linux/amd64' },
  'collectstatic-failed': { type: 'collectstatic-failed', managePy: 'manage.py', output: 'django.core.exceptions.ImproperlyConfigured: STATIC_ROOT is not set' },
  internal: { type: 'internal', what: 'An unexpected error occurred', detail: "Cannot read properties of null (reading 'x')" },
  'invalid-download-timeout': { type: 'invalid-download-timeout', value: '1e400', max: 600 },
  'invalid-unpinned-max-age': { type: 'invalid-unpinned-max-age', value: '24' },
  'conflicting-app-module': { type: 'conflicting-app-module', gunicornAppModule: 'myproject.wsgi:application', appModule: 'wsgi' },
  'download-file-unreadable': { type: 'download-file-unreadable', url: 'file:///srv/pythons/cpython-3.6.15.tar.gz', file: '/srv/pythons/cpython-3.6.15.tar.gz', reason: 'permission-denied', detail: 'EACCES: permission denied', uid: 1000 },
  'conflicting-dependency-settings': { type: 'conflicting-dependency-settings', names: ['ENABLE_PIPENV', 'ENABLE_MICROPIPENV'] },
  'dependency-file-unusable': { type: 'dependency-file-unusable', value: 'uv.lock requirements.txt', file: 'uv.lock', problem: 'not-alone' },
  'lock-hash-mismatch': { type: 'lock-hash-mismatch', file: 'pylock.toml', package: 'flask==3.1.3', expected: ['0d3c…'], got: '6f9e…' },
  'archive-no-interpreter': { type: 'archive-no-interpreter', version: '3.11.9', versioned: 'bin/python3.11', binEntries: ['pip3.10', 'python3.10'], libDir: 'lib/python3.11', hasLibDir: false },
  'app-home-unusable': { type: 'app-home-unusable', value: 'projet', problem: { kind: 'missing' } },
};

const EVERY_CNB_CAUSE: Table<CnbCause> = {
  'unknown-executable': { type: 'unknown-executable', name: 'other' },
  'api-mismatch': { type: 'api-mismatch', found: '0.9', expected: '0.10' },
  'missing-lifecycle-variable': { type: 'missing-lifecycle-variable', name: 'CNB_LAYERS_DIR' },
};

const EVERY_WARNING: Table<BuildWarning> = {
  'asgi-app-under-sync-worker': { type: 'asgi-app-under-sync-worker', module: 'main:app', evidence: 'imports fastapi', config: undefined },
  's2i-run-interpreter-missing': { type: 's2i-run-interpreter-missing', interpreter: '/bin/zsh' },
  'gunicorn-too-old-for-wsgi-app': { type: 'gunicorn-too-old-for-wsgi-app', config: 'gunicorn.conf.py', version: '20.0.4' },
  'django-runserver': { type: 'django-runserver', gunicorn: false, managePy: 'manage.py' },
  'lock-index-credentials-written': { type: 'lock-index-credentials-written', file: 'poetry.lock', tool: 'poetry', url: 'https://****@pypi.corp.example/simple' },
  'asgi-app-without-server': { type: 'asgi-app-without-server', file: 'app.py', callable: 'app', found: 'app = FastAPI(...)', hasGunicorn: false },
};

/** Causes whose message has a part only some of them show: each such part is read once too. */
const VARIANTS: Array<[string, Cause]> = [
  [
    "pip-install-failed (from a lock's named index, none of its credential variables set)",
    {
      ...EVERY_CAUSE['pip-install-failed'],
      errorLines: ['ERROR: No matching distribution found for flask==3.1.3'],
      unreachable: undefined,
      lockCredentials: { tool: 'Poetry', variables: ['POETRY_HTTP_BASIC_CORP_USERNAME', 'POETRY_HTTP_BASIC_CORP_PASSWORD'] },
    },
  ],
];

/** Causes no user input explains; every other cause must be a user error with steps to fix it. */
const INTERNAL = new Set(['internal', 'pip-command-io', 'unknown-executable', 'api-mismatch', 'missing-lifecycle-variable']);

const GOLDEN = path.join(import.meta.dirname, 'messages.golden.txt');

function rendered(): Array<[string, Message]> {
  return [
    ...Object.values(EVERY_CAUSE).map((c): [string, Message] => [c.type, renderCause(c)]),
    ...VARIANTS.map(([name, c]): [string, Message] => [name, renderCause(c)]),
    ...Object.values(EVERY_CNB_CAUSE).map((c): [string, Message] => [c.type, renderCnbCause(c)]),
  ];
}

function renderedWarnings(): Array<[string, { title: string; body: string }]> {
  return Object.values(EVERY_WARNING).map((w) => [w.type, renderWarning(w)]);
}

describe('message catalogue', () => {
  for (const [type, m] of rendered()) {
    it(`renders ${type}`, () => {
      expect(m.title.trim(), 'title').to.not.equal('');
      expect(m.body.trim(), 'body').to.not.equal('');
      expect(`${m.title}\n${m.body}`).to.not.match(/undefined|\[object Object\]|NaN/);
      expect(m.internal, 'internal').to.equal(INTERNAL.has(type));
      // user errors say what to do: numbered steps, or a sentence telling the user to act
      if (!m.internal) expect(m.body).to.match(/\n {2}1\. |Unset |Remove |Set /);
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters a message must not hold
      expect(`${m.title}${m.body}`, 'no raw control characters').to.not.match(/[\x00-\x08\x0b-\x1f\x7f]/);
    });
  }

  for (const [type, m] of renderedWarnings()) {
    it(`renders the warning ${type}`, () => {
      expect(m.title.trim(), 'title').to.not.equal('');
      expect(`${m.title}\n${m.body}`).to.not.match(/undefined|\[object Object\]|NaN/);
      expect(m.body).to.match(/\n {2}1\. /);
      expect(`${m.title}${m.body}`.replace(/[\t\n]/g, ''), 'no raw control characters').to.not.match(/\p{Cc}/u);
    });
  }

  it('matches messages.golden.txt, which shows every message once (UPDATE_GOLDEN=1 rewrites it)', () => {
    const text = [
      ...rendered().map(([type, m]) => `=== ${type}${m.internal ? ' (internal)' : ''}\n[Error: ${m.title}]\n${m.body}\n`),
      ...renderedWarnings().map(([type, m]) => `=== ${type} (warning)\n[Warning: ${m.title}]\n${m.body}\n`),
    ].join('\n');
    if (process.env.UPDATE_GOLDEN) fs.writeFileSync(GOLDEN, text);
    expect(fs.existsSync(GOLDEN), `${GOLDEN} is missing: run the test with UPDATE_GOLDEN=1`).to.equal(true);
    expect(text).to.equal(fs.readFileSync(GOLDEN, 'utf8'));
  });
});
