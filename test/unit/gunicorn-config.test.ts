// Tests for layers/gunicorn.conf.py, the fallback Gunicorn config. Gunicorn is not needed: the file
// is executed in a plain dict namespace, as Gunicorn does, and the resulting settings are printed as
// JSON. It runs on the oldest (2.7) and newer interpreters, since apps on any of them get this file.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { pyenvPython } from '../helpers/pyenv.js';

const LAYERS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'layers');
const CONFIG = join(LAYERS, 'gunicorn.conf.py');
const EXEC_D = join(LAYERS, 'exec.d', 'web-concurrency');

/**
 * The pyenv Pythons the file is run on, each required (a missing one fails its tests): the oldest and
 * newest it supports, the oldest Python 3 and a current one.
 */
const PYTHONS = ['2.7', '3.6', '3.12', '3.13'];

// Runs the config like Gunicorn's loader and prints its public scalar names as sorted JSON.
// Python 2.7 syntax: `exec(code, ns)` is the exec statement with a tuple there.
const LOADER = `
import json, sys
path = sys.argv[1]
ns = {"__builtins__": __builtins__, "__name__": "__config__", "__file__": path}
f = open(path)
try:
    src = f.read()
finally:
    f.close()
exec(compile(src, path, "exec"), ns)
out = dict((k, v) for k, v in ns.items()
           if not k.startswith("_") and isinstance(v, (bool, int, float, str)))
sys.stdout.write(json.dumps(out, sort_keys=True))
`;

type Settings = Record<string, string | number | boolean>;

