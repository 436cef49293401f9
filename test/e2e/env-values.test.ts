/**
 * Issue 13, item 6: variables no program could be started with stop the build, through the real bin/build on
 * the local platform, with a user error naming the variable, where it was set and the limit; bin/build exits
 * non-zero before any layer is touched (no pip-deps.toml, nothing at all a later build could trust).
 *
 * A NUL byte or a value over 128 KiB in a platform env file never reaches the buildpack while clear-env is
 * false: the lifecycle exports user variables into bin/detect's and bin/build's env, and exec refuses them
 * (EINVAL, E2BIG), as the local platform does. What does reach bin/build from the platform env is a value that
 * is not UTF-8 (the lifecycle passes bytes on; the process env holds it with U+FFFD): that is the platform case.
 */
import { expect } from 'chai';
import type { Cause } from '../../src/causes.js';
import { renderCause } from '../../src/messages.js';
import type { AppSession, BuildResult } from '../platform/index.js';
import { E2E, plainLog } from './support.js';

const errorLine = (c: Cause): string => `[Error: ${renderCause(c).title}]`;

/** A Flask app: it would install packages (pip-deps) if the build got that far. */
const FLASK_APP = { 'requirements.txt': 'flask\ngunicorn\n', 'wsgi.py': 'from flask import Flask\napplication = Flask(__name__)\n' };

function expectStoppedBeforeAnyLayer(res: BuildResult): string {
  const log = plainLog(res.buildOutput);
  expect(res.success, log).to.equal(false);
  expect(res.code, 'bin/build exit code').to.equal(1);
  expect(res.lifecycleExitCode).to.equal(51);
  expect(log).to.not.contain('[Installing Python]');
  expect(log).to.not.match(/Internal buildpack error|bug in the buildpack|Traceback|at .*\.ts:\d+/);
  expect(res.files).to.not.have.property('pip-deps.toml');
  expect(Object.keys(res.layers)).to.deep.equal([]);
  return log;
}

describe('e2e: variables no program could be started with', function () {
  this.timeout(300_000);
  let e2e: E2E;
  let env: Record<string, string>;

  before(async () => {
    e2e = await E2E.start();
    env = await e2e.env();
  });
  after(async () => {
    await e2e?.stop();
  });

  async function appWithS2iEnvironment(content: string): Promise<AppSession> {
    return e2e.app({ ...FLASK_APP, '.s2i/environment': content });
  }

  it('a NUL byte in .s2i/environment stops the build naming the variable and its line', async () => {
    const res = await e2e.platform.build(await appWithS2iEnvironment('DJANGO_DEBUG=0\nSECRET_KEY=abc\0def\n'), { platformEnv: env });
    const log = expectStoppedBeforeAnyLayer(res);
    expect(log).to.contain(errorLine({ type: 'bad-env-value', name: 'SECRET_KEY', origin: { kind: 's2i-environment', line: 2 }, problem: { kind: 'nul', offset: 3 } }));
    expect(log).to.contain('The value of SECRET_KEY, set in line 2 of .s2i/environment, has a NUL byte (byte 4 of the value).');
    expect(log).to.contain('Fix line 2 of .s2i/environment: remove the NUL byte from the value.');
  });

  it('a 300 KB value in .s2i/environment stops the build naming the variable, its line and the limit', async () => {
    const res = await e2e.platform.build(await appWithS2iEnvironment(`CA_BUNDLE=${'x'.repeat(300_000)}\n`), { platformEnv: env });
    const log = expectStoppedBeforeAnyLayer(res);
    expect(log).to.contain('[Error: CA_BUNDLE is too long]');
    expect(log).to.contain('CA_BUNDLE, set in line 1 of .s2i/environment, is 300,010 bytes long as NAME=value; the limit is 131,071 bytes.');
  });

  it('a platform env value that is not UTF-8 stops the build naming the variable and the platform env', async () => {
    const latin1Password = Buffer.from('https://user:caf\xe9@pypi.internal/simple', 'latin1');
    const res = await e2e.platform.build(await e2e.app(FLASK_APP), { platformEnv: { ...env, PIP_EXTRA_INDEX_URL: latin1Password } });
    const log = expectStoppedBeforeAnyLayer(res);
    expect(log).to.contain('[Error: PIP_EXTRA_INDEX_URL is not UTF-8 text]');
    expect(log).to.contain('The value of PIP_EXTRA_INDEX_URL, set in the platform env ($CNB_PLATFORM_DIR/env/PIP_EXTRA_INDEX_URL), has bytes that are not UTF-8 (the first at byte 17 of the value).');
    expect(log, 'the value is never shown').to.not.contain('caf');
  });
});
