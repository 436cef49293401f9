/**
 * The whole test run of `npm test` in one parallel mocha: the end-to-end files of test/e2e/mocharc.cjs, longest
 * first, then the unit, local-platform, lifecycle and helper files (`npm run test:fast`), which fill the workers
 * as the long end-to-end files finish and while their builds wait on servers and timers. Run one after the other,
 * the fast files added their whole time (about 90 s) to the end-to-end run's; here most of it overlaps.
 */
const fs = require('node:fs');
const path = require('node:path');
const e2e = require('./e2e/mocharc.cjs');

const FAST_DIRS = ['unit', 'platform', 'lifecycle', 'helpers'];
const fast = FAST_DIRS.flatMap((d) =>
  fs
    .readdirSync(path.join(__dirname, d))
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => path.join('test', d, f)),
);

module.exports = { ...e2e, spec: [...e2e.spec, ...fast] };
