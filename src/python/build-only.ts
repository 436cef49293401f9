/**
 * The parts of a Python install that serve builds and no server process: pip, setuptools and wheel; the C
 * headers and build configuration (`include/`, `lib/pythonX.Y/config-*`, `lib/pkgconfig`), which only
 * compiling an extension reads; and the standard library's own build, test and desktop pieces (ensurepip,
 * idlelib, tkinter with its Tcl/Tk, turtle and turtledemo, lib2to3, pydoc_data's help topics, and the stdlib's
 * test packages and test extension modules). They move from the python layer (build and launch) into the build-tools layer
 * (build only), so the image leaves them out while every build step still finds them where it did:
 *
 * - a stdlib or header part becomes a relative symbolic link from its place in the python layer to its copy in
 *   build-tools. At build the link resolves, so sysconfig's paths, `python -m venv` (which runs ensurepip in
 *   the new environment) and the compiler's include path work as before; at launch build-tools is not there
 *   and the link dangles, which Python's import system treats as no module (FileFinder checks isdir/isfile);
 * - pip, setuptools and wheel move with their `.dist-info` (named by RECORD, PEP 376/627) into build-tools'
 *   own site-packages, which one `.pth` file of the python layer adds to sys.path when it exists (the site
 *   module's `import` lines, https://docs.python.org/3/library/site.html). It is appended after the user site
 *   (pip-deps) and site-packages, so a pip or setuptools the app installs itself still comes first, as before.
 *   A `.dist-info` left dangling would break importlib.metadata at launch, which is why these are not links.
 *   Their console scripts (`pip`, `pip3`, `wheel`...) become small wrappers in build-tools/bin, on PATH at build.
 */
import fs from 'node:fs';
import path from 'node:path';

/** The distributions that are build tools (PEP 503 normalised names). */
export const BUILD_TOOL_DISTRIBUTIONS = ['pip', 'setuptools', 'wheel', 'distribute'] as const;

/**
 * Parts of lib/pythonX.Y that no server imports, as names relative to it. Only the stdlib's own test packages are
 * listed (never a `tests` folder by its name alone): Lib/test, and the packages of 2.7 to 3.11 that kept their
 * tests beside their code.
 */
const STDLIB_PARTS = [
  'ensurepip', 'idlelib', 'tkinter', 'lib-tk', 'turtledemo', 'turtle.py', 'lib2to3', 'pydoc_data', '__phello__',
  'test', 'unittest/test', 'ctypes/test', 'distutils/tests', 'sqlite3/test', 'email/test', 'json/tests', 'bsddb/test',
];

/** Extension modules in lib-dynload that only the test suite or tkinter load (`_testcapi`, `_ctypes_test`, `xxlimited`...). */
const DYNLOAD_PART = /^(_test\w*|_ctypes_test|xxlimited\w*|_xxtestfuzz|_tkinter)\.(?:[\w-]+\.)?so$/;

/** Scripts in bin/ for the parts above (their modules are gone at launch). */
const BIN_PART = /^(idle|2to3)/;

/**
 * Tcl/Tk beside the interpreter in lib/ (python-build-standalone ships them for tkinter: `libtcl8.6.so`,
 * `libtk8.6.so`, `tcl8.6/`, `tk8.6/`, and the Tcl packages `itcl4.x/`, `thread2.x/`): only _tkinter loads them.
 */
const TCL_TK_PART = /^(lib(tcl|tk)\d[\d.]*\.so(\.[\d.]+)?|(tcl|tk|itcl|thread)\d[\d.]*)$/;

export type BuildOnlyKind = 'tool' | 'headers' | 'stdlib';

export interface BuildOnlyPart {
  /** Path relative to the python layer. */
  rel: string;
  kind: BuildOnlyKind;
}

export interface MovedTools {
  /** Every part moved out of the python layer, sorted by path. */
  parts: BuildOnlyPart[];
  /** The tools' distributions moved into build-tools' site-packages. */
  distributions: Array<{ name: string; version: string }>;
}

/** The PEP 503 normalised form of a distribution name. */
export const normalizeName = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, '-');

function list(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
}

const present = (p: string): boolean => {
  try {
    fs.lstatSync(p);
    return true;
  } catch {
    return false;
  }
};

/** lib/pythonX.Y of the layer, relative to it. */
export const stdlibRel = (minor: string): string => path.join('lib', `python${minor}`);

/** build-tools' site-packages, as a user base (PYTHONUSERBASE) lays it out: pip's --user installs go there. */
export const toolsSitePackages = (toolsPath: string, minor: string): string => path.join(toolsPath, stdlibRel(minor), 'site-packages');

