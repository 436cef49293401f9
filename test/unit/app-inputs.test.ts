import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { collectRequirementInputs, hashRequirementFiles, logicalLines, parseLine } from '../../src/python/requirements.js';
import { localInputsKey } from '../../src/python/local-inputs.js';
import { parseS2iEnvironment } from '../../src/s2i/environment.js';
import { planStart, setupPyName, type StartInputs } from '../../src/start/web-process.js';
import { maskSecrets } from '../../src/secrets.js';
import { thrownCause } from '../fakes/thrown.js';

function appWith(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'app-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

describe('requirement inputs', () => {
  it('joins continuations and drops comments', () => {
    expect(logicalLines('flask==3.0 \\\n  --hash=sha256:x # pinned\n# comment\n\ngunicorn\n')).to.deep.equal(['flask==3.0   --hash=sha256:x', 'gunicorn']);
  });

  it('recognises includes and local projects', () => {
    expect(parseLine('-r base.txt')).to.deep.equal([{ kind: 'include', file: 'base.txt', constraint: false }]);
    expect(parseLine('--constraint=c.txt')).to.deep.equal([{ kind: 'include', file: 'c.txt', constraint: true }]);
    expect(parseLine('-e .')).to.deep.equal([{ kind: 'path', target: '.', editable: true }]);
    expect(parseLine('./libs/util')).to.deep.equal([{ kind: 'path', target: './libs/util', editable: false }]);
    expect(parseLine('flask>=3')).to.deep.equal([]);
    expect(parseLine('-e git+https://x/y.git#egg=y')).to.deep.equal([]);
  });

  it('follows -r and -c includes and changes the key when an included file or local project changes', () => {
    const app = appWith({ 'requirements.txt': '-r reqs/base.txt\n-e .\n./libs/util\n', 'reqs/base.txt': '-c constraints.txt\nflask\n', 'reqs/constraints.txt': 'flask<4\n', 'setup.py': 'setup(name="x")', 'libs/util/setup.py': 'u', 'libs/util/util.py': 'v1', 'app.py': 'code' });
    const inputs = collectRequirementInputs(app, ['requirements.txt']);
    expect(inputs.files).to.deep.equal(['requirements.txt', 'reqs/base.txt', 'reqs/constraints.txt']);
    expect(inputs.local).to.deep.equal([{ kind: 'path', path: '.', editable: true }, { kind: 'path', path: 'libs/util', editable: false }]);
    const key = (): string => JSON.stringify([hashRequirementFiles(app, inputs.files), localInputsKey(app, inputs.local)]);
    const before = key();
    fs.writeFileSync(path.join(app, 'app.py'), 'editable code changes do not count');
    expect(key()).to.equal(before);
    fs.writeFileSync(path.join(app, 'reqs/constraints.txt'), 'flask<3\n');
    const afterConstraint = key();
    expect(afterConstraint).to.not.equal(before);
    fs.writeFileSync(path.join(app, 'libs/util/util.py'), 'v2');
    expect(key()).to.not.equal(afterConstraint);
  });

  it('names a missing included file', () => {
    const app = appWith({ 'requirements.txt': '-r missing.txt\n' });
    expect(thrownCause(() => collectRequirementInputs(app, ['requirements.txt']))).to.deep.equal({ type: 'missing-requirement-file', file: 'missing.txt', from: 'requirements.txt' });
  });
});

describe('.s2i/environment', () => {
  it('reads KEY=VALUE lines with comments and blanks, keeping values verbatim', () => {
    expect(parseS2iEnvironment('# c\n\nAPP_RUN=python app.py --x=1\nEMPTY=\r\nQUOTED="a b"\n')).to.deep.equal({ APP_RUN: 'python app.py --x=1', EMPTY: '', QUOTED: '"a b"' });
  });
  it('stops at a malformed line with its number', () => {
    expect(thrownCause(() => parseS2iEnvironment('A=1\nthis is wrong\n'))).to.deep.equal({ type: 's2i-environment-malformed', line: 2, text: 'this is wrong' });
    expect(thrownCause(() => parseS2iEnvironment('=x'))).to.deep.equal({ type: 's2i-environment-malformed', line: 1, text: '=x' });
    expect(thrownCause(() => parseS2iEnvironment('CNB_X=1'))).to.deep.equal({ type: 's2i-environment-reserved', line: 1, key: 'CNB_X' });
  });
});

describe('start command', () => {
  const base = (appDir: string, over: Partial<StartInputs> = {}): StartInputs => ({
    appDir, appRun: undefined, s2iRun: undefined, gunicorn: undefined, gunicornAppModule: undefined,
    userGunicornConfig: undefined, fallbackGunicornConfig: '/layers/g/gunicorn.conf.py', python: '/layers/p/bin/python', ...over,
  });

  it('follows the seed order: APP_RUN, gunicorn with wsgi.py, app.py', () => {
    const app = appWith({ 'wsgi.py': '', 'app.py': '' });
    const runPlan = planStart(base(app, { appRun: 'python serve.py $PORT', gunicorn: '/g' }));
    expect(runPlan.rule).to.equal('APP_RUN');
    expect(runPlan.processes[0]).to.include({ type: 'web', default: true });
    expect(runPlan.processes[0]?.command).to.deep.equal(['/bin/sh', '-c', 'exec python serve.py $PORT']); // see app-run.test.ts
    expect(runPlan.processes.map((p) => p.type)).to.deep.equal(['web', 'gunicorn', 'python']);
    const g = planStart(base(app, { gunicorn: '/d/bin/gunicorn' }));
    expect(g.rule).to.equal('gunicorn');
    expect(g.processes[0]?.command).to.deep.equal(['/d/bin/gunicorn', '--config', '/layers/g/gunicorn.conf.py']);
    expect(g.processes[0]?.args).to.deep.equal(['wsgi']);
    expect(planStart(base(app)).rule).to.equal('app.py');
  });

  it('takes the module from GUNICORN_APP_MODULE, then setup.py', () => {
    const app = appWith({ 'setup.py': "setup(\n  name='my-service',\n)" });
    expect(setupPyName(app)).to.equal('my_service');
    expect(planStart(base(app, { gunicorn: '/g' })).processes[0]?.args).to.deep.equal(['my_service']);
    expect(planStart(base(app, { gunicorn: '/g', gunicornAppModule: 'pkg.web:app', userGunicornConfig: '/w/conf.py' })).processes[0]).to.deep.include({ command: ['/g', '--config', '/w/conf.py'], args: ['pkg.web:app'] });
  });

  it("fails with the seed's message when nothing can start the app", () => {
    expect(thrownCause(() => planStart(base(appWith({ 'requirements.txt': '' }))))).to.deep.equal({ type: 'dont-know-how-to-run', hasGunicorn: false });
  });
});

describe('secrets', () => {
  it('masks the user-info of every URL', () => {
    expect(maskSecrets('Looking in indexes: http://user:s3cr3t@127.0.0.1:8080/simple and https://tok@x.y/z')).to.equal('Looking in indexes: http://****@127.0.0.1:8080/simple and https://****@x.y/z');
    expect(maskSecrets('no url here')).to.equal('no url here');
  });
});
