import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { e2eForFile } from './support.js';

/** bin/detect and bin/build are single executables: they run on a build image with no Node.js at all. */
describe('e2e: without Node.js', function () {
  this.timeout(300_000);
  const e2e = e2eForFile();

  it('the hiding works: node cannot start in the namespace the phases run in', () => {
    const r = spawnSync('unshare', ['-m', '--propagation', 'private', '--', '/bin/sh', '-c', 'mount --bind /dev/null /usr/bin/node && node -e "console.log(1)"']);
    expect(r.status).to.not.equal(0);
  });

  it('detect exits 0 for a Flask app and 100 for an empty directory; build writes a launch.toml the platform accepts', async () => {
    const pass = await e2e.platform.detect(await e2e.app('flask-wsgi'), { hideNode: true });
    expect(pass.code).to.equal(0);
    const fail = await e2e.platform.detect(await e2e.platform.app({}), { hideNode: true });
    expect(fail.code).to.equal(100);
    const res = await e2e.platform.buildOk(await e2e.app('flask-wsgi'), { hideNode: true, platformEnv: await e2e.env() });
    expect(res.violations).to.deep.equal([]);
    expect(res.processes.find((p) => p.type === 'web')?.default).to.equal(true);
    const { proc, status } = await e2e.serve(res);
    expect(status).to.equal(200);
    await proc.stop();
  });
});