/** Where build-tools keeps the parts it holds for the python layer (the targets of its links). */
export const movedRoot = (toolsPath: string): string => path.join(toolsPath, 'python');

/** The headers, stdlib and script parts of an unpacked Python that exist in it (no tools). */
export function stdlibBuildOnlyParts(layerPath: string, minor: string): BuildOnlyPart[] {
  const lib = stdlibRel(minor);
  const parts: BuildOnlyPart[] = [];
  const add = (rel: string, kind: BuildOnlyKind): void => {
    if (present(path.join(layerPath, rel))) parts.push({ rel, kind });
  };
  add('include', 'headers');
  add(path.join('lib', 'pkgconfig'), 'headers');
  for (const e of list(path.join(layerPath, lib))) if (e === 'config' || e.startsWith(`config-${minor}`)) add(path.join(lib, e), 'headers');
  for (const p of STDLIB_PARTS) add(path.join(lib, p), 'stdlib');
  for (const e of list(path.join(layerPath, 'lib'))) if (TCL_TK_PART.test(e)) add(path.join('lib', e), 'stdlib');
  for (const e of list(path.join(layerPath, lib, 'lib-dynload'))) if (DYNLOAD_PART.test(e)) add(path.join(lib, 'lib-dynload', e), 'stdlib');
  for (const e of list(path.join(layerPath, 'bin'))) if (BIN_PART.test(e)) add(path.join('bin', e), 'stdlib');
  // A part inside another (tkinter/test within tkinter) moves with it.
  return parts.filter((p) => !parts.some((q) => q !== p && p.rel.startsWith(`${q.rel}/`))).sort((a, b) => a.rel.localeCompare(b.rel));
}

/** A RECORD file's paths (the first CSV field of each row; a path holding a comma is quoted). */
export function recordPaths(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    if (line.startsWith('"')) {
      const m = /^"((?:[^"]|"")*)"/.exec(line);
      if (m?.[1] !== undefined) out.push(m[1].replace(/""/g, '"'));
    } else {
      out.push(line.split(',')[0] as string);
    }
  }
  return out;
}

interface ToolDistribution {
  name: string;
  version: string;
  distInfo: string;
  /** Entries of site-packages it owns: top-level folders and files, and single files under `__pycache__/`. */
  entries: string[];
  /** Names of its scripts in the layer's bin/ (RECORD `../../../bin/<name>`). */
  scripts: string[];
  /** console_scripts of entry_points.txt: name → `module:attr`. */
  entryPoints: Record<string, string>;
}

/** The build tools installed in a site-packages folder, read from their `.dist-info` (those without a RECORD are left alone). */
export function toolDistributions(sitePackages: string): ToolDistribution[] {
  const tools: ToolDistribution[] = [];
  for (const entry of list(sitePackages)) {
    const m = /^(.+?)-([^-]+)\.dist-info$/.exec(entry);
    if (!m?.[1] || !m[2] || !(BUILD_TOOL_DISTRIBUTIONS as readonly string[]).includes(normalizeName(m[1]))) continue;
    let record: string;
    try {
      record = fs.readFileSync(path.join(sitePackages, entry, 'RECORD'), 'utf8');
    } catch {
      continue;
    }
    const entries = new Set<string>([entry]);
    const scripts: string[] = [];
    for (const p of recordPaths(record)) {
      const parts = p.split('/');
      if (parts[0] === '..') {
        const bin = /^(\.\.\/){3}bin\/([^/]+)$/.exec(p);
        if (bin?.[2]) scripts.push(bin[2]);
        continue;
      }
      if (path.isAbsolute(p) || parts.includes('..')) continue;
      entries.add(parts[0] === '__pycache__' ? p : (parts[0] as string));
    }
    tools.push({
      name: normalizeName(m[1]),
      version: m[2],
      distInfo: entry,
      entries: [...entries].filter((e) => present(path.join(sitePackages, e))).sort(),
      scripts: scripts.sort(),
      entryPoints: consoleScripts(path.join(sitePackages, entry, 'entry_points.txt')),
    });
  }
  return tools;
}

function consoleScripts(file: string): Record<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const out: Record<string, string> = {};
  let section = '';
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    const header = /^\[(.+)\]$/.exec(line);
    if (header?.[1]) section = header[1].trim();
    else if (section === 'console_scripts') {
      const m = /^([^=\s]+)\s*=\s*([\w.]+:[\w.]+)/.exec(line);
      if (m?.[1] && m[2]) out[m[1]] = m[2];
    }
  }
  return out;
}

