/**
 * Offline builders for tiny pure-Python distributions (no pip, no network, deterministic bytes):
 *  - buildWheel: a universal py2.py3-none-any wheel (METADATA, WHEEL, RECORD written by hand into
 *    a zip produced by the minimal writer below);
 *  - buildSdist: a setup.py-based <name_escaped>-<version>.tar.gz (setuptools, else distutils);
 * plus writeDistributionsManifest (the Python download manifest) and PEP 503 name helpers.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import TOML from '@iarna/toml';
import fse from 'fs-extra';
import * as tar from 'tar';

export interface WheelSpec {
  /** Project name, e.g. 'tiny-greeter'. */
  name: string;
  version: string;
  /** Relative path → source, e.g. { 'tiny_greeter/__init__.py': 'def hello(): return "hi"\n' }.
   *  Default: one module named after the project with `VERSION = '<version>'`. */
  modules?: Record<string, string>;
  /** Requires-Dist lines, e.g. ['six>=1.10']. */
  requires?: string[];
  requiresPython?: string;
  /** console_scripts: script name → 'module:function'. */
  consoleScripts?: Record<string, string>;
  /** Output directory (created). */
  outDir: string;
}

export interface BuiltDistribution {
  path: string;
  filename: string;
  sha256: string;
  size: number;
}

/** PEP 503 normalized project name: lowercase, runs of -_. become '-'. */
export function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

/** Project (normalized) of a wheel/sdist file name, or undefined for other files. */
export function projectOfDistribution(filename: string): string | undefined {
  if (filename.endsWith('.whl')) return normalizeProjectName(filename.split('-')[0] ?? '');
  const stem = /^(.+)\.(tar\.gz|tar\.bz2|tgz|zip)$/.exec(filename)?.[1];
  const name = stem ? /^(.+?)-\d/.exec(stem)?.[1] : undefined;
  return name ? normalizeProjectName(name) : undefined;
}

const escapeName = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, '_');

function defaultModules(spec: WheelSpec): Record<string, string> {
  return spec.modules ?? { [`${escapeName(spec.name)}.py`]: `VERSION = '${spec.version}'\n` };
}

function metadata(spec: WheelSpec): string {
  const lines = ['Metadata-Version: 2.1', `Name: ${spec.name}`, `Version: ${spec.version}`, 'Summary: test fixture'];
  if (spec.requiresPython) lines.push(`Requires-Python: ${spec.requiresPython}`);
  for (const r of spec.requires ?? []) lines.push(`Requires-Dist: ${r}`);
  return `${lines.join('\n')}\n\n`;
}

/** Build `<name>-<version>-py2.py3-none-any.whl` in spec.outDir. */
export async function buildWheel(spec: WheelSpec): Promise<BuiltDistribution> {
  const distInfo = `${escapeName(spec.name)}-${spec.version}.dist-info`;
  const files: Array<[string, Buffer]> = Object.entries(defaultModules(spec)).map(([p, s]) => [p, Buffer.from(s)]);
  files.push([`${distInfo}/METADATA`, Buffer.from(metadata(spec))]);
  files.push([`${distInfo}/WHEEL`, Buffer.from('Wheel-Version: 1.0\nGenerator: ausnimbus-test-helpers\nRoot-Is-Purelib: true\nTag: py2-none-any\nTag: py3-none-any\n')]);
  const scripts = Object.entries(spec.consoleScripts ?? {});
  if (scripts.length > 0) files.push([`${distInfo}/entry_points.txt`, Buffer.from(`[console_scripts]\n${scripts.map(([k, v]) => `${k} = ${v}`).join('\n')}\n`)]);
  const record = files.map(([p, b]) => `${p},sha256=${createHash('sha256').update(b).digest('base64url')},${b.length}`);
  files.push([`${distInfo}/RECORD`, Buffer.from(`${[...record, `${distInfo}/RECORD,,`].join('\n')}\n`)]);
  const filename = `${escapeName(spec.name)}-${spec.version}-py2.py3-none-any.whl`;
  return writeOut(spec.outDir, filename, zip(files));
}

