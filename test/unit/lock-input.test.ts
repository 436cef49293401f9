/**
 * src/lock/input.ts: which dependency input a build installs (issue 14, item 1), on app dirs with fake readers
 * that record what they were asked to read.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { chooseDependencyInput, lockToolOf, type DependencyInput } from '../../src/lock/input.js';
import type { LockTool } from '../../src/lock/model.js';
import type { LockReader } from '../../src/lock/readers.js';
import type { Settings } from '../../src/settings.js';
import { fakeLock } from '../fakes/lockfile.js';
import { thrownCause } from '../fakes/thrown.js';

const NONE: Pick<Settings, 'dependencyFile' | 'pipRequirements' | 'pipenvAlias'> = { dependencyFile: undefined, pipRequirements: undefined, pipenvAlias: undefined };

/** Readers for every tool: each returns a fake lock naming the tool and file it read. */
const READERS: Record<LockTool, LockReader> = {
  pylock: (_, file) => fakeLock({ tool: 'pylock', file, packages: [] }),
  uv: (_, file) => fakeLock({ tool: 'uv', file, packages: [] }),
  poetry: (_, file) => fakeLock({ tool: 'poetry', file, packages: [] }),
  pipenv: (_, file) => fakeLock({ tool: 'pipenv', file, packages: [] }),
};

