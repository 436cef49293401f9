/**
 * What of .s2i/environment reaches the image (src/s2i/launch-defaults.ts): launch defaults for the app's own
 * variables; build-only settings and values holding URL credentials kept out, each named in the log.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { LayerEnv } from '../../src/cnb/env.js';
import { UserEnv } from '../../src/cnb/user-env.js';
import { Logger } from '../../src/logger.js';
import { launchDefaults, planLaunchDefaults } from '../../src/s2i/launch-defaults.js';
import { isBuildOnly } from '../../src/settings.js';

const APP_ENV = {
  GREETING: 'hello',
  APP_RUN: 'python server.py $PORT',
  GUNICORN_APP_MODULE: 'pkg.wsgi:app',
  PORT: '9000',
  PIP_INDEX_URL: 'https://user:idx-T0KEN@pkgs.example/simple/',
  PIP_UPGRADE: 'TRUE',
  PIP_NO_CACHE_DIR: '1',
  BP_PYTHON_VERSION: '3.12',
  BP_PIP_REQUIREMENT: 'requirements/prod.txt',
  DISABLE_COLLECTSTATIC: '1',
  DATABASE_URL: 'postgres://app:db-PASSW0RD@db:5432/app',
  WEBHOOK: 'https://hooks.example/x?token=hook-T0KEN',
  CDN_URL: 'https://cdn.example/static/',
  SENTRY_DSN_LIKE: 'https://cdn.example/a#sha256=abc',
};
const SECRETS = ['idx-T0KEN', 'db-PASSW0RD', 'hook-T0KEN'];

/** The env files a layer env writes, `dir/NAME.suffix=contents`, as the image holds them. */
async function envFiles(env: LayerEnv): Promise<string[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'launch-env-'));
  try {
    await env.writeTo(dir);
    const files = fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()) : [];
    return files.map((e) => `${path.relative(dir, path.join(e.parentPath, e.name))}=${fs.readFileSync(path.join(e.parentPath, e.name), 'utf8')}`).sort();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A UserEnv with nothing set on the platform. */
const noPlatform = (): UserEnv => UserEnv.read(path.join(os.tmpdir(), 'no-such-platform-dir'), {});

describe('.s2i/environment launch defaults', () => {
  it("keeps the app's own variables and the start settings; keeps build-only settings and URL credentials out", () => {
    const plan = planLaunchDefaults(APP_ENV, () => false);
    expect(plan.defaults.map((d) => d.name)).to.deep.equal(['GREETING', 'APP_RUN', 'GUNICORN_APP_MODULE', 'PORT', 'CDN_URL', 'SENTRY_DSN_LIKE']);
    expect(plan.keptOut).to.deep.equal([
      { name: 'PIP_INDEX_URL', reason: 'build-only' },
      { name: 'PIP_UPGRADE', reason: 'build-only' },
      { name: 'PIP_NO_CACHE_DIR', reason: 'build-only' },
      { name: 'BP_PYTHON_VERSION', reason: 'build-only' },
      { name: 'BP_PIP_REQUIREMENT', reason: 'build-only' },
      { name: 'DISABLE_COLLECTSTATIC', reason: 'build-only' },
      { name: 'DATABASE_URL', reason: 'credentials' },
      { name: 'WEBHOOK', reason: 'credentials' },
    ]);
    expect(JSON.stringify(plan.defaults)).not.to.match(new RegExp(SECRETS.join('|')));
  });

  it("keeps out the variables the lock's index URLs name (a bare password no URL rule finds), and Poetry's and uv's credential variables", () => {
    const plan = planLaunchDefaults({ GREETING: 'a', PYPI_PASSWORD: 'hunter2-plain', POETRY_HTTP_BASIC_CORP_PASSWORD: 'p', UV_INDEX_CORP_PASSWORD: 'q' }, () => false, ['PYPI_USER', 'PYPI_PASSWORD']);
    expect(plan).to.deep.equal({
      defaults: [{ name: 'GREETING', value: 'a' }],
      keptOut: [
        { name: 'PYPI_PASSWORD', reason: 'lock-index' },
        { name: 'POETRY_HTTP_BASIC_CORP_PASSWORD', reason: 'build-only' },
        { name: 'UV_INDEX_CORP_PASSWORD', reason: 'build-only' },
      ],
    });
  });

  it('leaves out what the user set on the platform: their value is for them to give at launch', () => {
    expect(planLaunchDefaults({ GREETING: 'a', PIP_INDEX_URL: 'x' }, (n) => n === 'GREETING')).to.deep.equal({ defaults: [], keptOut: [{ name: 'PIP_INDEX_URL', reason: 'build-only' }] });
  });

  it('writes launch-scope .default env files and logs one line per variable kept out: its name and why, never its value', async () => {
    const lines: string[] = [];
    const log = new Logger({ write: (t) => void lines.push(t) }, undefined, false, false);
    const env = launchDefaults(APP_ENV, noPlatform(), log);
    expect(await envFiles(env)).to.deep.equal([
      'env.launch/APP_RUN.default=python server.py $PORT',
      'env.launch/CDN_URL.default=https://cdn.example/static/',
      'env.launch/GREETING.default=hello',
      'env.launch/GUNICORN_APP_MODULE.default=pkg.wsgi:app',
      'env.launch/PORT.default=9000',
      'env.launch/SENTRY_DSN_LIKE.default=https://cdn.example/a#sha256=abc',
    ]);
    // At launch, a value set on the container wins over the default.
    expect(env.apply('launch', { GREETING: 'from the container' })).to.include({ GREETING: 'from the container', PORT: '9000' });
    const log_ = lines.join('');
    expect(log_).to.contain('- PIP_INDEX_URL from .s2i/environment is kept out of the image: only the build reads it\n');
    expect(log_).to.contain('- DATABASE_URL from .s2i/environment is kept out of the image: its value holds credentials in a URL; set it in the runtime environment instead\n');
    expect(lines).to.have.length(8);
    for (const s of [...SECRETS, 'pkgs.example', 'postgres://', '3.12']) expect(log_).not.to.contain(s);
  });

  it("nothing to log and no env files for an app without .s2i/environment", async () => {
    const lines: string[] = [];
    const env = launchDefaults({}, noPlatform(), new Logger({ write: (t) => void lines.push(t) }, undefined, false, false));
    expect(await envFiles(env)).to.deep.equal([]);
    expect(lines).to.deep.equal([]);
  });

  it("agrees with README's Configuration table: build settings are build-only but the start settings, launch ones never", () => {
    const readme = fs.readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const table = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('### Limits'));
    const rows = [...table.matchAll(/^\| (.+?) \| (build|launch) \|/gm)];
    expect(rows.length).to.be.above(10);
    // Read at build and kept in the image: s2i images had them, and an app's run script may read them at start.
    const startSettings = ['APP_RUN', 'GUNICORN_APP_MODULE', 'APP_MODULE', 'APP_SCRIPT', 'APP_FILE', 'GUNICORN_CONFIG', 'APP_CONFIG', 'APP_HOME', 'DISABLE_MIGRATE', 'ENABLE_INIT_WRAPPER'];
    for (const [, names, when] of rows) {
      for (const [, name, prefix] of (names ?? '').matchAll(/`([A-Z][A-Z0-9_]*?)(_\*)?`/g)) {
        const n = prefix ? `${name}_ANY` : (name as string); // `PIP_*`: every name with that prefix
        if (when === 'launch') expect(isBuildOnly(n), n).to.equal(false);
        else expect(isBuildOnly(n), n).to.equal(!startSettings.includes(n));
      }
    }
  });
});
