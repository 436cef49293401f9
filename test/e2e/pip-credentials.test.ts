/**
 * Issue 4 and the hostile-input run, end to end: credentials never reach the log, the image or the cache. A
 * `name @ url` requirement with a signed URL (PEP 610 direct_url.json), index credentials in PIP_INDEX_URL, and
 * tokens in .s2i/environment, requirement files, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS and query strings. Split
 * from pip.test.ts so the e2e run's workers share the load more evenly.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { E2E, e2eForFile, REQUIREMENTS_UNCHANGED, WHEELHOUSE, filesContaining, plainLog, pythonInImage } from './support.js';
import { FileServer, PackageIndexServer, buildWheel } from '../helpers/servers.js';
import type { BuildResult } from '../platform/index.js';

describe('e2e: credentials in pip inputs', function () {
  this.timeout(900_000);
  const e2e = e2eForFile();

  describe('credentials in a direct URL requirement (PEP 610 direct_url.json)', () => {
    // pip records the URL of a `name @ url` requirement in the installed distribution's direct_url.json, with
    // only user:password removed: a signed URL's query string would reach the image as it is.
    const SECRET = 'AmzSigD1rectUrl0123';
    const WHEEL_PATH = '/files/localpkg-1.0-py3-none-any.whl';
    let wheels: FileServer;
    let wheelDir: string;
    let signedUrl: string;
    before(async () => {
      wheelDir = fs.mkdtempSync(path.join(os.tmpdir(), 'direct-url-'));
      const wheel = await buildWheel({ name: 'localpkg', version: '1.0', outDir: wheelDir });
      // Served whatever the query string; the server records each request's URL, so the test sees pip sent the signature.
      wheels = await FileServer.start({ files: { [WHEEL_PATH]: wheel.path } });
      signedUrl = `${wheels.url(WHEEL_PATH)}?X-Amz-Credential=AKIAEXAMPLE%2F20250101&X-Amz-Signature=${SECRET}`;
    });
    after(async () => {
      await wheels?.close();
      if (wheelDir) fs.rmSync(wheelDir, { recursive: true, force: true });
    });

    /**
     * In the image: localpkg imports; pip reads its direct_url.json (pip freeze shows the masked URL; pip show,
     * list and check pass with nothing on stderr); RECORD's line for direct_url.json matches the file (PEP 376).
     */
    const CHECK = [
      'import base64, hashlib, json, os, subprocess, sys',
      'import importlib.metadata as md',
      'import localpkg',
      'print("VERSION=" + localpkg.VERSION)',
      'env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_CONFIG_FILE="/dev/null", PIP_NO_INPUT="1")',
      'for args in (["show", "-f", "localpkg"], ["freeze"], ["list"], ["check"]):',
      '    p = subprocess.run([sys.executable, "-m", "pip"] + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)',
      '    print("PIP %s rc=%d\\n%s\\nSTDERR:%s" % (args[0], p.returncode, p.stdout, p.stderr))',
      'dist = md.distribution("localpkg")',
      'print("URL=" + json.loads(dist.read_text("direct_url.json"))["url"])',
      'for f in dist.files:',
      '    if f.name == "direct_url.json":',
      '        data = f.read_binary()',
      '        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()',
      '        print("RECORD %s" % ("ok" if (f.hash.mode, f.hash.value, f.size) == ("sha256", digest, len(data)) else "MISMATCH %r %r" % ((f.hash.value, f.size), (digest, len(data)))))',
    ].join('\n');

    /** pip runs in the image below (show, freeze, list, check read the masked files): the image keeps it. */
    const PIP_IN_IMAGE = { BP_PYTHON_KEEP_ALL: 'TRUE' };

    async function expectMaskedInImage(res: BuildResult, appOwnFiles: string[]): Promise<void> {
      expect(wheels.requests.some((r) => r.url.includes(`X-Amz-Signature=${SECRET}`)), 'pip fetched the wheel with its signature').to.equal(true);
      expect(res.output).not.to.contain(SECRET);
      // Every file of the image, of the build's layers dir and of the cache: only the app's own files hold it.
      const imageDir = res.image?.dir as string;
      const appFiles = path.join(imageDir, 'app');
      const found = filesContaining([res.app.layersDir, imageDir, res.cache?.dir as string], SECRET);
      expect(found.filter((f) => !f.startsWith(`${appFiles}/`))).to.deep.equal([]);
      expect(found.map((f) => path.relative(appFiles, f)).sort()).to.deep.equal(appOwnFiles);
      expect(JSON.stringify([res.files, res.layers, res.image?.labels])).not.to.contain(SECRET);
      expect(plainLog(res.output)).to.contain('- Masked the URL credentials pip recorded in 1 direct_url.json file (PEP 610)');

      const out = await pythonInImage(e2e, res, CHECK);
      expect(out.code, out.output).to.equal(0);
      expect(out.output).to.contain('VERSION=1.0');
      expect(out.output).to.contain(`URL=${wheels.url(WHEEL_PATH)}?X-Amz-Credential=****&X-Amz-Signature=****\n`);
      expect(out.output).to.contain('RECORD ok');
      for (const cmd of ['show', 'freeze', 'list', 'check']) expect(out.output, `pip ${cmd}`).to.contain(`PIP ${cmd} rc=0\n`);
      expect(out.output).to.match(/^Name: localpkg$/m);
      expect(out.output).to.match(/^ {2}localpkg-1\.0\.dist-info\/direct_url\.json$/m);
      expect(out.output, 'pip freeze').to.contain(`localpkg @ ${wheels.url(WHEEL_PATH)}?X-Amz-Credential=****&X-Amz-Signature=****#sha256=`);
      expect(out.output).to.match(/^localpkg +1\.0$/m);
      expect(out.output).not.to.match(/Traceback|Error parsing|WARNING|invalid/i);
      expect(out.output.match(/^STDERR:\n/gm), 'pip wrote nothing on stderr').to.have.length(4);
      expect(out.output).not.to.contain(SECRET);
    }

    it('from requirements.txt: the build succeeds, the app imports it, the signature is in no file of the image but the app\'s own, pip still reads it', async () => {
      const app = await e2e.app({ 'requirements.txt': `localpkg @ ${signedUrl}\n`, 'app.py': 'import localpkg\nprint(localpkg.VERSION)\n' });
      wheels.clearRequests();
      const res = await e2e.platform.buildOk(app, { platformEnv: await e2e.env(undefined, PIP_IN_IMAGE) });
      expect(plainLog(res.output)).to.match(/Successfully installed localpkg-1\.0/);
      await expectMaskedInImage(res, ['requirements.txt']);
    });

    it("from the app's .s2i/bin/assemble (pip run by the script itself): masked all the same", async () => {
      const app = await e2e.app({
        '.s2i/bin/assemble': { content: `#!/bin/sh\nset -e\npython -m pip install --no-input "localpkg @ ${signedUrl}"\n`, mode: 0o755 },
        'app.py': 'import localpkg\nprint(localpkg.VERSION)\n',
      });
      wheels.clearRequests();
      const res = await e2e.platform.buildOk(app, { platformEnv: await e2e.env(undefined, PIP_IN_IMAGE) });
      expect(plainLog(res.output)).to.match(/Successfully installed localpkg-1\.0/);
      await expectMaskedInImage(res, ['.s2i/bin/assemble']);
    });
  });

  describe('credentials in PIP_INDEX_URL', () => {
    const SECRET = 's3cr3t';
    const auth = { username: 'user', password: SECRET };
    let priv: E2E;
    before(async () => {
      priv = await E2E.start({ indexAuth: auth });
    });
    after(async () => priv?.stop());

    it(`the password appears nowhere: not in the log, the layers, their metadata, SBOM and env files, nor the launch env`, async () => {
      const app = await priv.app('pip-private-index');
      const env = await priv.env(undefined, { PIP_INDEX_URL: priv.index.indexUrl(auth) });
      expect(env.PIP_INDEX_URL).to.contain(`user:${SECRET}@127.0.0.1:`);
      const res = await priv.platform.buildOk(app, { platformEnv: env });
      const log = plainLog(res.output);
      expect(log).to.match(/Successfully installed .*itsdangerous/);
      expect(priv.index.requests.filter((r) => r.status === 401)).to.deep.equal([]);
      expect(log).not.to.contain(SECRET);
      expect(log).to.contain('****@127.0.0.1:');

      // Every file the build left (layers, <layer>.toml, SBOMs, env files), the image and the cache.
      expect(filesContaining([app.layersDir, res.image?.dir as string, res.cache?.dir as string], SECRET)).to.deep.equal([]);
      for (const [name, file] of Object.entries(res.files)) expect(file, name).not.to.contain(SECRET);
      expect(JSON.stringify(res.layers)).not.to.contain(SECRET);
      expect(JSON.stringify(res.image?.labels ?? [])).not.to.contain(SECRET);

      const proc = await priv.platform.launch(res, { processType: 'python', args: ['-c', 'import os; print(sorted(os.environ.items()))'] });
      await proc.waitForExit(60_000);
      expect(proc.output()).to.contain('PYTHONUSERBASE');
      expect(proc.output()).not.to.contain(SECRET);
      expect(JSON.stringify(proc.details.env)).not.to.contain(SECRET);

      // The rebuild reuses the layer: nothing about the index is needed again.
      priv.index.clearRequests();
      const again = await priv.platform.buildOk(app, { platformEnv: env });
      expect(plainLog(again.output)).to.contain(REQUIREMENTS_UNCHANGED);
      expect(plainLog(again.output)).not.to.contain(SECRET);
      expect(priv.index.requests).to.have.length(0);

      // The key holds no credential, not even hashed (layer metadata is in the image's labels): a rotated
      // password keeps the layer. (pip does not run, so the server's fixed password does not matter.)
      const rotated = await priv.platform.buildOk(app, { platformEnv: { ...env, PIP_INDEX_URL: priv.index.indexUrl({ username: 'user', password: 'r0tated' }) } });
      expect(plainLog(rotated.output)).to.contain(REQUIREMENTS_UNCHANGED);
      expect(rotated.layers['pip-deps']?.metadata).to.deep.equal(res.layers['pip-deps']?.metadata);
    });

    describe('tokens in .s2i/environment, requirement files, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS and query strings', () => {
      // Each place gets its own token, so a leak says where it came from. The indexes are an open copy of the
      // wheelhouse, which takes any user-info and serves by path (so query-string tokens reach it too).
      const TOKENS = {
        s2iIndex: 's2iIdxTok3n',
        reqExtra: 'reqExtraTok3n',
        envExtra: 'envExtraTok3n',
        queryToken: 'qryTok3nValue',
        querySig: 'AmzSig0123abcd',
        database: 'dbPassw0rdXyz',
        webhook: 'hookTok3nXyz',
        reqIndex: 'reqIdxTok3n',
      };
      const ALL = Object.values(TOKENS);
      // APP_RUN ends in a shell comment holding an ESC (the start of a terminal control sequence): shown escaped.
      // (One control character only: @iarna/toml escapes only the first of a string in launch.toml, iarna-toml#65.)
      const APP_RUN = 'python app.py # \x1b]0;pwned';
      const REQUIREMENTS = (indexUrl?: string): string => [
        ...(indexUrl ? [`--index-url ${indexUrl}`] : []),
        `--extra-index-url ${openUrl('build', TOKENS.reqExtra)}`,
        'six',
        'itsdangerous',
        '',
      ].join('\n');
      let open: PackageIndexServer;
      const openUrl = (user: string, token: string): string => open.indexUrl({ username: user, password: token });
      let app: Awaited<ReturnType<E2E['app']>>;
      let env: Record<string, string>;
      let res: BuildResult;
      let log: string;

      /** Each token in no file of the image but the app's own source (the user's), the build's layers dir, the cache. */
      function expectNoTokenStored(build: BuildResult): void {
        const imageDir = build.image?.dir as string;
        const appFiles = path.join(imageDir, 'app');
        for (const t of ALL) {
          const found = filesContaining([build.app.layersDir, imageDir, build.cache?.dir as string], t);
          expect(found.filter((f) => !f.startsWith(`${appFiles}/`)), t).to.deep.equal([]);
          expect(JSON.stringify([build.files, build.layers, build.image?.labels, build.image?.processes]), t).not.to.contain(t);
        }
      }

      before(async () => {
        open = await PackageIndexServer.start({ root: WHEELHOUSE });
        app = await priv.app({
          'requirements.txt': REQUIREMENTS(),
          '.s2i/environment': [
            `PIP_INDEX_URL=${openUrl('ci', TOKENS.s2iIndex)}`,
            'GREETING=hello from .s2i/environment',
            `DATABASE_URL=postgres://app:${TOKENS.database}@db.internal:5432/app`,
            `WEBHOOK_URL=https://hooks.example/notify?channel=builds&token=${TOKENS.webhook}`,
            `APP_RUN=${APP_RUN}`,
            '',
          ].join('\n'),
          // The web process: prints its environment, for the launch env check.
          'app.py': 'import json, os\nprint("ENV=" + json.dumps(dict(os.environ), sort_keys=True))\n',
        });
        env = await priv.env();
        delete env.PIP_INDEX_URL; // the app's .s2i/environment names the index
        env.PIP_EXTRA_INDEX_URL = `${openUrl('ci', TOKENS.envExtra)} ${open.url('/simple/')}?token=${TOKENS.queryToken}`;
        env.PIP_FIND_LINKS = `${open.url('/simple/itsdangerous/')}?X-Amz-Credential=AKIA&X-Amz-Signature=${TOKENS.querySig}`;
        res = await priv.platform.buildOk(app, { platformEnv: env });
        log = plainLog(res.output);
      });
      after(async () => open?.close());

      it('pip used every index and link page with its token; the build log shows none of them, masked where pip echoes them', () => {
        expect(log).to.match(/Successfully installed .*itsdangerous/);
        const basic = (user: string, token: string): string => `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;
        const auths = new Set(open.requests.map((r) => r.headers.authorization));
        expect(auths.has(basic('ci', TOKENS.s2iIndex)), 'PIP_INDEX_URL from .s2i/environment').to.equal(true);
        expect(auths.has(basic('build', TOKENS.reqExtra)), "the requirement file's --extra-index-url").to.equal(true);
        expect(auths.has(basic('ci', TOKENS.envExtra)), 'PIP_EXTRA_INDEX_URL').to.equal(true);
        expect(open.requests.some((r) => r.url.includes(`token=${TOKENS.queryToken}`)), 'the ?token= index').to.equal(true);
        expect(open.requests.some((r) => r.url.includes(`X-Amz-Signature=${TOKENS.querySig}`)), 'the signed find-links page').to.equal(true);

        for (const t of ALL) expect(res.output, t).not.to.contain(t);
        expect(log).to.match(/Looking in indexes: http:\/\/\*\*\*\*@127\.0\.0\.1:\d+\/simple\/, /);
        expect(log).to.contain(`/simple/?token=****`);
        expect(log).to.contain('X-Amz-Credential=****&X-Amz-Signature=****');
      });

      it("no token in the image (layers, <layer>.toml, env files, SBOMs, labels) nor in the cache: only in the app's own files", () => {
        expectNoTokenStored(res);
        const appFiles = path.join(res.image?.dir as string, 'app');
        expect(filesContaining([appFiles], TOKENS.s2iIndex).map((f) => path.relative(appFiles, f))).to.deep.equal(['.s2i/environment']);
      });

      it("no token in the web process's launch env; the app's own variables and APP_RUN are there, PIP_* and credential values are not", async () => {
        const proc = await priv.platform.launch(res);
        const exit = await proc.waitForExit(60_000);
        expect(exit.code, proc.output()).to.equal(0);
        expect(proc.details.processType).to.equal('web');
        const printed = JSON.parse(/ENV=(.*)/.exec(proc.output())?.[1] ?? '{}') as Record<string, string>;
        for (const launchEnv of [printed, proc.details.env]) {
          for (const t of ALL) expect(JSON.stringify(launchEnv), t).not.to.contain(t);
          expect(launchEnv.GREETING).to.equal('hello from .s2i/environment');
          expect(launchEnv.APP_RUN).to.equal(APP_RUN);
          for (const name of ['PIP_INDEX_URL', 'PIP_EXTRA_INDEX_URL', 'PIP_FIND_LINKS', 'DATABASE_URL', 'WEBHOOK_URL']) expect(launchEnv, name).not.to.have.property(name);
        }
      });

      it('the log names each variable kept out of the image and why, and shows APP_RUN with its control character escaped', () => {
        expect(log).to.contain('- Read PIP_INDEX_URL, GREETING, DATABASE_URL, WEBHOOK_URL, APP_RUN from .s2i/environment\n');
        expect(log).to.contain('- PIP_INDEX_URL from .s2i/environment is kept out of the image: only the build reads it\n');
        expect(log).to.contain('- DATABASE_URL from .s2i/environment is kept out of the image: its value holds credentials in a URL; set it in the runtime environment instead\n');
        expect(log).to.contain('- WEBHOOK_URL from .s2i/environment is kept out of the image: its value holds credentials in a URL; set it in the runtime environment instead\n');
        expect(log).not.to.match(/(GREETING|APP_RUN) from \.s2i\/environment is kept out/);
        expect(log).to.contain("APP_RUN is set: web runs 'python app.py # \\x1b]0;pwned' through /bin/sh");
        expect(res.output).not.to.contain('\x1b]0;pwned');
      });

      it('rotated tokens in .s2i/environment, PIP_EXTRA_INDEX_URL and the query strings keep the layer: pip does not run', async () => {
        const rotated = {
          ...env,
          PIP_EXTRA_INDEX_URL: (env.PIP_EXTRA_INDEX_URL ?? '').replace(TOKENS.envExtra, 'r0tated1').replace(TOKENS.queryToken, 'r0tated2'),
          PIP_FIND_LINKS: (env.PIP_FIND_LINKS ?? '').replace(TOKENS.querySig, 'r0tated3'),
        };
        await app.writeFile('.s2i/environment', fs.readFileSync(path.join(app.sourceDir, '.s2i/environment'), 'utf8').replace(TOKENS.s2iIndex, 'r0tated4'));
        open.clearRequests();
        const again = await priv.platform.buildOk(app, { platformEnv: rotated });
        expect(plainLog(again.output)).to.contain(REQUIREMENTS_UNCHANGED);
        expect(again.layers['pip-deps']?.metadata).to.deep.equal(res.layers['pip-deps']?.metadata);
        expect(open.requests).to.have.length(0);
      });

      it("a requirement file's --index-url with a token (it replaces every other index): used, masked in the log, stored nowhere", async () => {
        await app.writeFile('requirements.txt', REQUIREMENTS(openUrl('build', TOKENS.reqIndex)));
        open.clearRequests();
        const edited = await priv.platform.buildOk(app, { platformEnv: env });
        const editedLog = plainLog(edited.output);
        expect(editedLog).to.match(/Successfully installed .*itsdangerous/);
        expect(open.requests.some((r) => r.headers.authorization === `Basic ${Buffer.from(`build:${TOKENS.reqIndex}`).toString('base64')}`)).to.equal(true);
        for (const t of ALL) expect(edited.output, t).not.to.contain(t);
        expect(editedLog).to.match(/Looking in indexes: http:\/\/\*\*\*\*@127\.0\.0\.1:\d+\/simple\/, http:\/\/\*\*\*\*@127\.0\.0\.1:\d+\/simple\/\n/);
        expectNoTokenStored(edited);
      });
    });
  });
});
