import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readApi, rootApi } from '../../src/cnb/context.js';
import { LayerEnv, Scope } from '../../src/cnb/env.js';
import { launchToml, process_ } from '../../src/cnb/launch.js';
import { Layers } from '../../src/cnb/layers.js';
import { layerName, processType, envName } from '../../src/cnb/names.js';
import { parseToml, stringifyToml } from '../../src/cnb/toml.js';
import { UserEnv } from '../../src/cnb/user-env.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'cnb-'));

describe('cnb core', () => {
  it('validates names as the lifecycle does', () => {
    for (const bad of ['build', 'launch', 'store', 'a.b', '', 'a/b']) expect(() => layerName(bad)).to.throw();
    expect(layerName('pip-deps')).to.equal('pip-deps');
    expect(() => processType('web server')).to.throw();
    expect(processType('web.1')).to.equal('web.1');
    expect(() => envName('CNB_FOO')).to.throw();
    expect(() => envName('1X')).to.throw();
  });

  it('LayerEnv applies like the lifecycle, per scope, over a poisoned base', () => {
    const env = new LayerEnv()
      .prepend(Scope.all, 'PATH', '/layers/p/bin')
      .default(Scope.launch, 'LANG', 'C.UTF-8')
      .override(Scope.build, 'PIP_X', '1')
      .default(Scope.process(processType('web')), 'ONLY_WEB', 'yes');
    const base = { PATH: '/invalid', LANG: '' };
    expect(env.apply('build', base)).to.deep.equal({ PATH: '/layers/p/bin:/invalid', LANG: '', PIP_X: '1' });
    expect(env.apply('launch', base, 'web')).to.deep.equal({ PATH: '/layers/p/bin:/invalid', LANG: 'C.UTF-8', ONLY_WEB: 'yes' });
    expect(env.apply('launch', { LANG: 'de_DE.UTF-8' }, 'worker')).to.deep.equal({ PATH: '/layers/p/bin', LANG: 'de_DE.UTF-8' });
  });

  it('LayerEnv writes suffixed files with no trailing newline and a .delim beside prepends', async () => {
    const dir = tmp();
    await new LayerEnv().prepend(Scope.all, 'PATH', '/x/bin').default(Scope.launch, 'LANG', 'C.UTF-8').writeTo(dir);
    expect(fs.readFileSync(path.join(dir, 'env', 'PATH.prepend'), 'utf8')).to.equal('/x/bin');
    expect(fs.readFileSync(path.join(dir, 'env', 'PATH.delim'), 'utf8')).to.equal(':');
    expect(fs.readFileSync(path.join(dir, 'env.launch', 'LANG.default'), 'utf8')).to.equal('C.UTF-8');
  });

  it('launch.toml has argv commands, one default and omits defaults', () => {
    const doc = launchToml({ processes: [process_('web', ['gunicorn', '-c', 'x'], { args: ['wsgi'], default: true }), process_('python', ['python'])] });
    const text = stringifyToml(doc);
    const back = parseToml(text) as { processes: Array<Record<string, unknown>> };
    expect(back.processes[0]).to.deep.equal({ type: 'web', command: ['gunicorn', '-c', 'x'], args: ['wsgi'], default: true });
    expect(back.processes[1]).to.deep.equal({ type: 'python', command: ['python'] });
    expect(() => launchToml({ processes: [process_('a', ['x'], { default: true }), process_('b', ['y'], { default: true })] })).to.throw();
  });

  it('cachedLayer: new, kept, rejected and invalid metadata; [types] rewritten on keep, toml removed on rebuild', async () => {
    const dir = tmp();
    const layers = new Layers(dir);
    const def = (keep: boolean) => ({
      build: true, launch: true,
      parseMetadata: (raw: Record<string, unknown>) => (typeof raw.v === 'string' ? { v: raw.v } : undefined),
      onRestored: () => (keep ? { action: 'keep' as const, cause: 'same' } : { action: 'delete' as const, cause: 'changed' }),
    });
    const first = await layers.cachedLayer('py', def(true));
    expect(first.state).to.deep.equal({ kind: 'empty', cause: { kind: 'new' } });
    fs.writeFileSync(path.join(first.path, 'content'), 'x');
    await first.writeMetadata({ v: '1' });
    // the lifecycle restores [metadata] only
    fs.writeFileSync(path.join(dir, 'py.toml'), '[metadata]\nv = "1"\n');
    const kept = await layers.cachedLayer('py', def(true));
    expect(kept.state).to.deep.equal({ kind: 'restored', cause: 'same' });
    expect(parseToml(fs.readFileSync(path.join(dir, 'py.toml'), 'utf8'))).to.deep.equal({ types: { build: true, launch: true, cache: true }, metadata: { v: '1' } });
    expect(fs.existsSync(path.join(kept.path, 'content'))).to.equal(true);
    const rejected = await layers.cachedLayer('py', def(false));
    expect(rejected.state).to.deep.equal({ kind: 'empty', cause: { kind: 'rejected', cause: 'changed' } });
    expect(fs.existsSync(path.join(dir, 'py.toml'))).to.equal(false);
    expect(fs.readdirSync(rejected.path)).to.deep.equal([]);
    fs.writeFileSync(path.join(dir, 'py.toml'), '[metadata]\nother = 1\n');
    expect((await layers.cachedLayer('py', def(true))).state).to.deep.equal({ kind: 'empty', cause: { kind: 'invalid-metadata' } });
  });

  it('UserEnv: platform files verbatim win over the app source and the process env', () => {
    const platform = tmp();
    fs.mkdirSync(path.join(platform, 'env'));
    fs.writeFileSync(path.join(platform, 'env', 'APP_RUN'), 'python x.py\n');
    const env = UserEnv.read(platform, { APP_RUN: 'ignored', PIP_UPGRADE: 'TRUE', OTHER: 'p' })
      .withAppSource({ name: '.s2i/environment', values: { APP_RUN: 'from-file', OTHER: 'file', ONLY_FILE: '1' } });
    expect(env.raw('APP_RUN')).to.equal('python x.py\n');
    expect(env.get('APP_RUN')).to.equal('python x.py');
    expect(env.get('OTHER')).to.equal('file');
    expect(env.flag('PIP_UPGRADE')).to.equal(true);
    expect(env.flag('ONLY_FILE')).to.equal(true);
    expect(env.setOnPlatform('APP_RUN')).to.equal(true);
    expect(env.setOnPlatform('OTHER')).to.equal(false);
  });
});

