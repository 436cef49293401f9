/**
 * The pieces that let an app's .s2i/bin/assemble call the default steps: the $STI_SCRIPTS_PATH/assemble shim
 * (sourced or run, from any directory) and the pip-deps layer the nested default steps add to.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Layers } from '../../src/cnb/layers.js';
import { appScript, findS2iScripts, shim } from '../../src/s2i/scripts.js';
import { interpreterAvailable, parseShebang, readShebang } from '../../src/s2i/shebang.js';
import { Logger } from '../../src/logger.js';
import { thrownCause } from '../fakes/thrown.js';

const made: string[] = [];
const tmp = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 's2i-assemble-'));
  made.push(dir);
  return dir;
};
after(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('s2i assemble', () => {
  it('the shim runs the command in the app directory, whether sourced after a cd or run, and leaves the caller where it was', () => {
    const dir = tmp();
    const appDir = path.join(dir, "app 'dir'");
    fs.mkdirSync(appDir);
    const shimPath = path.join(dir, 'assemble');
    fs.writeFileSync(shimPath, shim(['/bin/sh', '-c', 'pwd > "$OUT"'], appDir), { mode: 0o755 });
    const out = path.join(dir, 'out');
    const caller = `cd /tmp\n. '${shimPath}'\necho "caller in $(pwd)"\n`;
    const stdout = execFileSync('/bin/sh', ['-c', caller], { env: { ...process.env, OUT: out }, encoding: 'utf8' });
    expect(fs.readFileSync(out, 'utf8').trim()).to.equal(appDir);
    expect(stdout.trim()).to.equal('caller in /tmp');
    fs.rmSync(out);
    execFileSync(shimPath, [], { cwd: '/', env: { ...process.env, OUT: out } });
    expect(fs.readFileSync(out, 'utf8').trim()).to.equal(appDir);
  });

  it('the shim stops a sourcing script when the command fails, with its status', () => {
    const dir = tmp();
    const shimPath = path.join(dir, 'assemble');
    fs.writeFileSync(shimPath, shim(['/bin/sh', '-c', 'exit 7'], dir), { mode: 0o755 });
    let status: number | null = null;
    try {
      execFileSync('/bin/sh', ['-c', `. '${shimPath}'\necho not reached`], { encoding: 'utf8' });
    } catch (err) {
      status = (err as { status: number | null }).status;
      expect((err as { stdout: string }).stdout).not.to.contain('not reached');
    }
    expect(status).to.equal(7);
  });

  it('continuedLayer keeps what is already in the layer (packages the script installed first)', async () => {
    const dir = tmp();
    const layers = new Layers(dir);
    fs.mkdirSync(path.join(dir, 'pip-deps', 'lib'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'pip-deps', 'lib', 'installed-by-script.py'), '');
    const layer = await layers.continuedLayer('pip-deps', { build: true, launch: true, cache: true });
    expect(layer.state).to.deep.equal({ kind: 'empty', cause: { kind: 'new' } });
    expect(fs.existsSync(path.join(dir, 'pip-deps', 'lib', 'installed-by-script.py'))).to.equal(true);
    await layer.writeMetadata({ assemble: 'custom' });
    expect(fs.readFileSync(path.join(dir, 'pip-deps.toml'), 'utf8')).to.contain('cache = true');
  });

  describe('the app\'s .s2i/bin scripts, checked before the build', () => {
    const appWith = (files: Record<string, { text: string; mode?: number }>): string => {
      const dir = tmp();
      for (const [name, f] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        fs.writeFileSync(path.join(dir, name), f.text, { mode: f.mode ?? 0o755 });
        fs.chmodSync(path.join(dir, name), f.mode ?? 0o755);
      }
      return dir;
    };
    const logged = (): { log: Logger; out: () => string; err: () => string } => {
      const out: string[] = [];
      const err: string[] = [];
      const log = new Logger({ write: (t) => void out.push(t) }, undefined, false, false, { write: (t) => void err.push(t) });
      return { log, out: () => out.join(''), err: () => err.join('') };
    };

    it('a script that is not executable is used all the same (s2i makes .s2i/bin scripts executable), with a log line', () => {
      const app = appWith({ '.s2i/bin/run': { text: '#!/bin/sh\nexec python app.py\n', mode: 0o644 }, '.s2i/bin/assemble': { text: '#!/bin/sh\necho hi\n', mode: 0o644 } });
      expect(appScript(app, 'run')).to.deep.equal({ path: path.join(app, '.s2i', 'bin', 'run'), executable: false });
      const { log, out } = logged();
      expect(findS2iScripts(app, undefined, log)).to.deep.equal({ assemble: path.join(app, '.s2i', 'bin', 'assemble'), run: path.join(app, '.s2i', 'bin', 'run') });
      expect(out()).to.contain('.s2i/bin/run is not executable; running it anyway, as s2i does');
      expect(out()).to.contain('.s2i/bin/assemble is not executable; running it anyway, as s2i does');
      // A folder of that name is not a script; nothing at all is nothing.
      fs.mkdirSync(path.join(app, '.s2i', 'bin', 'other'));
      expect(appScript(tmp(), 'run')).to.equal(undefined);
    });

    it('reads the #! line as the kernel does: CRLF, the interpreter and its one argument', () => {
      expect(parseShebang('#!/bin/bash\r\necho\r\n')).to.deep.equal({ kind: 'crlf', interpreter: '/bin/bash' });
      expect(parseShebang('#!/usr/bin/env bash\r\n')).to.deep.equal({ kind: 'crlf', interpreter: '/usr/bin/env' });
      expect(parseShebang('#!/bin/sh\necho a\r\n'), 'only the #! line matters').to.deep.equal({ kind: 'interpreter', interpreter: '/bin/sh', argument: undefined });
      expect(parseShebang('#! /usr/bin/env  python3 \n')).to.deep.equal({ kind: 'interpreter', interpreter: '/usr/bin/env', argument: 'python3' });
      expect(parseShebang('#!/bin/bash -e -x\n')).to.deep.equal({ kind: 'interpreter', interpreter: '/bin/bash', argument: '-e -x' });
      expect(parseShebang('echo no shebang\n')).to.deep.equal({ kind: 'none' });
      expect(interpreterAvailable('/bin/sh')).to.equal(true);
      expect(interpreterAvailable('/bin/no-such-shell')).to.equal(false);
      expect(interpreterAvailable('/etc/passwd'), 'not executable').to.equal(false);
      expect(interpreterAvailable('/etc'), 'a folder').to.equal(false);
      const dir = tmp();
      fs.writeFileSync(path.join(dir, 's'), Buffer.from('#!/bin/sh\r\n'));
      expect(readShebang(path.join(dir, 's'))).to.deep.equal({ kind: 'crlf', interpreter: '/bin/sh' });
    });

    it('CRLF in the #! line of assemble or run stops the build, naming the script', () => {
      const crlf = { text: '#!/bin/bash\r\necho hi\r\n' };
      expect(thrownCause(() => findS2iScripts(appWith({ '.s2i/bin/assemble': crlf }), undefined, logged().log))).to.deep.equal({ type: 's2i-script-crlf', script: 'assemble' });
      expect(thrownCause(() => findS2iScripts(appWith({ '.s2i/bin/run': crlf }), undefined, logged().log))).to.deep.equal({ type: 's2i-script-crlf', script: 'run' });
      // APP_RUN replaces .s2i/bin/run: it is never run, so never checked.
      expect(findS2iScripts(appWith({ '.s2i/bin/run': crlf }), 'python app.py', logged().log)).to.deep.equal({ assemble: undefined, run: undefined });
    });

    it('an interpreter the build image lacks stops the build for assemble and is a warning for run (it runs on the run image)', () => {
      const zsh = { text: '#!/bin/no-such-shell\necho hi\n' };
      expect(thrownCause(() => findS2iScripts(appWith({ '.s2i/bin/assemble': zsh }), undefined, logged().log))).to.deep.equal({ type: 's2i-script-interpreter-missing', script: 'assemble', interpreter: '/bin/no-such-shell' });
      const { log, err } = logged();
      const app = appWith({ '.s2i/bin/run': zsh });
      expect(findS2iScripts(app, undefined, log).run).to.equal(path.join(app, '.s2i', 'bin', 'run'));
      expect(err()).to.contain('[Warning: .s2i/bin/run needs /bin/no-such-shell]');
      // Interpreters the image has, found through env or not, pass.
      expect(findS2iScripts(appWith({ '.s2i/bin/assemble': { text: '#!/usr/bin/env bash\n' }, '.s2i/bin/run': { text: '#!/bin/sh\n' } }), undefined, logged().log).assemble).to.be.a('string');
    });
  });
});
