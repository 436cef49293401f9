/**
 * Every setting read at build (src/settings.ts readSettings), through the user's variables as a build sees
 * them (src/analysis.ts analyse: src/cnb/user-env.ts over the platform's env files, the app's
 * .s2i/environment and the build's process env): defaults, flags, trimming, which name and which source wins.
 */
import { expect } from 'chai';
import { analyse } from '../../src/analysis.js';
import { DEFAULT_DOWNLOAD_OPTIONS } from '../../src/download.js';
import { renderCause } from '../../src/messages.js';
import { isBuildOnly, type Settings } from '../../src/settings.js';
import { TempBuild } from '../fakes/context.js';
import { thrownCause } from '../fakes/thrown.js';

interface Sources {
  /** `$CNB_PLATFORM_DIR/env/<NAME>` files (pack --env, kpack, Tekton), contents verbatim. */
  platform?: Record<string, string>;
  /** The app's .s2i/environment, as its text. */
  s2i?: string;
  /** The build's process env. */
  process?: Record<string, string>;
}

describe('settings', () => {
  let b: TempBuild;
  beforeEach(() => {
    b = new TempBuild();
  });
  afterEach(() => b.cleanup());

  /** The settings as data: lockIndexVariable, a lookup, has a test of its own. */
  type Data = Omit<Settings, 'lockIndexVariable'>;

  function fullSettings(s: Sources): Settings {
    if (s.platform) b.writePlatformEnv(s.platform);
    if (s.s2i !== undefined) b.writeApp({ '.s2i/environment': s.s2i });
    return analyse(b.context({ processEnv: s.process ?? {} })).settings;
  }

  function settings(s: Sources): Data {
    const { lockIndexVariable: _lookup, ...data } = fullSettings(s);
    return data;
  }

  const DEFAULTS: Data = {
    pythonVersion: undefined,
    pythonDistributions: undefined,
    dependencyMirror: undefined,
    download: DEFAULT_DOWNLOAD_OPTIONS,
    keepWholePython: false,
    pipUpgrade: false,
    pipRequirements: undefined,
    unpinnedMaxAgeSeconds: 86400,
    dependencyFile: undefined,
    dependencyGroups: [],
    extras: [],
    pipenvAlias: undefined,
    pipVariables: {},
    appRun: undefined,
    gunicornAppModule: undefined,
    appScript: undefined,
    appFile: undefined,
    gunicornConfig: undefined,
    disableCollectstatic: false,
    gunicornCmdArgs: undefined,
    pipUpgradeVariable: undefined,
    disableSetupPyProcessing: false,
    disablePyprojectTomlProcessing: false,
    appHome: undefined,
    migrateAtStart: false,
    disableMigrate: false,
    enableInitWrapper: false,
  };

  it('defaults when nothing is set, and a 30 s download timeout', () => {
    expect(settings({ process: { PATH: '/usr/bin:/bin', HOME: '/home/cnb' } })).to.deep.equal(DEFAULTS);
    expect(DEFAULTS.download.timeoutSeconds).to.equal(30);
  });

  it('every variable, from platform files ending with a newline: values trimmed, PIP_* values only lose that newline (pip reads them as they are)', () => {
    const platform = {
      BP_PYTHON_VERSION: '3.12\n',
      BP_PYTHON_DISTRIBUTIONS: ' manifests/python.toml\n',
      BP_DEPENDENCY_MIRROR: 'https://mirror.internal/deps\n',
      BP_DOWNLOAD_TIMEOUT: '90\n',
      BP_PYTHON_KEEP_ALL: 'true\n',
      PIP_UPGRADE: 'TRUE\n',
      BP_PIP_REQUIREMENT: 'requirements/base.txt requirements/prod.txt\n',
      BP_PIP_UNPINNED_MAX_AGE: '90m\n',
      PIP_INDEX_URL: 'https://pypi.internal/simple\n',
      PIP_EXTRA_INDEX_URL: 'https://a.internal/simple https://b.internal/simple\n',
      APP_RUN: 'python server.py --port $PORT\n',
      GUNICORN_APP_MODULE: 'myproject.wsgi:app\n',
      APP_SCRIPT: 'bin/start.sh\n',
      APP_FILE: 'server.py\n',
      GUNICORN_CONFIG: 'config/gunicorn.py\n',
      DISABLE_COLLECTSTATIC: '1\n',
      GUNICORN_CMD_ARGS: '-k uvicorn.workers.UvicornWorker\n',
      DISABLE_SETUP_PY_PROCESSING: '1\n',
      DISABLE_PYPROJECT_TOML_PROCESSING: 'true\n',
      APP_HOME: 'project\n',
      BP_DJANGO_MIGRATE_AT_START: 'true\n',
      DISABLE_MIGRATE: 'x\n',
      ENABLE_INIT_WRAPPER: '1\n',
      BP_PYTHON_DEPENDENCY_GROUPS: 'dev, test docs\n',
      BP_PYTHON_EXTRAS: 'postgres\n',
      ENABLE_MICROPIPENV: 'true\n',
    };
    b.writeApp({ 'project/manage.py': '' }); // APP_HOME must be a folder of the app
    expect(settings({ platform })).to.deep.equal({
      pythonVersion: '3.12',
      pythonDistributions: 'manifests/python.toml',
      dependencyMirror: 'https://mirror.internal/deps',
      download: { ...DEFAULT_DOWNLOAD_OPTIONS, timeoutSeconds: 90 },
      keepWholePython: true,
      pipUpgrade: true,
      pipRequirements: ['requirements/base.txt', 'requirements/prod.txt'],
      unpinnedMaxAgeSeconds: 5400,
      dependencyFile: undefined,
      dependencyGroups: ['dev', 'test', 'docs'],
      extras: ['postgres'],
      pipenvAlias: 'ENABLE_MICROPIPENV',
      pipVariables: { PIP_INDEX_URL: 'https://pypi.internal/simple', PIP_EXTRA_INDEX_URL: 'https://a.internal/simple https://b.internal/simple' },
      appRun: 'python server.py --port $PORT',
      gunicornAppModule: { name: 'GUNICORN_APP_MODULE', value: 'myproject.wsgi:app' },
      appScript: 'bin/start.sh',
      appFile: 'server.py',
      gunicornConfig: { name: 'GUNICORN_CONFIG', value: 'config/gunicorn.py' },
      disableCollectstatic: true,
      gunicornCmdArgs: '-k uvicorn.workers.UvicornWorker',
      pipUpgradeVariable: 'PIP_UPGRADE',
      disableSetupPyProcessing: true,
      disablePyprojectTomlProcessing: true,
      appHome: 'project',
      migrateAtStart: true,
      disableMigrate: true,
      enableInitWrapper: true,
    } satisfies Data);
  });

  it('lockIndexVariable reads any user variable, as the lock tools read index credentials: platform env first, a final newline dropped, blanks kept', () => {
    const s = fullSettings({
      platform: { POETRY_HTTP_BASIC_PRIVATE_PASSWORD: 'p@ss word\n', PYPI_HOST: 'pypi.internal' },
      s2i: 'PYPI_HOST=elsewhere\nUV_INDEX_CORP_USERNAME=ci\n',
      process: { EMPTY: '' },
    });
    expect(s.lockIndexVariable('POETRY_HTTP_BASIC_PRIVATE_PASSWORD')).to.equal('p@ss word');
    expect(s.lockIndexVariable('PYPI_HOST')).to.equal('pypi.internal');
    expect(s.lockIndexVariable('UV_INDEX_CORP_USERNAME')).to.equal('ci');
    expect(s.lockIndexVariable('EMPTY')).to.equal('');
    expect(s.lockIndexVariable('UNSET')).to.equal(undefined);
  });

  it('APP_MODULE (OpenShift s2i) is an alias of GUNICORN_APP_MODULE, which wins when both are equal (issue 15)', () => {
    expect(settings({ platform: { APP_MODULE: 'project.wsgi:application\n' } }).gunicornAppModule).to.deep.equal({ name: 'APP_MODULE', value: 'project.wsgi:application' });
    expect(settings({ platform: { APP_MODULE: 'wsgi' }, process: { GUNICORN_APP_MODULE: 'wsgi' } }).gunicornAppModule).to.deep.equal({ name: 'GUNICORN_APP_MODULE', value: 'wsgi' });
  });

  it('APP_MODULE and GUNICORN_APP_MODULE set to different modules (from any sources) stop the build naming both (issue 15)', () => {
    expect(thrownCause(() => settings({ platform: { GUNICORN_APP_MODULE: 'a.wsgi' }, s2i: 'APP_MODULE=b.wsgi\n' }))).to.deep.equal({ type: 'conflicting-app-module', gunicornAppModule: 'a.wsgi', appModule: 'b.wsgi' });
  });

  it('blank values count as unset', () => {
    expect(settings({ platform: { BP_PYTHON_VERSION: ' \n', APP_RUN: '', BP_PIP_REQUIREMENT: '  \t\n', GUNICORN_CONFIG: '\n', APP_HOME: ' \n', DISABLE_MIGRATE: '\n', ENABLE_INIT_WRAPPER: '', ENABLE_PIPENV: '\n', BP_PYTHON_DEPENDENCY_FILE: ' ', BP_PYTHON_EXTRAS: ' , ' } })).to.deep.equal(DEFAULTS);
  });

  describe('dependency input (issue 14)', () => {
    it('BP_PYTHON_DEPENDENCY_FILE: one lockfile, or requirement files space separated', () => {
      expect(settings({ s2i: 'BP_PYTHON_DEPENDENCY_FILE=requirements/base.txt  requirements/prod.txt\n' }).dependencyFile).to.deep.equal(['requirements/base.txt', 'requirements/prod.txt']);
    });

    it('BP_PYTHON_DEPENDENCY_FILE: a lockfile', () => {
      expect(settings({ platform: { BP_PYTHON_DEPENDENCY_FILE: 'uv.lock\n' } }).dependencyFile).to.deep.equal(['uv.lock']);
    });

    it('BP_PYTHON_DEPENDENCY_FILE beside BP_PIP_REQUIREMENT stops the build naming both', () => {
      expect(thrownCause(() => settings({ platform: { BP_PYTHON_DEPENDENCY_FILE: 'uv.lock', BP_PIP_REQUIREMENT: 'requirements.txt' } }))).to.deep.equal({ type: 'conflicting-dependency-settings', names: ['BP_PYTHON_DEPENDENCY_FILE', 'BP_PIP_REQUIREMENT'] });
    });

    it('groups and extras: comma or space separated, empty names dropped', () => {
      expect(settings({ process: { BP_PYTHON_DEPENDENCY_GROUPS: ',dev,,test ', BP_PYTHON_EXTRAS: 'a b' } })).to.deep.include({ dependencyGroups: ['dev', 'test'], extras: ['a', 'b'] });
    });

    it("ENABLE_PIPENV: any value enables it, 'false' too (s2i tests -z)", () => {
      expect(settings({ s2i: 'ENABLE_PIPENV=false\n' }).pipenvAlias).to.equal('ENABLE_PIPENV');
    });

    it('ENABLE_MICROPIPENV alone', () => {
      expect(settings({ process: { ENABLE_MICROPIPENV: '1' } }).pipenvAlias).to.equal('ENABLE_MICROPIPENV');
    });

    it('ENABLE_PIPENV and ENABLE_MICROPIPENV both set stop the build, as s2i does', () => {
      expect(thrownCause(() => settings({ platform: { ENABLE_PIPENV: '1' }, s2i: 'ENABLE_MICROPIPENV=1\n' }))).to.deep.equal({ type: 'conflicting-dependency-settings', names: ['ENABLE_PIPENV', 'ENABLE_MICROPIPENV'] });
    });

    it('ENABLE_PIPENV and ENABLE_MICROPIPENV in .s2i/environment stay out of the image: build-only', () => {
      expect(['ENABLE_PIPENV', 'ENABLE_MICROPIPENV', 'BP_PYTHON_DEPENDENCY_FILE'].map(isBuildOnly)).to.deep.equal([true, true, true]);
    });
  });

  describe('flags (PIP_UPGRADE, DISABLE_COLLECTSTATIC, BP_PYTHON_KEEP_ALL)', () => {
    for (const value of ['TRUE', 'true', 'True', '1', 'yes', 'YES', ' TRUE\n']) {
      it(`${JSON.stringify(value)} is on`, () => {
        expect(settings({ platform: { PIP_UPGRADE: value, DISABLE_COLLECTSTATIC: value, BP_PYTHON_KEEP_ALL: value } })).to.include({ pipUpgrade: true, disableCollectstatic: true, keepWholePython: true });
      });
    }
    for (const value of ['FALSE', 'false', '0', 'no', 'off', 'on', 'y', 'enabled', '2', '01', 'true!', 'TRUE 1', '']) {
      it(`${JSON.stringify(value)} is off`, () => {
        expect(settings({ platform: { PIP_UPGRADE: value, DISABLE_COLLECTSTATIC: value, BP_PYTHON_KEEP_ALL: value } })).to.include({ pipUpgrade: false, disableCollectstatic: false, keepWholePython: false });
      });
    }
  });

  describe("OpenShift s2i's build settings (issue 14, item 9): any value turns them on, as assemble's [[ -n ]] tests", () => {
    for (const value of ['1', 'TRUE', 'true', 'yes', 'false', '0', 'no', 'anything', ' x \n']) {
      it(`${JSON.stringify(value)} is on`, () => {
        expect(settings({ platform: { UPGRADE_PIP_TO_LATEST: value, DISABLE_SETUP_PY_PROCESSING: value, DISABLE_PYPROJECT_TOML_PROCESSING: value } })).to.include({
          pipUpgrade: true,
          pipUpgradeVariable: 'UPGRADE_PIP_TO_LATEST',
          disableSetupPyProcessing: true,
          disablePyprojectTomlProcessing: true,
        });
      });
    }

    it('unset or blank is off', () => {
      expect(settings({ platform: { UPGRADE_PIP_TO_LATEST: '', DISABLE_SETUP_PY_PROCESSING: ' \n' } })).to.deep.equal(DEFAULTS);
    });

    it('UPGRADE_PIP_TO_LATEST is an alias of PIP_UPGRADE: either turns the upgrade on, and PIP_UPGRADE is named when both do', () => {
      expect(settings({ s2i: 'UPGRADE_PIP_TO_LATEST=1\n' })).to.include({ pipUpgrade: true, pipUpgradeVariable: 'UPGRADE_PIP_TO_LATEST' });
      expect(settings({ platform: { PIP_UPGRADE: 'false' }, process: { UPGRADE_PIP_TO_LATEST: '1' } })).to.include({ pipUpgrade: true, pipUpgradeVariable: 'UPGRADE_PIP_TO_LATEST' });
      expect(settings({ platform: { PIP_UPGRADE: 'TRUE', UPGRADE_PIP_TO_LATEST: '1' } })).to.include({ pipUpgrade: true, pipUpgradeVariable: 'PIP_UPGRADE' });
    });

    it('none of them is a pip variable', () => {
      expect(settings({ platform: { UPGRADE_PIP_TO_LATEST: '1', DISABLE_SETUP_PY_PROCESSING: '1', DISABLE_PYPROJECT_TOML_PROCESSING: '1' } }).pipVariables).to.deep.equal({});
    });
  });

  describe('BP_DOWNLOAD_TIMEOUT (issue 13, item 10d)', () => {
    const timeout = (v: string): number => settings({ platform: { BP_DOWNLOAD_TIMEOUT: v } }).download.timeoutSeconds;

    it('a number of seconds above 0 and at most 600, decimals too (surrounding whitespace ignored)', () => {
      expect(timeout('1')).to.equal(1);
      expect(timeout('45\n')).to.equal(45);
      expect(timeout(' 2.5 ')).to.equal(2.5);
      expect(timeout('.5')).to.equal(0.5);
      expect(timeout('600')).to.equal(600);
      expect(timeout('0030')).to.equal(30);
    });

    it('anything else stops the build, naming the variable, the value and the accepted range', () => {
      for (const value of ['abc', '0', '0.0', '-5', '1e400', '1e2', '', '  \n', '600.5', '601', '0x10', 'Infinity', 'NaN', '30s', '+30', '3 0', '9'.repeat(400)]) {
        const cause = thrownCause(() => timeout(value));
        expect(cause, JSON.stringify(value)).to.deep.equal({ type: 'invalid-download-timeout', value: value.trim(), max: 600 });
        const m = renderCause(cause);
        expect(m.title).to.equal('Invalid BP_DOWNLOAD_TIMEOUT');
        expect(m.body).to.contain(value.trim() === '' ? 'BP_DOWNLOAD_TIMEOUT is set but empty' : `BP_DOWNLOAD_TIMEOUT is '${value.slice(0, 100)}`); // long values are cut
        expect(m.body).to.contain('not a number of seconds above 0 and at most 600');
      }
    });
  });

  describe('BP_PIP_UNPINNED_MAX_AGE (issue 14, item 8)', () => {
    const age = (v: string): number => settings({ platform: { BP_PIP_UNPINNED_MAX_AGE: v } }).unpinnedMaxAgeSeconds;

    it('a number and a unit (s, m, h, d), decimals too, or 0 (unset: one day, see the defaults)', () => {
      expect(age('30s')).to.equal(30);
      expect(age('90m\n')).to.equal(5400);
      expect(age(' 24h ')).to.equal(86400);
      expect(age('1.5h')).to.equal(5400);
      expect(age('7d')).to.equal(604800);
      expect(age('0')).to.equal(0);
      expect(age('0s')).to.equal(0);
    });

    it('anything else stops the build, naming the variable and the value', () => {
      for (const value of ['24', '1e3h', '-1h', '+1h', '1 h', '1H', '1w', 'h', '', 'forever', '24hours']) {
        const cause = thrownCause(() => age(value));
        expect(cause, JSON.stringify(value)).to.deep.equal({ type: 'invalid-unpinned-max-age', value: value.trim() });
        expect(renderCause(cause).title).to.equal('Invalid BP_PIP_UNPINNED_MAX_AGE');
      }
    });
  });

  it('BP_PIP_REQUIREMENT: split on any whitespace, order kept', () => {
    expect(settings({ process: { BP_PIP_REQUIREMENT: 'a.txt' } }).pipRequirements).to.deep.equal(['a.txt']);
    expect(settings({ platform: { BP_PIP_REQUIREMENT: '  b.txt\t a.txt\n\nreqs/c.txt  \n' } }).pipRequirements).to.deep.equal(['b.txt', 'a.txt', 'reqs/c.txt']);
  });

  it('GUNICORN_CONFIG wins over APP_CONFIG (the seed name), which is used alone or when GUNICORN_CONFIG is blank', () => {
    expect(settings({ process: { GUNICORN_CONFIG: 'g.py', APP_CONFIG: 'a.py' } }).gunicornConfig).to.deep.equal({ name: 'GUNICORN_CONFIG', value: 'g.py' });
    expect(settings({ s2i: 'APP_CONFIG=a.py\n' }).gunicornConfig).to.deep.equal({ name: 'APP_CONFIG', value: 'a.py' });
    expect(settings({ platform: { GUNICORN_CONFIG: ' \n', APP_CONFIG: 'a.py\n' } }).gunicornConfig).to.deep.equal({ name: 'APP_CONFIG', value: 'a.py' });
  });

  it("PIP_*: every PIP_ variable of every source, but PIP_UPGRADE (a buildpack flag, not pip's)", () => {
    const s = settings({
      platform: { PIP_INDEX_URL: 'https://user:token@pypi.internal/simple\n', PIP_UPGRADE: 'TRUE' },
      s2i: 'PIP_DEFAULT_TIMEOUT=60\n',
      process: { PIP_TRUSTED_HOST: 'pypi.internal', PIPX_HOME: '/x', pip_index_url: 'lower', PYTHON_PIP: 'no', PATH: '/usr/bin' },
    });
    expect(s.pipVariables).to.deep.equal({
      PIP_INDEX_URL: 'https://user:token@pypi.internal/simple',
      PIP_DEFAULT_TIMEOUT: '60',
      PIP_TRUSTED_HOST: 'pypi.internal',
    });
    expect(s.pipUpgrade).to.equal(true);
  });

  describe('which source wins: platform env files, then .s2i/environment, then the process env', () => {
    it('for values', () => {
      const s = settings({
        platform: { BP_PYTHON_VERSION: '3.13\n' },
        s2i: 'BP_PYTHON_VERSION=3.12\nAPP_RUN=python from-s2i.py\n',
        process: { BP_PYTHON_VERSION: '3.11', APP_RUN: 'python from-process.py', GUNICORN_APP_MODULE: 'from_process' },
      });
      expect(s).to.deep.include({ pythonVersion: '3.13', appRun: 'python from-s2i.py', gunicornAppModule: { name: 'GUNICORN_APP_MODULE', value: 'from_process' } });
    });

    it('for flags: a platform "false" turns off what .s2i/environment turns on', () => {
      expect(settings({ platform: { PIP_UPGRADE: 'false' }, s2i: 'PIP_UPGRADE=TRUE\n' }).pipUpgrade).to.equal(false);
      expect(settings({ s2i: 'DISABLE_COLLECTSTATIC=0\n', process: { DISABLE_COLLECTSTATIC: '1' } }).disableCollectstatic).to.equal(false);
      expect(settings({ s2i: 'DISABLE_COLLECTSTATIC=1\n', process: { DISABLE_COLLECTSTATIC: '0' } }).disableCollectstatic).to.equal(true);
    });

    it('for PIP_* variables', () => {
      const s = settings({
        platform: { PIP_INDEX_URL: 'https://platform/simple' },
        s2i: 'PIP_INDEX_URL=https://s2i/simple\nPIP_EXTRA_INDEX_URL=https://s2i-extra/simple\n',
        process: { PIP_INDEX_URL: 'https://process/simple', PIP_EXTRA_INDEX_URL: 'https://process-extra/simple' },
      });
      expect(s.pipVariables).to.deep.equal({ PIP_INDEX_URL: 'https://platform/simple', PIP_EXTRA_INDEX_URL: 'https://s2i-extra/simple' });
    });

    it('a blank value on the platform clears the variable: the app and process values are not used', () => {
      expect(settings({ platform: { BP_PYTHON_VERSION: '' }, s2i: 'BP_PYTHON_VERSION=3.12\n', process: { BP_PYTHON_VERSION: '3.11' } }).pythonVersion).to.equal(undefined);
    });
  });
});
