import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { layerKey, nothingToInstall, planInstall, type ProjectProcessing, type SkippedProject } from '../../src/layers/pip-deps.js';
import { pipErrorLines, unreachableIndex } from '../../src/layers/pip-run.js';
import type { InstalledPython } from '../../src/layers/python.js';
import { analyse } from '../../src/analysis.js';
import { renderCause } from '../../src/messages.js';
import { TempBuild } from '../fakes/context.js';

// Output of pip 23.2 (urllib3 1.26) for an index nobody listens on, with its default 5 retries.
const REFUSED = [
  'Looking in indexes: http://user:****@127.0.0.1:9/simple/',
  "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPConnection object at 0x7f83d70da410>: Failed to establish a new connection: [Errno 111] Connection refused')': /simple/six/",
  "WARNING: Retrying (Retry(total=3, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPConnection object at 0x7f83d5472c10>: Failed to establish a new connection: [Errno 111] Connection refused')': /simple/six/",
  'ERROR: Could not find a version that satisfies the requirement six (from versions: none)',
  'ERROR: No matching distribution found for six',
].join('\n');

describe('pip failure messages', () => {
  it('names the index pip could not connect to and why, masked', () => {
    expect(unreachableIndex(REFUSED)).to.deep.equal({ index: 'http://****@127.0.0.1:9/simple/', reason: '[Errno 111] Connection refused' });
    const err = renderCause({ type: 'pip-install-failed', command: 'python -m pip install --user -r requirements.txt', errorLines: pipErrorLines(REFUSED), status: 1, unreachable: unreachableIndex(REFUSED) });
    expect(err.body).to.contain('pip could not connect to the package index http://****@127.0.0.1:9/simple/ ([Errno 111] Connection refused)');
    expect(err.body).to.contain('No matching distribution found for six');
  });

  it('reads name resolution failures and timeouts (urllib3 2), and PyPI when pip names no index', () => {
    const dns = "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NameResolutionError(\"<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>: Failed to resolve 'pypi.internal' ([Errno -2] Name or service not known)\")': /simple/six/\nERROR: No matching distribution found for six";
    expect(unreachableIndex(dns)).to.deep.equal({ index: "https://pypi.org/simple (pip's default)", reason: 'could not resolve pypi.internal' });
    const slow = "Looking in indexes: https://x.example/simple\nWARNING: Retrying (Retry(total=0, connect=None, read=None, redirect=None, status=None)) after connection broken by 'ConnectTimeoutError(<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>, 'Connection to x.example timed out. (connect timeout=15)')': /simple/six/\nERROR: No matching distribution found for six";
    expect(unreachableIndex(slow)?.reason).to.equal('Connection to x.example timed out');
  });

  it('says nothing about the index when pip reached it, or when a retry was followed by another error', () => {
    expect(unreachableIndex('ERROR: Could not find a version that satisfies the requirement nope (from versions: none)\nERROR: No matching distribution found for nope')).to.equal(undefined);
    const retriedThenBadLine = `${REFUSED.split('\n')[1]}\nERROR: Invalid requirement: 'flask===>>1.0'`;
    expect(unreachableIndex(retriedThenBadLine)).to.equal(undefined);
    expect(renderCause({ type: 'pip-install-failed', command: 'python -m pip install .', errorLines: ['ERROR: x'], status: 1, unreachable: undefined }).body).not.to.contain('could not connect');
  });
});