/** Loads the config under `python` with `env`; returns the settings and what it wrote on stderr. */
function loadWithStderr(python: string, env: Record<string, string> = {}): { settings: Settings; stderr: string } {
  const result = spawnSync(python, ['-E', '-s', '-c', LOADER, CONFIG], {
    env: { PATH: '/usr/bin:/bin', PIP_CONFIG_FILE: '/dev/null', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.error) throw result.error;
  expect(result.status, `exit status; stderr: ${result.stderr}`).to.equal(0);
  return { settings: JSON.parse(result.stdout) as Settings, stderr: result.stderr };
}

/** Loads the config, which must write nothing on stderr. */
function load(python: string, env: Record<string, string> = {}): Settings {
  const { settings, stderr } = loadWithStderr(python, env);
  expect(stderr, 'stderr').to.equal('');
  return settings;
}

/** The one stderr line for a WEB_CONCURRENCY that is replaced, showing it as `shown`. */
const replacedLine = (shown: string): string => `WEB_CONCURRENCY='${shown}' is not a whole number from 1 to 1000; using 2\n`;

/** What the exec.d program does with a user's WEB_CONCURRENCY: null when it leaves it alone, else the value it sets. */
function execDValue(value: string): string | null {
  const r = spawnSync('/bin/sh', [EXEC_D], {
    env: { PATH: '/usr/bin:/bin', WEB_CONCURRENCY: value, AUSNIMBUS_MEMINFO: '/nonexistent' },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    timeout: 10_000,
  });
  if (r.error) throw r.error;
  expect(r.status).to.equal(0);
  const fd3 = r.output[3]?.toString() ?? '';
  return fd3 === '' ? null : (/^WEB_CONCURRENCY = "(\d+)"\n$/.exec(fd3)?.[1] ?? `unexpected ${JSON.stringify(fd3)}`);
}

function shmWritable(): boolean {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

const DEFAULTS: Settings = {
  accesslog: '-',
  bind: '0.0.0.0:8080',
  errorlog: '-',
  forwarded_allow_ips: '*',
  graceful_timeout: 25,
  loglevel: 'info',
  reload: false,
  workers: 2,
  ...(shmWritable() ? { worker_tmp_dir: '/dev/shm' } : {}),
};

describe('layers/gunicorn.conf.py', () => {
  for (const spec of PYTHONS) {
    describe(`Python ${spec}`, () => {
      let python: string;
      before(() => {
        python = pyenvPython(spec).python;
      });

      it('defaults', () => {
        expect(load(python)).to.deep.equal(DEFAULTS);
      });

      it('PORT=9090 binds 0.0.0.0:9090', () => {
        expect(load(python, { PORT: '9090' })).to.deep.equal({ ...DEFAULTS, bind: '0.0.0.0:9090' });
      });

      it('an invalid PORT falls back to 8080', () => {
        for (const PORT of ['', 'http', '0', '-1', '70000', '80 80']) {
          expect(load(python, { PORT }).bind, `PORT=${PORT}`).to.equal('0.0.0.0:8080');
        }
      });

      it('WEB_CONCURRENCY=5 gives 5 workers; blanks around it and leading zeros are fine, as for int()', () => {
        expect(load(python, { WEB_CONCURRENCY: '5' })).to.deep.equal({ ...DEFAULTS, workers: 5 });
        expect(load(python, { WEB_CONCURRENCY: ' 12\n' }).workers).to.equal(12);
        expect(load(python, { WEB_CONCURRENCY: '\t007 ' }).workers).to.equal(7);
        expect(load(python, { WEB_CONCURRENCY: '1' }).workers).to.equal(1);
        expect(load(python, { WEB_CONCURRENCY: '1000' }).workers).to.equal(1000);
      });

      it('an empty WEB_CONCURRENCY gives 2 workers silently (exec.d sets it from memory at every start)', () => {
        expect(load(python, { WEB_CONCURRENCY: '' }).workers).to.equal(2);
      });

      it('an invalid WEB_CONCURRENCY falls back to 2 workers, with one line on stderr saying why', () => {
        const invalid = ['four', '0', '0000', '-3', '2.5', '1e3', '1001', '10000', '+5', '1_0', '0x10', ' ', '4 5', '9'.repeat(5000)];
        for (const WEB_CONCURRENCY of invalid) {
          const shown = WEB_CONCURRENCY.length > 40 ? `${WEB_CONCURRENCY.slice(0, 40)}...` : WEB_CONCURRENCY;
          const { settings, stderr } = loadWithStderr(python, { WEB_CONCURRENCY });
          expect({ workers: settings.workers, stderr }, `WEB_CONCURRENCY=${shown}`).to.deep.equal({ workers: 2, stderr: replacedLine(shown) });
        }
      });

      it('shows unprintable characters of an invalid WEB_CONCURRENCY as ?, so the message is one line', () => {
        expect(loadWithStderr(python, { WEB_CONCURRENCY: 'a\nb\u0001c' }).stderr).to.equal(replacedLine('a?b?c'));
      });

      it('FORWARDED_ALLOW_IPS=10.0.0.1 is passed through', () => {
        expect(load(python, { FORWARDED_ALLOW_IPS: '10.0.0.1' })).to.deep.equal({
          ...DEFAULTS,
          forwarded_allow_ips: '10.0.0.1',
        });
        expect(load(python, { FORWARDED_ALLOW_IPS: '' }).forwarded_allow_ips).to.equal('*');
      });

      for (const DEBUG of ['TRUE', 'true', '1', 'True']) {
        it(`DEBUG=${DEBUG} turns on reload and debug logging`, () => {
          expect(load(python, { DEBUG })).to.deep.equal({ ...DEFAULTS, reload: true, loglevel: 'debug' });
        });
      }

      for (const DEBUG of ['false', 'FALSE', '0', '', 'yes-please']) {
        it(`DEBUG=${JSON.stringify(DEBUG)} keeps the production defaults`, () => {
          expect(load(python, { DEBUG })).to.deep.equal(DEFAULTS);
        });
      }

      it('turns the control socket off only where Gunicorn could not create it', () => {
        const home = mkdtempSync(join(tmpdir(), 'gunicorn-home-'));
        try {
          expect(load(python, { HOME: home })).to.deep.equal(DEFAULTS);
          expect(load(python, { HOME: join(home, 'not-yet', 'created') })).to.deep.equal(DEFAULTS);
          expect(load(python, { HOME: '/nonexistent', XDG_RUNTIME_DIR: home })).to.deep.equal(DEFAULTS);
          writeFileSync(join(home, 'file'), '');
          for (const HOME of [join(home, 'file'), join(home, 'file', 'below'), 'relative/home']) {
            expect(load(python, { HOME }), `HOME=${HOME}`).to.deep.equal({ ...DEFAULTS, control_socket_disable: true });
          }
        } finally {
          rmSync(home, { recursive: true, force: true });
        }
      });

      it('combines all variables', () => {
        const env = { PORT: '5000', WEB_CONCURRENCY: '3', FORWARDED_ALLOW_IPS: '10.0.0.1,10.0.0.2', DEBUG: '1' };
        expect(load(python, env)).to.deep.equal({
          ...DEFAULTS,
          bind: '0.0.0.0:5000',
          workers: 3,
          forwarded_allow_ips: '10.0.0.1,10.0.0.2',
          reload: true,
          loglevel: 'debug',
        });
      });
    });
  }

  // Gunicorn reads WEB_CONCURRENCY with int() as it loads its settings (its `workers` default,
  // https://docs.gunicorn.org/en/stable/settings.html#workers), before this file runs. Whatever exec.d leaves
  // alone must therefore parse, to the number this file uses; whatever it replaces, this file replaces too.
  it('agrees with the exec.d program and with int() on every WEB_CONCURRENCY (Python 3.12)', () => {
    const python = pyenvPython('3.12').python;
    const values = ['1', '7', '1000', ' 12\n', '\t007 ', '0001000', 'abc', '-1', '0', '1e9', '2.5', '1001', '+5', '1_0', '0x10', ' ', '\t\n', '4 5', '\u0663'];
    const seen = values.map((value) => {
      const execD = execDValue(value);
      const { settings } = loadWithStderr(python, { WEB_CONCURRENCY: value });
      const parsed = spawnSync(python, ['-E', '-c', 'import os; print(int(os.environ["WEB_CONCURRENCY"]))'], { env: { WEB_CONCURRENCY: value }, encoding: 'utf8' });
      return { value, execD, workers: settings.workers, int: parsed.status === 0 ? Number(parsed.stdout.trim()) : 'error' };
    });
    for (const s of seen) {
      if (s.execD === null) expect(s, 'left alone by exec.d').to.deep.include({ workers: s.int });
      else expect(s, 'replaced by exec.d').to.deep.include({ execD: '2', workers: 2 });
    }
    // Both kinds occur (the list is not all one or the other).
    expect(seen.filter((s) => s.execD === null).map((s) => s.value)).to.deep.equal(values.slice(0, 6));
  });
});
