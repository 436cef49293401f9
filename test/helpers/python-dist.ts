/**
 * Packs this machine's pyenv Pythons into python-build-standalone (PBS) style
 * `install_only_stripped` archives: a .tar.gz whose single top folder `python/` holds bin/, lib/,
 * include/. The result is relocatable (verified in python-dist.test.ts with pyenv hidden):
 *  - ELF RUNPATHs into the pyenv prefix become `$ORIGIN`-relative (patchelf), debug info is stripped;
 *  - the prefix in sysconfig data, config Makefile, python-config and .pc files becomes `/install`
 *    (what PBS uses; consumers such as uv rewrite it on install);
 *  - pyenv's site-packages is NOT copied; pip (+ setuptools where bundled) is unzipped from the
 *    version's own ensurepip wheels, and bin/ scripts get PBS's `#!/bin/sh` trampoline shebang;
 *  - tests, idlelib, tkinter, __pycache__/*.pyc, share/ and static libpython*.a are dropped.
 * Archives are cached in .cache/python-dists/v<PYTHON_DIST_HELPER_VERSION>/ and are deterministic
 * (sorted entries, fixed mtime, portable headers). Needs `patchelf`; `strip` is used when present.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import fse from 'fs-extra';
import * as tar from 'tar';

/** Bump whenever the archive layout/content changes: it invalidates every cached archive. */
export const PYTHON_DIST_HELPER_VERSION = 1;
/** Prefix written into sysconfig/Makefile/pkgconfig in place of the pyenv prefix (as PBS does). */
export const INSTALL_PREFIX = '/install';
/** Repository-local cache folder (gitignored). */
export const DEFAULT_CACHE_DIR = fileURLToPath(new URL('../../.cache/python-dists', import.meta.url));

export interface PythonArchive {
  /** Full version, e.g. 3.12.1. */
  version: string;
  /** major.minor, e.g. 3.12. */
  minor: string;
  /** Absolute path of the .tar.gz. */
  path: string;
  /** PBS-style file name, e.g. cpython-3.12.1-x86_64-unknown-linux-gnu-install_only_stripped.tar.gz */
  filename: string;
  sha256: string;
  size: number;
}

export interface PackOptions {
  cacheDir?: string;
  /** Repack even when a cached archive exists. */
  force?: boolean;
}

const FIXED_MTIME = new Date('2020-01-01T00:00:00Z');

/** pyenv root: $PYENV_ROOT or ~/.pyenv. */
export function pyenvRoot(): string {
  return process.env.PYENV_ROOT || path.join(os.homedir(), '.pyenv');
}

/** Installed pyenv CPython versions (X.Y.Z only), oldest first. */
export function listPyenvVersions(): string[] {
  const dir = path.join(pyenvRoot(), 'versions');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((v) => /^\d+\.\d+\.\d+$/.test(v)).sort(compareVersions);
}

function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/** '3.12' → newest installed 3.12.x; '3.12.1' → exactly that; throws when nothing matches. */
export function resolvePyenvVersion(spec: string): string {
  const match = listPyenvVersions().filter((v) => v === spec || v.startsWith(`${spec}.`));
  const found = match[match.length - 1];
  if (!found) throw new Error(`no pyenv Python matches ${spec} (have: ${listPyenvVersions().join(', ') || 'none'}): install it with 'pyenv install ${spec}'`);
  return found;
}

/** PBS target triple for this host. */
export function pbsTriple(): string {
  return `${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-unknown-linux-gnu`;
}

/**
 * process.env without anything that makes pip/python behave machine-specifically (PIP_*,
 * PYTHONHOME, PYTHONPATH, VIRTUAL_ENV …), plus PIP_CONFIG_FILE=/dev/null. Pass it with
 * execa's `extendEnv: false`, or the stripped variables come back.
 */
export function cleanPythonEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('PIP_') || k.startsWith('PYENV_VERSION') || k === 'VIRTUAL_ENV') continue;
    if (['PYTHONHOME', 'PYTHONPATH', 'PYTHONSTARTUP', 'PYTHONUSERBASE', 'PYTHONNOUSERSITE'].includes(k)) continue;
    env[k] = v;
  }
  return { ...env, PIP_CONFIG_FILE: '/dev/null', PIP_DISABLE_PIP_VERSION_CHECK: '1', PIP_NO_INPUT: '1', ...extra };
}

