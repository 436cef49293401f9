/**
 * Which requirements pin an exact version (src/python/pinning.ts), and how old an unpinned install may get
 * (issue 14, item 8): the line rules, includes and constraint files, and the age decision.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatAge, pinsExactly, unpinnedExpiry, unpinnedInputs, unpinnedRequirements } from '../../src/python/pinning.js';

describe('pinning: one requirement', () => {
  const pinned: Array<[string, string[]]> = [
    ['flask==3.1.0', []],
    ['Flask == 3.1.0', []],
    ['flask[async]==3.1.0', []],
    ['flask===3.1.0', []],
    ['flask>=3,==3.1.0', []],
    ['flask==3.1.0 ; python_version >= "3.9"', []],
    ['flask', ['--hash=sha256:00ff']],
    ['flask>=3', ['--hash', 'sha256:00ff']],
    ['idna @ https://files.example/idna-3.10-py3-none-any.whl#sha256=00ff', []],
    ['https://files.example/idna-3.10.tar.gz#sha256=00ff', []],
  ];
  const unpinned: Array<[string, string[]]> = [
    ['flask', []],
    ['flask>=3.1', []],
    ['flask~=3.1', []],
    ['flask==3.1.*', []],
    ['flask!=3.1.0', []],
    ['flask<=3.1.0', []],
    ['flask ; python_version >= "3.9" and extra == "x==1"', []],
    ['idna @ https://files.example/idna-3.10-py3-none-any.whl', []],
    ['git+https://github.com/pallets/flask@3.1.0', []],
    ['./wheels/app-1.0-py3-none-any.whl', []],
    ['.', []],
  ];
  for (const [req, options] of pinned) it(`${JSON.stringify([req, ...options].join(' '))} is pinned`, () => expect(pinsExactly(req, options)).to.equal(true));
  for (const [req, options] of unpinned) it(`${JSON.stringify(req)} is not`, () => expect(pinsExactly(req, options)).to.equal(false));
});

describe('pinning: requirement files', () => {
  let app: string;
  beforeEach(() => {
    app = fs.mkdtempSync(path.join(os.tmpdir(), 'pinning-'));
  });
  afterEach(() => fs.rmSync(app, { recursive: true, force: true }));
  const write = (files: Record<string, string>): void => {
    for (const [rel, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(app, rel)), { recursive: true });
      fs.writeFileSync(path.join(app, rel), text);
    }
  };

  it('lists unpinned lines with their file and line, following -r includes (relative to the including file), skipping -c files and options', () => {
    write({
      'requirements.txt': '# comment\n-i https://pypi.internal/simple\nflask==3.1.0\n-r reqs/base.txt\n-c constraints.txt\ngunicorn \\\n  >=22\n',
      'reqs/base.txt': 'six\n--requirement more.txt\n',
      'reqs/more.txt': 'idna==3.10 \\\n    --hash=sha256:00ff\n-e ./lib\n',
      'constraints.txt': 'werkzeug>=3\n',
    });
    expect(unpinnedRequirements(app, ['requirements.txt'])).to.deep.equal([
      { file: 'reqs/base.txt', line: 1, text: 'six' },
      { file: 'reqs/more.txt', line: 3, text: '-e ./lib' },
      { file: 'requirements.txt', line: 6, text: 'gunicorn   >=22' },
    ]);
  });

  it('reads a file once even when included twice', () => {
    write({ 'requirements.txt': '-r a.txt\n-r a.txt\n', 'a.txt': 'flask\n' });
    expect(unpinnedRequirements(app, ['requirements.txt'])).to.deep.equal([{ file: 'a.txt', line: 1, text: 'flask' }]);
  });

  it("PIP_REQUIREMENT's files count; a project counts as unpinned", () => {
    write({ 'requirements.txt': 'flask==3.1.0\n', 'extra.txt': 'six\n' });
    expect(unpinnedInputs(app, { kind: 'requirements', files: ['requirements.txt'] }, { PIP_REQUIREMENT: 'extra.txt' })).to.deep.equal([{ file: 'extra.txt', line: 1, text: 'six' }]);
    expect(unpinnedInputs(app, { kind: 'project', marker: 'pyproject.toml' }, {})).to.deep.equal([{ file: 'pyproject.toml', line: undefined, text: "the app's own dependencies, which pip resolves from its metadata" }]);
    expect(unpinnedInputs(app, { kind: 'requirements', files: ['requirements.txt'] }, {})).to.deep.equal([]);
  });
});

describe('pinning: the age of an unpinned install', () => {
  const T = Date.UTC(2026, 0, 1);
  const at = new Date(T).toISOString();
  it('younger than the limit: reused; at or past it: resolved again, saying how old', () => {
    expect(unpinnedExpiry(at, T + 86_399_000, 86_400)).to.equal(undefined);
    expect(unpinnedExpiry(at, T + 86_400_000, 86_400)).to.match(/installed 24h ago, not less than BP_PIP_UNPINNED_MAX_AGE \(24h\)/);
    expect(unpinnedExpiry(at, T, 0)).to.match(/installed 0s ago, not less than BP_PIP_UNPINNED_MAX_AGE \(0: every build\)/);
  });
  it('an unknown or future install time counts as too old', () => {
    expect(unpinnedExpiry(undefined, T, 86_400)).to.match(/unknown/);
    expect(unpinnedExpiry('yesterday', T, 86_400)).to.match(/unknown/);
    expect(unpinnedExpiry(at, T - 1, 86_400)).to.match(/unknown/);
  });
  it('formats ages for the log', () => {
    expect([0, 59, 119, 120, 5400, 7199, 7200, 86_400, 172_799, 172_800, 183_600, 604_800].map(formatAge)).to.deep.equal(['0s', '59s', '119s', '2m', '90m', '120m', '2h', '24h', '48h', '2d', '2d 3h', '7d']);
  });
});
