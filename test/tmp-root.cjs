/**
 * One temporary folder per test run (a mocha global fixture, .mocharc.json): TMPDIR points into it for the run,
 * so os.tmpdir() in every test file and worker lands there, and the whole folder is removed at the end, whatever
 * a test left behind (staged buildpacks alone are 108 MB each). Builds and launches get the local platform's own
 * environment, which does not pass TMPDIR on.
 * KEEP_PLATFORM=1 keeps it, as it keeps the local platform's folders, for inspection.
 */
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

let root;

exports.mochaGlobalSetup = () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'ausnimbus-tests-'));
  fs.chmodSync(root, 0o1777); // like /tmp itself: builds and launches run as other users
  process.env.TMPDIR = root;
};

exports.mochaGlobalTeardown = () => {
  if (!root) return;
  if (process.env.KEEP_PLATFORM === '1') console.log(`[tests] kept ${root} (KEEP_PLATFORM=1)`);
  else fs.rmSync(root, { recursive: true, force: true });
};
