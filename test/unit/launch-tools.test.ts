// Build tools an app needs at launch (src/python/launch-tools.ts): pip sees the build-tools layer's setuptools
// as installed, so a requirement on it installs nothing into pip-deps; these are found and copied there.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { installedDistributions } from '../../src/python/installed.js';
import { copyTools, keepLaunchTools, launchToolsMissing, toolsInMetadata, toolsInRequirementFile, toolsInRequiresTxt, toolsRequiredBy } from '../../src/python/launch-tools.js';
import { CapturedLog } from '../fakes/logger.js';

function write(root: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
}

const SP = 'lib/python3.11/site-packages';

describe('build tools needed at launch', () => {
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'launch-tools-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it('Requires-Dist (PEP 566): a tool named outside an extra, whatever else the marker says; old parenthesised versions too; not the body', () => {
    const metadata = [
      'Metadata-Version: 2.1', 'Name: gunicorn', 'Version: 20.1.0',
      'Requires-Dist: setuptools (>=3.0)',
      'Requires-Dist: Wheel ; python_version < "3.12"',
      'Requires-Dist: pip; extra == "dev"',
      'Requires-Dist: setuptools-scm>=8',
      'Requires-Dist: gevent>=1.4.0; extra == "gevent"',
      '', 'A description quoting a header is the body: Requires-Dist: pip', 'Requires-Dist: pip',
    ].join('\n');
    expect(toolsInMetadata(metadata)).to.deep.equal(['setuptools', 'wheel']);
  });

  it('egg-info requires.txt: the lines before any section and [:marker] sections, not extras', () => {
    expect(toolsInRequiresTxt('six\nsetuptools>=3.0\n\n[:python_version < "3"]\nwheel\n\n[dev]\npip\n\n[dev:sys_platform == "linux"]\npip\n')).to.deep.equal(['setuptools', 'wheel']);
  });

  it('requirement files: requirement lines naming a tool, with hashes, markers or extras; never options or other names', () => {
    const text = '# pinned\nsetuptools==65.5.0 --hash=sha256:abc \\\n    --hash=sha256:def\nWHEEL[extra]>=0.40 ; python_version >= "3.8"\n-r base.txt\n--find-links ./pip\npip-tools==7\n./setuptools\n';
    expect(toolsInRequirementFile(Buffer.from(text))).to.deep.equal(['setuptools', 'wheel']);
  });

  it('what the installed distributions require: dist-info, egg-info and a project installed in place (egg-link)', () => {
    const base = path.join(root, 'deps');
    const project = path.join(root, 'app');
    write(base, {
      [`${SP}/gunicorn-20.1.0.dist-info/METADATA`]: 'Name: gunicorn\nVersion: 20.1.0\nRequires-Dist: setuptools>=3.0\n',
      [`${SP}/old-1.0-py3.11.egg-info/requires.txt`]: 'wheel\n',
      [`${SP}/myapp.egg-link`]: `${project}\n.\n`,
    });
    write(project, { 'myapp.egg-info/requires.txt': 'pip\n', 'myapp.egg-info/PKG-INFO': 'Name: myapp\nVersion: 0.1\n' });
    expect(toolsRequiredBy(base)).to.deep.equal(['pip', 'setuptools', 'wheel']);
  });

  it('copies a tool with its dist-info and every file its RECORD names in site-packages, not its scripts; already installed ones are not missing', () => {
    const tools = path.join(root, 'tools', SP);
    const base = path.join(root, 'deps');
    write(tools, {
      'setuptools/__init__.py': 'S', 'pkg_resources/__init__.py': 'P', '_distutils_hack/__init__.py': '', 'distutils-precedence.pth': 'import os\n',
      'setuptools-65.5.0.dist-info/METADATA': 'Name: setuptools\nVersion: 65.5.0\n',
      'setuptools-65.5.0.dist-info/RECORD': '_distutils_hack/__init__.py,,\ndistutils-precedence.pth,,\npkg_resources/__init__.py,,\nsetuptools/__init__.py,,\n../../../bin/easy_install,,\nsetuptools-65.5.0.dist-info/RECORD,,\n',
      'pip/__init__.py': '', 'pip-23.2.1.dist-info/METADATA': 'Name: pip\nVersion: 23.2.1\n', 'pip-23.2.1.dist-info/RECORD': 'pip/__init__.py,,\n',
    });
    write(base, { [`${SP}/gunicorn-20.1.0.dist-info/METADATA`]: 'Name: gunicorn\nVersion: 20.1.0\nRequires-Dist: setuptools>=3.0\nRequires-Dist: pip\n' });
    write(base, { [`${SP}/pip-24.0.dist-info/METADATA`]: 'Name: pip\nVersion: 24.0\n' });
    expect(launchToolsMissing(base, [])).to.deep.equal(['setuptools']);
    expect(copyTools(tools, path.join(base, SP), ['setuptools'])).to.deep.equal([{ name: 'setuptools', version: '65.5.0' }]);
    expect(fs.readdirSync(path.join(base, SP)).sort()).to.deep.equal(['_distutils_hack', 'distutils-precedence.pth', 'gunicorn-20.1.0.dist-info', 'pip-24.0.dist-info', 'pkg_resources', 'setuptools', 'setuptools-65.5.0.dist-info']);
    expect(fs.readFileSync(path.join(base, SP, 'pkg_resources/__init__.py'), 'utf8')).to.equal('P');
    expect(fs.existsSync(path.join(base, 'bin'))).to.equal(false);
    expect(installedDistributions(base).map((d) => d.name)).to.include('setuptools');
    expect(launchToolsMissing(base, [])).to.deep.equal([]);
  });

  it('keepLaunchTools: a requirement file (and what it includes) naming setuptools copies it, with one log line; nothing needed, nothing logged', () => {
    const app = path.join(root, 'app');
    const tools = path.join(root, 'tools', SP);
    const base = path.join(root, 'deps');
    write(tools, { 'setuptools/__init__.py': '', 'setuptools-65.5.0.dist-info/RECORD': 'setuptools/__init__.py,,\n', 'setuptools-65.5.0.dist-info/METADATA': 'Name: setuptools\nVersion: 65.5.0\n' });
    write(app, { 'requirements.txt': 'flask\n-r more.txt\n', 'more.txt': 'setuptools\n' });
    fs.mkdirSync(base);
    const log = new CapturedLog();
    keepLaunchTools({ appDir: app, userBase: base, toolsSite: tools, minor: '3.11', requirementFiles: [], pipVariables: {}, log: log.logger });
    expect(log.stdout).to.equal('');
    keepLaunchTools({ appDir: app, userBase: base, toolsSite: tools, minor: '3.11', requirementFiles: ['requirements.txt'], pipVariables: {}, log: log.logger });
    expect(log.stdout).to.equal("- Copied setuptools 65.5.0 from the build-tools layer into pip-deps: the app's requirements need it when it runs\n");
    expect(fs.existsSync(path.join(base, SP, 'setuptools', '__init__.py'))).to.equal(true);
  });
});
