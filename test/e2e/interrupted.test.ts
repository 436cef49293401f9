/**
 * Issue 8, item 1: interrupted builds. bin/build, with pip and everything else it started (its process group,
 * as when a build container dies), is SIGKILLed at 23 points of a Flask build (Python 3.11 from the loopback
 * manifest, packages from the local wheelhouse): while Python downloads and unpacks, while its layer is
 * finished (bytecode), while pip installs as that bytecode is still being compiled (issue 16: the compile runs
 * alongside pip and python.toml waits for it), while pip resolves and installs, and while layer metadata is
 * written. The points are
 * milestones seen in the layers dir and time offsets spread over a measured build. After each kill the next
 * build runs with the cache restored, under one of two models, each on an app of its own (run side by side):
 *
 *  (a) lifecycle: a killed build exports nothing, so the next build restores from the last successful export
 *      (or from nothing);
 *  (b) harsh: the next build restores what the killed build left in its layers dir, under the buildpack.md §Layers rules
 *      (platform `restoreFrom`): only layers with a `<layer>.toml` are kept, [types] is stripped, a directory
 *      without its toml is dropped. This is what proves the "toml last" discipline.
 *
 * Asserted for every run: the kill happened; in the killed layers dir, every layer that has both a
 * `<layer>.toml` and a directory holds exactly a clean build's contents (tree digest); the next build succeeds
 * and its app answers HTTP 200; and whenever it logs "Using cached Python" or "Using cached dependencies", the
 * reused layer's digest equals the clean build's. Each kill point is a test of its own, which reports that
 * point's failure; the two chains start in before() and run side by side. A table of every run is printed at
 * the end.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { E2E, plainLog } from './support.js';
import { treeDigest, type AppSession, type BuildResult, type Interrupt, type InterruptProbe } from '../platform/index.js';

/** Layers whose contents must be identical to a clean build's whenever they are trusted. */
const CHECKED = ['python', 'build-tools', 'pip-deps', 'gunicorn-config'] as const;
type Checked = (typeof CHECKED)[number];

/**
 * A layer's contents digest, byte for byte, bytecode included: nothing writes into a layer after its toml
 * (pip runs with PYTHONDONTWRITEBYTECODE, so it no longer caches its own bytecode in the python layer).
 */
async function contentsDigest(_layer: Checked, dir: string): Promise<string> {
  return treeDigest(dir);
}
const REUSE_LINES: Array<[Checked, string]> = [
  ['python', 'Using cached Python'],
  ['build-tools', 'Using cached Python'], // kept exactly with the python layer
  ['pip-deps', 'Using cached dependencies'],
];
const SITE_PACKAGES = 'pip-deps/lib/python3.11/site-packages';

const has = (p: InterruptProbe, ...rels: string[]): boolean => rels.every((r) => fs.existsSync(path.join(p.layersDir, r)));
const count = (p: InterruptProbe, rel: string): number => {
  try {
    return fs.readdirSync(path.join(p.layersDir, rel)).length;
  } catch {
    return 0;
  }
};
/** Download and unpack run together (the archive is unpacked into a staging folder as it arrives). */
const downloading = (p: InterruptProbe): boolean => has(p, '.python-staging') || has(p, '.python-download.tar.gz');
const pythonFinishing = (p: InterruptProbe): boolean => has(p, 'python/bin') && !has(p, 'python.toml');
/** A cold build's pip has started while the python layer's bytecode is still compiling (no python.toml yet). */
const pipBeforePythonToml = (p: InterruptProbe): boolean => has(p, 'pip-deps', 'build-tools') && !has(p, 'python.toml');
/** pip runs once python.toml is written and until pip-deps.toml is. */
const pipRunning = (p: InterruptProbe): boolean => has(p, 'python.toml', 'pip-deps') && !has(p, 'pip-deps.toml');

interface KillPoint {
  name: string;
  /** A fresh Interrupt for each build (milestone predicates may keep state). */
  interrupt: () => Interrupt;
}

/**
 * A milestone of pip's install in a rebuild: `pred` is looked at only once the buildpack has reset the restored
 * pip-deps layer (toml, contents and SBOM gone, an empty directory made), since the restored layer would match
 * it from the start.
 */
