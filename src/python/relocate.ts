/**
 * python-build-standalone archives record their build prefix `/install` in sysconfig (`_sysconfigdata*.py`,
 * the `Makefile` in `config-<version>`, pkg-config files and `python-config`). Python itself runs from anywhere, but C
 * extensions built later read these paths to find libpython and its headers: on 2.7 to 3.7 the link fails,
 * and newer versions bake a wrong path in. So the prefix is rewritten to the layer's real path, as uv does.
 */
import fs from 'node:fs';
import path from 'node:path';

/** `/install` as a path of its own: after a start, space, quote, `=`, `:` or a -L/-I flag; not `/usr/bin/install`. */
const PREFIX_PATTERN = /(?<=^|[\s'"=:,(]|-[LI])\/install(?=$|[/\s'",):])/gm;

export function rewritePrefix(text: string, prefix: string): string {
  return text.replace(PREFIX_PATTERN, prefix);
}

/** The files that carry the build prefix, in an unpacked interpreter. */
export function sysconfigFiles(root: string): string[] {
  const out: string[] = [];
  const lib = path.join(root, 'lib');
  const list = (dir: string): string[] => {
    try {
      return fs.readdirSync(dir);
    } catch {
      return [];
    }
  };
  for (const entry of list(lib)) {
    if (/^python\d/.test(entry)) {
      const stdlib = path.join(lib, entry);
      for (const f of list(stdlib)) {
        if (/^_sysconfigdata.*\.py$/.test(f)) out.push(path.join(stdlib, f));
        if (f.startsWith('config-')) {
          const mk = path.join(stdlib, f, 'Makefile');
          if (fs.existsSync(mk)) out.push(mk);
        }
      }
    }
    if (entry === 'pkgconfig') for (const pc of list(path.join(lib, 'pkgconfig'))) if (pc.endsWith('.pc')) out.push(path.join(lib, 'pkgconfig', pc));
  }
  for (const f of list(path.join(root, 'bin'))) {
    const p = path.join(root, 'bin', f);
    if (/-config$/.test(f) && fs.lstatSync(p).isFile()) out.push(p);
  }
  return out;
}

export function relocateSysconfig(root: string): number {
  let changed = 0;
  for (const file of sysconfigFiles(root)) {
    const text = fs.readFileSync(file, 'utf8');
    const next = rewritePrefix(text, root);
    if (next !== text) {
      fs.writeFileSync(file, next);
      changed += 1;
    }
  }
  return changed;
}