/** Build `<name>-<version>.tar.gz` (setup.py sdist) in spec.outDir. */
export async function buildSdist(spec: WheelSpec): Promise<BuiltDistribution> {
  const modules = defaultModules(spec);
  const top = `${escapeName(spec.name)}-${spec.version}`; // PEP 625 file name
  const packages = [...new Set(Object.keys(modules).filter((p) => p.endsWith('/__init__.py')).map((p) => path.dirname(p).split('/').join('.')))].sort();
  const pyModules = Object.keys(modules).filter((p) => !p.includes('/') && p.endsWith('.py')).map((p) => p.slice(0, -3));
  const scripts = Object.entries(spec.consoleScripts ?? {}).map(([k, v]) => `${k} = ${v}`);
  const setupPy = [
    'try:\n    from setuptools import setup\nexcept ImportError:\n    from distutils.core import setup',
    `setup(name=${JSON.stringify(spec.name)}, version=${JSON.stringify(spec.version)},`,
    `      packages=${JSON.stringify(packages)}, py_modules=${JSON.stringify(pyModules)},`,
    `      install_requires=${JSON.stringify(spec.requires ?? [])},`,
    `      entry_points={'console_scripts': ${JSON.stringify(scripts)}})`,
  ].join('\n');
  const files: Record<string, string> = { ...modules, 'PKG-INFO': metadata(spec), 'setup.py': `${setupPy}\n` };
  const stage = await fs.promises.mkdtemp(path.join(spec.outDir, '.sdist-'));
  try {
    for (const [rel, text] of Object.entries(files)) await fse.outputFile(path.join(stage, top, rel), text);
    const entries = ((await fs.promises.readdir(path.join(stage, top), { recursive: true })) as string[]).map((e) => `${top}/${e}`).sort();
    const filename = `${top}.tar.gz`;
    await tar.c({ cwd: stage, file: path.join(stage, filename), gzip: true, portable: true, mtime: new Date('2020-01-01T00:00:00Z'), noDirRecurse: true }, [top, ...entries]);
    return await writeOut(spec.outDir, filename, await fs.promises.readFile(path.join(stage, filename)));
  } finally {
    await fse.remove(stage);
  }
}

async function writeOut(dir: string, filename: string, data: Buffer): Promise<BuiltDistribution> {
  await fse.ensureDir(dir);
  const file = path.join(dir, filename);
  await fs.promises.writeFile(file, data);
  return { path: file, filename, sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const byte of buf) c = (CRC_TABLE[(c ^ byte) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Minimal deterministic zip (deflate, fixed 1980-01-01 timestamps, mode 0644). */
export function zip(files: Array<[string, Buffer]>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nameBuf = Buffer.from(name, 'utf8');
    const deflated = zlib.deflateRawSync(data);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(8, 8); // deflate
    local.writeUInt16LE(0, 10); // time 00:00
    local.writeUInt16LE(0x21, 12); // date 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(deflated.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: unix
    local.copy(central, 6, 4, 30); // version needed … name length/extra length
    central.writeUInt16LE(0, 32); // comment length
    central.writeUInt16LE(0, 34); // disk
    central.writeUInt16LE(0, 36); // internal attrs
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBuf, deflated);
    centrals.push(central, nameBuf);
    offset += local.length + nameBuf.length + deflated.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** OCI arch of this host, as used in the manifest: 'amd64' or 'arm64'. */
export function hostArch(): 'amd64' | 'arm64' {
  return process.arch === 'arm64' ? 'arm64' : 'amd64';
}

export interface DistributionEntry {
  version: string;
  uri: string;
  sha256: string;
  /** Defaults to hostArch(). */
  arch?: string;
  /** Extra string fields are copied verbatim (e.g. os, libc). */
  [extra: string]: string | undefined;
}

/**
 * Write `{ "distributions": [ { version, uri, sha256, arch, … } ] }` to dir/<filename>
 * (default distributions.json / distributions.toml). Returns the file path.
 */
export async function writeDistributionsManifest(entries: DistributionEntry[], dir: string, format: 'json' | 'toml' = 'json', filename?: string): Promise<string> {
  const distributions = entries.map((e) => {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...e, arch: e.arch ?? hostArch() })) if (v !== undefined) out[k] = v;
    return out;
  });
  const file = path.join(dir, filename ?? `distributions.${format}`);
  const text = format === 'json' ? `${JSON.stringify({ distributions }, null, 2)}\n` : TOML.stringify({ distributions });
  await fse.outputFile(file, text);
  return file;
}