describe('install plan', () => {
  function plan(files: Record<string, string>, processing?: ProjectProcessing): ReturnType<typeof planInstall> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-'));
    for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
    try {
      return planInstall(dir, undefined, processing);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it('requirements.txt first, then setup.py (-e .), a packaging setup.cfg (-e .), a pyproject.toml project (.)', () => {
    expect(plan({ 'requirements.txt': 'six\n', 'setup.py': '' })).to.deep.equal({ kind: 'requirements', files: ['requirements.txt'] });
    expect(plan({ 'setup.py': '', 'pyproject.toml': '[tool.black]\n' })).to.deep.equal({ kind: 'project', editable: true, marker: 'setup.py' });
    expect(plan({ 'setup.cfg': '[metadata]\nname = x\n', 'pyproject.toml': '[build-system]\nrequires = ["setuptools"]\n' }))
      .to.deep.equal({ kind: 'project', editable: true, marker: 'setup.cfg' });
    expect(plan({ 'pyproject.toml': '[project]\nname = "x"\n' })).to.deep.equal({ kind: 'project', editable: false, marker: 'pyproject.toml' });
  });

  it('setup.cfg and pyproject.toml holding only tool settings are not packages: nothing to install', () => {
    expect(plan({ 'setup.cfg': '[flake8]\nmax-line-length = 120\n' })).to.deep.equal({ kind: 'none', configOnly: ['setup.cfg'], skipped: [] });
    expect(plan({ 'setup.cfg': '[tool:pytest]\n', 'pyproject.toml': '[tool.black]\nline-length = 100\n' })).to.deep.equal({ kind: 'none', configOnly: ['setup.cfg', 'pyproject.toml'], skipped: [] });
    expect(plan({ 'pyproject.toml': '[tool.ruff]\n', 'setup.cfg': '[options]\npy_modules = app\n' })).to.deep.equal({ kind: 'project', editable: true, marker: 'setup.cfg' });
    expect(plan({ 'app.py': '' })).to.deep.equal({ kind: 'none', configOnly: [], skipped: [] });
  });

  describe("OpenShift s2i's DISABLE_SETUP_PY_PROCESSING and DISABLE_PYPROJECT_TOML_PROCESSING (issue 14, item 9)", () => {
    const noSetupPy = { setupPy: false, pyprojectToml: true };
    const noPyproject = { setupPy: true, pyprojectToml: false };
    const neither = { setupPy: false, pyprojectToml: false };
    const SETUP_PY: SkippedProject = { file: 'setup.py', setting: 'DISABLE_SETUP_PY_PROCESSING' };
    const PYPROJECT: SkippedProject = { file: 'pyproject.toml', setting: 'DISABLE_PYPROJECT_TOML_PROCESSING' };

    it('DISABLE_SETUP_PY_PROCESSING: a setup.py or packaging setup.cfg app is not installed, and the plan says why', () => {
      expect(plan({ 'setup.py': '' }, noSetupPy)).to.deep.equal({ kind: 'none', configOnly: [], skipped: [SETUP_PY] });
      expect(plan({ 'setup.cfg': '[metadata]\nname = x\n' }, noSetupPy)).to.deep.equal({ kind: 'none', configOnly: [], skipped: [{ file: 'setup.cfg', setting: 'DISABLE_SETUP_PY_PROCESSING' }] });
      expect(plan({ 'setup.py': '', 'setup.cfg': '[flake8]\n' }, noSetupPy)).to.deep.equal({ kind: 'none', configOnly: ['setup.cfg'], skipped: [SETUP_PY] });
    });

    it('DISABLE_PYPROJECT_TOML_PROCESSING: a pyproject.toml project is not installed', () => {
      expect(plan({ 'pyproject.toml': '[project]\nname = "x"\n' }, noPyproject)).to.deep.equal({ kind: 'none', configOnly: [], skipped: [PYPROJECT] });
      expect(plan({ 'setup.py': '', 'pyproject.toml': '[project]\nname = "x"\n' }, noPyproject)).to.deep.equal({ kind: 'project', editable: true, marker: 'setup.py' });
    });

    it('as in s2i, the two are separate steps: with setup.py off, a pyproject.toml project still installs; both off installs nothing', () => {
      const both = { 'setup.py': '', 'pyproject.toml': '[build-system]\nrequires = ["setuptools"]\n' };
      expect(plan(both, noSetupPy)).to.deep.equal({ kind: 'project', editable: false, marker: 'pyproject.toml' });
      expect(plan(both, neither)).to.deep.equal({ kind: 'none', configOnly: [], skipped: [SETUP_PY, PYPROJECT] });
    });

    it('requirement files are installed whatever they say (the app is installed only when it has no requirements.txt)', () => {
      expect(plan({ 'requirements.txt': 'six\n', 'setup.py': '', 'pyproject.toml': '[project]\n' }, neither)).to.deep.equal({ kind: 'requirements', files: ['requirements.txt'] });
    });

    it('the log line names the file and the setting', () => {
      expect(nothingToInstall({ kind: 'none', configOnly: [], skipped: [SETUP_PY] })).to.equal('No requirements.txt, and setup.py is not installed (DISABLE_SETUP_PY_PROCESSING is set): no dependencies to install');
      expect(nothingToInstall({ kind: 'none', configOnly: ['setup.cfg'], skipped: [SETUP_PY, PYPROJECT] })).to.equal(
        'No requirements.txt, and setup.py is not installed (DISABLE_SETUP_PY_PROCESSING is set), and pyproject.toml is not installed (DISABLE_PYPROJECT_TOML_PROCESSING is set), and setup.cfg declares no package (only tool settings): no dependencies to install',
      );
      expect(nothingToInstall({ kind: 'none', configOnly: ['setup.cfg'], skipped: [] })).to.equal('No requirements.txt or setup.py, and setup.cfg declares no package (only tool settings): no dependencies to install');
    });
  });
});

describe('pip-deps key', () => {
  const b = new TempBuild();
  const python = { version: '3.12.7', sha256: 'a'.repeat(64), layerPath: '/l/python', python: '/l/python/bin/python' } satisfies InstalledPython;
  const key = (env: Record<string, string>): string => {
    const ctx = b.context({ processEnv: env });
    return JSON.stringify(layerKey(ctx, { kind: 'project', editable: true, marker: 'setup.py' }, python, analyse(ctx).settings));
  };
  after(() => b.cleanup());

  it('holds no credential and does not change when one is rotated (user-info or query), but does when the index does', () => {
    const url = (token: string, query: string, fragment: string, host = 'pkgs.example', page = '1'): Record<string, string> => ({
      PIP_INDEX_URL: `https://user:${token}@${host}/simple/?token=${query}&page=${page}`,
      PIP_EXTRA_INDEX_URL: `https://x.example/s/#access_token=${fragment}`,
    });
    // Tokens with letters no hex digest holds, so that finding one in the key is never chance.
    const base = key(url('tokZoneUser', 'tokZoneQuery', 'tokZoneFrag'));
    for (const secret of ['tokZoneUser', 'tokZoneQuery', 'tokZoneFrag']) expect(base).not.to.contain(secret);
    expect(key(url('tokZtwoUser', 'tokZtwoQuery', 'tokZtwoFrag'))).to.equal(base);
    expect(key(url('tokZoneUser', 'tokZoneQuery', 'tokZoneFrag', 'other.example'))).not.to.equal(base);
    expect(key(url('tokZoneUser', 'tokZoneQuery', 'tokZoneFrag', 'pkgs.example', '2'))).not.to.equal(base);
  });
});
