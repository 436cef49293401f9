/**
 * The layering of src/, checked in `npm test` (npm run check:deps):
 * - no import cycles (type-only imports included: a cycle of types is still a cycle of concepts);
 * - src/cnb/ is the Buildpack API framework (like libcnb.rs): it imports nothing of the buildpack;
 * - src/ never imports tests, benchmarks or scripts;
 * - only the composition root (src/main.ts) and tests pick the real command runner.
 */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'cnb-is-a-framework',
      comment: 'src/cnb/ must not import the buildpack (errors, logger, settings): exit codes and its own causes live in src/cnb/error.ts.',
      severity: 'error',
      from: { path: '^src/cnb/' },
      to: { path: '^src/', pathNot: '^src/cnb/' },
    },
    { name: 'src-not-tests', severity: 'error', from: { path: '^src/' }, to: { path: '^(test|bench|scripts)/' } },
    {
      name: 'real-executor-from-main-only',
      comment: 'Steps get their executor from Deps; importing exec.ts for its value (not its types) is main.ts\'s job.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(main|exec)\\.ts$' },
      to: { path: '^src/exec\\.ts$', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