describe("detect's read of buildpack.toml's api", () => {
  it('reads the api of our own buildpack.toml without the TOML parser, equal to what the parser reads', () => {
    const text = fs.readFileSync(path.join(import.meta.dirname, '../../buildpack.toml'), 'utf8');
    expect(rootApi(text)).to.equal(String(parseToml(text).api));
  });

  it('takes the simple forms exactly: comments, blank lines, spaces, CRLF, a trailing comment', () => {
    expect(rootApi('# a buildpack\r\n\r\n  api =  "0.10"  # the API\r\n[buildpack]\r\napi = "9"\r\n')).to.equal('0.10');
    expect(rootApi('[buildpack]\nid = "x"\n')).to.equal(undefined);
  });

  for (const [form, text] of [
    ['an escape', 'api = "0.\\u0031"\n'],
    ['a literal string', "api = '0.10'\n"],
    ['a quoted key', '"api" = "0.10"\n'],
    ['another root key', 'name = "x"\napi = "0.10"\n'],
    ['a duplicate', 'api = "0.10"\napi = "0.9"\n'],
    ['a multi-line string', 'api = """0.10"""\n'],
  ] as const) {
    it(`leaves ${form} to the full parser, and readApi gets the parser's answer`, async () => {
      expect(rootApi(text)).to.equal(undefined);
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'api-'));
      fs.writeFileSync(path.join(dir, 'buildpack.toml'), text);
      let parsed: string;
      try {
        parsed = String(parseToml(text).api ?? '');
      } catch (err) {
        await readApi(dir).then(
          () => expect.fail('readApi should reject what the parser rejects'),
          (e: unknown) => expect(String(e)).to.equal(String(err)),
        );
        return;
      }
      expect(await readApi(dir)).to.equal(parsed);
    });
  }
});