describe('lock: the dependency input', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'input-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function choose(files: string[], settings: Partial<Settings> = {}, readers: Partial<Record<LockTool, LockReader>> = READERS): DependencyInput {
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      fs.writeFileSync(path.join(dir, f), f === 'setup.cfg' ? '[metadata]\nname = x\n' : '');
    }
    return chooseDependencyInput(dir, { ...NONE, ...settings } as Settings, readers);
  }
  const chosen = (i: DependencyInput): string => (i.kind === 'lock' ? `${i.lock.tool}:${i.lock.file}` : JSON.stringify(i.plan));

  it('the order: pylock.ausnimbus.toml, pylock.toml, uv.lock, poetry.lock, Pipfile.lock, then requirements.txt', () => {
    expect(chosen(choose(['pylock.ausnimbus.toml', 'pylock.toml', 'requirements.txt']))).to.equal('pylock:pylock.ausnimbus.toml');
    fs.rmSync(path.join(dir, 'pylock.ausnimbus.toml'));
    expect(chosen(choose([]))).to.equal('pylock:pylock.toml');
    for (const [file, tool] of [['uv.lock', 'uv'], ['poetry.lock', 'poetry'], ['Pipfile.lock', 'pipenv']] as const) {
      fs.rmSync(dir, { recursive: true });
      fs.mkdirSync(dir);
      expect(chosen(choose([file, 'requirements.txt', 'setup.py', 'pyproject.toml']))).to.equal(`${tool}:${file}`);
    }
  });

  it('pylock.ausnimbus.toml before pylock.toml, and the log says the other is not installed', () => {
    expect(choose(['pylock.ausnimbus.toml', 'pylock.toml']).notes).to.deep.equal([
      'Installing pylock.ausnimbus.toml',
      'pylock.toml is not installed: pylock.ausnimbus.toml comes first (pylock.<service>.toml before pylock.toml, PEP 751)',
    ]);
  });

  it('a lockfile beside requirements.txt wins, and the log says so', () => {
    const i = choose(['uv.lock', 'requirements.txt']);
    expect(chosen(i)).to.equal('uv:uv.lock');
    expect(i.notes).to.deep.equal(['Installing uv.lock', 'requirements.txt is not installed: uv.lock is (set BP_PYTHON_DEPENDENCY_FILE=requirements.txt to install requirements.txt instead)']);
  });

  it('lockfiles of two different tools stop the build naming both and the setting', () => {
    expect(thrownCause(() => choose(['uv.lock', 'poetry.lock', 'requirements.txt']))).to.deep.equal({ type: 'lockfiles-ambiguous', files: ['uv.lock', 'poetry.lock'], setting: 'BP_PYTHON_DEPENDENCY_FILE' });
    expect(thrownCause(() => choose(['pylock.toml', 'Pipfile.lock']))).to.deep.equal({ type: 'lockfiles-ambiguous', files: ['pylock.toml', 'uv.lock', 'poetry.lock', 'Pipfile.lock'], setting: 'BP_PYTHON_DEPENDENCY_FILE' });
  });

  it('a Pipfile without Pipfile.lock stops the build', () => {
    expect(thrownCause(() => choose(['Pipfile', 'setup.py']))).to.deep.equal({ type: 'pipfile-without-lock' });
  });

  it('a Pipfile without Pipfile.lock beside requirements.txt: requirements.txt, as before lockfiles were read, and the log says so', () => {
    const i = choose(['Pipfile', 'requirements.txt']);
    expect(chosen(i)).to.equal(JSON.stringify({ kind: 'requirements', files: ['requirements.txt'] }));
    expect(i.notes).to.deep.equal(['The Pipfile is not used: it has no Pipfile.lock, and requirements.txt is installed']);
  });

  it('no lockfile: the rules of before (requirements.txt, setup.py, setup.cfg, pyproject.toml), no note', () => {
    expect(choose(['requirements.txt'])).to.deep.equal({ kind: 'pip', plan: { kind: 'requirements', files: ['requirements.txt'] }, notes: [] });
    fs.rmSync(path.join(dir, 'requirements.txt'));
    expect(choose(['setup.cfg'])).to.deep.equal({ kind: 'pip', plan: { kind: 'project', editable: true, marker: 'setup.cfg' }, notes: [] });
  });

  it('a lockfile of a format with no reader is not an input (as before lockfiles were read)', () => {
    expect(chosen(choose(['uv.lock', 'requirements.txt'], {}, { pylock: READERS.pylock }))).to.equal(JSON.stringify({ kind: 'requirements', files: ['requirements.txt'] }));
  });

  describe('BP_PYTHON_DEPENDENCY_FILE', () => {
    it('names a lockfile: that one, even beside another tool`s', () => {
      const i = choose(['uv.lock', 'poetry.lock', 'requirements.txt'], { dependencyFile: ['poetry.lock'] });
      expect(chosen(i)).to.equal('poetry:poetry.lock');
      expect(i.notes).to.deep.equal(['Installing poetry.lock (BP_PYTHON_DEPENDENCY_FILE)']);
    });

    it('names a lockfile in a folder, or pylock.<name>.toml', () => {
      expect(chosen(choose(['deploy/uv.lock'], { dependencyFile: ['deploy/uv.lock'] }))).to.equal('uv:deploy/uv.lock');
      expect(chosen(choose(['pylock.prod.toml', 'uv.lock'], { dependencyFile: ['pylock.prod.toml'] }))).to.equal('pylock:pylock.prod.toml');
    });

    it('names requirement files: those, as BP_PIP_REQUIREMENT does, even beside a lockfile', () => {
      const i = choose(['uv.lock', 'requirements.txt', 'requirements-prod.txt'], { dependencyFile: ['requirements.txt', 'requirements-prod.txt'] });
      expect(i).to.deep.equal({ kind: 'pip', plan: { kind: 'requirements', files: ['requirements.txt', 'requirements-prod.txt'] }, notes: ['Installing requirements.txt requirements-prod.txt (BP_PYTHON_DEPENDENCY_FILE)'] });
    });

    it('a lockfile that is not there, or beside other files, stops the build', () => {
      expect(thrownCause(() => choose(['requirements.txt'], { dependencyFile: ['uv.lock'] }))).to.deep.equal({ type: 'dependency-file-unusable', value: 'uv.lock', file: 'uv.lock', problem: 'missing' });
      expect(thrownCause(() => choose(['uv.lock', 'requirements.txt'], { dependencyFile: ['uv.lock', 'requirements.txt'] }))).to.deep.equal({ type: 'dependency-file-unusable', value: 'uv.lock requirements.txt', file: 'uv.lock', problem: 'not-alone' });
    });
  });

  it('BP_PIP_REQUIREMENT keeps its meaning: those requirement files, lockfiles aside', () => {
    expect(chosen(choose(['uv.lock', 'base.txt'], { pipRequirements: ['base.txt'] }))).to.equal(JSON.stringify({ kind: 'requirements', files: ['base.txt'] }));
  });

  describe('ENABLE_PIPENV / ENABLE_MICROPIPENV (OpenShift s2i)', () => {
    for (const alias of ['ENABLE_PIPENV', 'ENABLE_MICROPIPENV'] as const) {
      it(`${alias}: Pipfile.lock even beside requirements.txt and another tool's lock`, () => {
        const i = choose(['Pipfile', 'Pipfile.lock', 'requirements.txt', 'uv.lock'], { pipenvAlias: alias });
        expect(chosen(i)).to.equal('pipenv:Pipfile.lock');
        expect(i.notes[0]).to.equal(`Installing Pipfile.lock (${alias})`);
      });

      it(`${alias} with a Pipfile and no Pipfile.lock stops the build, requirements.txt or not`, () => {
        expect(thrownCause(() => choose(['Pipfile', 'requirements.txt'], { pipenvAlias: alias }))).to.deep.equal({ type: 'pipfile-without-lock' });
      });

      it(`${alias} with no Pipfile: requirements.txt, as s2i falls back to it`, () => {
        expect(chosen(choose(['requirements.txt'], { pipenvAlias: alias }))).to.equal(JSON.stringify({ kind: 'requirements', files: ['requirements.txt'] }));
      });
    }

    it('ENABLE_MICROPIPENV takes poetry.lock when there is no Pipfile.lock (micropipenv reads it next)', () => {
      expect(chosen(choose(['poetry.lock', 'uv.lock', 'requirements.txt'], { pipenvAlias: 'ENABLE_MICROPIPENV' }))).to.equal('poetry:poetry.lock');
    });
  });

  it('lockToolOf: the tools by file name', () => {
    expect(['pylock.toml', 'pylock.ausnimbus.toml', 'a/pylock.x.toml', 'pylock.a.b.toml', 'uv.lock', 'poetry.lock', 'Pipfile.lock', 'requirements.txt', 'pipfile.lock'].map(lockToolOf))
      .to.deep.equal(['pylock', 'pylock', 'pylock', undefined, 'uv', 'poetry', 'pipenv', undefined, undefined]);
  });
});