const inFlight = new Map<string, Promise<PythonArchive>>();

/** Pack (or fetch from cache) the pyenv Python matching `spec` ('2.7', '3.12', '3.12.1'). */
export function packPythonArchive(spec: string, opts: PackOptions = {}): Promise<PythonArchive> {
  const version = resolvePyenvVersion(spec);
  const cacheDir = path.join(opts.cacheDir ?? DEFAULT_CACHE_DIR, `v${PYTHON_DIST_HELPER_VERSION}`);
  const key = `${cacheDir}|${version}|${opts.force ? 'force' : ''}`;
  let p = inFlight.get(key);
  if (!p) {
    p = packCached(version, cacheDir, opts.force ?? false);
    inFlight.set(key, p);
    p.catch(() => inFlight.delete(key));
  }
  return p;
}

async function packCached(version: string, cacheDir: string, force: boolean): Promise<PythonArchive> {
  const filename = `cpython-${version}-${pbsTriple()}-install_only_stripped.tar.gz`;
  const file = path.join(cacheDir, filename);
  // never with `force`, which packs again (one packer at a time, as ever)
  const cached = async (): Promise<PythonArchive | undefined> => {
    if (force || !fs.existsSync(`${file}.json`) || !fs.existsSync(file)) return undefined;
    const meta = (await fse.readJson(`${file}.json`)) as PythonArchive;
    return meta.size === fs.statSync(file).size ? { ...meta, path: file } : undefined;
  };
  const found = await cached();
  if (found) return found;
  await fse.ensureDir(cacheDir);
  // One packer per archive across processes (the e2e run's workers all want 3.11 at their start): the others wait
  // for its result instead of packing it again.
  const lock = `${file}.lock`;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (lockIsStale(lock)) {
      fs.rmSync(lock, { force: true }); // its packer died
      continue;
    }
    await new Promise((r) => setTimeout(r, 250));
    const packed = await cached();
    if (packed) return packed;
  }
  try {
    return (await cached()) ?? (await pack(version, cacheDir, filename));
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/**
 * The lock's packer is gone: its pid is not running, or the lock is older than any pack takes (a reused pid, or
 * a cache shared with another pid namespace). An empty lock is being written, unless it has been for 10 s.
 */
function lockIsStale(lock: string): boolean {
  try {
    const text = fs.readFileSync(lock, 'utf8');
    const age = Date.now() - fs.statSync(lock).mtimeMs;
    if (text === '') return age > 10_000;
    return age > 15 * 60_000 || !processAlive(Number(text));
  } catch {
    return false; // removed meanwhile: the next attempt takes it
  }
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function pack(version: string, cacheDir: string, filename: string): Promise<PythonArchive> {
  const minor = version.split('.').slice(0, 2).join('.');
  const file = path.join(cacheDir, filename);
  const metaFile = `${file}.json`;
  const work = await fs.promises.mkdtemp(path.join(cacheDir, `.pack-${version}-`));
  try {
    const stage = path.join(work, 'python');
    await stageInstall(path.join(pyenvRoot(), 'versions', version), stage, minor);
    const tmpFile = path.join(work, filename);
    await writeDeterministicTarGz(work, 'python', tmpFile);
    const { sha256, size } = await hashFile(tmpFile);
    const archive: PythonArchive = { version, minor, path: file, filename, sha256, size };
    await fs.promises.rename(tmpFile, file); // atomic: concurrent packers never see a partial file
    await fse.writeJson(`${metaFile}.tmp-${process.pid}`, archive);
    await fs.promises.rename(`${metaFile}.tmp-${process.pid}`, metaFile);
    return archive;
  } finally {
    await fse.remove(work);
  }
}

/** Copy the pyenv prefix into `stage` and make it relocatable. */
async function stageInstall(prefix: string, stage: string, minor: string): Promise<void> {
  const stdlib = `lib/python${minor}`;
  const dropDirs = new Set(['share', `${stdlib}/idlelib`, `${stdlib}/tkinter`, `${stdlib}/lib-tk`, `${stdlib}/turtledemo`]);
  const filter = (src: string): boolean => {
    const rel = path.relative(prefix, src);
    const base = path.basename(rel);
    if (dropDirs.has(rel) || base === '__pycache__' || /\.py[co]$/.test(base)) return false;
    if (rel.startsWith(`${stdlib}/`) && (base === 'test' || base === 'tests' || base === 'idle_test')) return false;
    if (rel.startsWith(`${stdlib}/site-packages/`)) return base.startsWith('README');
    if (rel.startsWith(`${stdlib}/lib-dynload/_tkinter`)) return false;
    if (/^lib\/.*\.a$/.test(rel)) return false; // static libpython: ~30-60 MB, unused by a shared build
    if (/^bin\/(pip|easy_install|idle)/.test(rel)) return false; // pip scripts regenerated below
    return true;
  };
  await fse.copy(prefix, stage, { filter, dereference: false, preserveTimestamps: false });

  const prefixes = [...new Set([prefix, fs.realpathSync(prefix)])];
  const hasStrip = await commandExists('strip');
  await forEachLimit(await listFiles(stage), 8, async (rel) => {
    const file = path.join(stage, rel);
    const head = await readHead(file, 8192);
    if (head.subarray(0, 4).equals(Buffer.from([0x7f, 0x45, 0x4c, 0x46]))) {
      if (hasStrip) await execa('strip', ['--strip-debug', file]);
      await relativizeRunpath(file, rel, prefixes);
    } else if (!head.includes(0)) {
      await rewriteText(file, rel, prefixes, minor);
    }
  });
  await installBundledWheels(prefix, stage, minor);
  await ensureInterpreterLinks(stage, minor);
}

/** Rewrite RUNPATH/RPATH entries that point into the pyenv prefix to `$ORIGIN/<relative>`. */
async function relativizeRunpath(file: string, rel: string, prefixes: string[]): Promise<void> {
  const { stdout } = await execa('readelf', ['-d', '-W', file], { reject: false });
  const m = /\((RUNPATH|RPATH)\)\s+Library r(?:un)?path: \[([^\]]*)\]/.exec(stdout);
  if (!m?.[2]) return;
  let changed = false;
  const entries = m[2].split(':').map((entry) => {
    const root = prefixes.find((p) => entry === p || entry.startsWith(`${p}/`));
    if (root === undefined) return entry;
    changed = true;
    const target = path.relative(root, entry); // e.g. 'lib'
    const relDir = path.relative(path.dirname(rel), target);
    return relDir ? `$ORIGIN/${relDir}` : '$ORIGIN';
  });
  if (!changed) return;
  const args = m[1] === 'RPATH' ? ['--force-rpath'] : [];
  await execa('patchelf', [...args, '--set-rpath', entries.join(':'), file]);
}

/** PBS-style shebang: a line that is valid sh and a (doc)string to Python. */
export function trampolineShebang(interpreter: string): string {
  return `#!/bin/sh\n'''exec' "$(dirname -- "$(realpath -- "$0")")"/'${interpreter}' "$0" "$@"\n' '''\n`;
}

async function rewriteText(file: string, rel: string, prefixes: string[], minor: string): Promise<void> {
  let text = await fs.promises.readFile(file, 'latin1');
  if (!prefixes.some((p) => text.includes(p))) return;
  const firstLine = text.split('\n', 1)[0] ?? '';
  if (rel.startsWith('bin/') && firstLine.startsWith('#!') && prefixes.some((p) => firstLine.includes(p))) {
    const interp = path.basename(firstLine.slice(2).trim().split(/\s+/)[0] ?? `python${minor}`);
    text = trampolineShebang(interp) + text.slice(firstLine.length + 1);
  }
  for (const p of prefixes) text = text.split(p).join(INSTALL_PREFIX);
  await fs.promises.writeFile(file, text, 'latin1');
}

/** Unzip ensurepip's pip/setuptools wheels into site-packages and write pip trampolines to bin/. */
async function installBundledWheels(prefix: string, stage: string, minor: string): Promise<void> {
  const bundled = path.join(prefix, `lib/python${minor}/ensurepip/_bundled`);
  const init = await fs.promises.readFile(path.join(prefix, `lib/python${minor}/ensurepip/__init__.py`), 'utf8');
  const wheels = fs.readdirSync(bundled).filter((f) => f.endsWith('.whl')).sort(compareWheelNames);
  const chosen = new Map<string, string>();
  for (const whl of wheels) {
    const [project = '', ver = ''] = whl.split('-');
    const pinned = new RegExp(`^_${project.toUpperCase()}_VERSION\\s*=\\s*"([^"]+)"`, 'm').exec(init)?.[1];
    if (!pinned || pinned === ver) chosen.set(project, whl); // sorted ascending: newest unpinned wins
  }
  const sitePackages = path.join(stage, `lib/python${minor}/site-packages`);
  await fse.ensureDir(sitePackages);
  const python = path.join(prefix, 'bin', `python${minor}`);
  for (const whl of chosen.values()) {
    await execa(python, ['-m', 'zipfile', '-e', path.join(bundled, whl), sitePackages], { env: cleanPythonEnv(), extendEnv: false });
  }
  const pipDistInfo = fs.readdirSync(sitePackages).find((d) => /^pip-.*\.dist-info$/.test(d));
  if (!pipDistInfo) throw new Error(`no pip wheel in ${bundled}`);
  const entryPoints = await fs.promises.readFile(path.join(sitePackages, pipDistInfo, 'entry_points.txt'), 'utf8');
  const target = /^pip\s*=\s*([\w.]+):(\w+)/m.exec(entryPoints);
  if (!target?.[1] || !target[2]) throw new Error(`no pip console script in ${pipDistInfo}`);
  const body =
    `# -*- coding: utf-8 -*-\nimport re\nimport sys\nfrom ${target[1]} import ${target[2]}\n` +
    `if __name__ == '__main__':\n    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n    sys.exit(${target[2]}())\n`;
  const major = minor.split('.')[0] ?? '3';
  for (const name of ['pip', `pip${major}`, `pip${minor}`]) {
    await fs.promises.writeFile(path.join(stage, 'bin', name), trampolineShebang(`python${minor}`) + body, { mode: 0o755 });
  }
}

function compareWheelNames(a: string, b: string): number {
  const [pa = '', va = ''] = a.split('-');
  const [pb = '', vb = ''] = b.split('-');
  return pa === pb ? compareVersions(va, vb) : pa < pb ? -1 : 1;
}

/** bin/python and bin/python<major> → python<minor> (PBS layout). */
async function ensureInterpreterLinks(stage: string, minor: string): Promise<void> {
  const bin = path.join(stage, 'bin');
  if (!fs.existsSync(path.join(bin, `python${minor}`))) throw new Error(`bin/python${minor} missing`);
  for (const name of ['python', `python${minor.split('.')[0]}`]) {
    await fse.remove(path.join(bin, name));
    await fs.promises.symlink(`python${minor}`, path.join(bin, name));
  }
}

/** Sorted, fixed-mtime, portable tar.gz of `cwd/top` (gzip header carries no timestamp). */
async function writeDeterministicTarGz(cwd: string, top: string, file: string): Promise<void> {
  const entries = [top, ...(await listEntries(path.join(cwd, top))).map((e) => `${top}/${e}`)];
  await tar.c({ cwd, file, gzip: { level: 6 }, portable: true, mtime: FIXED_MTIME, noDirRecurse: true }, entries);
}

/** All entries (dirs, files, symlinks) below `dir`, relative, sorted. */
async function listEntries(dir: string): Promise<string[]> {
  const out = (await fs.promises.readdir(dir, { recursive: true })) as string[];
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Regular files (not symlinks) below `dir`, relative. */
async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const rel of await listEntries(dir)) if ((await fs.promises.lstat(path.join(dir, rel))).isFile()) out.push(rel);
  return out;
}

async function readHead(file: string, n: number): Promise<Buffer> {
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** sha256 (hex) and size of a file, streamed. */
export async function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of fs.createReadStream(file)) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}

async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: limit }, worker));
}

async function commandExists(cmd: string): Promise<boolean> {
  const r = await execa('sh', ['-c', `command -v ${cmd}`], { reject: false });
  return r.exitCode === 0;
}
