/**
 * The e2e run (`npm run test:e2e`): the base settings of .mocharc.json, three workers, and every file of this
 * folder once, the longest first, so that no long file starts last and keeps the run going alone. (Naming files
 * before a glob would run them twice in parallel mode.)
 */
const fs = require('node:fs');
const path = require('node:path');

// Measured (summed test durations, 2026-12-05): pip ~480 s, start 426, interrupted 264, django-s2i 174, start-s2i 98,
// lock-poetry 96, package 82, pip-credentials ~75, launch-image 75, real-lifecycle 64; the rest under 65 s each.
const LONGEST_FIRST = ['pip', 'start', 'interrupted', 'django-s2i', 'start-s2i', 'lock-poetry', 'package', 'pip-credentials', 'launch-image', 'real-lifecycle'];
const all = fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.ts')).sort();
const first = LONGEST_FIRST.map((n) => `${n}.test.ts`).filter((f) => all.includes(f));

module.exports = {
  ...require('../../.mocharc.json'),
  parallel: true,
  jobs: 3,
  spec: [...first, ...all.filter((f) => !first.includes(f))].map((f) => path.join('test', 'e2e', f)),
};
