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
import { shim } from '../../src/s2i/scripts.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 's2i-assemble-'));

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
});
