/**
 * What the pip benchmarks install from and with: the 20-package app, the index behind a proxy that marks wheel
 * downloads immutable, as PyPI does (see bench/pip-deps.ts's header for why pip's HTTP cache needs it), the pip
 * settings both sides share, and the bare side's runs.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AS_BUILD_USER, timed, type Run } from './measure.js';

/** 20 distributions, the whole closure pinned (as `pip freeze` writes it): pure-Python and cp311 wheels. */
export const REQUIREMENTS = [
  'asgiref==3.12.1', 'attrs==26.1.0', 'blinker==1.9.0', 'certifi==2026.7.22', 'charset-normalizer==3.5.2',
  'click==8.5.0', 'Flask==3.1.3', 'gunicorn==26.2.0', 'idna==3.20', 'itsdangerous==2.2.0',
  'Jinja2==3.1.6', 'MarkupSafe==3.0.3', 'python-dateutil==2.9.0.post0', 'PyYAML==6.0.3', 'requests==2.34.2',
  'six==1.17.0', 'sqlparse==0.6.0', 'typing_extensions==4.16.0', 'urllib3==2.8.0', 'Werkzeug==3.1.9',
];

/** A proxy in front of the index that marks wheel downloads immutable, as PyPI does. */
export async function immutableFilesProxy(upstream: string): Promise<{ origin: string; close: () => Promise<void> }> {
  const target = new URL(upstream);
  const server = http.createServer((req, res) => {
    const up = http.request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (ur) => {
      const headers = { ...ur.headers };
      if ((req.url ?? '').startsWith('/files/') && ur.statusCode === 200) headers['cache-control'] = 'max-age=365000000, immutable, public';
      res.writeHead(ur.statusCode ?? 502, headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** The pip settings both sides run with: the same index, trusted so pip's HTTP cache keeps its files, no global config. */
function pipSettings(indexUrl: string): Record<string, string> {
  return { PIP_INDEX_URL: indexUrl, PIP_TRUSTED_HOST: '127.0.0.1', PIP_CONFIG_FILE: '/dev/null' };
}

/** The buildpack side's platform env: the Python archive's manifest and version, and the pip settings. */
export function buildUserEnv(manifestUrl: string, pythonVersion: string, indexUrl: string): Record<string, string> {
  return { BP_PYTHON_DISTRIBUTIONS: manifestUrl, BP_PYTHON_VERSION: pythonVersion, ...pipSettings(indexUrl) };
}

/**
 * The bare side's env: a plain shell's PATH and a pip run with the same index (`indexUrl`) and pip settings as
 * the buildpack's, no global pip config, and its own cache.
 */
export function bareEnv(indexUrl: string, home: string, cacheDir: string): NodeJS.ProcessEnv {
  return {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: home,
    ...pipSettings(indexUrl),
    PIP_CACHE_DIR: cacheDir,
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
    PIP_NO_INPUT: '1',
  };
}

/** A bare-side folder: the working directory of its commands, and its pip cache. */
export interface BareDir {
  dir: string;
  cache: string;
}

/**
 * Runs `argv` on the bare side, as the build user with bareEnv, timed; throws with its output when it fails, or
 * when `what` names an install and pip installed nothing.
 */
export async function bareRun(indexUrl: string, argv: string[], b: BareDir, what: string): Promise<Run> {
  const run = await timed([...AS_BUILD_USER, ...argv], { cwd: b.dir, env: bareEnv(indexUrl, b.dir, b.cache) });
  if (run.code !== 0) throw new Error(`${what} failed (${run.code}):\n${run.output}`);
  if (what.includes('install') && !/Successfully installed/.test(run.output)) throw new Error(`${what} installed nothing:\n${run.output}`);
  return run;
}
