// Tests for layers/gunicorn.conf.py, the fallback Gunicorn config. Gunicorn is not needed: the file
// is executed in a plain dict namespace, as Gunicorn does, and the resulting settings are printed as
// JSON. It runs on the oldest (2.7) and newer interpreters, since apps on any of them get this file.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const CONFIG = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'layers', 'gunicorn.conf.py');
const PYENV = '/root/.pyenv/versions';

/** Interpreters that must be present, then ones used when present. */
const REQUIRED = [`${PYENV}/2.7.18/bin/python2.7`, `${PYENV}/3.12.1/bin/python3`];
const OPTIONAL = [`${PYENV}/3.6.15/bin/python3`, `${PYENV}/3.13.0/bin/python3`];
const PYTHONS = [...REQUIRED, ...OPTIONAL.filter((p) => existsSync(p))];

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

function load(python: string, env: Record<string, string> = {}): Settings {
  const result = spawnSync(python, ['-E', '-s', '-c', LOADER, CONFIG], {
    env: { PATH: '/usr/bin:/bin', PIP_CONFIG_FILE: '/dev/null', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.error) throw result.error;
  expect(result.stderr, 'stderr').to.equal('');
  expect(result.status, 'exit status').to.equal(0);
  return JSON.parse(result.stdout) as Settings;
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
  for (const python of PYTHONS) {
    describe(python.replace(`${PYENV}/`, ''), () => {
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

      it('WEB_CONCURRENCY=5 gives 5 workers', () => {
        expect(load(python, { WEB_CONCURRENCY: '5' })).to.deep.equal({ ...DEFAULTS, workers: 5 });
        expect(load(python, { WEB_CONCURRENCY: ' 12\n' }).workers).to.equal(12);
      });

      it('an invalid WEB_CONCURRENCY falls back to 2 workers', () => {
        for (const WEB_CONCURRENCY of ['', 'four', '0', '-3', '2.5', '1e3']) {
          expect(load(python, { WEB_CONCURRENCY }).workers, `WEB_CONCURRENCY=${WEB_CONCURRENCY}`).to.equal(2);
        }
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
});
