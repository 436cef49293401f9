/**
 * Finding the real lifecycle: without it, the tests that need it fail and say what is missing and where it
 * was looked for (they never skip); with it, the binaries are the lifecycle release the tests were written
 * against (0.21.x, Platform API 0.15).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { LIFECYCLE_DIR_VAR, LifecycleMissingError, RealLifecycle, findLifecycle, lifecycleDir } from './index.js';
import { REPO_ROOT } from './binaries.js';

describe('real lifecycle: finding the binaries', () => {
  let tmp: string;
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lifecycle-bins-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it(`looks in <repo>/../shared/lifecycle/linux-amd64 by default, and resolves a relative ${LIFECYCLE_DIR_VAR} against the repository`, () => {
    expect(lifecycleDir({})).to.equal(path.resolve(REPO_ROOT, '..', 'shared', 'lifecycle', 'linux-amd64'));
    expect(lifecycleDir({ [LIFECYCLE_DIR_VAR]: 'vendor/lifecycle' })).to.equal(path.join(REPO_ROOT, 'vendor', 'lifecycle'));
    expect(lifecycleDir({ [LIFECYCLE_DIR_VAR]: '/opt/cnb/lifecycle' })).to.equal('/opt/cnb/lifecycle');
  });

  it('names the folder it looked in when the folder is missing', () => {
    const missing = path.join(tmp, 'nowhere');
    expect(() => findLifecycle(missing))
      .to.throw(LifecycleMissingError)
      .with.property('message')
      .that.contains(`the folder ${missing} does not exist`)
      .and.contains(LIFECYCLE_DIR_VAR);
  });

  it('names each binary that is missing or not executable', () => {
    // a link checked out as a text file (as `detector` and `builder` can be) is not the binary
    fs.writeFileSync(path.join(tmp, 'lifecycle'), 'lifecycle', { mode: 0o444 });
    expect(() => findLifecycle(tmp))
      .to.throw(LifecycleMissingError)
      .with.property('message')
      .that.contains(`'lifecycle' (${path.join(tmp, 'lifecycle')}) is not executable`)
      .and.contains(`'launcher' (${path.join(tmp, 'launcher')}) is missing`);
  });

  it('RealLifecycle.create fails with that message instead of running anything', async () => {
    let error: unknown;
    await RealLifecycle.create({ buildpackDir: tmp, lifecycleDir: path.join(tmp, 'nowhere') }).catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(LifecycleMissingError);
  });

  it('finds lifecycle 0.21.x (Platform API 0.15) where the tests look for it', () => {
    const bins = findLifecycle();
    expect(execFileSync(bins.lifecycle, ['-version'], { encoding: 'utf8' }).trim()).to.match(/^0\.21\.\d+/);
  });
});