function inPip(pred: (p: InterruptProbe) => boolean, extra: Omit<Interrupt, 'when'> = {}): () => Interrupt {
  return () => {
    let reset = false;
    const isReset = (p: InterruptProbe): boolean => pipRunning(p) && count(p, SITE_PACKAGES) === 0 && !has(p, 'pip-deps.sbom.cdx.json');
    return {
      ...extra,
      when: (p) => {
        if (!reset) reset = isReset(p);
        return reset && pred(p);
      },
    };
  };
}

/** Harsh model, cold builds (nothing restored): Python downloads, unpacks and is finished. */
const HARSH_COLD: KillPoint[] = [
  { name: 'download+unpack begun', interrupt: () => ({ when: downloading }) },
  { name: 'download+unpack, +300 ms', interrupt: () => ({ when: downloading, afterMs: 300 }) },
  { name: 'python/ in place, no python.toml (bytecode)', interrupt: () => ({ when: pythonFinishing, afterMs: 200 }) },
  { name: 'pip running while the bytecode compiles, +300 ms', interrupt: () => ({ when: pipBeforePythonToml, pollMs: 1, afterMs: 300 }) },
  // python.toml follows its SBOM within a millisecond: the kill lands just before or just after it
  { name: 'python.sbom written (python.toml next)', interrupt: () => ({ when: (p) => has(p, 'python.sbom.cdx.json'), pollMs: 1 }) },
];

/** Harsh model, rebuilds after a requirements change: Python is reused, pip installs everything again. */
const HARSH_PIP: KillPoint[] = [
  { name: 'pip started (pip-deps/ reset)', interrupt: inPip(() => true) },
  { name: 'pip resolving/downloading, +1 s', interrupt: inPip(() => true, { afterMs: 1000 }) },
  { name: 'pip installing (>= 1 in site-packages)', interrupt: inPip((p) => count(p, SITE_PACKAGES) >= 1) },
  { name: 'pip installing (>= 8 in site-packages)', interrupt: inPip((p) => count(p, SITE_PACKAGES) >= 8) },
  { name: 'pip installing (>= 14 in site-packages)', interrupt: inPip((p) => count(p, SITE_PACKAGES) >= 14) },
  { name: 'pip-deps.sbom written (pip-deps.toml next)', interrupt: inPip((p) => has(p, 'pip-deps.sbom.cdx.json'), { pollMs: 1 }) },
  { name: 'pip-deps.toml written', interrupt: inPip((p) => has(p, 'pip-deps.toml'), { pollMs: 1 }) },
  { name: 'launch.toml written (bin/build about to exit)', interrupt: () => ({ when: (p) => has(p, 'launch.toml'), pollMs: 1 }) },
];

/** Lifecycle model: offsets spread over a rebuild (after a requirements change), as fractions of its duration. */
const LIFECYCLE_FRACTIONS = [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95];

/**
 * A kill `ms` after the start, or as the build writes launch.toml if it gets there first (builds on a busy
 * machine vary): every point is a kill.
 */
const atOffset = (ms: number, seen: { elapsedMs: number }): Interrupt => ({
  pollMs: 2,
  when: (p) => {
    seen.elapsedMs = p.elapsedMs;
    return p.elapsedMs >= ms || has(p, 'launch.toml');
  },
});

interface Run {
  model: 'lifecycle' | 'harsh';
  point: string;
  killedAtMs: number;
  /** What the killed build left, per layer: `toml+dir`, `dir` (no toml), `toml` (no dir). */
  left: string;
  restored: string;
  reused: string;
  /** How the next build's exporter got the python layer: `unchanged` from the previous image, or `new`. */
  pythonExport: string;
  nextMs: number;
  http: number;
}

/** One app and the digests of a clean build of it (layer contents hold absolute paths of its layers dir). */
interface Chain {
  app: AppSession;
  /** contentsDigest() of each layer of a clean build. */
  clean: Partial<Record<Checked, string>>;
  /** treeDigest() of the clean python layer, bytecode included. */
  cleanPythonExact?: string;
  /** requirements.txt as in the fixture, and changed so that pip installs again (see requirementVariants). */
  variants: string[];
}

