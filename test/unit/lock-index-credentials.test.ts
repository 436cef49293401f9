/**
 * src/lock/index-credentials.ts: a lock's index URLs with the credentials its tool takes from the environment,
 * read from locks the tools wrote (Pipenv's private-index vector, Poetry's sources vector) and against each
 * tool's own rules for the variable names (Poetry's config.py, uv's IndexName::to_env_var, Pipenv's
 * expand_url_credentials).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { indexAccess, poetryVariables, uvVariables, variablesNamedBy, writtenCredentials } from '../../src/lock/index-credentials.js';
import { readPipfileLock } from '../../src/lock/pipfile.js';
import { readPoetryLock } from '../../src/lock/poetry.js';
import { readUvLock } from '../../src/lock/uv.js';
import { fakeLock } from '../fakes/lockfile.js';
import { thrownCause } from '../fakes/thrown.js';

const VECTORS = path.resolve(import.meta.dirname, '../fixtures/lock-vectors');
const vars = (values: Record<string, string>) => (name: string): string | undefined => (Object.hasOwn(values, name) ? values[name] : undefined);

describe('lock index credentials', () => {
  describe(`Pipenv: $NAME and \${NAME} in a source URL, expanded from the environment`, () => {
    const lock = readPipfileLock(path.join(VECTORS, 'pipenv/private-index'), 'Pipfile.lock');
    const url = lock.indexes[0] as string;

    it("the lock keeps the Pipfile's URL; the build expands user, password (percent-encoded) and host", () => {
      expect(url).to.equal(`http://\${PRIVATE_INDEX_USER}:\${PRIVATE_INDEX_PASSWORD}@\${PRIVATE_INDEX_HOST}/simple`);
      const a = indexAccess(lock, url, vars({ PRIVATE_INDEX_USER: 'ci@corp', PRIVATE_INDEX_PASSWORD: "p:ss/w*rd'", PRIVATE_INDEX_HOST: '127.0.0.1:8765' }));
      expect(a.url).to.equal('http://ci%40corp:p%3Ass%2Fw%2Ard%27@127.0.0.1:8765/simple');
      expect(new URL(a.url).host).to.equal('127.0.0.1:8765');
      expect(a.variables).to.deep.equal(['PRIVATE_INDEX_USER', 'PRIVATE_INDEX_PASSWORD', 'PRIVATE_INDEX_HOST']);
      // the log redacts the password wherever it appears; the user name and host are no secrets
      expect(a.secrets).to.deep.equal(["p:ss/w*rd'"]);
    });

    it('the variables the lock names, for .s2i/environment to keep out of the image', () => {
      expect(variablesNamedBy(lock)).to.deep.equal(['PRIVATE_INDEX_USER', 'PRIVATE_INDEX_PASSWORD', 'PRIVATE_INDEX_HOST']);
      expect(variablesNamedBy(fakeLock({ tool: 'poetry', indexes: [`https://\${NOT_PIPENV}/simple`], packages: [] }))).to.deep.equal([]);
    });

    it('a variable the build does not set stops the build naming every such variable and the source', () => {
      const cause = thrownCause(() => indexAccess(lock, url, vars({ PRIVATE_INDEX_HOST: 'h' })));
      expect(cause).to.deep.equal({ type: 'lock-index-variable-unset', file: 'Pipfile.lock', source: 'private', variables: ['PRIVATE_INDEX_USER', 'PRIVATE_INDEX_PASSWORD'] });
    });

    it(`$NAME, '\${NAME}' in the user-info, a token in the path (a secret no URL rule masks), and URLs without variables as they are`, () => {
      const pipenv = fakeLock({ tool: 'pipenv', file: 'Pipfile.lock', packages: [] });
      const env = vars({ USER: 'u', TOKEN: 'tok_123456', FURY: 'fury-token-1' });
      expect(indexAccess(pipenv, `https://$USER:'\${TOKEN}'@pypi.example.com/simple`, env).url).to.equal('https://u:tok_123456@pypi.example.com/simple');
      const fury = indexAccess(pipenv, `https://pypi.fury.io/\${FURY}/acme/`, env);
      expect(fury).to.deep.equal({ url: 'https://pypi.fury.io/fury-token-1/acme/', variables: ['FURY'], secrets: ['fury-token-1'] });
      expect(indexAccess(pipenv, 'https://pypi.org/simple', env)).to.deep.equal({ url: 'https://pypi.org/simple', variables: [], secrets: [] });
      // a user-info with no variable is left as written, encoding included
      expect(indexAccess(pipenv, `https://a%40b:c@h/\${FURY}`, env).url).to.equal('https://a%40b:c@h/fury-token-1');
      // a token as the user name (no password) is a secret; `${}` and `$5b` (no name a variable can have) stay as text
      expect(indexAccess(pipenv, `https://\${TOKEN}@pypi.example.com/simple`, env).secrets).to.deep.equal(['tok_123456']);
      expect(indexAccess(pipenv, `https://h/a$5b/\${}/\${TOKEN}`, env).url).to.equal(`https://h/a$5b/\${}/tok_123456`);
    });

    it('a URL that does not parse once filled in (an empty host) stops the build naming the variables, not their values', () => {
      const pipenv = fakeLock({ tool: 'pipenv', file: 'Pipfile.lock', packages: [] });
      const cause = thrownCause(() => indexAccess(pipenv, `https://\${USER}:\${PW}@\${HOST}/simple`, vars({ USER: 'u', PW: 'secret-pw', HOST: '' })));
      expect(cause).to.deep.equal({ type: 'lock-index-url-invalid', file: 'Pipfile.lock', source: undefined, variables: ['USER', 'PW', 'HOST'] });
    });
  });

  describe('Poetry: POETRY_HTTP_BASIC_<SOURCE>_USERNAME / _PASSWORD', () => {
    it('the variable names: upper case, - as _; a dotted name is read both as Poetry 2.4 keeps it and as older Poetry splits it', () => {
      expect(poetryVariables('my-repo')).to.deep.equal([['POETRY_HTTP_BASIC_MY_REPO_USERNAME', 'POETRY_HTTP_BASIC_MY_REPO_PASSWORD']]);
      expect(poetryVariables('corp.repo')).to.deep.equal([
        ['POETRY_HTTP_BASIC_CORP.REPO_USERNAME', 'POETRY_HTTP_BASIC_CORP.REPO_PASSWORD'],
        ['POETRY_HTTP_BASIC_CORP_REPO_USERNAME', 'POETRY_HTTP_BASIC_CORP_REPO_PASSWORD'],
      ]);
    });

    it("the sources vector's \"local\" source gets the credentials; either variable alone is sent, as Poetry 2 does", () => {
      const lock = readPoetryLock(path.join(VECTORS, 'poetry/sources'), 'poetry.lock');
      const url = lock.indexes[0] as string;
      expect(lock.indexNames.get(url)).to.equal('local');
      const both = indexAccess(lock, url, vars({ POETRY_HTTP_BASIC_LOCAL_USERNAME: 'ci', POETRY_HTTP_BASIC_LOCAL_PASSWORD: 's3cr3t!' }));
      expect(both).to.deep.equal({ url: 'http://ci:s3cr3t!@127.0.0.1:18731/simple', variables: ['POETRY_HTTP_BASIC_LOCAL_USERNAME', 'POETRY_HTTP_BASIC_LOCAL_PASSWORD'], secrets: ['s3cr3t!'] });
      expect(indexAccess(lock, url, vars({ POETRY_HTTP_BASIC_LOCAL_PASSWORD: 'tok' })).url).to.equal('http://:tok@127.0.0.1:18731/simple');
      // a user name alone is sent as it is, and kept from the log as the token it usually is
      expect(indexAccess(lock, url, vars({ POETRY_HTTP_BASIC_LOCAL_USERNAME: 'pypi-AgEI0token' }))).to.deep.include({ url: 'http://pypi-AgEI0token@127.0.0.1:18731/simple', secrets: ['pypi-AgEI0token'] });
      expect(indexAccess(lock, url, vars({ POETRY_HTTP_BASIC_OTHER_PASSWORD: 'tok' }))).to.deep.equal({ url, variables: [], secrets: [] });
    });
  });

  describe('uv: UV_INDEX_<NAME>_USERNAME / _PASSWORD', () => {
    it('the variable names: ASCII letters and digits upper-cased, anything else _', () => {
      expect(uvVariables('pytorch-cpu')).to.deep.equal(['UV_INDEX_PYTORCH_CPU_USERNAME', 'UV_INDEX_PYTORCH_CPU_PASSWORD']);
      expect(uvVariables('corp.repo_2')).to.deep.equal(['UV_INDEX_CORP_REPO_2_USERNAME', 'UV_INDEX_CORP_REPO_2_PASSWORD']);
    });

    it('a real lock (the named-index vector): its [[tool.uv.index]] "pytorch-cu118" gets UV_INDEX_PYTORCH_CU118_*, PyPI nothing', () => {
      const lock = readUvLock(path.join(VECTORS, 'uv/named-index'), 'uv.lock');
      const cu118 = 'https://download.pytorch.org/whl/cu118';
      expect(lock.indexes).to.deep.equal(['https://pypi.org/simple', cu118]);
      expect([...lock.indexNames]).to.deep.equal([[cu118, 'pytorch-cu118']]);
      const env = vars({ UV_INDEX_PYTORCH_CU118_USERNAME: 'me', UV_INDEX_PYTORCH_CU118_PASSWORD: 'pw-cu118' });
      expect(indexAccess(lock, cu118, env)).to.deep.equal({ url: 'https://me:pw-cu118@download.pytorch.org/whl/cu118', variables: ['UV_INDEX_PYTORCH_CU118_USERNAME', 'UV_INDEX_PYTORCH_CU118_PASSWORD'], secrets: ['pw-cu118'] });
      expect(indexAccess(lock, 'https://pypi.org/simple', env).url).to.equal('https://pypi.org/simple');
    });

    it("pyproject.toml's index URL with a user name and another spelling (the lock writes it without): found by name; the variables give the credentials", () => {
      // the vector's pyproject.toml as a user may write it: uv drops the credentials when it writes uv.lock
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uv-named-'));
      try {
        fs.cpSync(path.join(VECTORS, 'uv/named-index'), dir, { recursive: true });
        const pyproject = path.join(dir, 'pyproject.toml');
        const text = fs.readFileSync(pyproject, 'utf8');
        expect(text).to.contain('url = "https://download.pytorch.org/whl/cu118"');
        fs.writeFileSync(pyproject, text.replace('url = "https://download.pytorch.org/whl/cu118"', 'url = "https://oauth2accesstoken@Download.PyTorch.org:443/whl/cu118/"'));
        const lock = readUvLock(dir, 'uv.lock');
        const env = vars({ UV_INDEX_PYTORCH_CU118_PASSWORD: 'ya29.token' });
        expect(indexAccess(lock, 'https://download.pytorch.org/whl/cu118', env).url).to.equal('https://:ya29.token@download.pytorch.org/whl/cu118');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  it('credentials written into a lock URL: a password or a credential parameter; not a user name alone, nor Pipenv\'s variables', () => {
    const lock = (tool: 'pipenv' | 'poetry' | 'pylock') => fakeLock({ tool, packages: [] });
    expect(writtenCredentials(lock('poetry'), 'https://ci:s3cret@pypi.corp.example/simple/')).to.equal(true);
    expect(writtenCredentials(lock('pylock'), 'https://pypi.corp.example/simple/?token=abc123')).to.equal(true);
    expect(writtenCredentials(lock('pipenv'), `https://ci:pw-\${PART}@pypi.corp.example/simple`), 'a literal part of a password').to.equal(true);
    expect(writtenCredentials(lock('poetry'), 'https://oauth2accesstoken@pypi.corp.example/simple/')).to.equal(false);
    expect(writtenCredentials(lock('poetry'), 'https://ci:@pypi.corp.example/simple/')).to.equal(false);
    expect(writtenCredentials(lock('pipenv'), `https://\${PYPI_USER}:\${PYPI_PASSWORD}@\${HOST}/simple`)).to.equal(false);
    expect(writtenCredentials(lock('pipenv'), 'https://$USER:$TOKEN@pypi.corp.example/simple')).to.equal(false);
    expect(writtenCredentials(lock('pylock'), 'https://pypi.org/simple')).to.equal(false);
  });

  it('pylock.toml names no index by name: its URLs are used as they are', () => {
    const lock = fakeLock({ tool: 'pylock', indexes: ['https://pypi.org/simple'], packages: [] });
    expect(indexAccess(lock, 'https://pypi.org/simple', vars({ UV_INDEX_PYPI_PASSWORD: 'x' })).url).to.equal('https://pypi.org/simple');
  });
});
