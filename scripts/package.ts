/**
 * `npm run package`: the buildpack as users get it, one package per target (linux/amd64, linux/arm64):
 *
 *   build/ausnimbus-python-<version>-linux-<arch>/      the buildpack directory (pack build --buildpack <dir>)
 *   build/ausnimbus-python-<version>-linux-<arch>.cnb   buildpackage: OCI layout tar, as pack --format file writes it
 *   build/ausnimbus-python-<version>-linux-<arch>.tgz   buildpack.toml at the root (pack build --buildpack <file>)
 *
 * Each target's bin/ is compiled for that architecture (bun build --compile --target=bun-linux-<arch>; for
 * the other architecture bun fetches its runtime from registry.npmjs.org once and caches it in
 * ~/.bun/install/cache). The same commit always gives the same bytes.
 *
 *   npm run package [-- --arch amd64|arm64 …] [--out DIR]
 *   npm run package -- --offline [VERSION …] [--distributions MANIFEST] [--mirror URL]
 *
 * --offline bundles the Python archives for the version requests (default: the buildpack's default version)
 * into build/ausnimbus-python-<version>-offline-linux-<arch>.*; builds then use them with no download. Archive
 * URIs honour --mirror as BP_DEPENDENCY_MIRROR does; every archive's sha256 is checked. --distributions adds
 * a manifest in the BP_PYTHON_DISTRIBUTIONS format; archives bundled from it are added to the package's
 * [[metadata.dependencies]], so builds need no manifest.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256File } from '../src/download.js';
import { Logger } from '../src/logger.js';
import { isTable } from '../src/cnb/toml.js';
import type { Arch, PythonArchive } from '../src/python/archives.js';
import { stageBuildpack } from './buildpack-files.js';
import { descriptorForTarget, readBuildpackInfo, type BuildpackInfo } from './packaging/descriptor.js';
import { writeBuildpackage, writeBuildpackArchive } from './packaging/oci.js';
import { bundleArchive, candidateDistributions, chooseDistributions, fetchArchive } from './packaging/offline.js';

export const REPO = fileURLToPath(new URL('..', import.meta.url));
const ARCHS: readonly Arch[] = ['amd64', 'arm64'];

export interface PackageOptions {
  repo?: string;
  /** Default `<repo>/build`. */
  outDir?: string;
  /** Default: every arch in buildpack.toml [[targets]]. */
  archs?: Arch[];
  /** Bundle Python archives (an offline package). */
  offline?: { versions: string[]; manifest?: string; mirror?: string };
  /** Verified archives kept between runs; default `<repo>/.cache/package-dependencies`. */
  cacheDir?: string;
  /** Progress lines; default stdout. */
  write?: (text: string) => void;
}

export interface PackagedTarget {
  arch: Arch;
  /** e.g. ausnimbus-python-0.1.0-linux-amd64 */
  name: string;
  buildpackDir: string;
  cnb: string;
  tgz: string;
  manifestDigest: string;
  layerDiffId: string;
  bundled: PythonArchive[];
  /** Bytes of the uncompressed buildpack directory, and of its largest parts. */
  sizes: { total: number; executable: number; dependencies: number };
}

export interface PackageResult {
  version: string;
  targets: PackagedTarget[];
  files: Array<{ file: string; size: number; sha256: string }>;
}

const hostArch = (): Arch => (process.arch === 'arm64' ? 'arm64' : 'amd64');

function treeSize(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  let total = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) total += fs.statSync(path.join(e.parentPath, e.name)).size;
  }
  return total;
}

/**
 * bun fetches a foreign target's runtime from a fixed registry.npmjs.org URL; when npm is configured with
 * another registry (a mirror), point bun at the same package there.
 */
function compileEnv(repo: string, arch: Arch): NodeJS.ProcessEnv {
  const env = { ...process.env };
  const registry = process.env.npm_config_registry?.replace(/\/+$/, '');
  if (arch === hostArch() || env.BUN_COMPILE_TARGET_TARBALL_URL || !registry || registry === 'https://registry.npmjs.org') return env;
  const bunVersion = JSON.parse(fs.readFileSync(path.join(repo, 'node_modules', 'bun', 'package.json'), 'utf8')).version as string;
  const pkg = `bun-linux-${arch === 'arm64' ? 'aarch64' : 'x64'}`;
  env.BUN_COMPILE_TARGET_TARBALL_URL = `${registry}/@oven/${pkg}/-/${pkg}-${bunVersion}.tgz`;
  return env;
}