/** One kill point of a chain (or a step between them), as a test of its own. */
interface Step {
  name: string;
  run: () => Promise<void>;
}

/**
 * Runs `steps` one after another, in the background, and returns one promise per step, which that step's test
 * awaits: a failure is reported by the test of the step that failed. A step's builds depend on the state the
 * steps before it left (the app's last export, its cache), so once one fails the later ones are not run and
 * their tests fail, naming the step that stopped the chain.
 */
function startChain(model: string, steps: Step[]): Array<Promise<void>> {
  let failed: string | undefined;
  let previous: Promise<unknown> = Promise.resolve();
  return steps.map((step) => {
    const result = previous.then(async () => {
      if (failed !== undefined) throw new Error(`not run: the ${model} chain stopped at '${failed}', which failed (see its test)`);
      try {
        await step.run();
      } catch (err) {
        failed = step.name;
        throw err;
      }
    });
    previous = result.catch(() => undefined);
    return result;
  });
}

describe('e2e: interrupted builds (SIGKILL at 23 points; lifecycle and harsh restore models)', function () {
  this.timeout(900_000);
  let e2e: E2E;
  let env: Record<string, string>;
  const runs: Run[] = [];
  let reuseChecks = 0;
  let tomlChecks = 0;
  let pythonChecks = 0;
  let pythonExact = 0;
  let harshChain: Chain;
  let lifecycleChain: Chain;
  let harshResults: Array<Promise<void>> = [];
  let lifecycleResults: Array<Promise<void>> = [];

  // ---- the harsh model: cold builds, then rebuilds after a requirements change --------------------------------

  // Cold builds: the first one's next build restores nothing (python/ has no toml yet), so it is the clean build.
  const harshCold: Step[] = HARSH_COLD.map((point, i) => ({
    name: point.name,
    run: async () => {
      const chain = harshChain;
      const killed = await e2e.platform.build(chain.app, { platformEnv: env, clearCache: true, interrupt: point.interrupt() });
      await record('harsh', point.name, chain, killed, async () => {
        const next = await e2e.platform.build(chain.app, { platformEnv: env, restoreFrom: killed.interrupted?.layersDir });
        if (i === 0) {
          expect(next.restored, 'the first kill left something trusted').to.deep.equal({});
          await setClean(chain, next);
        }
        return next;
      });
    },
  }));
  // Rebuilds after a requirements change; the next build retries the change from what the killed one left.
  let harshVariant = 0; // the requirements variant of the last export
  const harshPip: Step[] = HARSH_PIP.map((point) => ({
    name: point.name,
    run: async () => {
      const chain = harshChain;
      harshVariant = 1 - harshVariant;
      await chain.app.writeFile('requirements.txt', chain.variants[harshVariant] as string);
      const killed = await e2e.platform.build(chain.app, { platformEnv: env, interrupt: point.interrupt() });
      await record('harsh', point.name, chain, killed, () => e2e.platform.build(chain.app, { platformEnv: env, restoreFrom: killed.interrupted?.layersDir }));
    },
  }));
  const harshSteps = [...harshCold, ...harshPip];

  // ---- the lifecycle model ----------------------------------------------------------------------------------

  // A rebuild after a requirements change, measured (observed, not killed). Each retry below is such a rebuild
  // too and measures it again (they get faster once pip's own bytecode is in the python layer).
  let rebuildMs = 0;
  const measure: Interrupt = {
    pollMs: 10,
    when: (p) => {
      rebuildMs = p.elapsedMs;
      return false;
    },
  };
  let exported = 1; // the requirements variant of the last export
  const lifecycleSteps: Step[] = [
    {
      // A new app's first build, killed: nothing was exported, the next build starts from nothing (the clean build).
      name: 'first build, download+unpack, +200 ms',
      run: async () => {
        const chain = lifecycleChain;
        const first = await e2e.platform.build(chain.app, { platformEnv: env, interrupt: { when: downloading, afterMs: 200 } });
        await record('lifecycle', 'first build, download+unpack, +200 ms', chain, first, async () => {
          const next = await e2e.platform.build(chain.app, { platformEnv: env });
          expect(next.restored).to.deep.equal({});
          await setClean(chain, next);
          return next;
        });
      },
    },
    {
      // A Python upgrade killed while the new interpreter is finished; the next build goes back to 3.11 and
      // reuses the last export's layers.
      name: 'upgrade to 3.12: new python/ in place, +200 ms',
      run: async () => {
        const chain = lifecycleChain;
        const py312 = await e2e.python('3.12');
        const upgrade = { ...env, BP_PYTHON_DISTRIBUTIONS: await e2e.manifest(['3.11', '3.12'], 'upgrade.json'), BP_PYTHON_VERSION: py312.version };
        let gone = false; // the restored 3.11 has been removed
        const newPythonFinishing = (p: InterruptProbe): boolean => {
          if (!gone) gone = !has(p, 'python/bin');
          return gone && pythonFinishing(p);
        };
        const cold = await e2e.platform.build(chain.app, { platformEnv: upgrade, interrupt: { when: newPythonFinishing, afterMs: 200 } });
        await record('lifecycle', 'upgrade to 3.12: new python/ in place, +200 ms', chain, cold, () => e2e.platform.build(chain.app, { platformEnv: env }));
      },
    },
    {
      // Not a kill point: it times the rebuilds the offsets below are fractions of. It exports the changed variant.
      name: 'a rebuild after a requirements change, measured (not killed), discards the cached dependencies',
      run: async () => {
        const chain = lifecycleChain;
        await chain.app.writeFile('requirements.txt', chain.variants[1] as string);
        const measured = await e2e.platform.buildOk(chain.app, { platformEnv: env, interrupt: measure });
        expect(plainLog(measured.buildOutput)).to.contain('Discarding cached dependencies');
        expect(rebuildMs, 'the rebuild was timed').to.be.above(0);
        exported = 1;
      },
    },
    // Rebuilds after a requirements change, killed at offsets spread over a rebuild. The next build alternately
    // retries the change (pip runs again, from the last export) and goes back to what was exported (all reused).
    ...LIFECYCLE_FRACTIONS.map((f, i): Step => {
      const retry = i % 2 === 0;
      const pct = `${Math.round(f * 100)}%`;
      return {
        name: `rebuild killed at ${pct} of a measured rebuild; next: ${retry ? 'retry' : 'go back'}`,
        run: async () => {
          const chain = lifecycleChain;
          const variants = chain.variants;
          let offset = Math.round(f * rebuildMs);
          let changed = 1 - exported;
          await chain.app.writeFile('requirements.txt', variants[changed] as string);
          const seen = { elapsedMs: 0 };
          let killed = await e2e.platform.build(chain.app, { platformEnv: env, interrupt: atOffset(offset, seen) });
          // On a busy machine a rebuild can beat the measured one and finish between two polls (launch.toml comes
          // and goes within milliseconds). It then exported the change: time the kill on it and change back, once.
          if (!killed.interrupted && killed.success) {
            exported = changed;
            changed = 1 - exported;
            offset = Math.round(f * seen.elapsedMs);
            await chain.app.writeFile('requirements.txt', variants[changed] as string);
            killed = await e2e.platform.build(chain.app, { platformEnv: env, interrupt: atOffset(offset, seen) });
          }
          await record('lifecycle', `rebuild at ${offset} ms (${pct}); next: ${retry ? 'retry' : 'go back'}`, chain, killed, async () => {
            if (!retry) await chain.app.writeFile('requirements.txt', variants[exported] as string);
            return e2e.platform.build(chain.app, { platformEnv: env, ...(retry ? { interrupt: measure } : {}) });
          });
          if (retry) exported = changed;
        },
      };
    }),
    {
      // A requirements change killed as its metadata is written, retried.
      name: 'pip-deps.sbom written; next: retry',
      run: async () => {
        const chain = lifecycleChain;
        await chain.app.writeFile('requirements.txt', chain.variants[1 - exported] as string);
        const late = await e2e.platform.build(chain.app, { platformEnv: env, interrupt: inPip((p) => has(p, 'pip-deps.sbom.cdx.json'), { pollMs: 1 })() });
        await record('lifecycle', 'pip-deps.sbom written; next: retry', chain, late, () => e2e.platform.build(chain.app, { platformEnv: env }));
      },
    },
  ];

  before(async () => {
    e2e = await E2E.start();
    env = await e2e.env('3.11');
    const newChain = async (): Promise<Chain> => {
      const app = await e2e.app('flask-wsgi');
      return { app, clean: {}, variants: requirementVariants(app) };
    };
    harshChain = await newChain();
    lifecycleChain = await newChain();
    // Both chains run side by side (most of a build is waiting on pip and the file system); each step's test
    // awaits that step.
    harshResults = startChain('harsh', harshSteps);
    lifecycleResults = startChain('lifecycle', lifecycleSteps);
  });

  after(async () => {
    await Promise.allSettled([...harshResults, ...lifecycleResults]);
    if (runs.length > 0) {
      console.log(`\n      ${runs.length} interrupted builds; ${tomlChecks} layers with a toml checked in killed layers dirs; ${reuseChecks} reuses checked, all identical to a clean build's`);
      console.log(`      python layers trusted: ${pythonChecks}, of which ${pythonExact} had the clean build's bytecode caches too`);
      console.log('      model     | kill point                                     |  killed at | left in the killed layers dir                                                  | next build restored                             | reused           | python exported | next ms | HTTP');
      for (const r of runs) {
        console.log(`      ${r.model.padEnd(9)} | ${r.point.padEnd(46)} | ${String(r.killedAtMs).padStart(7)} ms | ${r.left.padEnd(78)} | ${r.restored.padEnd(47)} | ${r.reused.padEnd(16)} | ${r.pythonExport.padEnd(15)} | ${String(r.nextMs).padStart(7)} | ${r.http}`);
      }
    }
    await e2e?.stop();
  });

  /** The result of step `i`; a chain that was never started fails the test rather than passing it. */
  const resultOf = (results: Array<Promise<void>>, i: number): Promise<void> => results[i] ?? Promise.reject(new Error('the chain was not started'));

  describe(`harsh model: the next build restores what the killed build left (${harshSteps.length} kill points)`, () => {
    for (const [i, step] of harshSteps.entries()) it(step.name, () => resultOf(harshResults, i));
  });

  describe(`lifecycle model: the next build restores the last successful export (${lifecycleSteps.length - 1} kill points)`, () => {
    for (const [i, step] of lifecycleSteps.entries()) it(step.name, () => resultOf(lifecycleResults, i));
  });

  // A suite of its own: mocha runs a suite's tests before its child suites, and this one comes last.
  describe('both models', () => {
    it('exercised the reuse checks: more than 5 reuses compared with a clean build', async () => {
      await Promise.allSettled([...harshResults, ...lifecycleResults]);
      expect(runs, 'interrupted builds recorded (a failed kill point is reported by its own test)').to.have.lengthOf(harshSteps.length + lifecycleSteps.length - 1);
      expect(reuseChecks).to.be.above(5);
    });
  });

  // ---- checks --------------------------------------------------------------------------------------------

  function requirementVariants(app: AppSession): string[] {
    const original = fs.readFileSync(path.join(app.sourceDir, 'requirements.txt'), 'utf8');
    return [original, `${original}# a change that makes pip install again\n`];
  }

  async function setClean(chain: Chain, res: BuildResult): Promise<void> {
    for (const l of CHECKED) chain.clean[l] = await contentsDigest(l, storedLayer(res, l));
    chain.cleanPythonExact = res.layers.python?.digest;
    expect(Object.values(chain.clean).every((d) => d?.startsWith('sha256:'))).to.equal(true);
  }

  /** A layer as the build stored it: launch layers in the image, the build-only build-tools layer in the cache. */
  const storedLayer = (res: BuildResult, layer: string): string =>
    layer === 'build-tools' ? path.join(res.cache?.dir ?? '', 'layers', layer) : path.join(res.image?.dir ?? '', 'layers', layer);

  /** Compares a trusted layer with the clean build's. */
  async function expectClean(chain: Chain, layer: Checked, dir: string, why: string): Promise<void> {
    expect(await contentsDigest(layer, dir), why).to.equal(chain.clean[layer]);
    if (layer !== 'python') return;
    pythonChecks++;
    if ((await treeDigest(dir)) === chain.cleanPythonExact) pythonExact++;
  }

  /** Every layer the killed build left with both a toml and a dir must hold a clean build's contents. */
  async function checkKilledDir(chain: Chain, killed: BuildResult): Promise<string> {
    const dir = killed.interrupted?.layersDir ?? '';
    const names = fs.readdirSync(dir);
    const parts: string[] = [];
    for (const l of ['python', 'build-tools', 'pip-cache', 'pip-deps', 'gunicorn-config']) {
      const toml = names.includes(`${l}.toml`);
      const isDir = names.includes(l);
      if (!toml && !isDir) continue;
      parts.push(`${l}:${toml && isDir ? 'toml+dir' : toml ? 'toml' : 'dir'}`);
      if (!toml || !isDir || !(CHECKED as readonly string[]).includes(l)) continue;
      const clean = chain.clean[l as Checked];
      expect(clean, `${l}.toml beside contents before any clean build of this app`).to.not.equal(undefined);
      tomlChecks++;
      await expectClean(chain, l as Checked, path.join(dir, l), `the killed build left ${l}.toml beside incomplete contents (${killed.interrupted?.reason})`);
    }
    return parts.join(' ') || '(nothing)';
  }

  /** The next build: success, HTTP 200, and every logged reuse is of a clean build's contents. */
  async function checkNext(chain: Chain, next: BuildResult): Promise<{ reused: string; http: number }> {
    expect(next.success, plainLog(next.output)).to.equal(true);
    const log = plainLog(next.buildOutput);
    const reused: string[] = [];
    for (const [layer, line] of REUSE_LINES) {
      if (!log.includes(line)) continue;
      reused.push(layer);
      reuseChecks++;
      await expectClean(chain, layer, storedLayer(next, layer), `the next build reused a ${layer} layer that differs from a clean build's`);
    }
    const s = await e2e.serve(next);
    await s.proc.stop('SIGKILL'); // stopping cleanly is the soak test's business
    expect(s.status).to.equal(200);
    expect(s.body).to.equal('Hello from Flask under gunicorn');
    return { reused: reused.join(', ') || '-', http: s.status };
  }

  async function record(model: Run['model'], point: string, chain: Chain, killed: BuildResult, next: () => Promise<BuildResult>): Promise<void> {
    expect(killed.interrupted, `the build was not killed at '${point}'\n${plainLog(killed.output)}`).to.not.equal(undefined);
    expect(killed.success).to.equal(false);
    const firstOfApp = Object.keys(chain.clean).length === 0;
    const left = firstOfApp ? summarize(killed) : await checkKilledDir(chain, killed);
    const t = Date.now();
    const res = await next();
    const nextMs = Date.now() - t;
    if (firstOfApp) await checkKilledDir(chain, killed); // now that the clean digests are known
    const { reused, http } = await checkNext(chain, res);
    const restored = Object.entries(res.restored).map(([l, r]) => `${l}${r.contents ? '' : '(meta)'}`).join(' ') || '(nothing)';
    const pythonExport = res.layers.python?.exported ?? '?';
    runs.push({ model, point, killedAtMs: killed.interrupted?.atMs ?? -1, left, restored, reused, pythonExport, nextMs, http });
  }

  function summarize(killed: BuildResult): string {
    const names = fs.readdirSync(killed.interrupted?.layersDir ?? '');
    return ['python', 'build-tools', 'pip-cache', 'pip-deps', 'gunicorn-config']
      .filter((l) => names.includes(l) || names.includes(`${l}.toml`))
      .map((l) => `${l}:${names.includes(`${l}.toml`) && names.includes(l) ? 'toml+dir' : names.includes(l) ? 'dir' : 'toml'}`)
      .join(' ') || '(nothing)';
  }
});
