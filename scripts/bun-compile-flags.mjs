// The flags of every `bun build --compile` here: scripts/compile.mjs for the buildpack, and bench/detect.ts for
// the bun hello world it measures against, so the two differ only in what the bundle holds and does.
export const BUN_COMPILE_FLAGS = [
  '--compile',
  // --splitting (ESM only): the build's modules, loaded by dynamic import() in src/main.ts, become chunks of their
  // own inside the executable, so bin/detect loads only the few kB it runs, not the 0.9 MB bundle.
  '--format=esm',
  '--splitting',
  '--minify',
  '--bytecode',
  // A compiled bun executable otherwise reads .env and bunfig.toml from its working directory, which for
  // bin/detect and bin/build is the app: the app's .env would set the buildpack's own environment (BP_*, PIP_*,
  // CNB_*), and a bunfig.toml `preload` would run the app's code inside the buildpack.
  '--no-compile-autoload-dotenv',
  '--no-compile-autoload-bunfig',
  '--no-compile-autoload-tsconfig',
  '--no-compile-autoload-package-json',
];