/** The entry point a script runs: its own name, else without its version suffix (`pip3.11` → `pip`). */
function entryPointFor(script: string, entryPoints: Record<string, string>): string | undefined {
  return entryPoints[script] ?? entryPoints[script.replace(/\d[\d.]*$/, '')];
}

/** Quoted for POSIX sh. */
const shQuote = (s: string): string => `'${s.replace(/'/g, "'\\''")}'`;

/**
 * A console script that runs `module:attr` with the python layer's interpreter (an absolute path: the script
 * is in another layer, where PBS's trampolines, which find the interpreter beside themselves, would not work).
 */
export function wrapperScript(python: string, name: string, entryPoint: string): string {
  const [module, attr] = entryPoint.split(':') as [string, string];
  const [head] = attr.split('.');
  const code = `import sys; sys.argv[0] = ${JSON.stringify(name)}; from ${module} import ${head}; sys.exit(${attr}())`;
  return `#!/bin/sh\n# ${name}: ${entryPoint}, from the build-tools layer (build only)\nexec ${shQuote(python)} -c ${shQuote(code)} "$@"\n`;
}

/** The `.pth` line that adds build-tools' site-packages to sys.path when that folder exists (at build only). */
export function toolsPthLine(toolsSite: string): string {
  const p = JSON.stringify(toolsSite);
  return `import os, site; os.path.isdir(${p}) and site.addsitedir(${p})\n`;
}

/** The `.pth` file's name in the python layer's site-packages. */
export const TOOLS_PTH = '_ausnimbus_build_tools.pth';

function moveInto(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.renameSync(from, to);
}

/**
 * Moves the build-only parts of the unpacked Python at `layerPath` into the empty build-tools layer at
 * `toolsPath`, as described at the top of this file. `python`: the interpreter the wrappers run.
 */
export function moveBuildOnlyParts(layerPath: string, toolsPath: string, minor: string, python: string): MovedTools {
  const parts = stdlibBuildOnlyParts(layerPath, minor);
  for (const p of parts) {
    const from = path.join(layerPath, p.rel);
    const to = path.join(movedRoot(toolsPath), p.rel);
    moveInto(from, to);
    fs.symlinkSync(path.relative(path.dirname(from), to), from);
  }
  const site = path.join(layerPath, stdlibRel(minor), 'site-packages');
  const toolsSite = toolsSitePackages(toolsPath, minor);
  fs.mkdirSync(toolsSite, { recursive: true });
  const distributions: MovedTools['distributions'] = [];
  const toolParts: BuildOnlyPart[] = [];
  for (const tool of toolDistributions(site)) {
    for (const e of tool.entries) {
      moveInto(path.join(site, e), path.join(toolsSite, e));
      toolParts.push({ rel: path.join(stdlibRel(minor), 'site-packages', e), kind: 'tool' });
    }
    // Its scripts: those RECORD names, and those named after its entry points (an install that wrote its scripts
    // without recording them, as an unpacked wheel plus hand-made trampolines does).
    const bin = list(path.join(layerPath, 'bin'));
    const scripts = [...new Set([...tool.scripts, ...bin.filter((b) => entryPointFor(b, tool.entryPoints) !== undefined)])].sort();
    for (const script of scripts) {
      const ep = entryPointFor(script, tool.entryPoints);
      const from = path.join(layerPath, 'bin', script);
      if (ep === undefined || !present(from)) continue;
      fs.rmSync(from, { force: true });
      const to = path.join(toolsPath, 'bin', script);
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.writeFileSync(to, wrapperScript(python, script, ep), { mode: 0o755 });
      toolParts.push({ rel: path.join('bin', script), kind: 'tool' });
    }
    distributions.push({ name: tool.name, version: tool.version });
  }
  if (fs.existsSync(site)) fs.writeFileSync(path.join(site, TOOLS_PTH), toolsPthLine(toolsSite));
  return { parts: [...parts, ...toolParts].sort((a, b) => a.rel.localeCompare(b.rel)), distributions: distributions.sort((a, b) => a.name.localeCompare(b.name)) };
}

/**
 * A compileall `-x` pattern (matched against each file's path) for the parts moved out: compileall does not
 * descend into linked folders, but it would compile a linked file such as turtle.py into the python layer.
 */
export function movedPattern(parts: BuildOnlyPart[], layerPath: string): string | undefined {
  const files = parts.filter((p) => p.kind !== 'tool').map((p) => path.join(layerPath, p.rel));
  if (files.length === 0) return undefined;
  const quoteRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `^(${files.map(quoteRegex).join('|')})($|/)`;
}