function compile(repo: string, arch: Arch, outdir: string): void {
  try {
    execFileSync(process.execPath, [path.join(repo, 'scripts', 'compile.mjs'), '--arch', arch, '--outdir', outdir], {
      cwd: repo,
      env: compileEnv(repo, arch),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    // bun's own message; compile.mjs's stack trace after it says nothing more.
    const full = `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`;
    const output = (full.split(/^node:internal\//m)[0] ?? '').trim();
    const cross = arch !== hostArch()
      ? `\nCompiling for ${arch} on ${hostArch()} needs bun's ${arch} runtime: bun downloads @oven/bun-linux-${arch === 'arm64' ? 'aarch64' : 'x64'} ` +
        `from registry.npmjs.org once (cached in ~/.bun/install/cache), or from BUN_COMPILE_TARGET_TARBALL_URL.\n` +
        `Without that network access, package the host architecture only: npm run package -- --arch ${hostArch()}`
      : '';
    throw new Error(`compiling the buildpack for linux/${arch} failed:\n${output}${cross}`);
  }
}

export async function packageBuildpack(opts: PackageOptions = {}): Promise<PackageResult> {
  const repo = opts.repo ?? REPO;
  const outDir = path.resolve(opts.outDir ?? path.join(repo, 'build'));
  const write = opts.write ?? ((t: string) => void process.stdout.write(t));
  const say = (line: string): void => write(`${line}\n`);
  const log = new Logger({ write }, undefined, false);

  const descriptorText = fs.readFileSync(path.join(repo, 'buildpack.toml'), 'utf8');
  const bp = readBuildpackInfo(descriptorText);
  const declared = bp.targets.filter((t) => t.os === 'linux').map((t) => t.arch);
  const archs = opts.archs ?? (declared.filter((a) => (ARCHS as readonly string[]).includes(a)) as Arch[]);
  for (const a of archs) {
    if (!ARCHS.includes(a)) throw new Error(`unknown architecture '${a}'; use amd64 or arm64`);
    if (!declared.includes(a)) throw new Error(`buildpack.toml has no [[targets]] entry for linux/${a}`);
  }
  if (archs.length === 0) throw new Error('no architecture to package');

  // Everything that can fail on input is settled before the slow part: which archives each target bundles.
  const bundles = new Map<Arch, Array<{ dist: PythonArchive; file: string }>>();
  if (opts.offline) {
    const defaults = isTable(bp.metadata['default-versions']) ? bp.metadata['default-versions'] : {};
    const versions = opts.offline.versions.length > 0 ? opts.offline.versions : [String(defaults.python ?? '3')];
    const candidates = await candidateDistributions(bp.metadata, opts.offline.manifest, log);
    const chosen = new Map(archs.map((arch) => [arch, chooseDistributions(candidates, versions, arch)]));
    const cacheDir = opts.cacheDir ?? path.join(repo, '.cache', 'package-dependencies');
    for (const [arch, dists] of chosen) {
      const fetched = [];
      for (const dist of dists) fetched.push({ dist, file: await fetchArchive(dist, { mirror: opts.offline.mirror, cacheDir }, log) });
      bundles.set(arch, fetched);
    }
  }

  fs.mkdirSync(outDir, { recursive: true });
  // Work files sit beside the output (same file system), so finished directories are moved into place.
  const work = fs.mkdtempSync(path.join(outDir, '.work-'));
  const baseName = `${bp.id.replace(/\//g, '-')}-${bp.version}${opts.offline ? '-offline' : ''}`;
  const targets: PackagedTarget[] = [];
  try {
    for (const arch of archs) {
      const name = `${baseName}-linux-${arch}`;
      say(`[${name}]`);
      const binDir = path.join(work, arch, 'bin');
      compile(repo, arch, binDir);
      say(`- compiled bin/ausnimbus-python for linux/${arch}`);

      const staged = stageBuildpack(repo, path.join(work, arch, name), { binDir });
      const bundled = bundles.get(arch) ?? [];
      for (const { dist, file } of bundled) {
        bundleArchive(staged, dist, file);
        say(`- bundled Python ${dist.version} (sha256 ${dist.sha256})`);
      }
      const fromManifest = bundled.map((b) => b.dist).filter((d) => d.origin === 'manifest');
      fs.writeFileSync(path.join(staged, 'buildpack.toml'), descriptorForTarget(descriptorText, arch, fromManifest));
      const packaged: BuildpackInfo = { ...bp, targets: [{ os: 'linux', arch }] };

      const cnb = path.join(outDir, `${name}.cnb`);
      const tgz = path.join(outDir, `${name}.tgz`);
      const result = await writeBuildpackage({ buildpackDir: staged, bp: packaged, target: { os: 'linux', arch }, out: cnb, workDir: path.join(work, arch) });
      await writeBuildpackArchive({ buildpackDir: staged, out: tgz, workDir: path.join(work, arch) });
      const buildpackDir = path.join(outDir, name);
      fs.rmSync(buildpackDir, { recursive: true, force: true });
      fs.renameSync(staged, buildpackDir);
      targets.push({
        arch,
        name,
        buildpackDir,
        cnb,
        tgz,
        manifestDigest: result.manifestDigest,
        layerDiffId: result.layerDiffId,
        bundled: bundled.map((b) => b.dist),
        sizes: {
          total: treeSize(buildpackDir),
          executable: fs.statSync(path.join(buildpackDir, 'bin', 'ausnimbus-python')).size,
          dependencies: treeSize(path.join(buildpackDir, 'dependencies')),
        },
      });
      say(`- wrote ${path.relative(process.cwd(), cnb)} (manifest ${result.manifestDigest}) and ${path.basename(tgz)}`);
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }

  const files = [];
  for (const t of targets) {
    for (const file of [t.cnb, t.tgz]) files.push({ file, size: fs.statSync(file).size, sha256: await sha256File(file) });
  }
  return { version: bp.version, targets, files };
}

const MB = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

export function summary(result: PackageResult): string {
  const lines = ['', 'sha256                                                            size      file'];
  for (const f of result.files) lines.push(`${f.sha256}  ${MB(f.size).padStart(8)}  ${path.relative(process.cwd(), f.file)}`);
  for (const t of result.targets) {
    const parts = [`bin/ausnimbus-python ${MB(t.sizes.executable)}`];
    if (t.sizes.dependencies) parts.push(`dependencies/ ${MB(t.sizes.dependencies)} (${t.bundled.map((d) => `Python ${d.version}`).join(', ')})`);
    lines.push(`${t.name}: ${MB(t.sizes.total)} unpacked, of which ${parts.join(' and ')}`);
  }
  return lines.join('\n');
}

const USAGE = `usage: npm run package -- [--arch amd64|arm64]... [--out DIR]
       npm run package -- --offline [VERSION...] [--distributions MANIFEST] [--mirror URL] [--arch …] [--out DIR]`;

export function parseArgs(argv: string[]): PackageOptions {
  const opts: PackageOptions = {};
  const archs: Arch[] = [];
  const positional: string[] = [];
  let offline = false;
  let manifest: string | undefined;
  let mirror: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--arch') archs.push(...(value().split(',') as Arch[]));
    else if (a === '--out') opts.outDir = value();
    else if (a === '--offline') offline = true;
    else if (a === '--distributions') manifest = value();
    else if (a === '--mirror') mirror = value();
    else if (a === '--help' || a === '-h') throw new Error(USAGE);
    else if (a.startsWith('--')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else positional.push(a);
  }
  if (!offline && (positional.length > 0 || manifest || mirror)) throw new Error(`Python versions, --distributions and --mirror go with --offline\n${USAGE}`);
  if (archs.length > 0) opts.archs = archs;
  if (offline) opts.offline = { versions: positional, manifest, mirror };
  return opts;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const result = await packageBuildpack(parseArgs(process.argv.slice(2)));
    console.log(summary(result));
  } catch (err) {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  }
}
